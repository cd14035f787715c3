"""Deliveries driven through the runtime host against the emulator, measured one by one.

For each implementation and size: a fresh project (emulator reset, schema bootstrapped with no latency),
then a fresh host with one worker, warmed up without touching Appwrite state (a GET imports the function, a
POST with a wrong token and a delivery of no alerts run the POST path), then the injected round trip switched
on; the worker's resident size at that point is the idle size.
Each phase is then delivered and measured: wall time at the client, the emulator's call counts, the
worker's CPU time, and the worker's peak resident size (reset before each phase) above the idle size.
A fresh worker per size keeps the memory of one size from counting against the next. Small sizes are
repeated on distinct alerts and the median kept, since one delivery of one alert lasts a few round trips.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from devkit.bench import procstat
from devkit.bench.calls import BASELINE_ROLES, OURS_ROLES, CallCounts, RowRoles, classify
from devkit.bench.proxy import CountingRelay
from devkit.bench.workload import Phase, body, phase_body
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from devkit.runtime.worker import CLOCK_OFFSET_HEADER
from ops.provision import apply_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
PROJECT_ID = "alert-processor-bench"
TOKEN = "bench-webhook-token-0123456789abcdef"
# Variables of the function that a developer's shell could set: blanked so that defaults apply.
_BLANKED = ("ALERT_ROUTES", "APPWRITE_API_KEY", "ALERTS_DATABASE_ID", "ALERTS_TABLE_ID", "EVENTS_TABLE_ID",
            "CRITICAL_TOPIC_ID", "MONITORING_TOPIC_ID", "TIME_BUDGET_SECONDS", "MAX_BODY_BYTES", "METRICS_TOKEN",
            "METRICS_SEVERITIES")
_REQUEST_TIMEOUT_SECONDS = 600.0

Progress = Callable[[str], None]


class Implementation(StrEnum):
    OURS = "ours"
    BASELINE = "baseline"

    @property
    def function_dir(self) -> Path:
        return REPO_ROOT if self is Implementation.OURS else BASELINE_DIR

    @property
    def roles(self) -> RowRoles:
        return OURS_ROLES if self is Implementation.OURS else BASELINE_ROLES


@dataclass(frozen=True)
class Sample:
    """One delivery, measured."""

    wall_seconds: float
    calls: CallCounts
    cpu_seconds: float | None
    peak_above_idle_bytes: int | None
    reply: dict[str, Any]


@dataclass(frozen=True)
class Measured:
    """One phase at one size: the median of its samples (each on other alerts), the highest peak."""

    implementation: Implementation
    size: int
    phase: Phase
    samples: tuple[Sample, ...]

    @property
    def wall_seconds(self) -> float:
        return statistics.median(sample.wall_seconds for sample in self.samples)

    @property
    def calls(self) -> CallCounts:
        """The calls of the first sample (`calls_vary` says whether another sample made other calls)."""
        return self.samples[0].calls

    @property
    def calls_vary(self) -> bool:
        return any(sample.calls != self.samples[0].calls for sample in self.samples)

    @property
    def cpu_seconds(self) -> float | None:
        known = [sample.cpu_seconds for sample in self.samples if sample.cpu_seconds is not None]
        return statistics.median(known) if known else None

    @property
    def peak_above_idle_bytes(self) -> int | None:
        known = [sample.peak_above_idle_bytes for sample in self.samples if sample.peak_above_idle_bytes is not None]
        return max(known) if known else None

    @property
    def cpu_us_per_alert(self) -> float | None:
        cpu = self.cpu_seconds
        return None if cpu is None else cpu / self.size * 1e6

    def as_json(self, latency_seconds: float) -> dict[str, Any]:
        peak = self.peak_above_idle_bytes
        cpu = self.cpu_us_per_alert
        return {
            "implementation": self.implementation.value,
            "size": self.size,
            "phase": self.phase.value,
            "samples": len(self.samples),
            "wallMs": round(self.wall_seconds * 1000, 2),
            "wallMsSamples": [round(sample.wall_seconds * 1000, 2) for sample in self.samples],
            "roundTrips": round(self.wall_seconds / latency_seconds, 2) if latency_seconds else None,
            "calls": self.calls.by_kind,
            "callsVaryBetweenSamples": self.calls_vary,
            "reads": self.calls.reads,
            "writes": self.calls.writes,
            "historyWrites": self.calls.history_writes,
            "messages": self.calls.messages(),
            "cpuUsPerAlert": None if cpu is None else round(cpu, 1),
            "peakAboveIdleMB": None if peak is None else round(peak / 2**20, 1),
            "reply": self.samples[-1].reply,
        }


@dataclass(frozen=True)
class NotRun:
    implementation: Implementation
    size: int
    phase: Phase
    reason: str

    def as_json(self, latency_seconds: float) -> dict[str, Any]:
        return {"implementation": self.implementation.value, "size": self.size, "phase": self.phase.value,
                "notRun": self.reason}


Result = Measured | NotRun


@dataclass(frozen=True)
class Overlap:
    """One delivery seen through the counting relay: calls, how many at once, how long each kind took."""

    size: int
    phase: Phase
    calls: int
    max_in_flight: int
    busy_seconds: float
    wall_seconds: float
    # SDK method -> (calls, mean seconds per call, round trip included) as the relay timed them.
    per_kind: dict[str, tuple[int, float]]
    # Groups of calls that overlap in time, one after the other: the round trips no concurrency can save.
    stages: int

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "phase": self.phase.value, "calls": self.calls, "maxInFlight": self.max_in_flight,
                "sequentialMs": round(self.busy_seconds * 1000, 1), "wallMs": round(self.wall_seconds * 1000, 1),
                "stages": self.stages,
                "meanCallMs": {kind: round(mean * 1000, 1) for kind, (_, mean) in self.per_kind.items()}}

    def describe_kinds(self) -> str:
        return ", ".join(f"{kind} {count} x {mean * 1000:.0f} ms" for kind, (count, mean) in self.per_kind.items())


def named(line: str) -> str:
    """`list_rows alerts`, `create_rows alert_events`, `create_push`: the relay sees which table a call touched."""
    name = classify(line, OURS_ROLES).name
    parts = [part for part in line.split(" ", 1)[-1].split("?")[0].split("/") if part]
    if "rows" in parts and parts.index("rows") > 0 and not name.endswith(" " + parts[parts.index("rows") - 1]):
        name += " " + parts[parts.index("rows") - 1]
    return name


def _stages(spans: Sequence[tuple[str, float, float]]) -> int:
    stages = 0
    end = float("-inf")
    for _, start, finish in sorted(spans, key=lambda span: span[1]):
        if start > end:
            stages += 1
            end = finish
        else:
            end = max(end, finish)
    return stages


def _per_kind(spans: Sequence[tuple[str, float, float]]) -> dict[str, tuple[int, float]]:
    durations: dict[str, list[float]] = {}
    for line, start, end in spans:
        durations.setdefault(named(line), []).append(end - start)
    return {kind: (len(values), statistics.fmean(values)) for kind, values in sorted(durations.items())}


class DeliveryError(RuntimeError):
    """A delivery did not get the answer the benchmark needs (the figures would mean nothing)."""


def function_env(endpoint: str) -> dict[str, str]:
    return {
        **{name: "" for name in _BLANKED},
        "APPWRITE_FUNCTION_API_ENDPOINT": endpoint,
        "APPWRITE_FUNCTION_PROJECT_ID": PROJECT_ID,
        "WEBHOOK_TOKEN": TOKEN,
    }


def post(url: str, body: bytes, *, token: str = TOKEN, later: int = 0) -> requests.Response:
    """POST a delivery; `later`: seconds the function's clock runs ahead (see `workload.Phase.offset_seconds`)."""
    return requests.post(url + "/", data=body, timeout=_REQUEST_TIMEOUT_SECONDS, headers={
        "content-type": "application/json", "authorization": f"Bearer {token}",
        **({CLOCK_OFFSET_HEADER: str(later)} if later else {})})


class Bench:
    """Runs deliveries on one emulator at one injected round trip."""

    def __init__(self, emulator: Emulator, *, latency_ms: float, progress: Progress) -> None:
        self._emulator = emulator
        self._latency_ms = latency_ms
        self._progress = progress
        self.peak_resets_work = True

    @property
    def latency_seconds(self) -> float:
        return self._latency_ms / 1000

    def fresh_project(self) -> None:
        control = self._emulator.control
        control.reset()
        control.set_latency(0)
        if not apply_schema(self._emulator.endpoint, PROJECT_ID, self._emulator.api_key):
            raise DeliveryError("the schema could not be bootstrapped on the emulator")

    @contextmanager
    def serve(self, implementation: Implementation, *, endpoint: str | None = None) -> Iterator[FunctionHost]:
        host = FunctionHost(implementation.function_dir, env=function_env(endpoint or self._emulator.endpoint),
                            api_key=self._emulator.api_key, workers=1, timeout_seconds=_REQUEST_TIMEOUT_SECONDS,
                            echo=False)
        with host:
            # Import the function (GET) and run its POST path up to the token check, touching no Appwrite state.
            requests.get(host.url + "/", timeout=_REQUEST_TIMEOUT_SECONDS).raise_for_status()
            if post(host.url, b"{}", token="wrong-token-wrong-token-wrong").status_code != 401:
                raise DeliveryError(f"{implementation} accepted a wrong token")
            # A valid delivery of no alerts runs the whole POST path and calls Appwrite for nothing.
            empty = post(host.url, body([]))
            if empty.status_code != 200:
                raise DeliveryError(f"{implementation} refused a delivery of no alerts: HTTP {empty.status_code} "
                                    f"{empty.text[:300]}")
            yield host

    def _deliver(self, host: FunctionHost, implementation: Implementation, size: int, phase: Phase,
                 series: int, idle: int | None) -> Sample:
        pid = host.pids[0]
        control = self._emulator.control
        body = phase_body(phase, size, series)
        control.reset_calls()
        if not procstat.reset_peak(pid):
            self.peak_resets_work = False
        cpu_before = procstat.cpu_seconds(pid)
        started = time.perf_counter()
        reply = post(host.url, body, later=phase.offset_seconds)
        wall = time.perf_counter() - started
        cpu_after = procstat.cpu_seconds(pid)
        peak = procstat.peak_rss_bytes(pid)
        calls = CallCounts.from_routes(control.calls_by_table(), implementation.roles)
        if reply.status_code != 200:
            raise DeliveryError(f"{implementation} N={size} {phase}: HTTP {reply.status_code}: {reply.text[:500]}")
        try:
            answer: dict[str, Any] = reply.json()
        except json.JSONDecodeError:
            answer = {}
        return Sample(
            wall_seconds=wall, calls=calls,
            cpu_seconds=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
            peak_above_idle_bytes=None if peak is None or idle is None else peak - idle,
            reply={k: v for k, v in answer.items() if k in ("created", "updated", "unchanged", "messagesQueued")},
        )

    def run(self, implementation: Implementation, size: int, phases: Sequence[Phase], *,
            repeats: int = 1) -> list[Measured]:
        """Deliver the given phases in order on a fresh project, `repeats` times on distinct alerts.

        Phases before the first one given are delivered first, without latency and unmeasured, so that the
        measured phases find the rows they expect.
        """
        self.fresh_project()
        control = self._emulator.control
        order = list(Phase)
        setup = order[: min(order.index(phase) for phase in phases)]
        samples: dict[Phase, list[Sample]] = {phase: [] for phase in phases}
        with self.serve(implementation) as host:
            for series in range(repeats):
                for phase in setup:
                    started = time.perf_counter()
                    answer = post(host.url, phase_body(phase, size, series), later=phase.offset_seconds)
                    if answer.status_code != 200:
                        raise DeliveryError(f"setting up {implementation} N={size} {phase}: HTTP {answer.status_code}")
                    self._progress(f"  {implementation} N={size:,}: {phase} delivered without latency to set up "
                                   f"({time.perf_counter() - started:.1f} s, not measured)")
            control.set_latency(self._latency_ms)
            idle = procstat.rss_bytes(host.pids[0])
            for series in range(repeats):
                for phase in phases:
                    samples[phase].append(self._deliver(host, implementation, size, phase, series, idle))
        results = [Measured(implementation, size, phase, tuple(samples[phase])) for phase in phases]
        for measured in results:
            self._progress(f"  {implementation} N={size:,} {measured.phase}: {measured.wall_seconds * 1000:,.1f} ms"
                           f"{f' (median of {repeats})' if repeats > 1 else ''}, calls {measured.calls.short()}")
        return results

    def calibrate(self, samples: int = 20) -> float:
        """The median wall time of a minimal Appwrite call (list databases, a fresh connection each, as the SDK
        makes them) at the injected round trip: what one round trip really costs in this setup."""
        self._emulator.control.set_latency(self._latency_ms)
        parts = urlsplit(self._emulator.endpoint)
        headers = {"x-appwrite-project": PROJECT_ID, "x-appwrite-key": self._emulator.api_key}
        times: list[float] = []
        for _ in range(samples):
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
            try:
                started = time.perf_counter()
                connection.request("GET", parts.path.rstrip("/") + "/tablesdb", headers=headers)
                answer = connection.getresponse()
                answer.read()
                times.append(time.perf_counter() - started)
            finally:
                connection.close()
            if answer.status != 200:
                raise DeliveryError(f"calibration call answered HTTP {answer.status}")
        return statistics.median(times)

    def overlap(self, cases: Sequence[tuple[int, Phase]]) -> list[Overlap]:
        """Deliveries of our function through the counting relay, in order: how many calls were in flight at
        once, and in how many sequential stages. Each size has alerts of its own."""
        self.fresh_project()
        self._emulator.control.set_latency(self._latency_ms)
        series = {size: index for index, size in enumerate(dict.fromkeys(size for size, _ in cases))}
        found: list[Overlap] = []
        with CountingRelay(self._emulator.endpoint) as relay, \
                self.serve(Implementation.OURS, endpoint=relay.endpoint) as host:
            for size, phase in cases:
                relay.traffic.reset()
                started = time.perf_counter()
                reply = post(host.url, phase_body(phase, size, series[size]), later=phase.offset_seconds)
                wall = time.perf_counter() - started
                if reply.status_code != 200:
                    raise DeliveryError(f"overlap probe N={size} {phase}: HTTP {reply.status_code}")
                traffic = relay.traffic
                found.append(Overlap(size, phase, len(traffic.spans), traffic.max_in_flight, traffic.busy_seconds(),
                                     wall, _per_kind(traffic.spans), _stages(traffic.spans)))
        return found
