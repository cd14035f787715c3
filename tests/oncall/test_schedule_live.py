"""Scheduled executions through the runtime host and the emulator: only Appwrite's cron starts one, two
overlapping runs send each escalation once, and an SMS storm is held at the budget and summarised once.
Pages are made "old" by moving their history row back in time, so no clock is patched."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from devkit import payloads as p
from devkit.runtime import FunctionHost
from tests.harness import TOKEN, Appwrite
from tests.oncall.conftest import ack_link, backdate, events, ok, schedule, sms_log, texts, titles

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def escalation_messages(appwrite: Appwrite) -> list[tuple[str, str, str]]:
    return sorted((topic, channel, text) for topic, channel, text in appwrite.sent() if "[ESCALATION" in text)


class TestTrigger:
    def test_a_caller_cannot_pose_as_the_scheduler(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """A POST claiming `x-appwrite-trigger: schedule` through the domain is a webhook: without a token, 401."""
        reply = requests.post(oncall_host.url + "/", headers={"x-appwrite-trigger": "schedule"}, timeout=30)
        assert reply.status_code == 401

    def test_a_scheduled_run_with_nothing_due_sends_nothing(
        self, oncall_host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """A fresh page is not escalated yet; the run answers 200, completes the page's claim (its messages went
        out) and records its 3 messages failed (no provider is enabled), re-sending nothing without
        ALERT_FALLBACK."""
        ok(oncall_host, p.alert(starts_at=T0))
        before = len(appwrite.messages())
        assert schedule(oncall_host) == {"status": "ok", "trigger": "schedule", "escalations": 0, "stableAgain": 0,
                                         "smsSummaries": 0, "smsHeld": 0, "messagesQueued": 0,
                                         "messagesAlreadyQueued": 0, "resolvesRepaired": 0, "claimsCompleted": 1,
                                         "heartbeatPaged": 0, "heartbeatRecovered": 0,
                                         "deliveriesSettled": 3, "deliveriesFailed": 3, "fallbacksQueued": 0}
        assert len(appwrite.messages()) == before

    def test_an_idle_run_makes_seven_reads(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """With nothing paged, flapping, held, left unannounced by a race or claimed and abandoned: one read each
        for pages, flapping rows, held SMS, silent resolves, pending claims,
        and (following deliveries) the announced and the followed messages."""
        appwrite.control.reset_calls()
        schedule(oncall_host)
        assert appwrite.control.calls() == {"GET /tablesdb/{databaseId}/tables/{tableId}/rows": 7}

    def test_a_webhook_with_the_token_is_still_a_delivery(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """The schedule header changes nothing for a POST with a body: it is a delivery like any other."""
        body = p.payload([p.alert(starts_at=T0)])
        reply = requests.post(oncall_host.url + "/", json=body, timeout=30,
                              headers={"authorization": f"Bearer {TOKEN}", "x-appwrite-trigger": "schedule"})
        assert reply.status_code == 200 and reply.json()["received"] == 1


class TestEscalation:
    def test_overlapping_runs_send_each_escalation_once(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """A critical page 16 minutes old, not acknowledged: two runs at once send level 1 once to every target
        of the page, and record it once; the next runs send nothing until 15 minutes after that."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        [fired] = events(appwrite, "fired")
        backdate(appwrite, fired["$id"], datetime.now(UTC) - timedelta(minutes=16))
        with ThreadPoolExecutor(max_workers=2) as pool:
            replies = list(pool.map(lambda _: schedule(oncall_host), range(2)))
        assert sum(reply["messagesQueued"] for reply in replies) == 3
        assert [topic_channel[:2] for topic_channel in escalation_messages(appwrite)] == [
            ("critical-alerts", "push"), ("critical-alerts", "sms"), ("monitoring-alerts", "push")]
        assert all(text.startswith("[ESCALATION 1/3] HighCPU") for _, _, text in escalation_messages(appwrite))
        [escalated] = events(appwrite, "escalated")
        assert (escalated["level"], escalated["episode"], escalated["pushMessages"], escalated["smsMessages"]) == (
            1, fired["$id"], 2, 1)
        with ThreadPoolExecutor(max_workers=2) as pool:
            later = list(pool.map(lambda _: schedule(oncall_host), range(2)))
        assert [reply["escalations"] for reply in later] == [0, 0]
        assert len(escalation_messages(appwrite)) == 3

    def test_an_acknowledged_page_is_not_escalated(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """Acknowledged through its link, an old page is left alone."""
        ok(oncall_host, p.alert(starts_at=T0))
        assert requests.get(ack_link(appwrite), timeout=30).status_code == 200
        [fired] = events(appwrite, "fired")
        backdate(appwrite, fired["$id"], datetime.now(UTC) - timedelta(minutes=40))
        assert schedule(oncall_host)["escalations"] == 0
        assert escalation_messages(appwrite) == []

    def test_a_resolved_page_is_not_escalated(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """Resolved since, an old page is left alone."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        ok(oncall_host, p.resolved(alert))
        [fired] = events(appwrite, "fired")
        backdate(appwrite, fired["$id"], datetime.now(UTC) - timedelta(minutes=40))
        assert schedule(oncall_host)["escalations"] == 0
        assert escalation_messages(appwrite) == []


class TestSmsBudget:
    def test_a_storm_is_held_at_the_budget_and_summarised_once(
        self, budget_host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """8 critical alerts in 8 deliveries with a budget of 3: 3 SMS go out and 5 are held while every push
        goes; the next scheduled run sends one summary SMS, and later runs send no other."""
        for i in range(8):
            reply = ok(budget_host, p.alert(f"Storm{i}", starts_at=T0))
            assert reply["smsHeld"] == (1 if i >= 3 else 0)
        assert len(texts(appwrite, "sms")) == 3
        assert len(titles(appwrite, "critical-alerts")) == 8 and len(titles(appwrite)) == 8
        assert sms_log(appwrite) == {"sent": 3, "held": 5}
        first = schedule(budget_host)
        assert (first["smsSummaries"], first["messagesQueued"]) == (1, 1)
        summary = texts(appwrite, "sms")[-1]
        assert summary.startswith("5 more alerts since ") and summary.endswith(" UTC, see push/email")
        assert schedule(budget_host)["smsSummaries"] == 0
        assert sms_log(appwrite) == {"sent": 3, "summarised": 5, "summary": 1}
        assert len(texts(appwrite, "sms")) == 4
        held = [c for e in events(appwrite, "fired") for c in json.loads(e["channels"]) if c["result"] == "held"]
        assert len(held) == 5
