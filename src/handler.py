"""HTTP semantics of the function: which request gets which answer.

Status codes follow Alertmanager's retry rule: 2xx done, 5xx retried, 4xx not retried. So bad auth and
bad input are 4xx, an Appwrite outage is 503, and a deployment mistake (configuration, key, missing
table) is 500 with a log line saying what to fix. Nothing is read from the body, and nothing is sent to
Appwrite, before the Bearer token is accepted.

`GET /metrics` is the Prometheus exposition, behind its own token (METRICS_TOKEN; 404 while it is unset);
any other GET is the health check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from .auth import is_authorized, redact
from .errors import ConfigurationError, PermanentAppwriteError, TransientAppwriteError
from .metrics import CONTENT_TYPE
from .payload import PayloadError, parse_payload
from .rows import RowShaper
from .schema import load_schema
from .service import AlertStore, MetricsStore, process_delivery, scrape_metrics
from .settings import Settings

ALLOWED_METHODS = "GET, POST"
SERVICE_NAME = "alert-processor"
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """A JSON object, or for a `str` body plain text with the content type in `headers`."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


class Store(AlertStore, MetricsStore, Protocol):
    """What the handler needs of Appwrite: deliveries and metrics."""


StoreFactory = Callable[[Settings, str, float], Store]
Log = Callable[[str], None]


@cache
def _shaper() -> RowShaper:
    return RowShaper(load_schema().table("alerts"))


@cache
def _events_shaper() -> RowShaper:
    return RowShaper(load_schema().table("alert_events"))


def _metrics(request: Request, settings: Settings, *, make_store: StoreFactory, now: Callable[[], datetime],
             log: Log, error: Log) -> Reply:
    if not settings.metrics_tokens:
        return Reply(404, {"error": "not found"})
    if not is_authorized(request.headers, settings.metrics_tokens):
        return Reply(401, {"error": "missing or invalid bearer token"}, {"www-authenticate": "Bearer"})
    started = time.monotonic()
    key = request.headers.get("x-appwrite-key", "") or settings.fallback_api_key
    if not key:
        error("no Appwrite API key: Appwrite passes one in x-appwrite-key; elsewhere set APPWRITE_API_KEY")
        return Reply(500, {"error": "the function has no Appwrite API key; see its error log"})
    store = make_store(settings, key, started + settings.time_budget_seconds)
    try:
        text = scrape_metrics(store, severities=settings.metrics_severities, routes=settings.routes, now=now())
    except TransientAppwriteError as exc:
        error(f"metrics not computed: {exc}")
        return Reply(503, {"error": "Appwrite is unavailable; retry later"}, {"retry-after": "5"})
    except PermanentAppwriteError as exc:
        error(f"metrics not computed: {exc}")
        return Reply(500, {"error": "Appwrite refused the metrics queries; see the function's error log"})
    log(f"metrics scrape took_ms={(time.monotonic() - started) * 1000:.0f}")
    return Reply(200, text, {"content-type": CONTENT_TYPE})


def handle(request: Request, settings: Settings | ConfigurationError, *, make_store: StoreFactory,
           now: Callable[[], datetime], log: Log, error: Log) -> Reply:
    method = request.method.upper()
    if method == "GET":
        if request.path.rstrip("/") == METRICS_PATH and not isinstance(settings, ConfigurationError):
            return _metrics(request, settings, make_store=make_store, now=now, log=log, error=error)
        if isinstance(settings, ConfigurationError):
            return Reply(500, {"status": "misconfigured", "service": SERVICE_NAME,
                               "problems": list(settings.problems)})
        return Reply(200, {"status": "ok", "service": SERVICE_NAME})
    if method != "POST":
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": ALLOWED_METHODS})
    if isinstance(settings, ConfigurationError):
        error("refusing the delivery: " + "; ".join(settings.problems))
        return Reply(500, {"error": "the function is misconfigured; see its error log"})

    if not is_authorized(request.headers, settings.webhook_tokens):
        return Reply(401, {"error": "missing or invalid bearer token"}, {"www-authenticate": "Bearer"})
    if len(request.body) > settings.max_body_bytes:
        return Reply(413, {"error": f"the body is larger than the {settings.max_body_bytes} bytes allowed"})
    try:
        payload = parse_payload(redact(request.body, (*settings.webhook_tokens, *settings.metrics_tokens)))
    except PayloadError as exc:
        return Reply(400, {"error": "invalid webhook payload", "problems": exc.problems})

    started = time.monotonic()
    key = request.headers.get("x-appwrite-key", "") or settings.fallback_api_key
    if not key:
        error("no Appwrite API key: Appwrite passes one in x-appwrite-key; elsewhere set APPWRITE_API_KEY")
        return Reply(500, {"error": "the function has no Appwrite API key; see its error log"})
    store = make_store(settings, key, started + settings.time_budget_seconds)
    try:
        summary = process_delivery(payload, store, routes=settings.routes, shaper=_shaper(),
                                   events_shaper=_events_shaper(), now=now())
    except TransientAppwriteError as exc:
        error(f"delivery of {len(payload.alerts)} alert(s) not stored, Alertmanager will retry: {exc}")
        return Reply(503, {"error": "Appwrite is unavailable; retry later"}, {"retry-after": "5"})
    except PermanentAppwriteError as exc:
        error(f"delivery of {len(payload.alerts)} alert(s) not stored: {exc}")
        return Reply(500, {"error": "Appwrite refused the delivery; see the function's error log"})

    elapsed_ms = (time.monotonic() - started) * 1000
    counts = summary.as_json()
    log(
        f"delivery receiver={payload.receiver!r} alerts={summary.received} created={summary.created} "
        f"updated={summary.updated} unchanged={summary.unchanged} stale={summary.stale} "
        f"messages_sent={summary.messages_sent} already_sent={summary.messages_already_sent} "
        f"truncated={summary.truncated_alerts} events={summary.events} took_ms={elapsed_ms:.0f}"
    )
    return Reply(200, {"status": "ok", **counts})
