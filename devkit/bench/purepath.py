"""CPU per alert of the function's own work, without waiting on Appwrite.

The figure judged is the whole POST path of `handle()` (token check, parse, decide, render, history rows,
summary, log line) with an in-memory store that answers at once: everything the function does per delivery
except waiting on Appwrite. Next to it, its parts: `parse_payload` (pydantic), `plan_delivery` (decide, shape
rows, render messages), and shaping the rows alone.

Measured in this process on a 1,000-alert body, with the stored rows given as the store would return them
(the rows the first delivery wrote). CPU time of this thread only (`time.thread_time`), so nothing else the
benchmark runs is counted. Scenarios take turns and each is repeated; the target is judged on the best
repetition, the usual estimator of a CPU cost on a shared machine (other processes only ever add to it), and
the median is shown next to it.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from devkit.bench.workload import GROUP_INTERVAL_SECONDS, Phase, alerts_for, body
from src.core.message_status import MessageStatus
from src.core.metrics import Count
from src.core.payload import WebhookPayload, parse_payload
from src.core.plan import plan_delivery
from src.core.readiness import Observations
from src.core.rows import RowShaper
from src.core.schema import load_schema
from src.delivery.port import SendReport
from src.endpoints.http import Reply, Request
from src.endpoints.router import handle
from src.messages.render import OutgoingMessage
from src.messages.routing import default_routes
from src.settings import Settings, load_settings

SIZE = 1000
# The repository's root, left out of the profile's file names.
_ROOT = f"{Path(__file__).resolve().parents[2]}/"
NOW = datetime(2026, 11, 27, 3, 6, tzinfo=UTC)
# The stored rows are the ones the first delivery wrote a group_interval before NOW, as the benchmark's phases come.
FIRST_AT = NOW - timedelta(seconds=GROUP_INTERVAL_SECONDS)
_TOKEN = "pure-path-token-0123456789"
_SETTINGS = {"APPWRITE_FUNCTION_API_ENDPOINT": "http://127.0.0.1:9/v1", "APPWRITE_FUNCTION_PROJECT_ID": "pure",
             "WEBHOOK_TOKEN": _TOKEN}

R = TypeVar("R")
T = TypeVar("T")
U = TypeVar("U")
StoredRows = Mapping[str, dict[str, Any]]


class InMemoryStore:
    """Answers at once: the given rows, every message created now, writes dropped."""

    def __init__(self, rows: StoredRows) -> None:
        self._rows = rows

    def fetch_alerts(self, fingerprints: list[str]) -> dict[str, dict[str, Any]]:
        return {fp: self._rows[fp] for fp in fingerprints if fp in self._rows}

    def fetch_alerts_with_history(self, fingerprints: list[str], history_of: Sequence[str], since: datetime
                                  ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        return self.fetch_alerts(fingerprints), []

    def at_once(self, first: Callable[[], T], *others: Callable[[], Any]) -> tuple[T, list[Any]]:
        return first(), [other() for other in others]

    def send_messages(self, messages: list[OutgoingMessage], sms_log: Sequence[dict[str, Any]] = (),
                      alert_rows: Sequence[dict[str, Any]] = ()) -> SendReport:
        return SendReport(tuple(messages), ())

    def write_events(self, rows: list[dict[str, Any]]) -> None:
        return None

    def measure(self, counts: Sequence[Count]) -> tuple[list[int], datetime | None]:
        raise NotImplementedError("the pure path benchmark delivers; it does not scrape")

    def observe_readiness(self, topics: Sequence[str], tables: Sequence[str], *, probe_scopes: bool = True,
                          fallback_since: datetime | None = None) -> Observations:
        raise NotImplementedError("the pure path benchmark delivers; it does not check readiness")

    def claim_events(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {}

    def update_events(self, rows: list[dict[str, Any]]) -> None:
        return None

    def pending_claims(self, limit: int) -> list[dict[str, Any]]:
        return []

    def claims_of(self, owner: str, limit: int) -> list[dict[str, Any]]:
        return []

    def sms_states(self, message_ids: Sequence[str]) -> dict[str, str]:
        return {}

    # The on-call rules' reads find nothing (no history, no SMS sent): the work of deciding is still done.
    def create_event(self, row: dict[str, Any]) -> bool:
        return True

    def fetch_history(self, fingerprints: Sequence[str], since: datetime) -> list[dict[str, Any]]:
        return []

    def find_events(self, *, kinds: Sequence[str], since: datetime, severities: Sequence[str] = (),
                    limit: int) -> list[dict[str, Any]]:
        return []

    def message_statuses(self, message_ids: Sequence[str]) -> dict[str, MessageStatus]:
        return {}

    def sms_sent_since(self, limits: Mapping[str, int], since: datetime) -> dict[str, list[str]]:
        return {topic: [] for topic in limits}

    def held_sms(self, limit: int) -> list[dict[str, Any]]:
        return []

    def newest_alert_named(self, alertname: str) -> dict[str, Any] | None:
        return None

    def summarised_topics(self, since: datetime) -> set[str]:
        return set()

    def record_sms(self, rows: list[dict[str, Any]]) -> None:
        return None

    def update_sms(self, rows: list[dict[str, Any]]) -> None:
        return None


@dataclass(frozen=True)
class PathCost:
    """CPU seconds of one scenario, per repetition, for `size` alerts."""

    scenario: str
    size: int
    handler_seconds: tuple[float, ...]
    parse_seconds: tuple[float, ...]
    plan_seconds: tuple[float, ...]
    rows_seconds: tuple[float, ...]
    messages: int

    def per_alert_us(self, samples: tuple[float, ...], *, best: bool = True) -> float:
        value = min(samples) if best else statistics.median(samples)
        return value / self.size * 1e6

    @property
    def best_us(self) -> float:
        """The whole handler, best repetition: the figure the target is judged on."""
        return self.per_alert_us(self.handler_seconds)

    @property
    def median_us(self) -> float:
        return self.per_alert_us(self.handler_seconds, best=False)

    @property
    def repetitions(self) -> int:
        return len(self.handler_seconds)

    def parts(self) -> dict[str, float]:
        """Best µs per alert of each part."""
        return {"parse": self.per_alert_us(self.parse_seconds), "plan": self.per_alert_us(self.plan_seconds),
                "row shaping": self.per_alert_us(self.rows_seconds)}


def _cpu(action: Callable[[], R]) -> tuple[float, R]:
    started = time.thread_time()
    result = action()
    return time.thread_time() - started, result


def _shape_all(shaper: RowShaper, payload: WebhookPayload) -> list[dict[str, Any]]:
    return [shaper.row(alert, receiver=payload.receiver, group_key=payload.group_key, received_at=NOW,
                       notified_status=alert.status) for alert in payload.alerts]


def _handle(settings: Settings, raw: bytes, rows: StoredRows) -> Reply:
    request = Request("POST", "/", {"authorization": f"Bearer {_TOKEN}", "x-appwrite-key": "pure-path"}, raw)
    store = InMemoryStore(rows)
    reply = handle(request, settings, make_store=lambda *_: store, now=lambda: NOW, log=lambda _: None,
                   error=lambda _: None)
    if reply.status != 200:
        raise RuntimeError(f"the handler answered {reply.status}: {reply.body!r}")
    return reply


def measure(*, size: int = SIZE, repeats: int = 15) -> list[PathCost]:
    settings = load_settings(_SETTINGS)
    shaper = RowShaper(load_schema().table("alerts"))
    routes = default_routes("critical-alerts", "monitoring-alerts")
    firing, resolving = body(alerts_for(Phase.FIRST, size)), body(alerts_for(Phase.RESOLVE, size))
    first = plan_delivery(parse_payload(firing), {}, routes=routes, shaper=shaper, now=FIRST_AT)
    stored: StoredRows = {
        row["$id"]: {key: value for key, value in row.items() if key != "$id"} for row in first.rows
    }
    scenarios: tuple[tuple[str, bytes, StoredRows], ...] = (
        ("first delivery (no rows; renders digests)", firing, {}),
        ("re-delivery (rows given; no message)", firing, stored),
        ("resolve (rows given; renders digests)", resolving, stored),
    )
    _handle(settings, firing, {})  # first use of every code path
    samples: list[dict[str, list[float]]] = [
        {"handler": [], "parse": [], "plan": [], "rows": []} for _ in scenarios]
    messages = [0 for _ in scenarios]
    # Scenarios take turns, so that whatever else the machine does at some moment affects all of them alike.
    for _ in range(repeats):
        for index, (_name, raw, rows) in enumerate(scenarios):
            gc.collect()
            handler_time, _reply = _cpu(partial(_handle, settings, raw, rows))
            parse_time, payload = _cpu(partial(parse_payload, raw))
            plan_time, plan = _cpu(partial(plan_delivery, payload, rows, routes=routes, shaper=shaper, now=NOW))
            shape_time, _rows = _cpu(partial(_shape_all, shaper, payload))
            for key, value in (("handler", handler_time), ("parse", parse_time), ("plan", plan_time),
                               ("rows", shape_time)):
                samples[index][key].append(value)
            messages[index] = len(plan.messages)
    return [
        PathCost(name, size, tuple(samples[i]["handler"]), tuple(samples[i]["parse"]), tuple(samples[i]["plan"]),
                 tuple(samples[i]["rows"]), messages[i])
        for i, (name, _, _) in enumerate(scenarios)
    ]


def profile(*, size: int = SIZE, top: int = 8) -> list[str]:
    """The POST handler's top functions by own time over a first delivery, a re-delivery and a resolve."""
    import cProfile
    import pstats

    settings = load_settings(_SETTINGS)
    firing, resolving = body(alerts_for(Phase.FIRST, size)), body(alerts_for(Phase.RESOLVE, size))
    shaper = RowShaper(load_schema().table("alerts"))
    first = plan_delivery(parse_payload(firing), {}, routes=default_routes("critical-alerts", "monitoring-alerts"),
                          shaper=shaper, now=FIRST_AT)
    stored: StoredRows = {row["$id"]: {k: v for k, v in row.items() if k != "$id"} for row in first.rows}
    _handle(settings, firing, {})
    profiler = cProfile.Profile()
    profiler.enable()
    for raw, rows in ((firing, {}), (firing, stored), (resolving, stored)):
        _handle(settings, raw, rows)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries: list[tuple[float, int, str]] = []
    for (filename, line, name), (_cc, calls, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename.removeprefix(_ROOT).split("/site-packages/")[-1] if line else "built-in"
        entries.append((own, calls, f"{name} ({where}:{line})" if line else name))
    entries.sort(reverse=True)
    total = sum(own for own, _, _ in entries) or 1.0
    return [f"{own / (3 * size) * 1e6:6.1f} us/alert {own / total:5.1%} {calls:>8,} calls  {label}"
            for own, calls, label in entries[:top]]
