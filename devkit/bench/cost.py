"""Appwrite calls and billed row reads/writes per day, ours next to the per-alert naive implementation.

The figures follow from the per-delivery call counts pinned in tests/performance/test_call_counts.py:
a re-delivery of N unchanged alerts is ceil(N/100) list calls and no write; a change of state for N alerts
reads ceil(N/100) pages, upserts ceil(N/100) pages, creates ceil(N/100) history pages (the claims) and sends one
message per topic and channel (or one digest); the next scheduled run reads the claims back, asks Messaging which
of their messages went out (one call) and completes them (ceil(N/100) upserts). The scheduled run's own reads
each minute, whatever happens, are not counted. A naive implementation makes 2 calls per alert
per delivery (get the row, write it) plus one per message. Appwrite bills rows read and rows written, not
calls, so both are given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAGE = 100
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Setup:
    firing: int  # alerts firing steadily (re-delivered every repeat interval)
    group_interval_s: int = 300
    repeat_interval_s: int = 4 * 3600
    groups: int = 1  # Alertmanager groups the firing alerts fall in
    incidents_per_day: int = 24  # one an hour: a burst that fires and then resolves
    incident_size: int = 10  # alerts per incident
    messages_per_change: int = 3  # push + SMS + email to the topics of one severity (or one digest each)


@dataclass(frozen=True)
class DailyCost:
    calls: int
    rows_read: int
    rows_written: int

    def line(self) -> str:
        return f"{self.calls:>9,} calls {self.rows_read:>11,} rows read {self.rows_written:>11,} rows written"


def _pages(rows: int) -> int:
    return math.ceil(rows / PAGE) if rows else 0


def _repeat_deliveries(setup: Setup) -> int:
    """Re-deliveries of the steady alerts per day: each group is re-sent every repeat interval."""
    return setup.groups * DAY_SECONDS // setup.repeat_interval_s


def ours(setup: Setup) -> DailyCost:
    again = _repeat_deliveries(setup)
    per_group = math.ceil(setup.firing / setup.groups)
    steady_calls = again * _pages(per_group)
    steady_reads = again * per_group
    # Each incident is two deliveries (fire, resolve) carrying the incident's alerts; the group they join holds
    # the steady ones too, which are read but not written.
    per_change_calls = 4 * _pages(setup.incident_size) + 1 + setup.messages_per_change
    carried = setup.incident_size + math.ceil(setup.firing / setup.groups)
    incident_calls = 2 * (per_change_calls + _pages(carried) - _pages(setup.incident_size))
    # The alerts page, the history read back for flapping, and the claims read back by the scheduled run.
    incident_reads = 2 * (carried + 2 * setup.incident_size)
    incident_writes = 2 * 3 * setup.incident_size  # the alert row, its history row (the claim) and its completion
    return DailyCost(steady_calls + setup.incidents_per_day * incident_calls,
                     steady_reads + setup.incidents_per_day * incident_reads,
                     setup.incidents_per_day * incident_writes)


def naive(setup: Setup) -> DailyCost:
    again = _repeat_deliveries(setup)
    carried = setup.incident_size + math.ceil(setup.firing / setup.groups)
    per_incident_calls = 2 * (2 * carried + setup.incident_size * setup.messages_per_change)
    steady = again * setup.firing // setup.groups  # rows re-sent per day, over all groups
    return DailyCost(2 * steady + setup.incidents_per_day * per_incident_calls,
                     steady + setup.incidents_per_day * 2 * carried,
                     steady + setup.incidents_per_day * 2 * carried)


SETUPS = (Setup(20), Setup(200, groups=4), Setup(2000, groups=20))


def table() -> list[str]:
    lines = ["cost per day (group_interval 5 min, repeat_interval 4 h, one incident an hour of 10 alerts that fires "
             "and resolves; the firing alerts spread over 1, 4, 20 groups):"]
    for setup in SETUPS:
        lines.append(f"  {setup.firing:>5,} firing  ours  {ours(setup).line()}")
        lines.append(f"  {'':>5}         naive {naive(setup).line()}")
    return lines
