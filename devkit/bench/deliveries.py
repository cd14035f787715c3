"""Deliveries driven through the runtime host against the emulator, measured one by one.

For each implementation and size: a fresh project (emulator reset, schema bootstrapped with no latency),
then the injected round trip switched on, then a fresh host with one worker, warmed up (a GET imports the
function; a POST with a wrong token touches no Appwrite state), whose resident size is then the idle size.
Each phase is then delivered once and measured: wall time at the client, the emulator's call counts, the
worker's CPU time, and the worker's peak resident size (reset before each phase) above the idle size.
A fresh worker per size keeps the memory of one size from counting against the next.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import requests

from devkit.bench import procstat
from devkit.bench.calls import CallCounts
from devkit.bench.proxy import CountingRelay
from devkit.bench.workload import Phase, phase_body
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from src.provision import apply_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
PROJECT_ID = "alert-processor-bench"
TOKEN = "bench-webhook-token-0123456789abcdef"
# Variables of the function that a developer's shell could set: blanked so that defaults apply.
_BLANKED = ("ALERT_ROUTES", "APPWRITE_API_KEY", "ALERTS_DATABASE_ID", "ALERTS_TABLE_ID", "CRITICAL_TOPIC_ID",
            "MONITORING_TOPIC_ID", "TIME_BUDGET_SECONDS", "MAX_BODY_BYTES")
_REQUEST_TIMEOUT_SECONDS = 600.0

Progress = Callable[[str], None]


class Implementation(StrEnum):
    OURS = "ours"
    BASELINE = "baseline"

    @property
    def function_dir(self) -> Path:
        return REPO_ROOT if self is Implementation.OURS else BASELINE_DIR


@dataclass(frozen=True)
class Measured:
    implementation: Implementation
    size: int
    phase: Phase
    wall_seconds: float
    status_code: int
    calls: CallCounts
    cpu_seconds: float | None
    peak_above_idle_bytes: int | None
    reply: dict[str, Any]

    @property
    def cpu_us_per_alert(self) -> float | None:
        return None if self.cpu_seconds is None else self.cpu_seconds / self.size * 1e6

    def as_json(self, latency_seconds: float) -> dict[str, Any]:
        return {
            "implementation": self.implementation.value,
            "size": self.size,
            "phase": self.phase.value,
            "status": self.status_code,
            "wallMs": round(self.wall_seconds * 1000, 2),
            "roundTrips": round(self.wall_seconds / latency_seconds, 2) if latency_seconds else None,
            "calls": self.calls.by_kind,
            "reads": self.calls.reads,
            "writes": self.calls.writes,
            "messages": self.calls.messages(),
            "cpuUsPerAlert": None if self.cpu_us_per_alert is None else round(self.cpu_us_per_alert, 1),
            "peakAboveIdleMB": None if self.peak_above_idle_bytes is None
            else round(self.peak_above_idle_bytes / 2**20, 1),
            "reply": self.reply,
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
    """One delivery seen through the counting relay."""

    size: int
    phase: Phase
    calls: int
    max_in_flight: int
    busy_seconds: float
    wall_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "phase": self.phase.value, "calls": self.calls, "maxInFlight": self.max_in_flight,
                "sequentialMs": round(self.busy_seconds * 1000, 1), "wallMs": round(self.wall_seconds * 1000, 1)}


class DeliveryError(RuntimeError):
    """A delivery did not get the answer the benchmark needs (the figures would mean nothing)."""


def function_env(endpoint: str) -> dict[str, str]:
    return {
        **{name: "" for name in _BLANKED},
        "APPWRITE_FUNCTION_API_ENDPOINT": endpoint,
        "APPWRITE_FUNCTION_PROJECT_ID": PROJECT_ID,
        "WEBHOOK_TOKEN": TOKEN,
    }


def post(url: str, body: bytes, *, token: str = TOKEN) -> requests.Response:
    return requests.post(url + "/", data=body, timeout=_REQUEST_TIMEOUT_SECONDS, headers={
        "content-type": "application/json", "authorization": f"Bearer {token}"})


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
            yield host

    def _deliver(self, host: FunctionHost, implementation: Implementation, size: int, phase: Phase,
                 idle: int | None) -> Measured:
        pid = host.pids[0]
        control = self._emulator.control
        body = phase_body(phase, size)
        control.reset_calls()
        if not procstat.reset_peak(pid):
            self.peak_resets_work = False
        cpu_before = procstat.cpu_seconds(pid)
        started = time.perf_counter()
        reply = post(host.url, body)
        wall = time.perf_counter() - started
        cpu_after = procstat.cpu_seconds(pid)
        peak = procstat.peak_rss_bytes(pid)
        calls = CallCounts.from_routes(control.calls())
        if reply.status_code != 200:
            raise DeliveryError(f"{implementation} N={size} {phase}: HTTP {reply.status_code}: {reply.text[:500]}")
        try:
            answer: dict[str, Any] = reply.json()
        except json.JSONDecodeError:
            answer = {}
        return Measured(
            implementation=implementation, size=size, phase=phase, wall_seconds=wall,
            status_code=reply.status_code, calls=calls,
            cpu_seconds=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
            peak_above_idle_bytes=None if peak is None or idle is None else peak - idle,
            reply={k: v for k, v in answer.items() if k in ("created", "updated", "unchanged", "messagesSent")},
        )

    def run(self, implementation: Implementation, size: int, phases: Sequence[Phase]) -> list[Measured]:
        """Deliver the given phases in order on a fresh project; phases before the first given one are
        delivered without latency and not measured, so that the measured phase finds the rows it expects."""
        self.fresh_project()
        control = self._emulator.control
        results: list[Measured] = []
        with self.serve(implementation) as host:
            first_measured = min(phases, key=list(Phase).index)
            for phase in list(Phase)[: list(Phase).index(first_measured)]:
                started = time.perf_counter()
                answer = post(host.url, phase_body(phase, size))
                if answer.status_code != 200:
                    raise DeliveryError(f"seeding {implementation} N={size} {phase}: HTTP {answer.status_code}")
                self._progress(f"  {implementation} N={size}: {phase} delivered without latency to set up "
                               f"({time.perf_counter() - started:.1f} s, not measured)")
            control.set_latency(self._latency_ms)
            idle = procstat.rss_bytes(host.pids[0])
            for phase in phases:
                measured = self._deliver(host, implementation, size, phase, idle)
                results.append(measured)
                self._progress(f"  {implementation} N={size} {phase}: {measured.wall_seconds * 1000:.0f} ms, "
                               f"calls {measured.calls.short()}")
        return results

    def overlap(self, size: int, phases: Sequence[Phase] = (Phase.FIRST, Phase.AGAIN)) -> list[Overlap]:
        """The given phases of our function through the counting relay: how many calls were in flight at once."""
        self.fresh_project()
        self._emulator.control.set_latency(self._latency_ms)
        found: list[Overlap] = []
        with CountingRelay(self._emulator.endpoint) as relay, \
                self.serve(Implementation.OURS, endpoint=relay.endpoint) as host:
            for phase in phases:
                relay.traffic.reset()
                started = time.perf_counter()
                reply = post(host.url, phase_body(phase, size))
                wall = time.perf_counter() - started
                if reply.status_code != 200:
                    raise DeliveryError(f"overlap probe N={size} {phase}: HTTP {reply.status_code}")
                traffic = relay.traffic
                found.append(Overlap(size, phase, len(traffic.spans), traffic.max_in_flight, traffic.busy_seconds(),
                                     wall))
        return found
