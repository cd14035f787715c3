"""Which request goes to which endpoint.

`GET /metrics` (`metrics`), `GET /ack?...` (`ack`), `GET`/`HEAD /health` the readiness check, any other GET
(or HEAD) the liveness check (`health`); a scheduled execution (`scheduled`), every other POST a webhook
delivery (`webhook`); other methods 405. While the function's variables are invalid, only the health checks
answer what is wrong; everything else is refused with 500 and a log line.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ..settings import Settings
from . import webhook
from .http import HEALTH_PATH, Clock, Context, Log, Reply, Request, StoreFactory

ALLOWED_METHODS = "GET, HEAD, POST"
METRICS_PATH = "/metrics"


def handle(request: Request, settings: Settings | ConfigurationError, *, make_store: StoreFactory, now: Clock,
           log: Log, error: Log) -> Reply:
    method = request.method.upper()
    if method not in ("GET", "HEAD", "POST"):
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": ALLOWED_METHODS})
    if method != "POST":
        return _read(request, settings, make_store=make_store, now=now, log=log, error=error)
    if isinstance(settings, ConfigurationError):
        error("refusing the delivery: " + "; ".join(settings.problems))
        return Reply(500, {"error": "the function is misconfigured; see its error log"})
    context = Context(settings, make_store, now, log, error)
    if request.scheduled:
        from . import scheduled
        return scheduled.run(request, context)
    return webhook.receive(request, context)


def _read(request: Request, settings: Settings | ConfigurationError, *, make_store: StoreFactory, now: Clock,
          log: Log, error: Log) -> Reply:
    """GET and HEAD: the readiness check, `/metrics`, `/ack`, else the liveness check."""
    # Only the webhook's modules load with the entrypoint (a cold start serves a delivery first); the others
    # load on their first request.
    from ..oncall.links import ACK_PATH
    from .health import health, readiness

    method = request.method.upper()
    if method == "HEAD" and request.route in (METRICS_PATH, ACK_PATH):  # a link prefetch must not acknowledge
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": "GET"})
    if request.route == HEALTH_PATH:
        context = None if isinstance(settings, ConfigurationError) else Context(settings, make_store, now, log, error)
        return readiness(request, settings, context)
    if isinstance(settings, ConfigurationError):
        return _headless(request, health(settings))
    if method == "GET":
        context = Context(settings, make_store, now, log, error)
        if request.route == METRICS_PATH:
            from . import metrics
            return metrics.scrape(request, context)
        if request.route == ACK_PATH:
            from . import ack
            return ack.acknowledge_link(request, context)
    return _headless(request, health(None))


def _headless(request: Request, reply: Reply) -> Reply:
    """HEAD: the status and headers of the GET, no body."""
    if request.method.upper() != "HEAD":
        return reply
    return Reply(reply.status, "", {**reply.headers, "content-type": "application/json"})
