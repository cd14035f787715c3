"""CPU per alert of the function's own work, without waiting on Appwrite: parse the body (pydantic),
decide and shape rows (`plan_delivery`), render the messages (inside `plan_delivery`).

Measured in this process on a 1,000-alert body, with the stored rows given as the store would return them
(the rows the first delivery wrote). CPU time of this thread only (`time.thread_time`), so nothing else the
benchmark runs is counted. Each scenario is repeated; the target is judged on the best repetition, the usual
estimator of a CPU cost on a shared machine (other processes only ever add to it), and the median is shown
next to it.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from devkit.bench.workload import Phase, alerts_for, body
from src.payload import WebhookPayload, parse_payload
from src.plan import plan_delivery
from src.routing import default_routes
from src.rows import RowShaper
from src.schema import load_schema

SIZE = 1000
NOW = datetime(2026, 11, 27, 3, 6, tzinfo=UTC)

R = TypeVar("R")


@dataclass(frozen=True)
class PathCost:
    """CPU seconds of one scenario, per repetition, for `size` alerts."""

    scenario: str
    size: int
    parse_seconds: tuple[float, ...]
    total_seconds: tuple[float, ...]
    rows_seconds: tuple[float, ...]
    messages: int

    def per_alert_us(self, samples: tuple[float, ...], *, best: bool = False) -> float:
        value = min(samples) if best else statistics.median(samples)
        return value / self.size * 1e6

    @property
    def median_us(self) -> float:
        return self.per_alert_us(self.total_seconds)

    @property
    def best_us(self) -> float:
        return self.per_alert_us(self.total_seconds, best=True)

    @property
    def parse_us(self) -> float:
        return self.per_alert_us(self.parse_seconds)

    @property
    def rows_us(self) -> float:
        return self.per_alert_us(self.rows_seconds)


def _cpu(action: Callable[[], R]) -> tuple[float, R]:
    started = time.thread_time()
    result = action()
    return time.thread_time() - started, result


def _shape_all(shaper: RowShaper, payload: WebhookPayload) -> list[dict[str, Any]]:
    return [shaper.row(alert, receiver=payload.receiver, group_key=payload.group_key, received_at=NOW,
                       notified_status=alert.status) for alert in payload.alerts]


def measure(*, size: int = SIZE, repeats: int = 15) -> list[PathCost]:
    shaper = RowShaper(load_schema().table("alerts"))
    routes = default_routes("critical-alerts", "monitoring-alerts")
    now = NOW
    firing, resolving = body(alerts_for(Phase.FIRST, size)), body(alerts_for(Phase.RESOLVE, size))
    first = plan_delivery(parse_payload(firing), {}, routes=routes, shaper=shaper, now=now)
    stored: dict[str, Mapping[str, Any]] = {
        row["$id"]: {key: value for key, value in row.items() if key != "$id"} for row in first.rows
    }
    scenarios: tuple[tuple[str, bytes, Mapping[str, Mapping[str, Any]]], ...] = (
        ("first delivery (no rows; renders digests)", firing, {}),
        ("re-delivery (rows given; no message)", firing, stored),
        ("resolve (rows given; renders digests)", resolving, stored),
    )
    parse_s: list[list[float]] = [[] for _ in scenarios]
    total_s: list[list[float]] = [[] for _ in scenarios]
    rows_s: list[list[float]] = [[] for _ in scenarios]
    messages = [0 for _ in scenarios]
    # Scenarios take turns, so that whatever else the machine does at some moment affects all of them alike.
    for _ in range(repeats):
        for index, (_name, raw, rows) in enumerate(scenarios):
            gc.collect()
            parse_time, payload = _cpu(partial(parse_payload, raw))
            plan_time, plan = _cpu(partial(plan_delivery, payload, rows, routes=routes, shaper=shaper, now=now))
            shape_time, _ = _cpu(partial(_shape_all, shaper, payload))
            parse_s[index].append(parse_time)
            total_s[index].append(parse_time + plan_time)
            rows_s[index].append(shape_time)
            messages[index] = len(plan.messages)
    return [
        PathCost(name, size, tuple(parse_s[i]), tuple(total_s[i]), tuple(rows_s[i]), messages[i])
        for i, (name, _, _) in enumerate(scenarios)
    ]
