"""Appwrite calls per delivery, pinned exactly by kind (issue 6): one lookup and one bulk write per 100 alerts
whatever N is, messages only for changes of state, and more than five announcements to one topic and channel
in a delivery sent as a single digest. Counts come from the emulator (`control.calls()`), no timing involved.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from devkit import payloads as p
from devkit.bench import workload
from devkit.bench.calls import Category, classify
from devkit.bench.proxy import CountingRelay
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env
from tests.harness import Appwrite, deliver

LOOKUP = "GET /tablesdb/{databaseId}/tables/{tableId}/rows"
WRITE = "PUT /tablesdb/{databaseId}/tables/{tableId}/rows"
PUSH = "POST /messaging/messages/push"
SMS = "POST /messaging/messages/sms"
SIZES = [1, 100, 101, 1000]


def expected(*, lookups: int, writes: int, push: int = 0, sms: int = 0) -> dict[str, int]:
    counts = {LOOKUP: lookups, WRITE: writes, PUSH: push, SMS: sms}
    return {route: n for route, n in counts.items() if n}


def warnings(count: int) -> list[dict[str, Any]]:
    return p.many(count, severity="warning", starts_at=workload.T0)


def send(host: FunctionHost, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    reply = deliver(host.url, p.payload(alerts))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def calls_of(host: FunctionHost, appwrite: Appwrite, alerts: list[dict[str, Any]]) -> tuple[dict[str, int], int]:
    """The Appwrite calls of one delivery, and the number of messages the function says it sent."""
    appwrite.control.reset_calls()
    sent = send(host, alerts)["messagesSent"]
    return appwrite.control.calls(), sent


@pytest.mark.parametrize("size", SIZES)
def test_first_delivery_makes_one_lookup_and_one_write_per_100_alerts_and_one_push(
        host: FunctionHost, appwrite: Appwrite, size: int) -> None:
    """N new warnings: ceil(N/100) lookups, ceil(N/100) bulk writes, one push (a digest above five)."""
    batches = math.ceil(size / 100)
    assert calls_of(host, appwrite, warnings(size)) == (expected(lookups=batches, writes=batches, push=1), 1)


@pytest.mark.parametrize("size", SIZES)
def test_redelivery_sends_no_message_and_batches_the_same(
        host: FunctionHost, appwrite: Appwrite, size: int) -> None:
    """The same N alerts again: the same batched lookups and writes, and not one message."""
    alerts = warnings(size)
    send(host, alerts)
    batches = math.ceil(size / 100)
    assert calls_of(host, appwrite, alerts) == (expected(lookups=batches, writes=batches), 0)


@pytest.mark.parametrize("size", SIZES)
def test_resolve_makes_one_lookup_and_one_write_per_100_alerts_and_one_push(
        host: FunctionHost, appwrite: Appwrite, size: int) -> None:
    """N firing warnings resolved: batched lookups and writes, one push (a digest above five)."""
    alerts = warnings(size)
    send(host, alerts)
    resolved = [p.resolved(alert) for alert in alerts]
    batches = math.ceil(size / 100)
    assert calls_of(host, appwrite, resolved) == (expected(lookups=batches, writes=batches, push=1), 1)


@pytest.mark.parametrize(("size", "pushes"), [(5, 5), (6, 1)])
def test_five_announcements_go_out_singly_and_six_become_one_digest(
        host: FunctionHost, appwrite: Appwrite, size: int, pushes: int) -> None:
    """Up to five announcements to one topic and channel are sent one by one; a sixth turns them into one digest."""
    assert calls_of(host, appwrite, warnings(size)) == (expected(lookups=1, writes=1, push=pushes), pushes)


def test_one_critical_alert_costs_one_lookup_one_write_and_three_messages(
        host: FunctionHost, appwrite: Appwrite) -> None:
    """A critical alert: push and SMS on the critical topic and push on the monitoring topic, nothing more."""
    alert = p.alert(severity="critical", starts_at=workload.T0)
    assert calls_of(host, appwrite, [alert]) == (expected(lookups=1, writes=1, push=2, sms=1), 3)


def test_a_mixed_group_sends_one_digest_per_topic_and_channel(host: FunctionHost, appwrite: Appwrite) -> None:
    """The benchmark's 1,000-alert group (100 critical, 900 warnings): 3 digests, 10 lookups, 10 writes."""
    alerts = workload.firing_alerts(1000)
    assert workload.expected_messages(workload.Phase.FIRST, 1000) == {"push": 2, "sms": 1}
    assert calls_of(host, appwrite, alerts) == (expected(lookups=10, writes=10, push=2, sms=1), 3)


def test_a_payload_repeating_a_fingerprint_looks_it_up_and_writes_it_once(
        host: FunctionHost, appwrite: Appwrite) -> None:
    """One fingerprint twice in a delivery (firing then resolved): one lookup, one write, one row."""
    alert = p.alert(severity="warning", starts_at=workload.T0)
    calls, _ = calls_of(host, appwrite, [alert, p.resolved(alert)])
    assert calls.get(LOOKUP) == 1 and calls.get(WRITE) == 1
    assert list(appwrite.rows()) == [alert["fingerprint"]]


def test_appwrite_calls_overlap_at_most_four_at_a_time(emulator: Emulator, appwrite: Appwrite) -> None:
    """With 10 lookups and 10 writes to make, calls overlap (seen by a counting relay), never more than 4 at once."""
    appwrite.control.set_latency(50)  # long enough that the pool's four threads are all waiting together
    with CountingRelay(emulator.endpoint) as relay, FunctionHost(
            REPO_ROOT, env=function_env(emulator, APPWRITE_FUNCTION_API_ENDPOINT=relay.endpoint),
            api_key=emulator.api_key, workers=1, echo=False) as served:
        send(served, warnings(1000))
        assert len(relay.traffic.spans) == 21  # 10 lookups, 1 digest, 10 writes
        assert 2 <= relay.traffic.max_in_flight <= 4


@pytest.mark.parametrize(("route", "kind", "category"), [
    (LOOKUP, "list_rows", Category.READ),
    (WRITE, "upsert_rows", Category.WRITE),
    ("GET /tablesdb/{databaseId}/tables/{tableId}/rows/{rowId}", "get_row", Category.READ),
    ("POST /tablesdb/{databaseId}/tables/{tableId}/rows", "create_row", Category.WRITE),
    ("PATCH /tablesdb/{databaseId}/tables/{tableId}/rows/{rowId}", "update_row", Category.WRITE),
    (SMS, "create_sms", Category.MESSAGE),
    ("GET /messaging/messages", "GET /messaging/messages", Category.OTHER),
])
def test_the_benchmark_names_each_emulator_route_by_its_sdk_method(route: str, kind: str, category: Category) -> None:
    """The benchmark's table reads the emulator's route counts as SDK methods, reads, writes and messages."""
    assert (classify(route).name, classify(route).category) == (kind, category)
