"""Appwrite failing at each step of a delivery, in each way it can fail: the function answers 5xx (so
Alertmanager retries) or succeeds after an internal retry, and once Alertmanager's retry is through, the rows
are exactly those of a run without the fault and every change of state was announced exactly once.

Steps, in the order a delivery takes them: lookup (`GET .../alerts/rows`), history (`POST .../alert_events/rows`:
the claims, made before the messages), then, overlapped, the creation of each message kind and write
(`PUT .../alerts/rows`). The claims stay pending; the scheduled run completes them (tests/jobs/test_claims.py).
The delivery has one critical alert (one push, one SMS, one email) and one `info` alert (stored, not announced), so
a fault armed for N calls of a step hits N attempts of one call.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.harness import Appwrite, deliver
from tests.reliability.conftest import SHORT_BUDGET_SECONDS, Control
from tests.reliability.support import (
    InProcess,
    Outcome,
    alert_rows,
    calls_to,
    env,
    fingerprints,
    new_tag,
    settled_by_the_scheduled_run,
    wait_for,
)

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
# The store tries each call 3 times before giving up on the delivery.
ATTEMPTS = 3

# Step: (method, path regex of the fault, suffix of the emulator's route name in its call counts by table).
STEPS: dict[str, tuple[str, str, str]] = {
    "lookup": ("GET", r"/tables/alerts/rows$", "/tables/alerts/rows"),
    "history": ("POST", r"/tables/alert_events/rows$", "/tables/alert_events/rows"),
    "write": ("PUT", r"/tables/alerts/rows$", "/tables/alerts/rows"),
    "push": ("POST", r"/messaging/messages/push$", "/messaging/messages/push"),
    "sms": ("POST", r"/messaging/messages/sms$", "/messaging/messages/sms"),
    "email": ("POST", r"/messaging/messages/email$", "/messaging/messages/email"),
}
FAULTS: dict[str, dict[str, Any]] = {
    "5xx": {"mode": "status", "status": 503},
    "429-retry-after": {"mode": "status", "status": 429, "retry_after": 2},
    "connection-dropped": {"mode": "drop_before"},
    "answer-lost-after-work": {"mode": "drop_after"},
}
MATRIX = [pytest.param(step, fault, id=f"{step}-{fault}") for step in STEPS for fault in FAULTS]


def small(tag: str) -> list[dict[str, Any]]:
    return [p.payload([p.alert(f"Critical{tag}", starts_at=T0), p.alert(f"Info{tag}", severity="info", starts_at=T0)])]


def big(tag: str) -> list[dict[str, Any]]:
    """150 warnings: two write batches (100 + 50) and one digest."""
    alerts = [p.alert(f"Bulk{tag}", severity="warning", instance=f"node-{i:03d}:9100", starts_at=T0)
              for i in range(150)]
    return [p.payload(alerts)]


def arm(appwrite: Appwrite, step: str, count: int, **fault: Any) -> None:
    method, path, _ = STEPS[step]
    appwrite.control.add_fault(path, method=method, count=count, **fault)


def attempts(appwrite: Appwrite, step: str) -> int:
    method, _, route = STEPS[step]
    return calls_to(appwrite, method, route, by_table=True)


def retry(url: str, project: Appwrite, body: dict[str, Any]) -> None:
    """Alertmanager's retry of the same body, with Appwrite healthy again."""
    project.control.clear_faults()
    reply = deliver(url, body)
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(("step", "fault"), MATRIX)
def test_single_failure_is_absorbed_by_an_internal_retry(
    host: FunctionHost, project: Appwrite, control: Control, step: str, fault: str
) -> None:
    """One failed call: the store retries it, the delivery succeeds, and the result is exactly the control's."""
    expected = control(small)
    tag = new_tag()
    [body] = small(tag)
    arm(project, step, count=1, **FAULTS[fault])
    reply = deliver(host.url, body)
    assert reply.status_code == 200, reply.text
    assert attempts(project, step) == 2
    assert Outcome.of(project, tag, fingerprints([body])) == expected


@pytest.mark.parametrize(("step", "fault"), MATRIX)
def test_outage_answers_503_and_alertmanagers_retry_is_exact(
    host: FunctionHost, inprocess: InProcess, project: Appwrite, control: Control, step: str, fault: str
) -> None:
    """Every attempt at one step fails: 503 with Retry-After, and the retry stores and announces exactly once.

    The failing delivery runs in-process without back-off pauses (24 cases); the retry goes through the host."""
    expected = control(small)
    tag = new_tag()
    [body] = small(tag)
    arm(project, step, count=ATTEMPTS, **FAULTS[fault])
    reply = inprocess.post(json.dumps(body).encode())
    assert reply.status == 503, reply.body
    assert reply.headers.get("retry-after")
    assert attempts(project, step) == ATTEMPTS
    # Messages still being sent when the failing step gave up land within moments.
    time.sleep(0.05)
    retry(host.url, project, body)
    assert Outcome.of(project, tag, fingerprints([body])) == expected
    # The retry sent whatever the failed attempt had not: the scheduled run finds nothing left to send.
    assert settled_by_the_scheduled_run(inprocess, project, fingerprints([body]))["messagesQueued"] == 0


@pytest.mark.parametrize("step", list(STEPS))
def test_answer_slower_than_the_budget_gives_503_within_the_budget(
    emulator: Emulator, host: FunctionHost, project: Appwrite, control: Control, step: str
) -> None:
    """Appwrite answering after the time budget: 503 soon after the budget, and the retry, once the slow call
    has landed, is exact. In-process with a 0.3 s budget (TIME_BUDGET_SECONDS accepts 1 s at least)."""
    expected = control(small)
    tag = new_tag()
    [body] = small(tag)
    budget, delay = 0.3, 0.9
    arm(project, step, count=1, mode="delay", delay_seconds=delay)
    started = time.monotonic()
    function = InProcess(env(emulator, APPWRITE_API_KEY=emulator.api_key), budget=budget)
    reply = function.post(json.dumps(body).encode())
    took = time.monotonic() - started
    assert reply.status == 503, reply.body
    assert budget <= took < budget + 0.4
    # Alertmanager retries later; by then Appwrite has carried out the slow call.
    time.sleep(max(0.0, started + delay + 0.1 - time.monotonic()))
    retry(host.url, project, body)
    assert Outcome.of(project, tag, fingerprints([body])) == expected


def test_delivery_outliving_the_budget_answers_503_before_the_runtime_timeout(
    slow_host: FunctionHost, project: Appwrite, control: Control
) -> None:
    """Through the runtime, with TIME_BUDGET_SECONDS=1 and a runtime timeout of 5 s: Appwrite stalling for 4 s
    gets a 503 within the budget plus a margin (1 s, for a loaded machine), and the retry is exact."""
    expected = control(small)
    tag = new_tag()
    [body] = small(tag)
    arm(project, "lookup", count=1, mode="delay", delay_seconds=4.0)
    started = time.monotonic()
    reply = deliver(slow_host.url, body)
    took = time.monotonic() - started
    assert reply.status_code == 503, reply.text
    assert SHORT_BUDGET_SECONDS <= took < SHORT_BUDGET_SECONDS + 1.0
    retry(slow_host.url, project, body)
    assert Outcome.of(project, tag, fingerprints([body])) == expected


def half_written(host: FunctionHost, project: Appwrite, body: dict[str, Any]) -> None:
    """Deliver `body` (two write batches) while the first alert-row write to arrive is slow (0.5 s, then lands)
    and every attempt at the other fails (503); then, once the slow batch has landed, Alertmanager retries.
    Raises RuntimeError when that state is not reached."""
    method, path, _ = STEPS["write"]
    project.control.add_fault(path, method=method, count=1, mode="delay", delay_seconds=0.5)
    project.control.add_fault(path, method=method, count=ATTEMPTS, status=503)
    reply = deliver(host.url, body)
    if reply.status_code != 503:
        raise RuntimeError(f"expected 503 for a half-written delivery, got {reply.status_code}")
    fps = fingerprints([body])
    wait_for(lambda: len(alert_rows(project, fps)) in (50, 100), what="the slow batch to land")
    time.sleep(0.1)
    if len(alert_rows(project, fps)) not in (50, 100):
        raise RuntimeError("expected exactly one batch written")
    project.control.clear_faults()
    reply = deliver(host.url, body)
    if reply.status_code != 200:
        raise RuntimeError(f"the retry failed: {reply.status_code} {reply.text}")


def test_bulk_write_failing_half_way_is_completed_by_the_retry(
    host: FunctionHost, project: Appwrite, control: Control
) -> None:
    """A 2-batch write one of whose batches fails: 503, and the retry leaves exactly the control's rows."""
    expected = control(big)
    tag = new_tag()
    [body] = big(tag)
    half_written(host, project, body)
    outcome = Outcome.of(project, tag, fingerprints([body]))
    assert (outcome.rows, outcome.events) == (expected.rows, expected.events)


def test_bulk_write_failing_half_way_announces_each_alert_once(
    host: FunctionHost, project: Appwrite, control: Control
) -> None:
    """A 2-batch write one of whose batches fails: after the retry, each alert was announced exactly once."""
    expected = control(big)
    tag = new_tag()
    [body] = big(tag)
    half_written(host, project, body)
    assert Outcome.of(project, tag, fingerprints([body])).messages == expected.messages


def test_connection_refused_gives_503_and_the_retry_is_exact(
    emulator: Emulator, host: FunctionHost, project: Appwrite, control: Control
) -> None:
    """Nothing listening at the endpoint: 503 (never 500) naming the cause, and the retry is exact."""
    expected = control(small)
    tag = new_tag()
    [body] = small(tag)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = InProcess(env(emulator, APPWRITE_FUNCTION_API_ENDPOINT=f"http://127.0.0.1:{port}/v1",
                         APPWRITE_API_KEY=emulator.api_key))
    reply = down.post(json.dumps(body).encode())
    assert reply.status == 503
    assert "no answer" in " ".join(down.errors)
    retry(host.url, project, body)
    assert Outcome.of(project, tag, fingerprints([body])) == expected


def test_calls_that_outlive_their_delivery_do_not_block_the_next_one(emulator: Emulator, project: Appwrite) -> None:
    """After Appwrite stalled past one delivery's budget, the next delivery succeeds once Appwrite answers.

    In-process (the store's thread pool is per process, as in a worker) with 0.3 s budgets."""
    tag = new_tag()
    delay = 1.0
    # 400 alerts: four lookup batches, each stalled past the budget.
    arm(project, "lookup", count=4, mode="delay", delay_seconds=delay)
    function = InProcess(env(emulator, APPWRITE_API_KEY=emulator.api_key), budget=0.3)
    started = time.monotonic()
    try:
        stalled = function.post(json.dumps(p.payload(p.many(400, severity="info", prefix=f"stall{tag}"))).encode())
        if stalled.status != 503:
            raise RuntimeError(f"expected the stalled delivery to give 503, got {stalled.status}")
        project.control.clear_faults()
        reply = function.post(json.dumps(p.payload([p.alert(f"AfterStall{tag}", severity="info")])).encode())
        assert reply.status == 200, reply.body
    finally:
        # Leave the pool free for the next test.
        time.sleep(max(0.0, started + delay + 0.1 - time.monotonic()))
