"""Helpers of the reliability suite.

Resetting and bootstrapping the emulator's project takes most of a second, so tests here share one
bootstrapped project per module and keep apart by name: every test builds its alerts under a fresh `tag`
(in their alertname, hence in their fingerprints, message IDs and texts). `Outcome.of` reads back only what
belongs to a tag and writes it without the tag, the fingerprints, the IDs derived from them and the columns
that change on every run, so the outcome of one run can be compared with a control run of the same deliveries
made under another tag.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from appwrite.query import Query

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from src.clock import utc_now
from src.delivery.appwrite_store import AppwriteStore
from src.endpoints.http import Reply, Request
from src.endpoints.router import handle
from src.main import _store
from src.settings import Settings, load_settings
from tests.conftest import function_env
from tests.harness import TOKEN, Appwrite, deliver

# Critical alerts: push, SMS and email to the critical topic; warnings: push to the monitoring topic; other
# severities are stored without a message. So one critical alert exercises each message kind exactly once.
ROUTES = json.dumps([
    {"name": "critical", "match": {"severity": ["critical", "emergency"]}, "topic": "critical-alerts",
     "channels": ["push", "sms", "email"]},
    {"name": "warning", "match": {"severity": ["warning"]}, "topic": "monitoring-alerts", "channels": ["push"]},
])
ALERTS = "alerts"
EVENTS = "alert_events"
# Columns that legitimately differ between two runs of the same deliveries.
# `claim`: which delivery claimed a change hashes its whole body (the tag included), and whether the claim is still
# pending depends on whether a retry settled it or it waits for the scheduled run (tests/jobs pin that).
VOLATILE = frozenset({"lastReceivedAt", "at", "$id", "$updatedAt", "$createdAt", "$sequence", "claim"})

_tags = itertools.count(1)


def new_tag() -> str:
    """A name part no other test uses: fixed width, so no tag is part of another, and lower case, so it
    survives the lower-casing of names (runbook URLs)."""
    return f"tg{next(_tags):05d}x"


def env(emulator: Emulator, **extra: str) -> dict[str, str]:
    # These suites share one project per module and replay many critical stories within seconds: the SMS
    # budget and flapping (tests/oncall) would rightly hold SMS and silence changes, so they are off here.
    variables = {"ALERT_ROUTES": ROUTES, "SMS_BUDGET_PER_HOUR": "0", "FLAP_COUNT": "0", **extra}
    return function_env(emulator, **variables)


def fingerprints(bodies: Iterable[Mapping[str, Any]]) -> list[str]:
    """The distinct fingerprints of these deliveries, in order of first appearance."""
    return list(dict.fromkeys(alert["fingerprint"] for body in bodies for alert in body["alerts"]))


def _in_batches(appwrite: Appwrite, table: str, column: str, values: Sequence[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(values), 50):
        batch = list(values[start:start + 50])
        cursor: list[str] = []
        while True:
            page = appwrite.tables.list_rows("monitoring", table, queries=[
                Query.equal(column, batch), Query.limit(100), *cursor])
            found.extend({"$id": row.id, **row.data} for row in page.rows)
            if len(page.rows) < 100:
                break
            cursor = [Query.cursor_after(page.rows[-1].id)]
    return found


def alert_rows(appwrite: Appwrite, fps: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of these fingerprints, as Appwrite returns them."""
    return {row["$id"]: row for row in _in_batches(appwrite, ALERTS, "$id", fps)}


def message_text(message: Any) -> str:
    data = message.data
    return "\n".join(str(data.get(key, "")) for key in ("title", "subject", "body", "content"))


def tagged_messages(appwrite: Appwrite, tag: str) -> list[Any]:
    return [m for m in appwrite.messages() if tag in message_text(m) or tag in json.dumps(m.data)]


@dataclass(frozen=True)
class Outcome:
    """What deliveries under one tag left in Appwrite, with the tag, fingerprints, IDs and volatile columns
    replaced: sorted JSON lines of alert rows, history rows and messages. A duplicate shows as an extra line."""

    rows: list[str]
    events: list[str]
    messages: list[str]

    @classmethod
    def of(cls, appwrite: Appwrite, tag: str, fps: Sequence[str]) -> Outcome:
        names = {fp: f"<fp{i}>" for i, fp in enumerate(fps)}

        def neutral(value: Any) -> str:
            text = json.dumps(value, sort_keys=True, ensure_ascii=False).replace(tag, "<tag>")
            for fp, name in names.items():
                text = text.replace(fp, name)
            return text

        def stable(row: Mapping[str, Any]) -> dict[str, Any]:
            kept = {k: v for k, v in row.items() if k not in VOLATILE}
            if isinstance(kept.get("channels"), str):
                # Which message ID, and whether this attempt or an earlier one created it, vary with retries.
                kept["channels"] = sorted((c["topic"], c["channel"]) for c in json.loads(kept["channels"]))
            return kept

        rows = [neutral(stable(row)) for row in alert_rows(appwrite, fps).values()]
        events = [neutral(stable(row)) for row in _in_batches(appwrite, EVENTS, "fingerprint", fps)]
        messages = [neutral([m.topics, m.providertype, m.data]) for m in tagged_messages(appwrite, tag)]
        return cls(sorted(rows), sorted(events), sorted(messages))


def pending_claims(appwrite: Appwrite, fps: Sequence[str]) -> list[dict[str, Any]]:
    """The history rows of these alerts still claimed (their messages not known to have gone out)."""
    return [row for row in _in_batches(appwrite, EVENTS, "fingerprint", fps) if row.get("claim") is not None]


def settled_by_the_scheduled_run(function: InProcess, appwrite: Appwrite, fps: Sequence[str]) -> dict[str, Any]:
    """Run the scheduled run now: it completes every claim of these alerts whose messages all went out. Returns
    what it answered; fails if a claim is left pending."""
    reply = function.scheduled_run(utc_now())
    assert reply.status == 200, reply.body
    assert pending_claims(appwrite, fps) == []
    return dict(reply.body)


def announced(appwrite: Appwrite, tag: str, channel: str = "push") -> Counter[tuple[str, str]]:
    """How often each (topic, headline) of this tag was announced on `channel` (push or email), counting every
    alert a digest lists; fails on a digest too long to list every alert."""
    counts: Counter[tuple[str, str]] = Counter()
    for message in tagged_messages(appwrite, tag):
        if message.providertype != channel:
            continue
        title = message.data.get("title") or message.data.get("subject") or ""
        topic = message.topics[0]
        if title.startswith("[ALERTS]"):
            lines = (message.data.get("body") or message.data.get("content") or "").splitlines()
            assert not lines[-1].startswith("... and"), "digest too long to count"
            counts.update((topic, line) for line in lines if line.startswith(("[FIRING]", "[RESOLVED]")))
        else:
            counts[(topic, title)] += 1
    return counts


def post_all(url: str, bodies: Sequence[Any], *, token: str = TOKEN) -> list[requests.Response]:
    """Post every body at the same moment, each on its own connection (so the kernel spreads them over the
    host's workers); replies in the order of `bodies`."""
    start = threading.Barrier(len(bodies))

    def send(body: Any) -> requests.Response:
        start.wait()
        return deliver(url, body, token=token)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def race(url: str, bodies: Sequence[Any], *, retries: int = 3) -> list[requests.Response]:
    """`post_all`, then, as Alertmanager does, post again each body answered with a 5xx (one after the other, up
    to `retries` times); the final reply of each body, in order."""
    replies = post_all(url, bodies)
    for index, body in enumerate(bodies):
        for _ in range(retries):
            if replies[index].status_code < 500:
                break
            replies[index] = deliver(url, body)
    return replies


def failures(host: FunctionHost, replies: Sequence[requests.Response]) -> list[str]:
    """What went wrong with the replies that are not 200: their bodies and the host's error lines."""
    if all(reply.status_code == 200 for reply in replies):
        return []
    return [f"{r.status_code} {r.text[:300]}" for r in replies if r.status_code != 200] + [
        " | ".join(record["errors"])[:500] for record in host.logs() if record["statusCode"] != 200][-10:]


def post_in_order(url: str, bodies: Iterable[Any]) -> None:
    for body in bodies:
        reply = deliver(url, body)
        assert reply.status_code == 200, reply.text


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def calls_to(appwrite: Appwrite, method: str, suffix: str, *, by_table: bool = False) -> int:
    """How many `/v1` calls the emulator served whose route is `method` and ends with `suffix` (with the
    table each call named in place of `{tableId}`, when `by_table`)."""
    calls = appwrite.control.calls_by_table() if by_table else appwrite.control.calls()
    return sum(n for route, n in calls.items() if route.startswith(method + " ") and route.endswith(suffix))


def _no_pause(seconds: float) -> None:
    pass


class InProcess:
    """`handle()` called directly with the deployment's store factory against the emulator: the same code as a
    deployment minus the runtime's HTTP layer, fast enough for property tests. With `pause=False` the store
    retries without its back-off pauses (its retry decisions are unchanged); `budget` replaces the time budget
    by a shorter one than TIME_BUDGET_SECONDS accepts."""

    def __init__(self, variables: Mapping[str, str], *, pause: bool = True, budget: float | None = None) -> None:
        self.settings = load_settings(variables)
        self.logs: list[str] = []
        self.errors: list[str] = []
        self._pause = pause
        self._budget = budget

    def make_store(self, settings: Settings, key: str, deadline: float) -> AppwriteStore:
        if self._budget is not None:
            deadline += self._budget - settings.time_budget_seconds
        store = _store(settings, key, deadline)
        if not self._pause:
            store._sleep = _no_pause
        return store

    def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        sent = {"authorization": f"Bearer {TOKEN}"} if headers is None else dict(headers)
        return handle(Request("POST", "/", sent, body), self.settings, make_store=self.make_store, now=utc_now,
                      log=self.logs.append, error=self.errors.append)

    def scheduled_run(self, at: datetime) -> Reply:
        """Appwrite's cron execution of the function, as if it ran at `at`."""
        headers = {"x-appwrite-trigger": "schedule"}
        return handle(Request("POST", "/", headers, b""), self.settings, make_store=self.make_store,
                      now=lambda: at, log=self.logs.append, error=self.errors.append)
