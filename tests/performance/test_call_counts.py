"""Appwrite calls per delivery, pinned exactly by kind (issue 6): one lookup and one bulk write of the alerts
table per 100 alerts whatever N is (the write only for rows that changed), one bulk create of history rows
(alert_events, the claims made before the messages) per 100 changes announced, messages only for changes of
state, and more than five announcements to one topic and channel in a delivery sent as a single digest. The
claims are completed by the scheduled run, not by the delivery (issue 20). Counts come from the emulator
(`control.calls()`) or, where the table matters, from a relay that sees the concrete paths; no timing involved.

The on-call rules (issue 10) add calls only to deliveries with changes of state: one history read per 100
alerts that changed and had a row before (flapping; for the alerts a delivery resolves, made alongside their
lookup, so a resolve of a new alert reads it too), and, when SMS go out, one count of the topic's SMS of the
last hour and one record of them in `sms_log` (the SMS budget). Re-deliveries, which Alertmanager makes a
group_interval or more later, add nothing, and write nothing until `lastReceivedAt` is
`RECEIVED_RESOLUTION_MINUTES` old (60 by default). A copy within CLAIM_TIMEOUT of a change (Alertmanager's retry,
the HA pair's copy) reads its own pending claims once more.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from devkit import payloads as p
from devkit.bench import workload
from devkit.bench.calls import OURS_ROLES, CallKind, Category, classify
from devkit.bench.deliveries import named
from devkit.bench.proxy import CountingRelay
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from devkit.runtime.worker import CLOCK_OFFSET_HEADER
from tests.conftest import REPO_ROOT, function_env
from tests.harness import Appwrite, deliver

LOOKUP = "GET /tablesdb/{databaseId}/tables/{tableId}/rows"
WRITE = "PUT /tablesdb/{databaseId}/tables/{tableId}/rows"
HISTORY = "POST /tablesdb/{databaseId}/tables/{tableId}/rows"
PUSH = "POST /messaging/messages/push"
SMS = "POST /messaging/messages/sms"
TRANSACTION = "POST /tablesdb/transactions"
STAGE = "POST /tablesdb/transactions/{transactionId}/operations"
COMMIT = "PATCH /tablesdb/transactions/{transactionId}"
SIZES = [1, 100, 101, 1000]
# Alertmanager's default group_interval: when it re-sends a group at the soonest, unless retrying.
GROUP_INTERVAL_SECONDS = 300


def expected(*, lookups: int, writes: int, history: int = 0, push: int = 0, sms: int = 0, oncall_reads: int = 0,
             sms_records: int = 0) -> dict[str, int]:
    """Calls by route; lookups of alerts share the list-rows route with `oncall_reads` (history reads for
    flapping, counts of recent SMS); `sms_records` are `create_rows` calls of `sms_log`, sharing the route of
    history creates. Claims of more than 100 changes (`history` above 1) are one TablesDB transaction instead:
    created, staged in one call, committed."""
    atomic = history > 1
    counts = {LOOKUP: lookups + oncall_reads, WRITE: writes,
              HISTORY: (0 if atomic else history) + sms_records, TRANSACTION: int(atomic), STAGE: int(atomic),
              COMMIT: int(atomic), PUSH: push, SMS: sms}
    return {route: n for route, n in counts.items() if n}


def warnings(count: int) -> list[dict[str, Any]]:
    return p.many(count, severity="warning", starts_at=workload.T0)


def send(host: FunctionHost, alerts: list[dict[str, Any]], *, later: int = 0) -> dict[str, Any]:
    """Deliver the alerts (`later` seconds from now, as far as the function's clock goes)."""
    reply = deliver(host.url, p.payload(alerts), headers={CLOCK_OFFSET_HEADER: str(later)} if later else None)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def calls_of(host: FunctionHost, appwrite: Appwrite, alerts: list[dict[str, Any]], *,
             later: int = 0) -> tuple[dict[str, int], int]:
    """The Appwrite calls of one delivery, and the number of messages the function says it sent."""
    appwrite.control.reset_calls()
    sent = send(host, alerts, later=later)["messagesQueued"]
    return appwrite.control.calls(), sent


@pytest.mark.parametrize("size", SIZES)
def test_first_delivery_makes_one_lookup_write_and_history_create_per_100_alerts_and_one_push(
        host: FunctionHost, appwrite: Appwrite, size: int) -> None:
    """N new warnings: ceil(N/100) lookups, bulk writes and history creates each, one push (a digest above
    five)."""
    batches = math.ceil(size / 100)
    assert calls_of(host, appwrite, warnings(size)) == (
        expected(lookups=batches, writes=batches, history=batches, push=1), 1)


@pytest.mark.parametrize("size", SIZES)
def test_redelivery_sends_no_message_and_batches_the_same(
        host: FunctionHost, appwrite: Appwrite, size: int) -> None:
    """The same N alerts again at group_interval: the same batched lookups, and not one write, history row or
    message."""
    alerts = warnings(size)
    send(host, alerts)
    batches = math.ceil(size / 100)
    assert calls_of(host, appwrite, alerts, later=GROUP_INTERVAL_SECONDS) == (expected(lookups=batches, writes=0), 0)


@pytest.mark.parametrize("size", [1, 101])
def test_a_copy_within_the_claim_timeout_reads_its_claims_and_the_messages_once_and_sends_nothing(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite, size: int) -> None:
    """The same N alerts again at once (Alertmanager's retry, or the HA pair's copy): the rows say the changes
    were claimed, not that their messages went out, so it reads its own pending claims (one read) and asks
    Messaging for the message they name (one read); the message is there, so it sends nothing and completes
    the claims."""
    alerts = warnings(size)
    send(relayed_host, alerts)
    calls, _ = relayed(relayed_host, relay, alerts)
    assert calls == {"list_rows alerts": math.ceil(size / 100), "list_rows alert_events": 1,
                     "list_messages": 1, "upsert_rows alert_events": math.ceil(size / 100)}
    calls, _ = relayed(relayed_host, relay, alerts)
    assert calls == {"list_rows alerts": math.ceil(size / 100), "list_rows alert_events": 1}


@pytest.mark.parametrize("size", SIZES)
def test_resolve_makes_one_lookup_write_and_history_create_per_100_alerts_and_one_push(
        host: FunctionHost, appwrite: Appwrite, size: int) -> None:
    """N firing warnings resolved: batched lookups, writes and history creates, one push (a digest above five),
    and one read of the changed alerts' history per 100 (flapping)."""
    alerts = warnings(size)
    send(host, alerts)
    resolved = [p.resolved(alert) for alert in alerts]
    batches = math.ceil(size / 100)
    assert calls_of(host, appwrite, resolved, later=GROUP_INTERVAL_SECONDS) == (
        expected(lookups=batches, writes=batches, history=batches, push=1, oncall_reads=batches), 1)


@pytest.mark.parametrize(("size", "pushes"), [(5, 5), (6, 1)])
def test_five_announcements_go_out_singly_and_six_become_one_digest(
        host: FunctionHost, appwrite: Appwrite, size: int, pushes: int) -> None:
    """Up to five announcements to one topic and channel are sent one by one; a sixth turns them into one digest."""
    assert calls_of(host, appwrite, warnings(size)) == (
        expected(lookups=1, writes=1, history=1, push=pushes), pushes)


def test_one_critical_alert_costs_one_lookup_one_write_one_history_create_and_three_messages(
        host: FunctionHost, appwrite: Appwrite) -> None:
    """A critical alert: push and SMS on the critical topic and push on the monitoring topic; the SMS costs one
    count of the topic's recent SMS and one record of it."""
    alert = p.alert(severity="critical", starts_at=workload.T0)
    assert calls_of(host, appwrite, [alert]) == (
        expected(lookups=1, writes=1, history=1, push=2, sms=1, oncall_reads=1, sms_records=1), 3)


def test_a_mixed_group_sends_one_digest_per_topic_and_channel(host: FunctionHost, appwrite: Appwrite) -> None:
    """The benchmark's 100-alert group (10 critical, 90 warnings): 3 digests, one per topic and channel."""
    alerts = workload.firing_alerts(100)
    assert workload.expected_messages(workload.Phase.FIRST, 100) == {"push": 2, "sms": 1}
    assert calls_of(host, appwrite, alerts) == (
        expected(lookups=1, writes=1, history=1, push=2, sms=1, oncall_reads=1, sms_records=1), 3)


def test_a_payload_repeating_a_fingerprint_looks_it_up_and_writes_it_once(
        host: FunctionHost, appwrite: Appwrite) -> None:
    """One fingerprint twice in a delivery (firing then resolved): one lookup (and alongside it the history of
    the alert resolved, which flapping reads), one write, one row."""
    alert = p.alert(severity="warning", starts_at=workload.T0)
    calls, _ = calls_of(host, appwrite, [alert, p.resolved(alert)])
    assert calls.get(LOOKUP) == 1 + 1 and calls.get(WRITE) == 1
    assert list(appwrite.rows()) == [alert["fingerprint"]]


def relayed(host: FunctionHost, relay: CountingRelay, alerts: list[dict[str, Any]], *,
            later: int = 0) -> tuple[dict[str, int], int]:
    """The calls of one delivery by table (`list_rows alerts`, ...) as the relay saw them, and the most in flight."""
    relay.traffic.reset()
    send(host, alerts, later=later)
    calls: dict[str, int] = {}
    for line, _, _ in relay.traffic.spans:
        calls[named(line)] = calls.get(named(line), 0) + 1
    return calls, relay.traffic.max_in_flight


def test_each_table_is_read_and_written_in_batches_of_100(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """101 new warnings: alerts looked up twice and upserted twice, history created (claimed) in one transaction
    of two bulk creates, one digest push."""
    calls, _ = relayed(relayed_host, relay, warnings(101))
    assert calls == {"list_rows alerts": 2, "upsert_rows alerts": 2, "create_transaction": 1,
                     "create_operations": 1, "update_transaction": 1, "create_push": 1}


def test_a_redelivery_reads_and_writes_only_the_alerts_table(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """101 unchanged warnings again at group_interval: two lookups of alerts and nothing else: no write, history
    row or message."""
    alerts = warnings(101)
    send(relayed_host, alerts)
    calls, _ = relayed(relayed_host, relay, alerts, later=GROUP_INTERVAL_SECONDS)
    assert calls == {"list_rows alerts": 2}


def test_appwrite_calls_overlap_at_most_eight_at_a_time(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """With 10 lookups and 10 writes to make (the claims one transaction), calls overlap, never more than 8 at
    once."""
    appwrite.control.set_latency(100)  # long enough that the pool's eight threads are all waiting together
    calls, most = relayed(relayed_host, relay, warnings(1000))
    assert calls == {"list_rows alerts": 10, "upsert_rows alerts": 10, "create_transaction": 1,
                     "create_operations": 1, "update_transaction": 1, "create_push": 1}
    assert 5 <= most <= 8


@pytest.mark.parametrize(("route", "kind", "category"), [
    (LOOKUP, "list_rows", Category.READ),
    (WRITE, "upsert_rows", Category.WRITE),
    (HISTORY, "create_rows", Category.HISTORY),
    ("GET /tablesdb/{databaseId}/tables/{tableId}/rows/{rowId}", "get_row", Category.READ),
    ("PATCH /tablesdb/{databaseId}/tables/{tableId}/rows/{rowId}", "update_row", Category.WRITE),
    (SMS, "create_sms", Category.MESSAGE),
    ("POST /tablesdb/transactions", "create_transaction", Category.HISTORY),
    ("POST /tablesdb/transactions/{transactionId}/operations", "create_operations", Category.HISTORY),
    ("PATCH /tablesdb/transactions/{transactionId}", "update_transaction", Category.HISTORY),
    ("GET /tablesdb/transactions/{transactionId}", "get_transaction", Category.SIDE),
    ("GET /messaging/messages", "list_messages", Category.READ),
    ("GET /messaging/topics", "GET /messaging/topics", Category.OTHER),
])
def test_the_benchmark_names_each_route_of_the_function_by_its_sdk_method(
        route: str, kind: str, category: Category) -> None:
    """The benchmark reads the emulator's route counts of the function as SDK methods and what they touch."""
    assert classify(route, OURS_ROLES) == CallKind(kind, category)


def test_a_resolve_reads_the_history_of_the_changed_alerts_once_per_100(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """101 warnings resolved (one digest): two reads of alert_events for flapping."""
    alerts = warnings(101)
    send(relayed_host, alerts)
    calls, _ = relayed(relayed_host, relay, [p.resolved(alert) for alert in alerts], later=GROUP_INTERVAL_SECONDS)
    assert calls == {"list_rows alerts": 2, "list_rows alert_events": 2, "upsert_rows alerts": 2,
                     "create_transaction": 1, "create_operations": 1, "update_transaction": 1, "create_push": 1}


def test_an_sms_costs_one_count_and_one_record_of_the_sms_log(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """A new critical alert: the SMS budget reads sms_log once and records the SMS once; a re-delivery adds
    nothing."""
    alert = p.alert(severity="critical", starts_at=workload.T0)
    calls, _ = relayed(relayed_host, relay, [alert])
    assert calls == {"list_rows alerts": 1, "list_rows sms_log": 1, "upsert_rows alerts": 1,
                     "create_rows alert_events": 1, "create_rows sms_log": 1, "create_push": 2, "create_sms": 1}
    calls, _ = relayed(relayed_host, relay, [alert], later=GROUP_INTERVAL_SECONDS)
    assert calls == {"list_rows alerts": 1}


def test_a_zero_received_resolution_rewrites_every_row_on_each_redelivery(
        emulator: Emulator, appwrite: Appwrite) -> None:
    """With `RECEIVED_RESOLUTION_MINUTES=0` a quiet re-delivery of 150 alerts refreshes every row: two bulk
    writes and a newer `lastReceivedAt`, still no message (the default of 60 writes none, pinned above)."""
    env = function_env(emulator, RECEIVED_RESOLUTION_MINUTES="0")
    with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key, workers=1, echo=False) as every_time:
        alerts = warnings(150)
        send(every_time, alerts)
        before = {fp: row["lastReceivedAt"] for fp, row in appwrite.rows().items()}
        assert calls_of(every_time, appwrite, alerts, later=GROUP_INTERVAL_SECONDS) == (
            expected(lookups=2, writes=2), 0)
        after = appwrite.rows()
    assert all(after[fp]["lastReceivedAt"] > received for fp, received in before.items())


def test_the_heartbeat_received_every_minute_reads_no_claims(emulator: Emulator, appwrite: Appwrite) -> None:
    """The dead-man's switch's alert (HEARTBEAT_ALERT) is written on every delivery and never announced: a
    delivery repeating it a minute later looks it up and writes it, and reads no claims."""
    env = function_env(emulator, HEARTBEAT_ALERT="Watchdog")
    with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key, workers=1, echo=False) as served:
        watchdog = p.alert("Watchdog", severity="none", starts_at=workload.T0)
        send(served, [watchdog])
        assert calls_of(served, appwrite, [watchdog], later=60) == (expected(lookups=1, writes=1), 0)


def stages(relay: CountingRelay) -> list[list[str]]:
    """The calls of the last delivery as the relay saw them, grouped into sequential stages: calls that overlap in
    time are one stage, the next stage starts after every call of the one before has ended."""
    found: list[list[str]] = []
    end = float("-inf")
    for line, start, finish in sorted(relay.traffic.spans, key=lambda span: span[1]):
        if start > end:
            found.append([])
        found[-1].append(named(line))
        end = max(end, finish)
    return [sorted(stage) for stage in found]


def test_a_resolve_of_a_critical_alert_takes_three_sequential_stages(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """The resolve of a critical alert, a group_interval later: the lookup with the history flapping reads
    alongside; the claim with the SMS budget's count; the messages with the SMS record and the alert row."""
    alert = p.alert(severity="critical", starts_at=workload.T0)
    send(relayed_host, [alert])
    appwrite.control.set_latency(100)
    relay.traffic.reset()
    send(relayed_host, [p.resolved(alert)], later=GROUP_INTERVAL_SECONDS)
    assert stages(relay) == [
        ["list_rows alert_events", "list_rows alerts"],
        ["create_rows alert_events", "list_rows sms_log"],
        ["create_push", "create_push", "create_rows sms_log", "create_sms", "upsert_rows alerts"],
    ]


def test_a_first_critical_alert_takes_three_sequential_stages(
        relayed_host: FunctionHost, relay: CountingRelay, appwrite: Appwrite) -> None:
    """A new critical alert (issue 20): the lookup; the claim with the SMS budget's count alongside; the messages
    with the SMS record and the alert row. (Each call takes 100 ms, so calls made together overlap and calls made
    one after the other do not.)"""
    appwrite.control.set_latency(100)
    relay.traffic.reset()
    send(relayed_host, [p.alert(severity="critical", starts_at=workload.T0)])
    assert stages(relay) == [
        ["list_rows alerts"],
        ["create_rows alert_events", "list_rows sms_log"],
        ["create_push", "create_push", "create_rows sms_log", "create_sms", "upsert_rows alerts"],
    ]
