"""The summary SMS of the SMS budget (`sms_budget`): the scheduled run sends one per topic for the SMS held back,
at most one per topic and hour. Only the scheduled run needs it, so a delivery does not load it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..delivery.port import OncallStore, SendReport
from ..formats import format_datetime, parse_datetime
from ..messages.render import OutgoingMessage, message_id
from ..messages.routing import Channel
from .policy import Policy
from .sms_budget import SUMMARISED, SUMMARY

# At most one summary SMS per topic in this long: a storm costs at most the budget plus one SMS per hour.
SUMMARY_INTERVAL = timedelta(hours=1)
HELD_SMS = 500


@dataclass(frozen=True)
class Held:
    """An SMS held back by the budget, waiting for its topic's summary."""

    message_id: str
    topic: str
    at: datetime
    alerts: int


@dataclass(frozen=True)
class Summary:
    topic: str
    held: tuple[Held, ...]

    @property
    def alerts(self) -> int:
        return sum(max(1, held.alerts) for held in self.held)

    @property
    def since(self) -> datetime:
        return min(held.at for held in self.held)

    @property
    def key(self) -> str:
        first = min(self.held, key=lambda held: (held.at, held.message_id))
        return f"sms-summary|{self.topic}|{first.message_id}"


def due_summaries(held: Sequence[Held], summarised_recently: Iterable[str]) -> list[Summary]:
    """One summary per topic with held SMS, unless the topic had one within `SUMMARY_INTERVAL`."""
    skip = set(summarised_recently)
    by_topic: dict[str, list[Held]] = {}
    for item in held:
        if item.topic not in skip:
            by_topic.setdefault(item.topic, []).append(item)
    return [Summary(topic, tuple(items)) for topic, items in sorted(by_topic.items())]


def summary_text(summary: Summary) -> str:
    noun = "alert" if summary.alerts == 1 else "alerts"
    return f"{summary.alerts} more {noun} since {summary.since.astimezone(UTC):%H:%M} UTC, see push/email"


def summary_message(summary: Summary) -> OutgoingMessage:
    channel: Channel = "sms"
    return OutgoingMessage(message_id(channel, summary.topic, [summary.key]), channel, summary.topic, "",
                           summary_text(summary), {"kind": "sms-summary"}, (summary.key,))


def summarise_held(store: OncallStore, policy: Policy, now: datetime) -> tuple[int, SendReport]:
    """One summary SMS per topic for the SMS held back, unless the topic had one within the hour."""
    if policy.sms_budget_per_hour <= 0:
        return 0, SendReport((), ())
    held_rows = store.held_sms(HELD_SMS)
    held = [Held(str(row["$id"]), str(row.get("topic")), when, int(row.get("alerts") or 1))
            for row in held_rows if (when := parse_datetime(row.get("at"))) is not None]
    if not held:
        return 0, SendReport((), ())
    summaries = due_summaries(held, store.summarised_topics(now - SUMMARY_INTERVAL))
    if not summaries:
        return 0, SendReport((), ())
    messages = [summary_message(summary) for summary in summaries]
    report = store.send_messages(messages)
    at = format_datetime(now)
    updates: list[dict[str, Any]] = []
    for summary, message in zip(summaries, messages, strict=True):
        updates.append({"$id": message.message_id, "topic": summary.topic, "at": at, "state": SUMMARY,
                        "alerts": 0, "summary": ""})
        updates += [{"$id": item.message_id, "topic": item.topic, "at": format_datetime(item.at),
                     "state": SUMMARISED, "alerts": item.alerts, "summary": message.message_id}
                    for item in summary.held]
    store.update_sms(updates)
    return len(summaries), report
