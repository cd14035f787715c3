"""What a delivery plans to write: rows that changed, and unchanged rows only once their `lastReceivedAt` is
older than the resolution, so a quiet re-delivery writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from devkit import payloads as p
from src.core.payload import parse_payload
from src.core.plan import RECEIVED_RESOLUTION, DeliveryPlan, plan_delivery
from src.core.rows import alerts_shaper
from src.messages.routing import default_routes

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ROUTES = default_routes("critical-alerts", "monitoring-alerts")


def plan(alerts: list[dict[str, Any]], stored: dict[str, dict[str, Any]], now: datetime) -> DeliveryPlan:
    payload = parse_payload(json.dumps(p.payload(alerts)).encode())
    return plan_delivery(payload, stored, routes=ROUTES, shaper=alerts_shaper(), now=now)


def stored_after(alerts: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """The rows as Appwrite holds them after a first delivery at `now`."""
    return {row["$id"]: row for row in plan(alerts, {}, now).rows}


def test_a_quiet_redelivery_within_the_resolution_writes_no_row() -> None:
    """The same firing alerts again, five minutes later: nothing to write."""
    alerts = p.many(3, severity="warning", starts_at=T0)
    stored = stored_after(alerts, T0)
    again = plan(alerts, stored, T0 + timedelta(minutes=5))
    assert again.rows == () and again.messages == ()
    assert {outcome.decision.kind.value for outcome in again.outcomes} == {"repeat"}


def test_an_unchanged_row_is_refreshed_once_lastreceivedat_is_as_old_as_the_resolution() -> None:
    """An hour on, the re-delivery rewrites the rows, moving only `lastReceivedAt`."""
    alerts = p.many(2, severity="warning", starts_at=T0)
    stored = stored_after(alerts, T0)
    later = T0 + RECEIVED_RESOLUTION
    rows = plan(alerts, stored, later).rows
    assert {row["$id"] for row in rows} == set(stored)
    for row in rows:
        assert {key for key, value in row.items() if stored[row["$id"]].get(key) != value} == {"lastReceivedAt"}
        assert row["lastReceivedAt"].startswith(later.isoformat(timespec="seconds")[:19])


def test_a_changed_alert_is_written_at_once() -> None:
    """A new summary on a firing alert is stored on the next delivery, however recent the last one."""
    alert = p.alert(severity="warning", starts_at=T0)
    stored = stored_after([alert], T0)
    changed = {**alert, "annotations": {**alert.get("annotations", {}), "summary": "now 99% full"}}
    rows = plan([changed], stored, T0 + timedelta(minutes=1)).rows
    assert [row["summary"] for row in rows] == ["now 99% full"]
