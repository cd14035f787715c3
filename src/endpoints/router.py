"""Which request goes to which endpoint.

`GET /metrics` (`metrics`), `GET /ack?...` (`ack`), any other GET the health check (`health`); a scheduled
execution (`scheduled`), every other POST a webhook delivery (`webhook`); other methods 405. While the
function's variables are invalid, only the health check answers what is wrong; everything else is refused
with 500 and a log line.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ..oncall.links import ACK_PATH
from ..settings import Settings
from . import webhook
from .health import health
from .http import Clock, Context, Log, Reply, Request, StoreFactory

ALLOWED_METHODS = "GET, POST"
METRICS_PATH = "/metrics"


def handle(request: Request, settings: Settings | ConfigurationError, *, make_store: StoreFactory, now: Clock,
           log: Log, error: Log) -> Reply:
    method = request.method.upper()
    if method not in ("GET", "POST"):
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": ALLOWED_METHODS})
    if isinstance(settings, ConfigurationError):
        if method == "GET":
            return health(settings)
        error("refusing the delivery: " + "; ".join(settings.problems))
        return Reply(500, {"error": "the function is misconfigured; see its error log"})
    context = Context(settings, make_store, now, log, error)
    # Only the webhook's modules load with the entrypoint (a cold start serves a delivery first); the others
    # load on their first request.
    if method == "GET":
        if request.route == METRICS_PATH:
            from . import metrics
            return metrics.scrape(request, context)
        if request.route == ACK_PATH:
            from . import ack
            return ack.acknowledge_link(request, context)
        return health(None)
    if request.scheduled:
        from . import scheduled
        return scheduled.run(request, context)
    return webhook.receive(request, context)
