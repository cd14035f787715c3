"""The soak test (issue 7): `python scripts/soak.py [--seconds 60] [--senders 4] [--workers 4] [--json]`.

Starts the emulator (in a process of its own, with a small latency on every call) and the function on the
runtime host (several worker processes), both on 127.0.0.1 only, then runs concurrent senders for a bounded
time and number of requests. Each sender plays stories of one Alertmanager group after another, with a mix
of group sizes (1 to 120 alerts, so digests and two-batch writes occur) and severities: fire (sometimes as
two identical copies at once, as an HA pair sends them), re-deliver, resolve half, resolve all, re-deliver,
re-fire (same startsAt) or fire a new occurrence, resolve again. Now and then a story is an *overlap* story
instead: 6 to 16 warnings fired, then resolved, each time as three deliveries posted at the same moment (the
whole group and two overlapping parts of it, as routes with different `group_by` send one alert in several
groups), so digests race single messages for the same alerts.

Each sender owns its alerts (a `sender` label) and its topics (`ALERT_ROUTES` routes its label to topics of its
own), so it knows exactly how many messages its story must create: one per change of state per target, or one
digest per target when more than 5 changes go to it in one delivery. At the end the messages Appwrite holds
are counted per sender; more than expected are duplicates, fewer are missing. Which delivery of an overlap
story announces which alert is up to the race, so those are checked alert by alert instead: every firing and
every resolve announced exactly once, alone or listed in a digest.

Reported: requests/s, latency p50/p95/p99/max, errors (any answer but 200, or no answer), duplicates, missing
messages, and each worker's resident memory at the start, half-way and the end. Exit status 1 when there were errors,
duplicates or missing messages; 2 when the run could not start.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from appwrite.client import Client
from appwrite.query import Query
from appwrite.services.messaging import Messaging

from devkit import payloads as p
from devkit.bench.procstat import rss_bytes
from devkit.emulator import EmulatorControl
from devkit.runtime import FunctionHost
from ops.provision import apply_schema

PROJECT_ID = "alert-processor-soak"
TOKEN = "soak-webhook-token-0123456789abcdef"
# Group sizes and how often each is played: mostly small groups, now and then a digest or two write batches.
GROUP_SIZES = (1, 1, 2, 3, 5, 8, 8, 30, 120)
# More changes than this to one topic and channel in one delivery become one digest (src/plan.py).
DIGEST_THRESHOLD = 5
# Overlap stories: how often, and their sizes (at most 20, so a digest lists every alert it carries).
OVERLAP_SHARE = 0.25
OVERLAP_SIZES = (6, 8, 12, 16)
OVERLAP_NAME = "SoakOverlap"
MAX_SECONDS = 3600.0
REQUEST_TIMEOUT_SECONDS = 30.0
_PROCESSING_SECONDS = 0.01


def routes(senders: int) -> list[dict[str, Any]]:
    """Per sender: critical alerts to push and SMS on its critical topic, every alert to push on its own."""
    found: list[dict[str, Any]] = []
    for index in range(senders):
        label = {"sender": sender_label(index)}
        found.append({"name": f"s{index}-critical", "match": {"severity": ["critical"], "labels": label},
                      "topic": critical_topic(index), "channels": ["push", "sms"]})
        found.append({"name": f"s{index}-all", "match": {"labels": label}, "topic": all_topic(index),
                      "channels": ["push"]})
    return found


def sender_label(index: int) -> str:
    return f"s{index}"


def critical_topic(index: int) -> str:
    return f"soak-{index}-critical"


def all_topic(index: int) -> str:
    return f"soak-{index}-all"


def expected_messages(changed: Sequence[dict[str, Any]]) -> int:
    """Messages one delivery creates for the alerts whose state it changes, under `routes`."""
    critical = sum(1 for alert in changed if alert["labels"].get("severity") == "critical")
    per_target = [critical, critical, len(changed)]  # critical push, critical SMS, the sender's push
    return sum(1 if count > DIGEST_THRESHOLD else count for count in per_target)


@dataclass
class Tally:
    """What one sender did and expects (its copies post from two threads at once: `lock`)."""

    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expected: int = 0
    reported_sent: int = 0
    stories: int = 0
    overlap_stories: int = 0
    # The headline of every change an overlap story must announce exactly once.
    overlap_expected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answered(self, seconds: float, error: str | None = None, sent: int = 0) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(seconds)
            self.reported_sent += sent
            if error is not None:
                self.errors.append(error)


class Budget:
    """The run's bounds, shared by the senders: a deadline and a number of requests."""

    def __init__(self, seconds: float, max_requests: int) -> None:
        self.deadline = time.monotonic() + seconds
        self._left = max_requests
        self._lock = threading.Lock()

    def take(self, count: int = 1) -> bool:
        with self._lock:
            if time.monotonic() >= self.deadline or self._left < count:
                return False
            self._left -= count
            return True


class Sender:
    def __init__(self, index: int, url: str, budget: Budget, seed: int) -> None:
        self.index = index
        self.url = url
        self.budget = budget
        self.random = random.Random(seed)
        self.tally = Tally()

    # -- HTTP -----------------------------------------------------------------------------------

    def _post(self, body: bytes, counted: bool = True) -> None:
        """One delivery on a new connection (so the kernel spreads them over the workers), as Alertmanager."""
        started = time.monotonic()
        try:
            reply = requests.post(self.url + "/", data=body, timeout=REQUEST_TIMEOUT_SECONDS,
                                  headers={"content-type": "application/json", "authorization": f"Bearer {TOKEN}"})
        except requests.RequestException as exc:
            self.tally.answered(time.monotonic() - started, f"no answer: {type(exc).__name__}")
            return
        took = time.monotonic() - started
        if reply.status_code != 200:
            self.tally.answered(took, f"HTTP {reply.status_code}: {reply.text[:200]}")
            return
        self.tally.answered(took, sent=int(reply.json().get("messagesQueued", 0)) if counted else 0)

    def _post_together(self, bodies: Sequence[bytes], counted: bool = True) -> None:
        if len(bodies) == 1:
            self._post(bodies[0], counted)
            return
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            list(pool.map(lambda body: self._post(body, counted), bodies))

    def deliver(self, alerts: list[dict[str, Any]], changed: Sequence[dict[str, Any]], *, copies: int = 1) -> bool:
        """Post the group (`copies` identical copies at once); False when the run's budget is spent."""
        if not self.budget.take(copies):
            return False
        self._post_together([json.dumps(p.payload(alerts)).encode()] * copies)
        self.tally.expected += expected_messages(changed)
        return True

    def deliver_overlapping(self, alerts: list[dict[str, Any]], status: str) -> bool:
        """Post the group and two overlapping parts of it at once; each alert's change must be announced once."""
        if not self.budget.take(3):
            return False
        third = len(alerts) // 3
        groups = [alerts, alerts[:len(alerts) - third], alerts[third:]]
        self._post_together([json.dumps(p.payload(group)).encode() for group in groups], counted=False)
        label = "[FIRING]" if status == "firing" else "[RESOLVED]"
        self.tally.overlap_expected += [
            f"{label} {a['labels']['alertname']} on {a['labels']['instance']} ({a['labels']['severity']})"
            for a in alerts]
        return True

    # -- stories --------------------------------------------------------------------------------

    def _group(self, story: int) -> list[dict[str, Any]]:
        size = self.random.choice(GROUP_SIZES)
        name = f"Soak{self.index}x{story}"
        starts = datetime(2026, 11, 27, 3, 0, tzinfo=UTC) + timedelta(minutes=story)
        return [
            p.alert(name, severity=self.random.choice(("critical", "warning", "info")), instance=f"node-{i:03d}:9100",
                    starts_at=starts, labels={"sender": sender_label(self.index)})
            for i in range(size)
        ]

    def play_overlap(self, story: int) -> bool:
        """Warnings fired, then resolved, each time by three overlapping deliveries at once."""
        name = f"{OVERLAP_NAME}{self.index}x{story}"
        starts = datetime(2026, 11, 27, 3, 0, tzinfo=UTC) + timedelta(minutes=story)
        firing = [p.alert(name, severity="warning", instance=f"node-{i:03d}:9100", starts_at=starts,
                          labels={"sender": sender_label(self.index)})
                  for i in range(self.random.choice(OVERLAP_SIZES))]
        resolved = [p.resolved(a, starts + timedelta(minutes=5)) for a in firing]
        if not (self.deliver_overlapping(firing, "firing") and self.deliver_overlapping(resolved, "resolved")):
            return False
        self.tally.overlap_stories += 1
        return True

    def play(self, story: int) -> bool:
        """One group's life; False when the budget ran out (the story may be cut short, expectations stay exact)."""
        if self.random.random() < OVERLAP_SHARE:
            return self.play_overlap(story)
        firing = self._group(story)
        half = len(firing) // 2
        resolved = [p.resolved(a, datetime.fromisoformat(a["startsAt"][:26] + "+00:00") + timedelta(minutes=5))
                    for a in firing]
        # Two identical copies at once, as an HA pair sends them.
        copies = 2 if self.random.random() < 0.5 else 1
        steps: list[tuple[list[dict[str, Any]], Sequence[dict[str, Any]], int]] = [
            (firing, firing, copies),
            (firing, [], 1),
            (resolved[:half] + firing[half:], resolved[:half], 1),
            (resolved, resolved[half:], 1),
            (resolved, [], 1),
        ]
        if self.random.random() < 0.5:
            again = firing  # the same occurrence back after it resolved: a re-fire
        else:
            later = datetime.fromisoformat(firing[0]["startsAt"][:26] + "+00:00") + timedelta(hours=1)
            again = [p.alert(a["labels"]["alertname"], severity=a["labels"]["severity"],
                             instance=a["labels"]["instance"], starts_at=later, labels=a["labels"]) for a in firing]
        ended = [p.resolved(a, datetime.fromisoformat(a["startsAt"][:26] + "+00:00") + timedelta(minutes=9))
                 for a in again]
        steps += [(again, again, 1), (ended, ended, 1)]
        for alerts, changed, count in steps:
            if not self.deliver(alerts, changed, copies=count):
                return False
        self.tally.stories += 1
        return True

    def run(self) -> None:
        story = 0
        while self.play(story):
            story += 1


@dataclass(frozen=True)
class Report:
    seconds: float
    requests: int
    stories: int
    overlap_stories: int
    overlap_announcements: int
    latencies_ms: dict[str, float]
    errors: int
    error_samples: list[str]
    expected_messages: int
    created_messages: int
    reported_messages: int
    duplicates: int
    missing: int
    rss_start_mib: list[float]
    rss_half_mib: list[float]
    rss_end_mib: list[float]
    workers: int
    senders: int
    latency_ms: float

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.duplicates == 0 and self.missing == 0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "requests_per_second": self.requests / self.seconds, "passed": self.passed}

    def text(self) -> str:
        lat = self.latencies_ms
        lines = [
            f"soak: {self.senders} senders, {self.workers} workers, emulator latency {self.latency_ms:g} ms",
            f"  duration        {self.seconds:.1f} s",
            f"  requests        {self.requests} ({self.requests / self.seconds:.1f}/s), {self.stories} stories "
            f"and {self.overlap_stories} overlap stories",
            f"  latency ms      p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  p99 {lat['p99']:.1f}  max {lat['max']:.1f}",
            f"  errors          {self.errors}" + (f"  e.g. {self.error_samples[:3]}" if self.error_samples else ""),
            f"  messages        expected {self.expected_messages}, created {self.created_messages}, "
            f"reported sent {self.reported_messages} (besides the overlap stories'); overlap stories: "
            f"{self.overlap_announcements} changes to announce once each",
            f"  duplicates      {self.duplicates}",
            f"  missing         {self.missing}",
            "  worker RSS MiB  start " + " ".join(f"{v:.1f}" for v in self.rss_start_mib)
            + "  half-way " + " ".join(f"{v:.1f}" for v in self.rss_half_mib)
            + "  end " + " ".join(f"{v:.1f}" for v in self.rss_end_mib),
            f"  result          {'PASS' if self.passed else 'FAIL'}",
        ]
        return "\n".join(lines)


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _rss_mib(pids: Sequence[int]) -> list[float]:
    return [(rss_bytes(pid) or 0) / 2**20 for pid in pids]


class EmulatorProcess:
    """The emulator in a process of its own (`scripts/emulator.py`), on a free port of 127.0.0.1, so the senders'
    threads and the emulator do not share one interpreter lock."""

    def __init__(self, repo_root: Path) -> None:
        self._command = [sys.executable, str(repo_root / "scripts" / "emulator.py"), "--port", "0",
                         "--processing-seconds", str(_PROCESSING_SECONDS)]
        self._process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.api_key = ""

    def __enter__(self) -> EmulatorProcess:
        self._process = subprocess.Popen(self._command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        ready = re.search(r"ready at (http://127\.0\.0\.1:\d+/v1) with API key (\S+)", line)
        if ready is None:
            self.__exit__()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.endpoint, self.api_key = ready.group(1), ready.group(2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.endpoint)


def _messages(emulator: EmulatorProcess) -> list[tuple[str, list[str]]]:
    """Every message Appwrite holds: its topic and the alerts it names (a push title, or a digest's lines)."""
    client = Client().set_endpoint(emulator.endpoint).set_project(PROJECT_ID).set_key(emulator.api_key)
    messaging = Messaging(client)
    found: list[tuple[str, list[str]]] = []
    cursor: list[str] = []
    while True:
        page = messaging.list_messages(queries=[Query.limit(100), *cursor])
        for message in page.messages:
            title = str(message.data.get("title") or "")
            body = str(message.data.get("body") or "")
            found.append((message.topics[0] if message.topics else "",
                          body.splitlines() if title.startswith("[ALERTS]") else [title]))
        if len(page.messages) < 100:
            return found
        cursor = [Query.cursor_after(page.messages[-1].id)]


def overlap_check(expected: Sequence[str], announced: Counter[str]) -> tuple[int, int]:
    """(duplicates, missing) among the overlap stories' announcements."""
    wanted = Counter(expected)
    duplicates = sum(max(0, count - wanted[line]) for line, count in announced.items())
    missing = sum(max(0, count - announced[line]) for line, count in wanted.items())
    return duplicates, missing


def run(*, seconds: float, senders: int, workers: int, latency_ms: float, max_requests: int, seed: int,
        progress: bool) -> Report:
    repo_root = Path(__file__).resolve().parents[1]
    with EmulatorProcess(repo_root) as emulator:
        if not apply_schema(emulator.endpoint, PROJECT_ID, emulator.api_key):
            raise RuntimeError("could not bootstrap the emulator's project")
        emulator.control.set_latency(latency_ms)
        env = {
            "APPWRITE_FUNCTION_API_ENDPOINT": emulator.endpoint,
            "APPWRITE_FUNCTION_PROJECT_ID": PROJECT_ID,
            "WEBHOOK_TOKEN": TOKEN,
            "ALERT_ROUTES": json.dumps(routes(senders)),
            # The stories flip alerts on purpose and page by SMS far past any budget: with flapping dampened
            # and SMS held, fewer messages go out by design, which the expected counts here do not model.
            "FLAP_COUNT": "0",
            "SMS_BUDGET_PER_HOUR": "0",
        }
        with FunctionHost(repo_root, env=env, api_key=emulator.api_key, workers=workers, echo=False) as host:
            for _ in range(4 * workers):  # import the function in every worker before measuring
                requests.get(host.url + "/", timeout=REQUEST_TIMEOUT_SECONDS)
            rss_start = _rss_mib(host.pids)
            budget = Budget(seconds, max_requests)
            started = time.monotonic()
            team = [Sender(index, host.url, budget, seed + index) for index in range(senders)]
            threads = [threading.Thread(target=s.run, name=f"sender-{s.index}") for s in team]
            for thread in threads:
                thread.start()
            rss_half: list[float] = []
            while any(thread.is_alive() for thread in threads):
                time.sleep(1.0)
                if not rss_half and time.monotonic() - started >= seconds / 2:
                    rss_half = _rss_mib(host.pids)
                if progress:
                    done = sum(s.tally.requests for s in team)
                    print(f"\r  {time.monotonic() - started:5.0f} s  {done} requests", end="", file=sys.stderr)
            elapsed = time.monotonic() - started
            if progress:
                print(file=sys.stderr)
            rss_end = _rss_mib(host.pids)
            messages = _messages(emulator)
    by_topic: Counter[str] = Counter()
    overlap_announced: Counter[str] = Counter()
    for topic, named in messages:
        about_overlap = [line for line in named if OVERLAP_NAME in line]
        if about_overlap:
            overlap_announced.update(line for line in about_overlap if line.startswith(("[FIRING]", "[RESOLVED]")))
        else:
            by_topic[topic] += 1
    duplicates, missing = overlap_check([line for s in team for line in s.tally.overlap_expected],
                                        overlap_announced)
    created = 0
    for s in team:
        mine = by_topic.get(critical_topic(s.index), 0) + by_topic.get(all_topic(s.index), 0)
        created += mine
        duplicates += max(0, mine - s.tally.expected)
        missing += max(0, s.tally.expected - mine)
    latencies = [v * 1000 for s in team for v in s.tally.latencies]
    errors = [e for s in team for e in s.tally.errors]
    return Report(
        seconds=elapsed,
        requests=sum(s.tally.requests for s in team),
        stories=sum(s.tally.stories for s in team),
        overlap_stories=sum(s.tally.overlap_stories for s in team),
        overlap_announcements=sum(len(s.tally.overlap_expected) for s in team),
        latencies_ms={"p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
                      "p99": percentile(latencies, 0.99), "max": max(latencies, default=0.0)},
        errors=len(errors),
        error_samples=errors[:10],
        expected_messages=sum(s.tally.expected for s in team),
        created_messages=created,
        reported_messages=sum(s.tally.reported_sent for s in team),
        duplicates=duplicates,
        missing=missing,
        rss_start_mib=rss_start,
        rss_half_mib=rss_half,
        rss_end_mib=rss_end,
        workers=workers,
        senders=senders,
        latency_ms=latency_ms,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="soak.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the senders run (default 60)")
    parser.add_argument("--senders", type=int, default=4, help="concurrent senders (default 4)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of the function (default 4)")
    parser.add_argument("--latency-ms", type=float, default=2.0, help="emulator latency per call (default 2)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many (default 100000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the senders' stories")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS:g}]")
    if not 1 <= args.senders <= 16 or not 1 <= args.workers <= 16:
        parser.error("--senders and --workers must be between 1 and 16")
    if args.max_requests < 1 or args.latency_ms < 0:
        parser.error("--max-requests must be positive and --latency-ms not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(seconds=args.seconds, senders=args.senders, workers=args.workers, latency_ms=args.latency_ms,
                     max_requests=args.max_requests, seed=args.seed, progress=not args.json)
    except Exception as exc:  # the run itself failed: nothing to judge
        print(f"soak: could not run: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json(), indent=2) if args.json else report.text())
    return 0 if report.passed else 1
