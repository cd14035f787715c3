"""`GET /metrics`: which counts to ask Appwrite for, and the Prometheus text exposition made from them.

Every value is a count Appwrite computes (`list_rows` with `total` and a limit of 1), never a scan. A scrape
makes a fixed number of calls, all listed by `plan_metrics`: one per severity of METRICS_SEVERITIES plus one
for all firing alerts (the rest is "other"), one for the alerts resolved in the last 24 hours, one per
recorded kind of event, one per channel and possible message per event (see `message_depths`), one for the
claims left pending past CLAIM_TIMEOUT, one per outcome (pending, delivered, failed, undelivered) and topic
and channel ALERT_ROUTES names plus one per outcome for every topic (the rest is "other") of the messages
followed to their delivery in the last 6 hours (the follow step's window), one per outcome of the fallback
messages of that window, and one read of the newest event. Appwrite caps each count at 5,000.

Pure: the queries are plain data that `store` turns into SDK queries; no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ..formats import format_datetime
from ..messages.routing import CHANNELS, Channel, Route
from .events import CLAIM_TIMEOUT, MESSAGE_COLUMNS
from .kinds import RECORDED_KINDS, Kind

CONTENT_TYPE = "text/plain; version=0.0.4"
PREFIX = "alert_processor_"
RESOLVED_WINDOW = timedelta(hours=24)
RECENT_WINDOW = timedelta(hours=1)
# The window of `jobs.follow.FOLLOW_WINDOW`: a follow row older than that is never rewritten.
DELIVERY_WINDOW = timedelta(hours=6)
# The outcomes of `oncall.delivery_status`, in the order they are shown.
OUTCOMES = ("pending", "delivered", "failed", "undelivered")
OTHER = "other"

Table = Literal["alerts", "events"]


@dataclass(frozen=True)
class Filter:
    op: Literal["equal", "greaterThanEqual", "lessThan", "isNotNull"]
    column: str
    value: str | int | None = None


@dataclass(frozen=True)
class Count:
    """How many rows of a table match every filter."""

    table: Table
    filters: tuple[Filter, ...]


@dataclass(frozen=True)
class MetricsPlan:
    severities: tuple[str, ...]
    depths: Mapping[Channel, int]
    counts: tuple[Count, ...]
    # The (channel, topic) pairs the routes send on, whose delivery outcomes are counted one by one.
    pairs: tuple[tuple[Channel, str], ...] = ()


def message_depths(routes: Iterable[Route]) -> dict[Channel, int]:
    """Per channel, the most messages one event can lead: the topics the routes send on that channel (at least 1).

    A message is counted on the change it carries first (a digest's first change), so one change leads at
    most one message per topic and channel. The sum of "events leading at least k" for k = 1..depth is then
    the number of messages, each such count answered by Appwrite.
    """
    topics: dict[Channel, set[str]] = {channel: set() for channel in CHANNELS}
    for route in routes:
        for channel in route.channels:
            topics[channel].add(route.topic)
    return {channel: max(1, len(names)) for channel, names in topics.items()}


def routed_pairs(routes: Iterable[Route]) -> tuple[tuple[Channel, str], ...]:
    """Every (channel, topic) the routes send on, once each, in a stable order."""
    pairs = {(channel, route.topic) for route in routes for channel in route.channels}
    return tuple(sorted(pairs))


def plan_metrics(severities: Sequence[str], routes: Iterable[Route], now: datetime) -> MetricsPlan:
    firing = Filter("equal", "status", "firing")
    recent = Filter("greaterThanEqual", "at", format_datetime(now - RECENT_WINDOW))
    routes = tuple(routes)
    depths = message_depths(routes)
    pairs = routed_pairs(routes)
    followed = Filter("greaterThanEqual", "at", format_datetime(now - DELIVERY_WINDOW))
    delivery, fallback = Filter("equal", "kind", Kind.DELIVERY.value), Filter("equal", "kind", Kind.FALLBACK.value)
    counts = [
        *(Count("alerts", (firing, Filter("equal", "severity", severity))) for severity in severities),
        Count("alerts", (firing,)),
        Count("alerts", (Filter("equal", "status", "resolved"),
                         Filter("greaterThanEqual", "endsAt", format_datetime(now - RESOLVED_WINDOW)))),
        *(Count("events", (Filter("equal", "kind", kind.value), recent)) for kind in RECORDED_KINDS),
        *(Count("events", (recent, Filter("greaterThanEqual", MESSAGE_COLUMNS[channel], depth)))
          for channel in CHANNELS for depth in range(1, depths[channel] + 1)),
        Count("events", (Filter("isNotNull", "claim"),
                         Filter("lessThan", "at", format_datetime(now - CLAIM_TIMEOUT)))),
        *(Count("events", (delivery, Filter("equal", "outcome", outcome), followed,
                           Filter("equal", "channel", channel), Filter("equal", "topic", topic)))
          for channel, topic in pairs for outcome in OUTCOMES),
        *(Count("events", (delivery, Filter("equal", "outcome", outcome), followed)) for outcome in OUTCOMES),
        *(Count("events", (fallback, Filter("equal", "outcome", outcome), followed)) for outcome in OUTCOMES),
    ]
    return MetricsPlan(tuple(severities), depths, tuple(counts), pairs)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def gauge(self, name: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        self.lines += [f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} gauge"]
        for labels, value in samples:
            shown = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
            number = str(int(value)) if float(value).is_integer() else repr(float(value))
            self.lines.append(f"{PREFIX}{name}{{{shown}}} {number}" if shown else f"{PREFIX}{name} {number}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(plan: MetricsPlan, counts: Sequence[int], newest_event_at: datetime | None) -> str:
    """The exposition; `counts` answer `plan.counts` in order."""
    if len(counts) != len(plan.counts):
        raise ValueError(f"{len(plan.counts)} counts planned, {len(counts)} given")
    answers = iter(counts)
    by_severity = [next(answers) for _ in plan.severities]
    all_firing = next(answers)
    resolved = next(answers)
    by_kind = [next(answers) for _ in RECORDED_KINDS]
    messages = {channel: sum(next(answers) for _ in range(plan.depths[channel])) for channel in CHANNELS}
    stuck = next(answers)
    by_pair = {pair: {outcome: next(answers) for outcome in OUTCOMES} for pair in plan.pairs}
    all_followed = {outcome: next(answers) for outcome in OUTCOMES}
    fallbacks = {outcome: next(answers) for outcome in OUTCOMES}

    out = _Exposition()
    out.gauge(
        "alerts_firing",
        "Alerts whose stored status is firing, by severity label; severities not in METRICS_SEVERITIES "
        "count as other.",
        [*(({"severity": s}, n) for s, n in zip(plan.severities, by_severity, strict=True)),
         ({"severity": OTHER}, max(0, all_firing - sum(by_severity)))],
    )
    out.gauge("alerts_resolved_24h", "Alerts whose stored status is resolved with endsAt in the last 24 hours.",
              [({}, resolved)])
    out.gauge("events_1h", "Changes of state recorded in the alert history in the last hour, by kind.",
              [({"kind": kind.value}, n) for kind, n in zip(RECORDED_KINDS, by_kind, strict=True)])
    out.gauge(
        "messages_1h",
        "Messages created in Appwrite Messaging for the changes recorded in the last hour, by channel; a "
        "digest counts once.",
        [({"channel": channel}, n) for channel, n in messages.items()],
    )
    out.gauge(
        "claims_pending",
        "Changes claimed by a delivery more than 2 minutes ago and not completed. The scheduled run completes "
        "each claim within a minute of its messages going out and sends what a dead delivery's claims name; "
        "above 0 for long, it is not running or fails.",
        [({}, stuck)],
    )
    out.gauge(
        "messages_6h",
        "Messages followed to their delivery in the last 6 hours (by when their outcome was last recorded), by "
        "outcome, channel and topic: pending (not settled yet), delivered (to at least one recipient), failed "
        "(Appwrite's error in the history), undelivered (sent to nobody: no subscriber of that channel). Topics "
        "ALERT_ROUTES does not name count as other; fallback messages are not counted here.",
        [*(({"outcome": outcome, "channel": channel, "topic": topic}, by_pair[(channel, topic)][outcome])
           for channel, topic in plan.pairs for outcome in OUTCOMES),
         *(({"outcome": outcome, "channel": OTHER, "topic": OTHER},
            max(0, all_followed[outcome] - sum(counted[outcome] for counted in by_pair.values())))
           for outcome in OUTCOMES)],
    )
    out.gauge(
        "fallback_messages_6h",
        "Fallback messages (ALERT_FALLBACK) for failed or undelivered critical pages in the last 6 hours, by "
        "outcome; failed or undelivered here means nobody was told.",
        [({"outcome": outcome}, n) for outcome, n in fallbacks.items()],
    )
    out.gauge("last_event_timestamp_seconds",
              "Unix time at which the newest recorded change of state was decided; 0 when none is recorded.",
              [({}, newest_event_at.timestamp() if newest_event_at else 0)])
    return out.text()
