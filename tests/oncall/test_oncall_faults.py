"""Appwrite failing at the steps the on-call rules add: the function answers 503 (Alertmanager retries, the
next scheduled run carries on, a person clicks again), and once Appwrite is back every message went out
exactly once and every row was recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from devkit import payloads as p
from devkit.runtime import FunctionHost
from tests.harness import Appwrite, deliver
from tests.oncall.conftest import ack_link, backdate, events, ok, sms_log, texts

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
HISTORY = r"/tables/alert_events/rows$"
SMS_LOG = r"/tables/sms_log/rows$"


@pytest.mark.parametrize(("path", "method"), [(HISTORY, "GET"), (SMS_LOG, "GET"), (SMS_LOG, "POST")],
                         ids=["flapping-history-read", "sms-count", "sms-record"])
def test_a_failing_oncall_step_gives_503_and_the_retry_is_exact(
    oncall_host: FunctionHost, appwrite: Appwrite, path: str, method: str
) -> None:
    """A resolve (which reads the history) of a critical alert (whose SMS is counted and recorded) meets an
    outage at that step: 503; Alertmanager's retry announces the resolve exactly once per target."""
    alert = p.alert(starts_at=T0)
    ok(oncall_host, alert)
    body = p.payload([p.resolved(alert)])
    appwrite.control.add_fault(path, method=method, count=20, status=503)
    assert deliver(oncall_host.url, body).status_code == 503
    appwrite.control.clear_faults()
    assert deliver(oncall_host.url, body).status_code == 200
    resolved = [(topic, channel) for topic, channel, text in appwrite.sent() if text.startswith("[RESOLVED]")]
    assert sorted(resolved) == [("critical-alerts", "push"), ("critical-alerts", "sms"), ("monitoring-alerts", "push")]
    assert len(events(appwrite, "resolved")) == 1
    assert sms_log(appwrite) == {"sent": 2}


def test_an_acknowledgement_that_cannot_be_recorded_can_be_clicked_again(
    oncall_host: FunctionHost, appwrite: Appwrite
) -> None:
    """Appwrite down when the link is opened: 503 and nothing recorded; the next click records it once."""
    ok(oncall_host, p.alert(starts_at=T0))
    link = ack_link(appwrite)
    appwrite.control.add_fault(HISTORY, method="POST", count=20, status=503)
    first = requests.get(link, timeout=30)
    assert first.status_code == 503 and "try the link again" in first.text
    appwrite.control.clear_faults()
    assert "Acknowledged" in requests.get(link, timeout=30).text
    assert len(events(appwrite, "acknowledged")) == 1


def test_an_escalation_run_cut_short_is_completed_by_the_next_once(
    oncall_host: FunctionHost, appwrite: Appwrite
) -> None:
    """The escalation's history row cannot be written: the run answers 503 after sending; the next run sends
    nothing twice and records the level once."""
    ok(oncall_host, p.alert(starts_at=T0))
    [fired] = events(appwrite, "fired")
    backdate(appwrite, fired["$id"], datetime.now(UTC) - timedelta(minutes=16))
    appwrite.control.add_fault(HISTORY, method="POST", count=20, status=503)
    assert requests.post(oncall_host.url + "/_host/schedule", timeout=30).status_code == 503
    appwrite.control.clear_faults()
    again = requests.post(oncall_host.url + "/_host/schedule", timeout=30).json()
    assert (again["escalations"], again["messagesQueued"], again["messagesAlreadyQueued"]) == (1, 0, 3)
    assert len([t for t in texts(appwrite) if t.startswith("[ESCALATION 1/3]")]) == 1
    assert [e["level"] for e in events(appwrite, "escalated")] == [1]
