"""The issue's targets, each judged on what the benchmark measured: PASS, MISS, or not measured (None)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devkit.bench.calls import CallCounts
from devkit.bench.coldstart import ColdStart
from devkit.bench.deliveries import Implementation, Measured, Overlap, Result
from devkit.bench.purepath import PathCost
from devkit.bench.workload import Phase, expected_messages, history_budget, storage_budget

REDELIVERY_SIZE = 1000
REDELIVERY_SPEEDUP = 50.0
SINGLE_ALERT_ROUND_TRIPS = 5.0
CPU_US_PER_ALERT = 50.0
# Issue 20's targets.
REDELIVERY_SECONDS = 0.2
FLOOR_SPEEDUP = 50.0
SINGLE_ALERT_STAGES = 3
COLD_IMPORT_MEDIAN_MS = 30.0
EMULATOR_MS = 10.0
MEMORY_SIZE = 5000
MEMORY_MB = 150.0
# What "a small bounded pool" allows: calls do overlap (2 or more in flight) and never more than this.
POOL_LIMIT = 8


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool | None
    figure: str

    @property
    def label(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a "}[self.passed]

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "result": self.label.strip(), "figure": self.figure}


def _ours(results: Sequence[Result]) -> list[Measured]:
    return [r for r in results if isinstance(r, Measured) and r.implementation is Implementation.OURS]


def _find(results: Sequence[Result], implementation: Implementation, size: int, phase: Phase) -> Measured | None:
    for result in results:
        if (isinstance(result, Measured) and result.implementation is implementation and result.size == size
                and result.phase is phase):
            return result
    return None


def _deliveries(results: Sequence[Result]) -> list[tuple[Measured, CallCounts]]:
    """Every delivery of ours (each sample of each phase), with its calls."""
    return [(m, sample.calls) for m in _ours(results) for sample in m.samples]


def storage(results: Sequence[Result]) -> Verdict:
    target = "storage: <= ceil(N/100) reads and <= ceil(N/100) writes of the alerts table per delivery"
    deliveries = _deliveries(results)
    if not deliveries:
        return Verdict(target, None, "no delivery measured")
    over = [(m, c) for m, c in deliveries if c.reads > storage_budget(m.size) or c.writes > storage_budget(m.size)]
    largest, calls = max(deliveries, key=lambda d: (d[0].size, d[1].reads + d[1].writes))
    figure = (f"{len(deliveries) - len(over)}/{len(deliveries)} deliveries within budget; largest: "
              f"N={largest.size:,} {largest.phase}: {calls.reads} reads, {calls.writes} writes "
              f"(budget {storage_budget(largest.size)} each)")
    if over:
        figure += "; over budget: " + ", ".join(f"N={m.size:,} {m.phase} {c.reads}r/{c.writes}w" for m, c in over)
    history_over = [(m, c) for m, c in deliveries if c.history_writes > history_budget(m.phase, m.size)]
    most = max(deliveries, key=lambda d: (d[1].history_writes, d[0].size))
    figure += (f"; besides, history (alert_events) creates: {len(deliveries) - len(history_over)}/{len(deliveries)} "
               f"within ceil(changes/100), most {most[1].history_writes} (N={most[0].size:,} {most[0].phase})")
    if history_over:
        figure += ", over: " + ", ".join(f"N={m.size:,} {m.phase} {c.history_writes}h" for m, c in history_over)
    return Verdict(target, not over, figure)


def messages(results: Sequence[Result]) -> Verdict:
    target = "messages: only for changes of state; > 5 to one topic+channel in a delivery -> one digest"
    deliveries = _deliveries(results)
    if not deliveries:
        return Verdict(target, None, "no delivery measured")
    wrong = [(m, c) for m, c in deliveries if c.messages() != expected_messages(m.phase, m.size)]
    sent_again = sum(sum(c.messages().values()) for m, c in deliveries if m.phase is Phase.AGAIN)
    figure = (f"{len(deliveries) - len(wrong)}/{len(deliveries)} deliveries sent exactly the expected messages; "
              f"re-deliveries sent {sent_again}")
    if wrong:
        figure += "; differ: " + ", ".join(
            f"N={m.size:,} {m.phase} sent {c.messages()} expected {expected_messages(m.phase, m.size)}"
            for m, c in wrong)
    return Verdict(target, not wrong, figure)


def overlap(probes: Sequence[Overlap]) -> Verdict:
    target = f"overlap: independent calls run concurrently on a small bounded pool (2..{POOL_LIMIT} in flight)"
    if not probes:
        return Verdict(target, None, "overlap probe not run")
    probes = [probe for probe in probes if probe.size > 1]
    if not probes:
        return Verdict(target, None, "overlap probe not run above N=1")
    most = max(probe.max_in_flight for probe in probes)
    parts = [f"N={p.size:,} {p.phase}: {p.calls} calls, at most {p.max_in_flight} in flight, "
             f"{p.busy_seconds * 1000:.0f} ms of calls in {p.wall_seconds * 1000:.0f} ms" for p in probes]
    return Verdict(target, 2 <= most <= POOL_LIMIT, "; ".join(parts))


def redelivery_speedup(results: Sequence[Result]) -> Verdict:
    target = f"re-delivery of {REDELIVERY_SIZE:,} unchanged alerts >= {REDELIVERY_SPEEDUP:.0f}x faster than per-alert"
    ours = _find(results, Implementation.OURS, REDELIVERY_SIZE, Phase.AGAIN)
    baseline = _find(results, Implementation.BASELINE, REDELIVERY_SIZE, Phase.AGAIN)
    if ours is None or baseline is None:
        return Verdict(target, None, "not measured (the baseline's 1,000-alert re-delivery is skipped by --quick)")
    ratio = baseline.wall_seconds / ours.wall_seconds
    figure = f"{ratio:.0f}x ({baseline.wall_seconds * 1000:,.0f} ms per-alert vs {ours.wall_seconds * 1000:,.0f} ms)"
    return Verdict(target, ratio >= REDELIVERY_SPEEDUP, figure)


def single_alert(results: Sequence[Result], latency_seconds: float, probes: Sequence[Overlap] = (),
                 measured_round_trip: float | None = None) -> Verdict:
    target = f"single-alert delivery within {SINGLE_ALERT_ROUND_TRIPS:.0f} round trips"
    singles = [m for m in _ours(results) if m.size == 1]
    if not singles or latency_seconds <= 0:
        return Verdict(target, None, "not measured (needs N=1 and a round trip above 0 ms)")
    worst = max(singles, key=lambda m: m.wall_seconds)
    trips = worst.wall_seconds / latency_seconds
    listed = ", ".join(f"{m.phase} {m.wall_seconds * 1000:.1f} ms" for m in singles)
    samples = max(len(m.samples) for m in singles)
    figure = (f"worst {trips:.2f} round trips ({worst.phase}, {worst.wall_seconds * 1000:.1f} ms at "
              f"{latency_seconds * 1000:g} ms each; medians of {samples}: {listed})")
    if measured_round_trip:
        figure += (f"; {worst.wall_seconds / measured_round_trip:.2f} round trips of a minimal call as measured here "
                   f"({measured_round_trip * 1000:.1f} ms)")
    staged = [probe for probe in probes if probe.size == 1]
    if staged:
        figure += f"; a first delivery makes its {staged[0].calls} calls in {staged[0].stages} sequential stages"
    return Verdict(target, trips <= SINGLE_ALERT_ROUND_TRIPS, figure)


def cpu(costs: Sequence[PathCost]) -> Verdict:
    target = f"own CPU (parse, decide, render; no waiting on Appwrite) < {CPU_US_PER_ALERT:.0f} us per alert"
    if not costs:
        return Verdict(target, None, "not measured")
    worst = max(costs, key=lambda c: c.best_us)
    listed = ", ".join(f"{c.scenario.split(' (')[0]} {c.best_us:.1f} [{c.median_us:.1f}]" for c in costs)
    return Verdict(target, worst.best_us < CPU_US_PER_ALERT,
                   f"worst {worst.best_us:.1f} us/alert ({worst.scenario.split(' (')[0]}); whole POST handler, "
                   f"best [median] of {worst.repetitions}: {listed} us/alert")


def cold_start_network(cold: ColdStart | None) -> Verdict:
    target = "cold start: importing the entrypoint makes no network call"
    if cold is None:
        return Verdict(target, None, "not measured")
    if cold.network:
        return Verdict(target, False, f"{len(cold.network)} network event(s): " + "; ".join(cold.network[:3]))
    return Verdict(target, True, "0 name lookups, connects or sends")


def memory(results: Sequence[Result]) -> Verdict:
    target = f"memory: a delivery of {MEMORY_SIZE:,} alerts peaks <= {MEMORY_MB:.0f} MB above the idle worker"
    measured = [m for m in _ours(results) if m.size == MEMORY_SIZE and m.peak_above_idle_bytes is not None]
    if not measured:
        return Verdict(target, None, f"not measured (no N={MEMORY_SIZE:,} delivery, or /proc unavailable)")
    worst = max(measured, key=lambda m: m.peak_above_idle_bytes or 0)
    peak_mb = (worst.peak_above_idle_bytes or 0) / 2**20
    listed = ", ".join(f"{m.phase} {(m.peak_above_idle_bytes or 0) / 2**20:.1f}" for m in measured)
    return Verdict(target, peak_mb <= MEMORY_MB, f"worst {peak_mb:.1f} MB ({worst.phase}); {listed} MB")


def per_alert_calls(phase: Phase, size: int) -> int:
    """Sequential calls a per-alert implementation makes: a get and a write per alert, plus one per message."""
    return 2 * size + sum(expected_messages(phase, size, digests=False).values())


def redelivery_absolute(results: Sequence[Result]) -> Verdict:
    target = (f"re-delivery of {REDELIVERY_SIZE:,} unchanged alerts <= {REDELIVERY_SECONDS:g} s with "
              f"{storage_budget(REDELIVERY_SIZE)} reads and 0 writes")
    ours = _find(results, Implementation.OURS, REDELIVERY_SIZE, Phase.AGAIN)
    if ours is None:
        return Verdict(target, None, f"not measured (no N={REDELIVERY_SIZE:,} re-delivery)")
    calls = ours.calls
    passed = (ours.wall_seconds <= REDELIVERY_SECONDS and calls.reads <= storage_budget(REDELIVERY_SIZE)
              and calls.writes == 0)
    return Verdict(target, passed, f"{ours.wall_seconds:.3f} s, {calls.reads} reads, {calls.writes} writes")


def floor_speedup(results: Sequence[Result], latency_seconds: float) -> Verdict:
    target = (f"first delivery and resolve of {REDELIVERY_SIZE:,} alerts >= {FLOOR_SPEEDUP:.0f}x the per-alert floor "
              "(its sequential calls x round trip)")
    if latency_seconds <= 0:
        return Verdict(target, None, "not measured (needs a round trip above 0 ms)")
    parts, ratios = [], []
    for phase in (Phase.FIRST, Phase.RESOLVE):
        ours = _find(results, Implementation.OURS, REDELIVERY_SIZE, phase)
        if ours is None:
            continue
        floor = per_alert_calls(phase, REDELIVERY_SIZE) * latency_seconds
        ratios.append(floor / ours.wall_seconds)
        parts.append(f"{phase} {ratios[-1]:.1f}x (floor {floor:,.1f} s vs {ours.wall_seconds * 1000:,.0f} ms)")
    if not ratios:
        return Verdict(target, None, f"not measured (no N={REDELIVERY_SIZE:,} first or resolve)")
    return Verdict(target, min(ratios) >= FLOOR_SPEEDUP, "; ".join(parts))


def single_alert_stages(probes: Sequence[Overlap]) -> Verdict:
    target = f"single alert, first delivery: <= {SINGLE_ALERT_STAGES} sequential stages of Appwrite calls"
    staged = [probe for probe in probes if probe.size == 1]
    if not staged:
        return Verdict(target, None, "overlap probe at N=1 not run")
    probe = staged[0]
    return Verdict(target, probe.stages <= SINGLE_ALERT_STAGES,
                   f"{probe.calls} calls in {probe.stages} sequential stages, at most {probe.max_in_flight} in flight")


def cold_import(cold: ColdStart | None) -> Verdict:
    target = f"cold import of the entrypoint <= SDK's own import + {COLD_IMPORT_MEDIAN_MS:.0f} ms (wall, median)"
    if cold is None:
        return Verdict(target, None, "not measured")
    median_ms = cold.overhead_seconds * 1000
    return Verdict(target, median_ms <= COLD_IMPORT_MEDIAN_MS,
                   f"+{median_ms:.1f} ms median of {len(cold.samples)} fresh interpreters "
                   f"(SDK {cold.sdk_seconds * 1000:.0f} ms, entrypoint {cold.entrypoint_seconds * 1000:.0f} ms); "
                   f"best +{cold.overhead_best * 1000:.1f} ms wall, +{cold.overhead_cpu_best * 1000:.1f} ms CPU")


def emulator_speed(figures: Sequence[tuple[str, float]]) -> Verdict:
    target = f"emulator: 100-row bulk upsert and 100-value list < {EMULATOR_MS:.0f} ms each (median)"
    if not figures:
        return Verdict(target, None, "not measured")
    return Verdict(target, all(ms < EMULATOR_MS for _, ms in figures),
                   "; ".join(f"{name} {ms:.2f} ms" for name, ms in figures))


def judge(results: Sequence[Result], probes: Sequence[Overlap], costs: Sequence[PathCost], cold: ColdStart | None,
          latency_seconds: float, measured_round_trip: float | None = None,
          emulator_figures: Sequence[tuple[str, float]] = ()) -> list[Verdict]:
    return [
        redelivery_absolute(results),
        floor_speedup(results, latency_seconds),
        single_alert_stages(probes),
        cold_import(cold),
        emulator_speed(emulator_figures),
        storage(results),
        messages(results),
        overlap(probes),
        redelivery_speedup(results),
        single_alert(results, latency_seconds, probes, measured_round_trip),
        cpu(costs),
        cold_start_network(cold),
        memory(results),
    ]
