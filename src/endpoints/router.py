"""Which request goes to which endpoint.

`GET /metrics` (`metrics`), `GET /ack?...` (`ack`), `GET`/`HEAD /health` the readiness check, any other GET
(or HEAD) the liveness check (`health`); a scheduled execution (`scheduled`), every other POST a webhook
delivery (`webhook`); other methods 405. While the function's variables are invalid, only the health checks
answer what is wrong; everything else is refused with 500 and a log line.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ..oncall.links import ACK_PATH
from ..settings import Settings
from . import webhook
from .health import HEALTH_PATH, health, readiness
from .http import Clock, Context, Log, Reply, Request, StoreFactory

ALLOWED_METHODS = "GET, HEAD, POST"
METRICS_PATH = "/metrics"


def handle(request: Request, settings: Settings | ConfigurationError, *, make_store: StoreFactory, now: Clock,
           log: Log, error: Log) -> Reply:
    method = request.method.upper()
    if method not in ("GET", "HEAD", "POST"):
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": ALLOWED_METHODS})
    if method == "HEAD" and request.route in (METRICS_PATH, ACK_PATH):  # a link prefetch must not acknowledge
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": "GET"})
    if request.route == HEALTH_PATH and method in ("GET", "HEAD"):
        context = None if isinstance(settings, ConfigurationError) else Context(settings, make_store, now, log, error)
        return readiness(request, settings, context)
    if isinstance(settings, ConfigurationError):
        if method in ("GET", "HEAD"):
            return _headless(request, health(settings))
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
    if method == "HEAD":
        return _headless(request, health(None))
    if request.scheduled:
        from . import scheduled
        return scheduled.run(request, context)
    return webhook.receive(request, context)


def _headless(request: Request, reply: Reply) -> Reply:
    """HEAD: the status and headers of the GET, no body."""
    if request.method.upper() != "HEAD":
        return reply
    return Reply(reply.status, "", {**reply.headers, "content-type": "application/json"})
