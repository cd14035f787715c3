"""The scheduled run's repair of a firing/resolved race (`src/repair.py`), at chosen times: a resolve stored
silently moments before (or after) a copy announced the firing is announced once; a genuine re-fire long after
a silent resolve is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from devkit import payloads as p
from src.endpoints.http import Request
from tests.harness import Appwrite
from tests.oncall.conftest import Oncall, titles

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
STARTS = T0 - timedelta(minutes=3)
def scheduled_run(oncall: Oncall, at: datetime) -> dict[str, Any]:
    """A scheduled execution as Appwrite starts it: POST, empty body, the trigger header and a key."""
    headers = {"x-appwrite-trigger": "schedule", "x-appwrite-key": oncall.emulator.api_key}
    reply = oncall.request(Request(method="POST", path="/", headers=headers, body=b""), at)
    assert reply.status == 200 and isinstance(reply.body, dict), reply.body
    return reply.body


def story(appwrite: Appwrite, fingerprint: str) -> tuple[list[str], str, str]:
    """(push titles on the monitoring topic, row status, row notifiedStatus)."""
    row = appwrite.rows()[fingerprint]
    return [t.split("]")[0] + "]" for t in titles(appwrite)], row["status"], row["notifiedStatus"]


def test_a_firing_decided_moments_after_a_silent_resolve_is_repaired(oncall: Oncall, appwrite: Appwrite) -> None:
    """The resolved copy read no row and stored the resolve silently; 2 s later the firing copy announced the
    firing: the next scheduled run announces the resolve once and leaves the row resolved, as in order."""
    alert = p.alert(severity="warning", starts_at=STARTS)
    oncall.deliver(p.resolved(alert, T0 - timedelta(seconds=30)), at=T0)
    oncall.deliver(alert, at=T0 + timedelta(seconds=2))
    assert story(appwrite, alert["fingerprint"]) == (["[FIRING]"], "firing", "firing")
    assert scheduled_run(oncall, T0 + timedelta(minutes=1))["resolvesRepaired"] == 1
    assert story(appwrite, alert["fingerprint"]) == (["[FIRING]", "[RESOLVED]"], "resolved", "resolved")
    assert scheduled_run(oncall, T0 + timedelta(minutes=2))["resolvesRepaired"] == 0
    assert story(appwrite, alert["fingerprint"]) == (["[FIRING]", "[RESOLVED]"], "resolved", "resolved")


def test_a_genuine_refire_long_after_a_silent_resolve_is_left_firing(oncall: Oncall, appwrite: Appwrite) -> None:
    """A resolve never seen firing, then 5 minutes later the same startsAt firing (its sender came back): the
    alert is firing, and the scheduled run announces no resolve."""
    alert = p.alert(severity="warning", starts_at=STARTS)
    oncall.deliver(p.resolved(alert, T0 - timedelta(seconds=30)), at=T0)
    oncall.deliver(alert, at=T0 + timedelta(minutes=5))
    assert scheduled_run(oncall, T0 + timedelta(minutes=6))["resolvesRepaired"] == 0
    assert story(appwrite, alert["fingerprint"]) == (["[FIRING]"], "firing", "firing")
