"""`GET /metrics`: the Prometheus exposition, behind its own token (METRICS_TOKEN; 404 while it is unset),
computed from a fixed number of counts Appwrite answers (see `core.metrics`)."""

from __future__ import annotations

import time

from ..core.metrics import CONTENT_TYPE, plan_metrics, render
from ..errors import AppwriteError
from .http import NO_API_KEY, NOT_FOUND, Context, Reply, Request, appwrite_failed, elapsed_ms, open_store, refused


def scrape(request: Request, context: Context) -> Reply:
    settings = context.settings
    if not settings.metrics_tokens:
        return NOT_FOUND
    if (unauthorized := refused(request, context, settings.metrics_tokens, "metrics scrape")) is not None:
        return unauthorized
    started = time.monotonic()
    store = open_store(request, context, started)
    if store is None:
        return NO_API_KEY
    plan = plan_metrics(settings.metrics_severities, settings.routes, context.now())
    try:
        counts, newest = store.measure(plan.counts)
    except AppwriteError as exc:
        context.error(f"metrics not computed: {exc}")
        return appwrite_failed(exc, "metrics queries")
    context.log(f"metrics scrape took_ms={elapsed_ms(started)}")
    return Reply(200, render(plan, counts, newest), {"content-type": CONTENT_TYPE})
