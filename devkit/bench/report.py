"""The benchmark's output: one text table with the findings under it, or the same as a JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devkit.bench.calls import Category
from devkit.bench.coldstart import ColdStart
from devkit.bench.deliveries import Implementation, Measured, NotRun, Overlap, Result
from devkit.bench.machine import Machine
from devkit.bench.purepath import PathCost
from devkit.bench.targets import Verdict
from devkit.bench.workload import PHASES, Phase


@dataclass(frozen=True)
class Report:
    machine: Machine
    latency_ms: float
    quick: bool
    results: tuple[Result, ...]
    overlap: tuple[Overlap, ...]
    pure_path: tuple[PathCost, ...]
    cold_start: ColdStart | None
    verdicts: tuple[Verdict, ...]
    seconds: float
    notes: tuple[str, ...] = ()
    # Wall time of a minimal Appwrite call at the injected round trip, as measured (None: not measured).
    measured_round_trip: float | None = None
    profile: tuple[str, ...] = ()  # top entries of the pure path's CPU profile
    cost: tuple[str, ...] = ()  # calls and billed rows per day (devkit.bench.cost)

    def find(self, implementation: Implementation, size: int, phase: Phase) -> Result | None:
        for result in self.results:
            if result.implementation is implementation and result.size == size and result.phase is phase:
                return result
        return None

    @property
    def sizes(self) -> list[int]:
        return sorted({result.size for result in self.results})

    # -- JSON -------------------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        latency = self.latency_ms / 1000
        cold = self.cold_start
        return {
            "machine": self.machine.as_json(),
            "latencyMs": self.latency_ms,
            "minimalCallMs": None if self.measured_round_trip is None else round(self.measured_round_trip * 1000, 2),
            "quick": self.quick,
            "durationSeconds": round(self.seconds, 1),
            "deliveries": [result.as_json(latency) for result in self.results],
            "overlap": [probe.as_json() for probe in self.overlap],
            "purePath": [{
                "scenario": cost.scenario, "alerts": cost.size, "repetitions": cost.repetitions,
                "bestUsPerAlert": round(cost.best_us, 2), "medianUsPerAlert": round(cost.median_us, 2),
                "partsBestUsPerAlert": {name: round(value, 2) for name, value in cost.parts().items()},
                "messages": cost.messages,
            } for cost in self.pure_path],
            "coldStart": None if cold is None else {
                "sdkModulesMs": round(cold.sdk_seconds * 1000, 1),
                "entrypointMs": round(cold.entrypoint_seconds * 1000, 1),
                "overheadMs": round(cold.overhead_seconds * 1000, 1),
                "overheadBestMs": round(cold.overhead_best * 1000, 1),
                "overheadCpuBestMs": round(cold.overhead_cpu_best * 1000, 1),
                "sdkModulesCpuBestMs": round(cold.sdk_cpu_best * 1000, 1),
                "samples": len(cold.samples),
                "networkEvents": list(cold.network),
            },
            "targets": [verdict.as_json() for verdict in self.verdicts],
            "profile": list(self.profile),
            "cost": list(self.cost),
            "notes": list(self.notes),
        }

    # -- text -------------------------------------------------------------------------------------

    def text(self) -> str:
        lines = [
            "alert-processor benchmark" + (" (--quick)" if self.quick else ""),
            f"machine: {self.machine.describe()}",
            f"setup:   runtime host (1 worker process) -> Appwrite emulator (in memory), "
            f"injected round trip {self.latency_ms:g} ms per Appwrite call"
            + ("" if self.measured_round_trip is None else
               f" (a minimal call measures {self.measured_round_trip * 1000:.1f} ms)"),
            "calls:   r/w = reads/writes of the alerts table, h = creates in the history table (alert_events), "
            "t = other table calls (history and claims reads, SMS log), p/s/e = push/SMS/email messages; "
            "RT = wall time / round trip",
            "",
            *self._table(),
            "",
            *self._kinds(),
            *self._overlap(),
            *self._cold(),
            *self._pure(),
            *(["CPU profile of the POST handler (first + again + resolve; own time, cProfile-inflated):",
               *(f"  {line}" for line in self.profile)] if self.profile else []),
            *self.cost,
            "",
            "targets:",
            *(f"  {v.label}  {v.target}\n        {v.figure}" for v in self.verdicts),
        ]
        if self.notes:
            lines += ["", "notes:", *(f"  - {note}" for note in self.notes)]
        lines.append(f"\ncompleted in {self.seconds:.0f} s")
        return "\n".join(lines)

    def _table(self) -> list[str]:
        ours_w = "{:>9} {:>6} {:<13} {:>8} {:>7}"
        base_w = "{:>9} {:<13} {:>8} {:>7}"
        head_ours = ours_w.format("wall ms", "RT", "calls", "CPU µs/", "peak")
        head_base = base_w.format("wall ms", "calls", "CPU µs/", "peak")
        head2_ours = ours_w.format("", "", "", "alert", "MB")
        head2_base = base_w.format("", "", "alert", "MB")
        title_ours = "ours (batched, pooled)".center(len(head_ours))
        title_base = "per-alert baseline".center(len(head_base))
        lines = [
            f"{'':>6} {'':<8} | {title_ours} | {title_base} | {'speed-up':>8}",
            f"{'N':>6} {'phase':<8} | {head_ours} | {head_base} | {'':>8}",
            f"{'':>6} {'':<8} | {head2_ours} | {head2_base} | {'':>8}",
        ]
        lines.append("-" * len(lines[1]))
        footnotes: dict[str, int] = {}
        for size in self.sizes:
            for phase in PHASES:
                ours = self.find(Implementation.OURS, size, phase)
                base = self.find(Implementation.BASELINE, size, phase)
                if ours is None and base is None:
                    continue
                lines.append(f"{size:>6,} {phase.value:<8} | {self._cells(ours, ours_w, True)} | "
                             f"{self._cells(base, base_w, False, footnotes)} | {self._speedup(ours, base):>8}")
        for reason, number in footnotes.items():
            lines.append(f"  [{number}] not run: {reason}")
        return lines

    def _cells(self, result: Result | None, fmt: str, ours: bool, footnotes: dict[str, int] | None = None) -> str:
        width = len(fmt.format(*([""] * fmt.count("{"))))
        if result is None:
            return "-".center(width)
        if isinstance(result, NotRun):
            marker = ""
            if footnotes is not None:
                marker = f" [{footnotes.setdefault(result.reason, len(footnotes) + 1)}]"
            return f"not run{marker}".center(width)
        cpu = "-" if result.cpu_us_per_alert is None else f"{result.cpu_us_per_alert:,.0f}"
        peak = "-" if result.peak_above_idle_bytes is None else f"{result.peak_above_idle_bytes / 2**20:.1f}"
        wall = f"{result.wall_seconds * 1000:,.1f}"
        if ours:
            trips = f"{result.wall_seconds / (self.latency_ms / 1000):.2f}" if self.latency_ms else "-"
            return fmt.format(wall, trips, result.calls.short(), cpu, peak)
        return fmt.format(wall, result.calls.short(), cpu, peak)

    @staticmethod
    def _speedup(ours: Result | None, base: Result | None) -> str:
        if isinstance(ours, Measured) and isinstance(base, Measured) and ours.wall_seconds > 0:
            return f"{base.wall_seconds / ours.wall_seconds:,.1f}x"
        return ""

    def _kinds(self) -> list[str]:
        kinds: dict[str, dict[Category, set[str]]] = {}
        for result in self.results:
            if isinstance(result, Measured):
                seen = kinds.setdefault(result.implementation.value, {})
                for kind in result.calls.by_kind:
                    seen.setdefault(result.calls.categories[kind], set()).add(kind)
        lines = []
        for implementation, seen in kinds.items():
            described = "; ".join(f"{category.value}: {', '.join(sorted(names))}"
                                  for category, names in seen.items())
            lines.append(f"calls made by {implementation}: {described}")
        return lines

    def _overlap(self) -> list[str]:
        lines = ["overlap (ours through a counting relay, which adds a little to each call):"]
        lines += [f"  N={p.size:,} {p.phase}: {p.calls} calls in {p.stages} sequential stage(s), at most "
                  f"{p.max_in_flight} in flight; {p.busy_seconds * 1000:.0f} ms of calls done in "
                  f"{p.wall_seconds * 1000:.0f} ms wall; mean call, round trip included: {p.describe_kinds()}"
                  for p in self.overlap]
        return lines if self.overlap else []

    def _cold(self) -> list[str]:
        cold = self.cold_start
        if cold is None:
            return []
        network = "none" if not cold.network else f"{len(cold.network)}: " + "; ".join(cold.network[:3])
        return [f"cold start ({len(cold.samples)} fresh interpreters): SDK modules {cold.sdk_seconds * 1000:.0f} ms, "
                f"entrypoint {cold.entrypoint_seconds * 1000:.0f} ms (wall, medians); the entrypoint adds "
                f"{cold.overhead_cpu_best * 1000:.1f} ms of CPU (best), {cold.overhead_best * 1000:.1f} ms wall best, "
                f"{cold.overhead_seconds * 1000:.1f} ms wall median; network calls during import: {network}"]

    def _pure(self) -> list[str]:
        if not self.pure_path:
            return []
        first = self.pure_path[0]
        lines = [f"own CPU without waiting on Appwrite ({first.size:,} alerts, in-process, in-memory store; "
                 f"whole POST handler, best [median] of {first.repetitions}; parts, best):"]
        for cost in self.pure_path:
            parts = ", ".join(f"{name} {value:.1f}" for name, value in cost.parts().items())
            lines.append(f"  {cost.scenario:<44} {cost.best_us:6.1f} µs/alert [{cost.median_us:.1f}]   "
                         f"of which {parts}; {cost.messages} message(s)")
        return lines


def results_sorted(results: Sequence[Result]) -> tuple[Result, ...]:
    order = {phase: index for index, phase in enumerate(PHASES)}
    return tuple(sorted(results, key=lambda r: (r.implementation.value, r.size, order[r.phase])))
