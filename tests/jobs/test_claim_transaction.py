"""A delivery claiming more than 100 changes claims them all or none (one TablesDB transaction): Appwrite failing
while it claims leaves no claim behind, its retry announces each change once, and two deliveries of overlapping
groups of more than 100 changes racing each other announce each shared change once."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from devkit import payloads as p
from devkit.runtime import FunctionHost
from tests.harness import Appwrite, deliver, scheduled_run

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
STAGE = r"/tablesdb/transactions/[^/]+/operations$"
COMMIT = r"/tablesdb/transactions/[^/]+$"


def warnings(start: int, stop: int) -> list[dict[str, Any]]:
    return [p.alert("Wide", severity="warning", instance=f"node-{i:03d}:9100", starts_at=T0)
            for i in range(start, stop)]


def history(appwrite: Appwrite) -> dict[str, dict[str, Any]]:
    """The history rows of changes (not the scheduled run's rows following messages)."""
    return {row_id: row for row_id, row in appwrite.rows("alert_events").items() if row["kind"] != "delivery"}


def check_each_change_announced_once(appwrite: Appwrite, host: FunctionHost, changes: int) -> None:
    """The scheduled run finds nothing left to send and completes every claim: one completed history row per
    change; every message its rows name went out, and each lists exactly the changes whose rows name it (a change
    listed in a second message would make that message carry more changes than rows name it), so every change
    went out in one message, once."""
    assert scheduled_run(host.url)["messagesQueued"] == 0
    rows = history(appwrite)
    assert len(rows) == changes
    assert all(row["claim"] is None for row in rows.values())
    naming: Counter[str] = Counter()
    carries: dict[str, int] = {}
    for row in rows.values():
        [entry] = json.loads(row["channels"])  # a warning goes to one topic, by push
        assert entry["result"] == "sent"
        naming[entry["messageId"]] += 1
        carries[entry["messageId"]] = entry["alerts"]
    assert dict(naming) == carries
    messages = appwrite.messages()
    assert sorted(m.id for m in messages) == sorted(naming)
    for message in messages:
        assert message.data["title"].startswith(f"[ALERTS] {naming[message.id]} firing")


def post_until_done(host: FunctionHost, body: dict[str, Any]) -> requests.Response:
    """Post as Alertmanager does: again after a 5xx, a few times."""
    reply = deliver(host.url, body)
    for _ in range(3):
        if reply.status_code < 500:
            break
        reply = deliver(host.url, body)
    return reply


@pytest.mark.parametrize(("path", "method", "mode"), [
    (STAGE, "POST", "status"),
    (COMMIT, "PATCH", "status"),
    (COMMIT, "PATCH", "drop_before"),
], ids=["staging-503", "commit-503", "commit-unanswered"])
def test_claims_failing_midway_leave_none_and_the_retry_announces_each_change_once(
        host: FunctionHost, appwrite: Appwrite, path: str, method: str, mode: str) -> None:
    """250 changes (three bulk creates of claims) with Appwrite failing after the claims were staged: 503, not
    one claim, alert row or message left behind; the retry announces each change exactly once."""
    body = p.payload(warnings(0, 250))
    appwrite.control.add_fault(path, method=method, count=10, mode=mode, status=503)
    assert deliver(host.url, body).status_code == 503
    assert history(appwrite) == {} and appwrite.messages() == [] and appwrite.rows() == {}
    appwrite.control.clear_faults()
    assert deliver(host.url, body).status_code == 200
    check_each_change_announced_once(appwrite, host, 250)
    assert len(appwrite.rows()) == 250


def test_a_commit_whose_answer_is_lost_claims_once(host: FunctionHost, appwrite: Appwrite) -> None:
    """The commit of 250 claims goes through but its answer is lost: the function learns it committed, and the
    delivery succeeds at once, each change announced once."""
    appwrite.control.add_fault(COMMIT, method="PATCH", count=1, mode="drop_after")
    assert deliver(host.url, p.payload(warnings(0, 250))).status_code == 200
    check_each_change_announced_once(appwrite, host, 250)


def test_a_retry_of_a_delivered_wide_group_announces_nothing_again(host: FunctionHost, appwrite: Appwrite) -> None:
    """The same 250-change delivery twice: the second finds every change claimed and sends nothing."""
    body = p.payload(warnings(0, 250))
    assert deliver(host.url, body).status_code == 200
    assert deliver(host.url, body).json()["messagesQueued"] == 0
    check_each_change_announced_once(appwrite, host, 250)


def test_overlapping_wide_groups_racing_announce_each_change_once(host: FunctionHost, appwrite: Appwrite) -> None:
    """Two deliveries at once, of 200 changes each sharing 150: each of the 250 changes is announced once, in
    one of the two digests (whichever claimed it first), none lost."""
    appwrite.control.set_latency(20)  # so the two deliveries overlap for sure
    bodies = [p.payload(warnings(0, 200)), p.payload(warnings(50, 250))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda body: post_until_done(host, body), bodies))
    assert [reply.status_code for reply in replies] == [200, 200], [reply.text for reply in replies]
    check_each_change_announced_once(appwrite, host, 250)
