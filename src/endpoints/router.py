"""HTTP semantics of the function: which request gets which answer.

Status codes follow Alertmanager's retry rule: 2xx done, 5xx retried, 4xx not retried. So bad auth and
bad input are 4xx, an Appwrite outage is 503, and a deployment mistake (configuration, key, missing
table) is 500 with a log line saying what to fix. Nothing is read from the body, and nothing is sent to
Appwrite, before the Bearer token is accepted.

`GET /metrics` is the Prometheus exposition, behind its own token (METRICS_TOKEN; 404 while it is unset);
`GET /ack?...` acknowledges an alert through a signed link, which is its own credential (ACK_SIGNING_KEY;
404 while it is unset); any other GET is the health check. A scheduled execution (`x-appwrite-trigger:
schedule`, which only Appwrite can set, on a POST with an empty body) completes the claims dead deliveries
left (`claims`), runs the on-call rules (escalations, "stable again" messages, SMS summaries) and repairs
firing/resolved races (`repair`); every other POST is a webhook delivery.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from ..core.metrics import CONTENT_TYPE
from ..core.payload import PayloadError, parse_payload, without_secrets
from ..core.rows import RowShaper, format_datetime, parse_datetime
from ..core.schema import load_schema
from ..errors import AppwriteError, ConfigurationError, PermanentAppwriteError, TransientAppwriteError
from ..jobs.claims import ClaimStore, finish_claims
from ..jobs.repair import repair_races
from ..oncall.links import ACK_PATH, PAGE_HEADERS, LinkProblem, base_url, page, verify_link
from ..oncall.messages import Signer
from ..oncall.rules import AckJudgement, AckVerdict
from ..oncall.service import acknowledge, run_schedule
from ..settings import Settings
from .auth import is_authorized, redact
from .webhook import AlertStore, MetricsStore, process_delivery, scrape_metrics

ALLOWED_METHODS = "GET, POST"
SERVICE_NAME = "alert-processor"
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: str = ""
    scheme: str = ""

    @property
    def scheduled(self) -> bool:
        """Appwrite's cron trigger. Appwrite sets `x-appwrite-*` itself on every domain request, so a caller
        cannot pose as it; still, only a POST with an empty body is taken for one."""
        return (self.method.upper() == "POST" and not self.body
                and self.headers.get("x-appwrite-trigger", "").strip().lower() == "schedule")


@dataclass(frozen=True)
class Reply:
    """A JSON object, or for a `str` body plain text with the content type in `headers`."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


class Store(AlertStore, MetricsStore, ClaimStore, Protocol):
    """What the handler needs of Appwrite: deliveries, metrics and the scheduled run."""


StoreFactory = Callable[[Settings, str, float], Store]
Log = Callable[[str], None]
NO_API_KEY = Reply(500, {"error": "the function has no Appwrite API key; see its error log"})


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
    store = _open_store(request, settings, make_store, error, started)
    if store is None:
        return NO_API_KEY
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


def _open_store(request: Request, settings: Settings, make_store: StoreFactory, error: Log,
                started: float) -> Store | None:
    """The store for this execution, its time budget counted from `started`; None (logged) without an API key."""
    key = request.headers.get("x-appwrite-key", "") or settings.fallback_api_key
    if not key:
        error("no Appwrite API key: Appwrite passes one in x-appwrite-key; elsewhere set APPWRITE_API_KEY")
        return None
    return make_store(settings, key, started + settings.time_budget_seconds)


def _signer(request: Request, settings: Settings, moment: datetime) -> Signer:
    return Signer(settings.ack_signing_key, base_url(settings.public_url, request.scheme,
                                                     request.headers.get("host", "")), moment)


def _ack_page(status: int, heading: str, *lines: str) -> Reply:
    return Reply(status, page(heading, list(lines)), dict(PAGE_HEADERS))


def _when(moment: datetime | None) -> str:
    return format_datetime(moment)[:19].replace("T", " ") + " UTC" if moment else "an unknown time"


def _ack_answer(judged: AckJudgement, alert: Mapping[str, Any]) -> Reply:
    what = (f"{alert.get('alertname') or 'An unnamed alert'}"
            f"{' on ' + str(alert['instance']) if alert.get('instance') else ''} ({alert.get('severity') or 'none'})")
    unchanged = "Nothing was changed."
    if judged.verdict is AckVerdict.ACKNOWLEDGED:
        return _ack_page(200, "Acknowledged", f"{what}, firing since {_when(parse_datetime(alert.get('startsAt')))}, "
                         f"was acknowledged at {_when(judged.at)}.", "No further escalations will be sent for it.")
    if judged.verdict is AckVerdict.ALREADY:
        return _ack_page(200, "Already acknowledged", f"{what} was acknowledged at {_when(judged.at)}.", unchanged)
    if judged.verdict is AckVerdict.RESOLVED:
        return _ack_page(200, "Already resolved", f"{what} resolved at {_when(judged.at)}.", unchanged)
    if judged.verdict is AckVerdict.REFIRED:
        return _ack_page(200, "Fired again since", f"{what} resolved at {_when(judged.at)} and fired again since "
                         "this link was sent; acknowledge it from the newest message.", unchanged)
    if judged.verdict is AckVerdict.SUPERSEDED:
        return _ack_page(200, "A newer occurrence", f"{what} resolved; a newer occurrence started at "
                         f"{_when(judged.at)}. Acknowledge it from its own message.", unchanged)
    return _ack_page(404, "Unknown alert", "No alert matches this link.", unchanged)


def _ack(request: Request, settings: Settings, *, make_store: StoreFactory, now: Callable[[], datetime],
         log: Log, error: Log) -> Reply:
    if not settings.ack_signing_key:
        return Reply(404, {"error": "not found"})
    moment = now()
    verified = verify_link(request.query, settings.ack_signing_key, moment)
    if isinstance(verified, LinkProblem):
        log(f"acknowledge link refused: {verified.value}")
        if verified is LinkProblem.EXPIRED:
            return _ack_page(403, "Link expired", "This acknowledge link has expired; use the link in a newer "
                             "message.", "Nothing was changed.")
        return _ack_page(403, "Invalid link", "This acknowledge link is not valid.", "Nothing was changed.")
    store = _open_store(request, settings, make_store, error, time.monotonic())
    if store is None:
        return _ack_page(500, "Not available", "The function has no Appwrite API key; see its error log.")
    try:
        judged, alert = acknowledge(verified, store, shaper=_events_shaper(), now=moment,
                                    client_ip=request.headers.get("x-appwrite-client-ip", ""))
    except AppwriteError as exc:
        error(f"acknowledgement of {verified.fingerprint} not recorded: {exc}")
        transient = isinstance(exc, TransientAppwriteError)
        return _ack_page(503 if transient else 500, "Not recorded", "The acknowledgement could not be recorded; "
                         "try the link again in a moment." if transient else "See the function's error log.")
    log(f"acknowledge fingerprint={verified.fingerprint} result={judged.verdict.value}")
    return _ack_answer(judged, alert)


def _schedule(request: Request, settings: Settings, *, make_store: StoreFactory, now: Callable[[], datetime],
              log: Log, error: Log) -> Reply:
    started = time.monotonic()
    store = _open_store(request, settings, make_store, error, started)
    if store is None:
        return NO_API_KEY
    moment = now()
    try:
        signer = _signer(request, settings, moment)
        # First what a dead delivery left unannounced: an escalation of a page nobody received would be odd.
        finished = finish_claims(store, now=moment, link=signer.link)
        summary = run_schedule(store, routes=settings.routes, policy=settings.policy,
                               signer=signer, shaper=_events_shaper(), now=moment)
        repaired = repair_races(store, routes=settings.routes, shaper=_shaper(), events_shaper=_events_shaper(),
                                now=moment, policy=settings.policy, linker=signer)
    except TransientAppwriteError as exc:
        error(f"scheduled run not completed, the next one carries on: {exc}")
        return Reply(503, {"error": "Appwrite is unavailable; retry later"})
    except PermanentAppwriteError as exc:
        error(f"scheduled run failed: {exc}")
        return Reply(500, {"error": "Appwrite refused the scheduled run; see the function's error log"})
    counts = {**summary.as_json(), "resolvesRepaired": repaired, "claimsCompleted": finished}
    log("scheduled run " + " ".join(f"{name}={value}" for name, value in counts.items())
        + f" took_ms={(time.monotonic() - started) * 1000:.0f}")
    return Reply(200, {"status": "ok", "trigger": "schedule", **counts})


def handle(request: Request, settings: Settings | ConfigurationError, *, make_store: StoreFactory,
           now: Callable[[], datetime], log: Log, error: Log) -> Reply:
    method = request.method.upper()
    if method == "GET":
        if request.path.rstrip("/") == METRICS_PATH and not isinstance(settings, ConfigurationError):
            return _metrics(request, settings, make_store=make_store, now=now, log=log, error=error)
        if request.path.rstrip("/") == ACK_PATH and not isinstance(settings, ConfigurationError):
            return _ack(request, settings, make_store=make_store, now=now, log=log, error=error)
        if isinstance(settings, ConfigurationError):
            return Reply(500, {"status": "misconfigured", "service": SERVICE_NAME,
                               "problems": list(settings.problems)})
        return Reply(200, {"status": "ok", "service": SERVICE_NAME})
    if method != "POST":
        return Reply(405, {"error": f"method {method} not allowed"}, {"allow": ALLOWED_METHODS})
    if isinstance(settings, ConfigurationError):
        error("refusing the delivery: " + "; ".join(settings.problems))
        return Reply(500, {"error": "the function is misconfigured; see its error log"})
    if request.scheduled:
        return _schedule(request, settings, make_store=make_store, now=now, log=log, error=error)

    if not is_authorized(request.headers, settings.webhook_tokens):
        return Reply(401, {"error": "missing or invalid bearer token"}, {"www-authenticate": "Bearer"})
    if len(request.body) > settings.max_body_bytes:
        return Reply(413, {"error": f"the body is larger than the {settings.max_body_bytes} bytes allowed"})
    try:
        secrets = (*settings.webhook_tokens, *settings.metrics_tokens, *filter(None, [settings.ack_signing_key]))
        payload = without_secrets(parse_payload(redact(request.body, secrets)), secrets)
    except PayloadError as exc:
        return Reply(400, {"error": "invalid webhook payload", "problems": exc.problems})

    started = time.monotonic()
    store = _open_store(request, settings, make_store, error, started)
    if store is None:
        return NO_API_KEY
    moment = now()
    try:
        summary = process_delivery(payload, store, routes=settings.routes, shaper=_shaper(),
                                   events_shaper=_events_shaper(), now=moment, policy=settings.policy,
                                   linker=_signer(request, settings, moment))
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
        f"truncated={summary.truncated_alerts} events={summary.events} sms_held={summary.sms_held} "
        f"silenced_by_flapping={summary.silenced} took_ms={elapsed_ms:.0f}"
    )
    return Reply(200, {"status": "ok", **counts})
