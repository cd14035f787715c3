"""`POST /`: Alertmanager's webhook. Read top to bottom, one delivery is: the Bearer token, the size, the
payload (validated, secrets redacted), then the delivery carried out (`jobs.deliver`), then the reply. Nothing
is read from the body, and nothing is sent to Appwrite, before the token is accepted."""

from __future__ import annotations

import time

from ..core.payload import PayloadError, parse_payload, without_secrets
from ..core.rows import alerts_shaper, events_shaper
from ..errors import AppwriteError, TransientAppwriteError
from ..jobs.deliver import DeliverySummary, process_delivery
from .auth import redact
from .http import NO_API_KEY, Context, Reply, Request, appwrite_failed, elapsed_ms, linkers, open_store, refused


def receive(request: Request, context: Context) -> Reply:
    settings = context.settings
    if (unauthorized := refused(request, context, settings.webhook_tokens, "delivery")) is not None:
        return unauthorized
    if len(request.body) > settings.max_body_bytes:
        return Reply(413, {"error": f"the body is larger than the {settings.max_body_bytes} bytes allowed"})
    try:
        secrets = (*settings.webhook_tokens, *settings.metrics_tokens, *filter(None, [settings.ack_signing_key]))
        payload = without_secrets(parse_payload(redact(request.body, secrets)), secrets)
    except PayloadError as exc:
        return Reply(400, {"error": "invalid webhook payload", "problems": exc.problems})

    started = time.monotonic()
    store = open_store(request, context, started)
    if store is None:
        return NO_API_KEY
    moment = context.now()
    links, episode_link = linkers(request, settings, moment)
    try:
        summary = process_delivery(payload, store, routes=settings.routes, shaper=alerts_shaper(),
                                   events_shaper=events_shaper(), now=moment, policy=settings.policy,
                                   linker=links, episode_link=episode_link,
                                   received_resolution=settings.received_resolution,
                                   heartbeat=settings.heartbeat.alertname if settings.heartbeat else "")
    except AppwriteError as exc:
        retried = ", Alertmanager will retry" if isinstance(exc, TransientAppwriteError) else ""
        context.error(f"delivery of {len(payload.alerts)} alert(s) not stored{retried}: {exc}")
        return appwrite_failed(exc, "delivery")
    context.log(f"delivery receiver={payload.receiver!r} {_counts(summary)} took_ms={elapsed_ms(started)}")
    return Reply(200, {"status": "ok", **summary.as_json()})


def _counts(summary: DeliverySummary) -> str:
    return (f"alerts={summary.received} created={summary.created} updated={summary.updated} "
            f"unchanged={summary.unchanged} stale={summary.stale} messages_queued={summary.messages_sent} "
            f"already_queued={summary.messages_already_sent} truncated={summary.truncated_alerts} "
            f"events={summary.events} sms_held={summary.sms_held} silenced_by_flapping={summary.silenced}")
