"""A delivery that claimed its changes and died before its messages all went out, never retried by Alertmanager:
the scheduled run, once the claims are CLAIM_TIMEOUT old, sends what they name and Messaging does not have, under
the IDs they name, and completes them; a late retry of the dead delivery then sends nothing. In process, at chosen
times, with the real store against the emulator."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devkit import payloads as p
from devkit.emulator import Emulator
from src.core.events import CLAIM_TIMEOUT, claim_owner, event_rows
from src.core.payload import parse_payload
from src.core.plan import plan_delivery
from src.core.rows import RowShaper
from src.core.schema import load_schema
from src.endpoints.http import Request
from src.errors import TransientAppwriteError
from tests.harness import PROJECT_ID, Appwrite
from tests.oncall.conftest import BASE, Oncall, events, oncall_with

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
STARTS = T0 - timedelta(minutes=3)
PUSH = r"/messaging/messages/push$"


def scheduled_run(oncall: Oncall, at: datetime) -> dict[str, Any]:
    headers = {"x-appwrite-trigger": "schedule", "x-appwrite-key": oncall.emulator.api_key}
    reply = oncall.request(Request(method="POST", path="/", headers=headers, body=b""), at)
    assert reply.status == 200 and isinstance(reply.body, dict), reply.body
    return reply.body


def dies_after_claiming(oncall: Oncall, appwrite: Appwrite, *alerts: dict[str, Any]) -> None:
    """Deliver while every push fails: the claims are made, the delivery gives up (Alertmanager would get 503)."""
    appwrite.control.add_fault(PUSH, method="POST", count=1000, status=503)
    with pytest.raises(TransientAppwriteError):
        oncall.deliver(*alerts, at=T0)
    appwrite.control.clear_faults()


def results(appwrite: Appwrite) -> Counter[str]:
    return Counter(c["result"] for e in events(appwrite) for c in json.loads(e["channels"] or "[]"))


def headlines(appwrite: Appwrite) -> Counter[str]:
    """Every alert each push announced (a digest counts each alert it lists)."""
    seen: Counter[str] = Counter()
    for message in appwrite.messages():
        if message.providertype != "push":
            continue
        lines = [message.data["title"]] if not message.data["title"].startswith("[ALERTS]") else \
            message.data["body"].splitlines()
        seen.update(f"{message.topics[0]} {line}" for line in lines if line.startswith("[FIRING]"))
    return seen


def test_a_dead_deliverys_claims_are_sent_by_the_scheduled_run_once(oncall: Oncall, appwrite: Appwrite) -> None:
    """A critical alert: its SMS went out, its pushes did not. Before CLAIM_TIMEOUT the scheduled run leaves the
    claim alone; after, it sends the two pushes and finds the SMS sent; a later run does nothing."""
    alert = p.alert(starts_at=STARTS)
    dies_after_claiming(oncall, appwrite, alert)
    assert [m.providertype for m in appwrite.messages()] == ["sms"]
    assert results(appwrite) == {"pending": 3}
    assert scheduled_run(oncall, T0 + CLAIM_TIMEOUT - timedelta(seconds=5))["claimsCompleted"] == 0
    assert scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))["claimsCompleted"] == 1
    assert sorted((m.topics[0], m.providertype) for m in appwrite.messages()) == [
        ("critical-alerts", "push"), ("critical-alerts", "sms"), ("monitoring-alerts", "push")]
    assert results(appwrite) == {"sent": 3}
    [claim] = events(appwrite, "fired")
    assert claim["claim"] is None and claim["kind"] == "fired"
    assert scheduled_run(oncall, T0 + CLAIM_TIMEOUT * 2)["claimsCompleted"] == 0
    assert len(appwrite.messages()) == 3


def test_the_rebuilt_page_has_its_headline_and_acknowledge_link(
    emulator: Emulator, appwrite: Appwrite
) -> None:
    """The push the scheduled run sends has the planned headline and an acknowledge link; the summary and
    description come from the alert's row, which the dead delivery wrote alongside its messages. A scheduled
    execution has no domain of its own: PUBLIC_URL says where links point."""
    oncall = oncall_with(emulator, PUBLIC_URL=BASE, APPWRITE_PROJECT_ID=PROJECT_ID)
    alert = p.alert(starts_at=STARTS)
    dies_after_claiming(oncall, appwrite, alert)
    scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))
    [page] = [m.data for m in appwrite.messages() if m.providertype == "push" and m.topics == ["critical-alerts"]]
    assert page["title"] == "[FIRING] HighCPU on 10.0.0.80:9100 (critical)"
    annotations = alert["annotations"]
    assert page["body"].startswith(f"{annotations['summary']}\n{annotations['description']}")
    assert "Acknowledge: " in page["body"]
    assert page["action"].startswith(f"{BASE}/ack?") and page["action"] in page["body"]


def test_a_late_retry_of_the_dead_delivery_sends_nothing_again(oncall: Oncall, appwrite: Appwrite) -> None:
    """Alertmanager's retry arriving after the scheduled run completed the claims: no message, the row written."""
    alerts = [p.alert("Disk", severity="warning", instance=f"node-{i}:9100", starts_at=STARTS) for i in range(7)]
    dies_after_claiming(oncall, appwrite, *alerts)
    scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))
    assert len(appwrite.messages()) == 1
    summary = oncall.deliver(*alerts, at=T0 + CLAIM_TIMEOUT + timedelta(minutes=1))
    assert (summary.messages_sent, summary.messages_already_sent) == (0, 0)
    assert len(appwrite.messages()) == 1
    assert {row["notifiedStatus"] for row in appwrite.rows().values()} == {"firing"}
    assert results(appwrite) == {"sent": 7}


def test_an_overlapping_group_leaves_the_dead_deliverys_alerts_to_the_scheduled_run(
    oncall: Oncall, appwrite: Appwrite
) -> None:
    """A dies after claiming six shared alerts and its own in a digest; B (the six and another of its own) then
    announces only its own alert; the scheduled run sends A's digest: every alert announced exactly once."""
    shared = [p.alert("Disk", severity="warning", instance=f"node-{i}:9100", starts_at=STARTS) for i in range(6)]
    own_a = p.alert("Disk", severity="warning", instance="own-a:9100", starts_at=STARTS)
    own_b = p.alert("Disk", severity="warning", instance="own-b:9100", starts_at=STARTS)
    dies_after_claiming(oncall, appwrite, *shared, own_a)
    summary = oncall.deliver(*shared, own_b, at=T0 + timedelta(seconds=20))
    assert summary.messages_sent == 1
    assert list(headlines(appwrite)) == ["monitoring-alerts [FIRING] Disk on own-b:9100 (warning)"]
    scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))
    seen = headlines(appwrite)
    assert len(seen) == 8 and set(seen.values()) == {1}, seen
    assert results(appwrite) == {"sent": 8}


def half_claimed(oncall: Oncall, alerts: list[dict[str, Any]]) -> str:
    """The state a delivery of `alerts` leaves when it dies between its two bulk creates of claims: the first
    100 claims made (at T0), the rest not. Returns the ID of the digest it planned."""
    payload = parse_payload(json.dumps(p.payload(alerts)).encode())
    schema = load_schema()
    plan = plan_delivery(payload, {}, routes=oncall.settings.routes, shaper=RowShaper(schema.table("alerts")),
                         now=T0)
    rows = event_rows(payload, plan, (), shaper=RowShaper(schema.table("alert_events")), now=T0,
                      claim=claim_owner(payload))
    assert oncall.store().claim_events(rows[:100]) == {}
    [planned] = plan.messages
    return planned.message_id


def digests(appwrite: Appwrite) -> dict[str, int]:
    """Every push by ID: how many alerts it carries."""
    return {m.id: int((m.data.get("data") or {}).get("digest") or 1) for m in appwrite.messages()
            if m.providertype == "push"}


def test_a_claim_cut_between_two_bulk_creates_is_announced_in_two_parts_once(
    oncall: Oncall, appwrite: Appwrite
) -> None:
    """150 warnings, the delivery dead after claiming 100: the scheduled run announces those 100 in a digest of
    their own (not under the planned ID, which a retry would send whole); Alertmanager's next delivery announces
    the other 50. Every alert once, every history row completed (the next run completes the delivery's) naming
    the message that carried it."""
    alerts = [p.alert("Disk", severity="warning", instance=f"node-{i:03d}:9100", starts_at=STARTS) for i in range(150)]
    planned = half_claimed(oncall, alerts)
    assert scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))["claimsCompleted"] == 100
    [first] = digests(appwrite).items()
    assert first[0] != planned and first[1] == 100
    oncall.deliver(*alerts, at=T0 + CLAIM_TIMEOUT + timedelta(minutes=1))
    assert scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(minutes=2))["claimsCompleted"] == 50
    sent = digests(appwrite)
    assert sorted(sent.values()) == [50, 100] and planned not in sent
    history = events(appwrite, "fired")
    assert len(history) == 150 and all(row["claim"] is None for row in history)
    carried = Counter(c["messageId"] for row in history for c in json.loads(row["channels"]))
    assert carried == Counter(sent)


def test_a_retry_before_the_scheduled_run_sends_the_planned_digest_whole(oncall: Oncall, appwrite: Appwrite) -> None:
    """The same cut claim, but Alertmanager's retry comes first: it finds its own 100 claims, makes the other 50,
    and sends the digest as planned; the scheduled run then only completes the 150 claims, sending nothing."""
    alerts = [p.alert("Disk", severity="warning", instance=f"node-{i:03d}:9100", starts_at=STARTS) for i in range(150)]
    planned = half_claimed(oncall, alerts)
    summary = oncall.deliver(*alerts, at=T0 + timedelta(seconds=10))
    assert summary.messages_sent == 1 and digests(appwrite) == {planned: 150}
    run = scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))
    assert (run["claimsCompleted"], run["messagesQueued"]) == (150, 0)
    assert digests(appwrite) == {planned: 150}


def test_a_claim_pending_for_days_is_still_announced_when_scheduled_runs_come_back(
    oncall: Oncall, appwrite: Appwrite
) -> None:
    """Scheduled executions were off for three days: the first one back announces the change (late, its message
    saying when the alert started) rather than never."""
    alert = p.alert("Disk", severity="warning", starts_at=STARTS)
    dies_after_claiming(oncall, appwrite, alert)
    assert scheduled_run(oncall, T0 + timedelta(days=3))["claimsCompleted"] == 1
    assert [m.data["title"] for m in appwrite.messages()] == ["[FIRING] Disk on 10.0.0.80:9100 (warning)"]


def test_the_scheduled_run_holds_a_dead_deliverys_sms_past_the_budget(emulator: Emulator, appwrite: Appwrite) -> None:
    """With a budget of one SMS an hour, spent on a first page: the next delivery claims its page's SMS (the
    budget is read alongside the claim), logs it held and dies before its pushes went out; the scheduled run
    completes the first page's claim, sends the second's pushes but not the SMS, which it completes as held, as
    the SMS log says (the topic's summary SMS covers it)."""
    oncall = oncall_with(emulator, SMS_BUDGET_PER_HOUR="1", APPWRITE_PROJECT_ID=PROJECT_ID)
    oncall.deliver(p.alert("First", starts_at=STARTS), at=T0)
    dies_after_claiming(oncall, appwrite, p.alert("Second", starts_at=STARTS))
    [claim] = [row for row in events(appwrite, "fired") if row["alertname"] == "Second"]
    planned = {c["channel"]: c["messageId"] for c in json.loads(claim["channels"])}
    assert {c["result"] for c in json.loads(claim["channels"])} == {"pending"}
    assert scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))["claimsCompleted"] == 2
    [claim] = [row for row in events(appwrite, "fired") if row["alertname"] == "Second"]
    results = sorted((c["channel"], c["result"]) for c in json.loads(claim["channels"]))
    assert results == [("push", "sent"), ("push", "sent"), ("sms", "held")]
    sent = {m.id: m for m in appwrite.messages()}
    assert planned["sms"] not in sent
    assert [m.providertype for m in sent.values()].count("push") == 4
    assert appwrite.rows("sms_log")[planned["sms"]]["state"] in ("held", "summarised")


def test_a_dead_delivery_that_logged_no_sms_meets_the_budget_in_the_scheduled_run(
    emulator: Emulator, appwrite: Appwrite
) -> None:
    """The same, but the dead delivery's record in the SMS log failed too: the scheduled run applies the budget
    itself (one SMS this hour already), holds the SMS, logs it held and completes the claim."""
    oncall = oncall_with(emulator, SMS_BUDGET_PER_HOUR="1", APPWRITE_PROJECT_ID=PROJECT_ID)
    oncall.deliver(p.alert("First", starts_at=STARTS), at=T0)
    appwrite.control.add_fault(r"/tables/sms_log/rows$", method="POST", count=1000, status=503)
    dies_after_claiming(oncall, appwrite, p.alert("Second", starts_at=STARTS))
    [claim] = [row for row in events(appwrite, "fired") if row["alertname"] == "Second"]
    planned = {c["channel"]: c["messageId"] for c in json.loads(claim["channels"])}
    assert planned["sms"] not in appwrite.rows("sms_log")
    scheduled_run(oncall, T0 + CLAIM_TIMEOUT + timedelta(seconds=5))
    [claim] = [row for row in events(appwrite, "fired") if row["alertname"] == "Second"]
    assert sorted((c["channel"], c["result"]) for c in json.loads(claim["channels"])) == [
        ("push", "sent"), ("push", "sent"), ("sms", "held")]
    assert planned["sms"] not in {m.id for m in appwrite.messages()}
    assert appwrite.rows("sms_log")[planned["sms"]]["state"] in ("held", "summarised")
