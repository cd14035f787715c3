"""Finishing what racing deliveries left undone, in the scheduled execution.

Alert rows are written with bulk upserts, last write wins. When a *firing* and a *resolved* delivery of a new
alert race (the two Alertmanagers of an HA pair at the moment of the resolve), both can read "no row": the
firing copy announces the firing, the resolved copy stores the resolve silently ("resolved, never seen
firing"), and whichever row write lands last wins. Both copies always record their decision in the history
before writing the row, so the scheduled run can see the pair afterwards: a `resolved-unseen` event whose
occurrence also has its first-firing event. It then announces the resolve, once (the message ID is the same
as a resolve delivered in order would have had), and leaves the row resolved and announced: the outcome of
the same deliveries in order.

Reads per scheduled run: one (the recent `resolved-unseen` events); then, only if there are any, one read of
those alerts' history (per 100) and the delivery path's usual calls for the alerts to repair.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..core.events import event_id
from ..core.kinds import Kind
from ..core.lifecycle import Delivered, decide_repair, first_firing_key
from ..core.payload import Alert, WebhookPayload
from ..core.rows import RowShaper, stored_object
from ..delivery.port import AlertStore
from ..formats import parse_datetime
from ..messages.render import Linker
from ..messages.routing import Route
from ..oncall.policy import Policy
from .deliver import process_delivery

REPAIR_LOOKBACK = timedelta(minutes=30)
REPAIR_LIMIT = 100
# Copies of one group racing are decided within moments of each other. A firing decided well after the silent
# resolve is the alert genuinely firing again (its sender came back), not a race, and is left alone.
RACE_WINDOW = timedelta(seconds=10)


def _raced(fired_at: datetime | None, unseen: Mapping[str, Any]) -> bool:
    unseen_at = parse_datetime(unseen.get("at"))
    return fired_at is not None and unseen_at is not None and fired_at - unseen_at <= RACE_WINDOW


def _labels(row: Mapping[str, Any]) -> dict[str, str]:
    # The labels column may have been cut to fit; the columns copied from the labels are enough to route.
    labels = stored_object(row, "labels")
    if labels is not None:
        return labels
    copied = {"alertname": row.get("alertname"), "severity": row.get("severity"), "instance": row.get("instance"),
              "job": row.get("job")}
    return {name: str(value) for name, value in copied.items() if value and value != "none"}


def _annotations(row: Mapping[str, Any]) -> dict[str, str]:
    annotations = stored_object(row, "annotations")
    if annotations is not None:
        return annotations
    return {"summary": str(row.get("summary") or ""), "description": str(row.get("description") or "")}


def _resolved_alert(event: Mapping[str, Any], row: Mapping[str, Any]) -> Alert:
    return Alert.model_validate({
        "status": "resolved",
        "labels": _labels(row),
        "annotations": _annotations(row),
        "starts_at": parse_datetime(event.get("startsAt")),
        "ends_at": parse_datetime(event.get("endsAt")),
        "generator_url": str(row.get("generatorURL") or ""),
        "fingerprint": str(event["fingerprint"]),
    })


def repair_races(store: AlertStore, *, routes: tuple[Route, ...], shaper: RowShaper, events_shaper: RowShaper,
                 now: datetime, policy: Policy, linker: Linker) -> int:
    """Announce the resolves racing deliveries left unannounced; returns how many were announced now."""
    unseen = store.find_events(kinds=[Kind.RESOLVED_UNSEEN.value], since=now - REPAIR_LOOKBACK,
                               limit=REPAIR_LIMIT)
    by_fired: dict[str, Mapping[str, Any]] = {}
    for event in unseen:
        starts = parse_datetime(event.get("startsAt"))
        if starts is not None and parse_datetime(event.get("endsAt")) is not None:
            first = Delivered(str(event["fingerprint"]), "firing", starts, None)
            by_fired[event_id(first_firing_key(first))] = event
    if not by_fired:
        return 0
    history = store.fetch_history(sorted({str(event["fingerprint"]) for event in by_fired.values()}),
                                  now - REPAIR_LOOKBACK - RACE_WINDOW)
    fired_at = {str(row["$id"]): parse_datetime(row.get("at")) for row in history if row.get("$id") in by_fired}
    events = [event for fired_id, event in by_fired.items() if _raced(fired_at.get(fired_id), event)]
    if not events:
        return 0
    rows = store.fetch_alerts(sorted({str(event["fingerprint"]) for event in events}))
    alerts = [_resolved_alert(event, rows[str(event["fingerprint"])]) for event in events
              if str(event["fingerprint"]) in rows]
    if not alerts:
        return 0
    first_row = rows[alerts[0].fingerprint]
    payload = WebhookPayload(version="4", receiver=str(first_row.get("receiver") or "alert-processor"),
                             status="resolved", alerts=alerts, group_key=str(first_row.get("groupKey") or ""))
    summary = process_delivery(payload, store, routes=routes, shaper=shaper, events_shaper=events_shaper, now=now,
                               policy=policy, linker=linker, decider=decide_repair)
    return summary.decisions.get(Kind.RESOLVED.value, 0)
