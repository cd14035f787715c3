"""The dead-man's switch: the heartbeat alert is stored and never announced; when it stops arriving, the
scheduled run pages the heartbeat topic once, and announces once that it is back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devkit import payloads as p
from devkit.emulator import Emulator
from src.core.kinds import Kind
from src.core.payload import parse_payload
from src.core.rows import RowShaper
from src.core.schema import load_schema
from src.errors import ConfigurationError
from src.jobs.deliver import process_delivery
from src.jobs.schedule import ScheduleSummary, run_scheduled
from src.settings import load_settings, read_topic_uses
from tests.conftest import function_env
from tests.harness import PROJECT_ID, Appwrite
from tests.oncall.conftest import EVENTS, Oncall, events, oncall_with, pushes

T0 = datetime(2026, 12, 4, 10, 3, tzinfo=UTC)


def watchdog() -> dict[str, Any]:
    return p.alert("Watchdog", severity="none", instance="", starts_at=T0 - timedelta(days=1))


def deliver(runner: Oncall, at: datetime, *alerts: dict[str, Any]) -> None:
    payload = parse_payload(json.dumps(p.payload(list(alerts) or [watchdog()])).encode())
    schema = load_schema()
    heartbeat = runner.settings.heartbeat
    process_delivery(payload, runner.store(), routes=runner.settings.routes, shaper=RowShaper(schema.table("alerts")),
                     events_shaper=RowShaper(schema.table(EVENTS)), now=at, policy=runner.settings.policy,
                     heartbeat=heartbeat.alertname if heartbeat else "")


def scheduled(runner: Oncall, at: datetime) -> ScheduleSummary:
    return run_scheduled(runner.store(), routes=runner.settings.routes, policy=runner.settings.policy,
                         signer=runner.signer(at), now=at, heartbeat=runner.settings.heartbeat)


def heartbeat_titles(appwrite: Appwrite) -> list[str]:
    return [data.get("title", "") for data in pushes(appwrite) if data.get("title", "").startswith("[HEARTBEAT")]


@pytest.fixture
def switch(emulator: Emulator, appwrite: Appwrite) -> Oncall:
    return oncall_with(emulator, APPWRITE_PROJECT_ID=PROJECT_ID, HEARTBEAT_ALERT="Watchdog",
                       HEARTBEAT_INTERVAL="5", HEARTBEAT_GRACE="10")


def test_the_heartbeat_is_stored_and_never_announced(switch: Oncall, appwrite: Appwrite) -> None:
    """Every delivery of the heartbeat refreshes its row's lastReceivedAt, and no message ever announces it."""
    deliver(switch, T0)
    deliver(switch, T0 + timedelta(minutes=5))
    rows = [row for row in appwrite.rows("alerts").values() if row["alertname"] == "Watchdog"]
    assert len(rows) == 1
    assert rows[0]["lastReceivedAt"].startswith("2026-12-04T10:08")
    assert appwrite.messages() == []


def test_a_stopped_heartbeat_pages_once_and_recovers_once(switch: Oncall, appwrite: Appwrite) -> None:
    """Past interval + grace the scheduled run pages once (not again on later runs); back, it recovers once."""
    deliver(switch, T0)
    assert scheduled(switch, T0 + timedelta(minutes=14)).heartbeat_pages == 0
    runs = [scheduled(switch, T0 + timedelta(minutes=m)) for m in (15.5, 16.5, 17.5, 40)]
    assert [run.heartbeat_pages for run in runs] == [1, 0, 0, 0]
    assert heartbeat_titles(appwrite) == ["[HEARTBEAT MISSED] Alertmanager has not reached alert-processor "
                                          "for 16 min"]
    deliver(switch, T0 + timedelta(minutes=41))
    back = [scheduled(switch, T0 + timedelta(minutes=m)) for m in (42, 43)]
    assert [run.heartbeat_recoveries for run in back] == [1, 0]
    assert len(heartbeat_titles(appwrite)) == 2 and heartbeat_titles(appwrite)[1].startswith("[HEARTBEAT BACK]")
    assert [row["kind"] for row in events(appwrite) if row["kind"].startswith("heartbeat")] == [
        Kind.HEARTBEAT_MISSED, Kind.HEARTBEAT_BACK]


def test_a_heartbeat_never_received_pages_after_its_grace(switch: Oncall, appwrite: Appwrite) -> None:
    """The first run arms the switch; with no heartbeat ever received it pages once interval + grace later."""
    assert scheduled(switch, T0).heartbeat_pages == 0
    assert [scheduled(switch, T0 + timedelta(minutes=m)).heartbeat_pages for m in (10, 16, 17)] == [0, 1, 0]
    assert heartbeat_titles(appwrite) == ["[HEARTBEAT MISSED] Watchdog never reached alert-processor"]


def test_off_by_default_no_page_ever(oncall: Oncall, appwrite: Appwrite) -> None:
    """Without HEARTBEAT_ALERT, a Watchdog that stops arriving pages nobody."""
    deliver(oncall, T0)
    assert [scheduled(oncall, T0 + timedelta(minutes=m)).heartbeat_pages for m in (20, 60)] == [0, 0]
    assert heartbeat_titles(appwrite) == []


def test_bad_settings_give_clear_errors(emulator: Emulator) -> None:
    """Out-of-range minutes, a bad topic, or interval/grace without an alert name are each named."""
    with pytest.raises(ConfigurationError) as error:
        load_settings(function_env(emulator, HEARTBEAT_ALERT="Watchdog", HEARTBEAT_INTERVAL="0",
                                   HEARTBEAT_GRACE="ten", HEARTBEAT_TOPIC_ID="-bad"))
    text = str(error.value)
    assert "HEARTBEAT_INTERVAL must be a whole number from 1 to 1440" in text
    assert "HEARTBEAT_GRACE must be a whole number" in text and "HEARTBEAT_TOPIC_ID" in text
    with pytest.raises(ConfigurationError, match="HEARTBEAT_ALERT is empty"):
        load_settings(function_env(emulator, HEARTBEAT_GRACE="5"))


def test_the_heartbeat_topic_is_listed_as_used() -> None:
    """The bootstrap and readiness check see the heartbeat topic, named by "heartbeat"."""
    uses = read_topic_uses({"HEARTBEAT_ALERT": "Watchdog", "HEARTBEAT_TOPIC_ID": "deadman"})
    assert uses["deadman"] == ("heartbeat",)
