"""The health checks. `GET /health` (and `HEAD`) is the readiness check: 200 only when the variables are valid,
the API key is accepted with every scope the function needs, and the database, its tables and every topic a
setting names exist; else 503 naming each failed check and what to do (`core.readiness_checks`). Its verdict is kept
`READINESS_TTL` in the warm process, so a probe every few seconds costs Appwrite nothing most of the time.

Any other `GET` is the liveness check: it says whether the variables are valid (500 naming each problem,
never a value) and asks Appwrite nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from ..core.readiness_checks import CHECKS, FALLBACK_LOOKBACK, Failure, Status, Verdict, judge, misconfigured, wanted
from ..errors import ConfigurationError
from ..formats import format_datetime
from ..settings import ENV_EVENTS_TABLE_ID, ENV_SMS_TABLE_ID, ENV_TABLE_ID, Settings, topic_channels
from .http import HEALTH_PATH, Context, Reply, Request, open_store

SERVICE_NAME = "alert-processor"
READINESS_TTL = timedelta(seconds=10)
# Once every scope was found held, the scope probes (four calls) are repeated only this often: a probe between
# them costs the topics and tables reads (and, with ALERT_FALLBACK, the failed fallbacks read).
SCOPES_TTL = timedelta(minutes=5)

_verdicts: dict[str, tuple[datetime, Verdict]] = {}
_scopes_held: dict[str, datetime] = {}
_verdicts_lock = threading.Lock()


def health(problem: ConfigurationError | None) -> Reply:
    if problem is not None:
        return Reply(500, {"status": "misconfigured", "service": SERVICE_NAME, "problems": list(problem.problems),
                           "readiness": HEALTH_PATH})
    return Reply(200, {"status": "ok", "service": SERVICE_NAME, "readiness": HEALTH_PATH})


def readiness(request: Request, settings: Settings | ConfigurationError, context: Context | None) -> Reply:
    """The readiness answer; `context` is None while the variables are invalid."""
    if isinstance(settings, ConfigurationError) or context is None:
        problems = settings.problems if isinstance(settings, ConfigurationError) else ()
        return _answer(request, misconfigured(problems), None)
    # The verdict belongs to these settings and this key. Appwrite passes a new key to every execution, each
    # with the deployment's scopes: all its keys are one; APPWRITE_API_KEY is kept only as a digest.
    key = "dynamic" if request.headers.get("x-appwrite-key") else settings.fallback_api_key
    cache_key = hashlib.sha256(f"{key}\n{settings!r}\n{settings.routes!r}".encode()).hexdigest()
    moment = context.now()
    with _verdicts_lock:
        cached = _verdicts.get(cache_key)
    if cached is not None and timedelta(0) <= moment - cached[0] < READINESS_TTL:
        return _answer(request, cached[1], cached[0])
    with _verdicts_lock:
        held_at = _scopes_held.get(cache_key)
    probe_scopes = held_at is None or not timedelta(0) <= moment - held_at < SCOPES_TTL
    verdict = _check(request, settings, context, probe_scopes=probe_scopes, now=moment)
    with _verdicts_lock:
        _verdicts.clear()  # only the newest settings and key matter
        _verdicts[cache_key] = (moment, verdict)
        if verdict.checks.get("api key") != "ok":
            _scopes_held.clear()
        elif probe_scopes:
            _scopes_held.clear()
            _scopes_held[cache_key] = moment
    if not verdict.ready:
        context.error("not ready: " + "; ".join(f"{f.check}: {f.problem}" for f in verdict.failures))
    return _answer(request, verdict, moment)


def _check(request: Request, settings: Settings, context: Context, *, probe_scopes: bool, now: datetime) -> Verdict:
    want = wanted(settings.database_id, {ENV_TABLE_ID: settings.table_id, ENV_EVENTS_TABLE_ID: settings.events_table_id,
                                         ENV_SMS_TABLE_ID: settings.sms_table_id},
                  topic_channels(settings.routes, settings.heartbeat, settings.alert_fallback))
    store = open_store(request, context, time.monotonic())
    if store is None:
        return _no_key()
    fallback_since = now - FALLBACK_LOOKBACK if settings.alert_fallback else None
    return judge(want, store.observe_readiness(list(want.topic_uses), list(want.tables.values()),
                                               probe_scopes=probe_scopes, fallback_since=fallback_since))


def _no_key() -> Verdict:
    checks: dict[str, Status] = {name: "not checked" for name in CHECKS}
    checks.update({"variables": "ok", "api key": "failed"})
    return Verdict(checks, (Failure("api key", "the function has no Appwrite API key: Appwrite passes one in "
                                               "x-appwrite-key; elsewhere set APPWRITE_API_KEY"),), ())


def _answer(request: Request, verdict: Verdict, checked_at: datetime | None) -> Reply:
    status = 200 if verdict.ready else 503
    headers = {"cache-control": "no-store"}
    if request.method.upper() == "HEAD":
        return Reply(status, "", {**headers, "content-type": "application/json"})
    body: dict[str, Any] = {
        "status": "ready" if verdict.ready else "not ready",
        "service": SERVICE_NAME,
        "checks": dict(verdict.checks),
        "failures": [{"check": failure.check, "problem": failure.problem} for failure in verdict.failures],
        "warnings": list(verdict.warnings),
    }
    if checked_at is not None:
        body["checkedAt"] = format_datetime(checked_at)
        body["cachedForSeconds"] = int(READINESS_TTL.total_seconds())
    return Reply(status, body, headers)
