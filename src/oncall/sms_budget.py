"""The SMS budget: per topic at most SMS_BUDGET_PER_HOUR SMS in any hour; the ones past it are held, and
the next scheduled run sends one summary SMS per topic for them (at most one per hour, `sms_summary`). Push and
email always go. Counts the recent SMS of a topic (one call per topic) only when a delivery or run has an SMS for
it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..delivery.port import OncallStore
from ..formats import format_datetime
from ..messages.render import OutgoingMessage
from .policy import Policy

SMS_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class SmsCandidate:
    """An SMS about to go out: its message ID, its topic, and how many alerts it stands for."""

    message_id: str
    topic: str
    alerts: int


@dataclass(frozen=True)
class BudgetDecision:
    """Which SMS go out and which are held, by message ID."""

    send: tuple[str, ...]
    hold: tuple[str, ...]


def apply_sms_budget(candidates: Sequence[SmsCandidate], sent_recently: Mapping[str, Iterable[str]],
                     budget: int) -> BudgetDecision:
    """Which SMS go out and which are held: per topic, at most `budget` in the last hour. `sent_recently`
    holds, per topic, the message IDs recorded as sent in the window; one of ours among them was sent by an
    earlier attempt and goes out again (Appwrite refuses the duplicate) without counting twice."""
    if budget <= 0:
        return BudgetDecision(tuple(c.message_id for c in candidates), ())
    ours = {candidate.message_id for candidate in candidates}
    used = {topic: {mid for mid in ids if mid not in ours} for topic, ids in sent_recently.items()}
    already = {mid for ids in sent_recently.values() for mid in ids} & ours
    send: list[str] = []
    hold: list[str] = []
    for candidate in candidates:
        spent = used.setdefault(candidate.topic, set())
        if candidate.message_id in already or len(spent) < budget:
            send.append(candidate.message_id)
            spent.add(candidate.message_id)
        else:
            hold.append(candidate.message_id)
    return BudgetDecision(tuple(send), tuple(hold))


SENT, HELD, SUMMARY, SUMMARISED = "sent", "held", "summary", "summarised"


@dataclass(frozen=True)
class Gated:
    """A delivery's messages once the SMS budget had its say: those sent, and the SMS held back."""

    send: tuple[OutgoingMessage, ...]
    held: tuple[OutgoingMessage, ...]


def budget_reads(messages: Sequence[OutgoingMessage], policy: Policy) -> dict[str, int]:
    """What the budget must read before these messages go: per topic with an SMS among them, how many recent SMS
    at most (the budget plus ours, which may be among them); nothing when the budget is off or there is no SMS."""
    if policy.sms_budget_per_hour <= 0:
        return {}
    per_topic: dict[str, int] = {}
    for message in messages:
        if message.channel == "sms":
            per_topic[message.topic] = per_topic.get(message.topic, 0) + 1
    return {topic: policy.sms_budget_per_hour + count for topic, count in per_topic.items()}


def within_budget(messages: Sequence[OutgoingMessage], sent_recently: Mapping[str, Iterable[str]],
                  policy: Policy) -> Gated:
    """Hold the SMS past each topic's budget, given what `budget_reads` found; push and email always go."""
    sms = [m for m in messages if m.channel == "sms"]
    if policy.sms_budget_per_hour <= 0 or not sms:
        return Gated(tuple(messages), ())
    decision = apply_sms_budget([SmsCandidate(m.message_id, m.topic, len(m.occurrence_keys)) for m in sms],
                                sent_recently, policy.sms_budget_per_hour)
    held = set(decision.hold)
    return Gated(tuple(m for m in messages if m.message_id not in held),
                 tuple(m for m in sms if m.message_id in held))


def gate_sms(messages: Sequence[OutgoingMessage], store: OncallStore, policy: Policy, now: datetime) -> Gated:
    """Hold the SMS past each topic's budget (one read per topic with an SMS); push and email always go."""
    limits = budget_reads(messages, policy)
    recent = store.sms_sent_since(limits, now - SMS_WINDOW) if limits else {}
    return within_budget(messages, recent, policy)


def budget_log(send: Sequence[OutgoingMessage], held: Sequence[OutgoingMessage], policy: Policy,
               now: datetime) -> list[dict[str, Any]]:
    """What the budget records of messages about to go out (`sms_rows`); nothing when the budget is off."""
    return sms_rows(send, held, now) if policy.sms_budget_per_hour > 0 else []


def sms_rows(messages: Sequence[OutgoingMessage], held: Sequence[OutgoingMessage], now: datetime,
             *, state: str = SENT) -> list[dict[str, Any]]:
    """Rows of the `sms_log` table for the SMS sent (or tried again) and those held."""
    at = format_datetime(now)
    rows = [{"$id": m.message_id, "topic": m.topic, "at": at, "state": state, "alerts": len(m.occurrence_keys),
             "summary": ""} for m in messages if m.channel == "sms"]
    rows += [{"$id": m.message_id, "topic": m.topic, "at": at, "state": HELD, "alerts": len(m.occurrence_keys),
              "summary": ""} for m in held]
    return rows
