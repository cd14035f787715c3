"""The scheduled execution (`x-appwrite-trigger: schedule` on a POST with an empty body, which only Appwrite
sends): runs `jobs.schedule` and says what it did."""

from __future__ import annotations

import time

from ..errors import AppwriteError, TransientAppwriteError
from ..jobs.schedule import run_scheduled
from .http import NO_API_KEY, Context, Reply, Request, appwrite_failed, elapsed_ms, open_store, signer


def run(request: Request, context: Context) -> Reply:
    settings = context.settings
    started = time.monotonic()
    store = open_store(request, context, started)
    if store is None:
        return NO_API_KEY
    moment = context.now()
    try:
        summary = run_scheduled(store, routes=settings.routes, policy=settings.policy,
                                signer=signer(request, settings, moment), now=moment,
                                heartbeat=settings.heartbeat,
                                fallback=settings.alert_fallback)
    except AppwriteError as exc:
        if isinstance(exc, TransientAppwriteError):
            context.error(f"scheduled run not completed, the next one carries on: {exc}")
        else:
            context.error(f"scheduled run failed: {exc}")
        return appwrite_failed(exc, "scheduled run", retry_after=False)
    counts = summary.as_json()
    context.log("scheduled run " + " ".join(f"{name}={value}" for name, value in counts.items())
                + f" took_ms={elapsed_ms(started)}")
    return Reply(200, {"status": "ok", "trigger": "schedule", **counts})
