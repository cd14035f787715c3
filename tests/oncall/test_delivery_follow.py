"""Following messages to their delivery against the emulator: the scheduled run records each message's outcome
(Appwrite's error, or how many received it), re-sends a failed critical page once through ALERT_FALLBACK, and a
second run re-sends nothing. Providers and subscribers are set through the emulator's control routes; time is
the `now` the scheduled run is given."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from devkit.emulator import Emulator
from tests.harness import Appwrite
from tests.oncall.conftest import events, oncall_with, scheduled, settled

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
FALLBACK = json.dumps([{"topic": "monitoring-alerts", "channel": "email"}])


def follow_rows(appwrite: Appwrite, kind: str = "delivery") -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["topic"], row["channel"]): row for row in events(appwrite, kind)}


def test_a_failed_critical_sms_page_is_recorded_and_re_sent_once_through_the_fallback(
    emulator: Emulator, appwrite: Appwrite
) -> None:
    """SMS without a provider fails with Appwrite's error; the push reaching 2 devices shows delivered 2; one
    fallback email per failed page says what failed and why, and the next run sends nothing more."""
    appwrite.control.enable_provider("push")
    appwrite.control.enable_provider("email")
    appwrite.control.add_subscribers("critical-alerts", "push", 2)
    appwrite.control.add_subscribers("monitoring-alerts", "push", 1)
    appwrite.control.add_subscribers("monitoring-alerts", "email", 1)
    oncall = oncall_with(emulator, ALERT_FALLBACK=FALLBACK)
    oncall.deliver(_alert(), at=T0)
    settled(appwrite, 3)

    first = scheduled(oncall, T0 + timedelta(minutes=1))
    assert (first.deliveries_settled, first.deliveries_failed, first.fallbacks_queued) == (3, 1, 1)
    rows = follow_rows(appwrite)
    sms = rows[("critical-alerts", "sms")]
    assert (sms["outcome"], sms["reason"], sms["alertname"]) == ("failed", "No enabled provider found.", "DiskFull")
    assert (rows[("critical-alerts", "push")]["outcome"], rows[("critical-alerts", "push")]["delivered"]) == (
        "delivered", 2)
    emails = [m for m in settled(appwrite, 4) if m.providertype == "email"]
    assert [m.data["subject"] for m in emails] == [
        "[FALLBACK] SMS page for DiskFull on db-1 failed: No enabled provider found."]

    second = scheduled(oncall, T0 + timedelta(minutes=2))
    assert second.fallbacks_queued == 0 and len(appwrite.messages()) == 4
    [fallback] = follow_rows(appwrite, "fallback").values()
    assert (fallback["outcome"], fallback["delivered"], fallback["topic"]) == ("delivered", 1, "monitoring-alerts")
    assert scheduled(oncall, T0 + timedelta(minutes=3)).deliveries_settled == 0


def test_a_failed_fallback_is_recorded_and_never_re_routed(emulator: Emulator, appwrite: Appwrite) -> None:
    """With no provider at all, the page and its fallback fail; the fallback's failure is recorded with its
    error and sends nothing more, however many runs follow."""
    oncall = oncall_with(emulator, ALERT_FALLBACK=FALLBACK)
    oncall.deliver(_alert(), at=T0)
    settled(appwrite, 3)
    assert scheduled(oncall, T0 + timedelta(minutes=1)).fallbacks_queued == 3
    settled(appwrite, 6)
    later = scheduled(oncall, T0 + timedelta(minutes=2))
    assert (later.deliveries_failed, later.fallbacks_queued) == (3, 0)
    assert {row["outcome"] for row in events(appwrite, "fallback")} == {"failed"}
    assert {row["reason"] for row in events(appwrite, "fallback")} == {"No enabled provider found."}
    scheduled(oncall, T0 + timedelta(minutes=3))
    assert len(appwrite.messages()) == 6


def test_without_a_fallback_a_failure_is_recorded_and_nothing_is_re_sent(
    emulator: Emulator, appwrite: Appwrite
) -> None:
    """ALERT_FALLBACK unset: the failed messages are recorded failed, no message is added."""
    oncall = oncall_with(emulator)
    oncall.deliver(_alert(), at=T0)
    settled(appwrite, 3)
    summary = scheduled(oncall, T0 + timedelta(minutes=1))
    assert (summary.deliveries_failed, summary.fallbacks_queued) == (3, 0)
    assert len(appwrite.messages()) == 3


def _alert() -> dict[str, Any]:
    from devkit import payloads as p

    return p.alert("DiskFull", instance="db-1", starts_at=T0)
