"""Following messages to their delivery: which messages are settled, what counts as delivered, and what a
failed page of a critical alert needs (one fallback message per failure). Pure: no I/O, no clock.

Appwrite Messaging is asynchronous: a message is created `processing` (or `scheduled`) and later becomes
`sent` (with `deliveredTotal`) or `failed` (with `deliveryErrors`). A `sent` message nobody received
(`deliveredTotal` 0) is not delivered. Each followed message has one row in the history (kind `delivery`, or
`fallback` for a fallback message), its ID derived from the message ID, rewritten as its outcome changes.
A fallback message is followed like any other, but never re-routed: no loops."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.events import ALREADY_SENT, SENT, channel_entries, event_id
from ..core.kinds import PAGES, Kind
from ..core.message_status import DELIVERED, FAILED, PENDING, UNDELIVERED, MessageStatus, Outcome
from ..messages.render import OutgoingMessage
from ..messages.routing import CHANNELS, Channel
from .policy import CRITICAL_SEVERITIES

SETTLED: frozenset[str] = frozenset({DELIVERED, FAILED, UNDELIVERED})
NO_RECIPIENT = "no subscriber received it"
NOT_FOUND = "Appwrite Messaging has no such message"
# The kinds of the history rows that follow a message.
FOLLOW_KINDS = (Kind.DELIVERY, Kind.FALLBACK)
# What a page of a critical alert is: a firing announcement, or an escalation of one.
_PAGE_KINDS = frozenset({*PAGES, Kind.ESCALATED})


@dataclass(frozen=True)
class FallbackTarget:
    topic: str
    channel: Channel


@dataclass(frozen=True)
class Followed:
    """A message the function created, the history row that named it, and its outcome so far."""

    message_id: str
    channel: Channel
    topic: str
    source: Mapping[str, Any]  # the history row naming it (for a fallback: its own follow row)
    outcome: str | None  # None: never followed yet
    fallback: bool


def outcome_of(status: MessageStatus | None) -> tuple[Outcome, str]:
    """The outcome and its reason: delivered to N, failed with Appwrite's errors, sent to nobody, or pending."""
    if status is None:
        return FAILED, NOT_FOUND
    if status.status == "sent":
        if status.delivered_total > 0:
            return DELIVERED, f"delivered to {status.delivered_total}"
        return UNDELIVERED, NO_RECIPIENT
    if status.status == "failed":
        return FAILED, " ".join(status.errors) or "failed without an error"
    return PENDING, status.status


def follow_row_id(message_id: str) -> str:
    return event_id(f"delivery\n{message_id}")


def to_follow(announced: Sequence[Mapping[str, Any]], followed: Sequence[Mapping[str, Any]]) -> list[Followed]:
    """The messages not settled yet: those the announced rows name as sent that no follow row settled, and
    the follow rows still pending. Each message once."""
    known = {str(row.get("messageId")): row for row in followed if row.get("messageId")}
    found: dict[str, Followed] = {}
    for row in followed:
        mid = str(row.get("messageId") or "")
        channel = row.get("channel")
        if mid and row.get("outcome") not in SETTLED and channel in CHANNELS:
            found[mid] = Followed(mid, channel, str(row.get("topic") or ""), row, str(row.get("outcome")),
                                  row.get("kind") == Kind.FALLBACK)
    for row in announced:
        for entry in channel_entries(row):
            mid, channel = str(entry.get("messageId") or ""), entry.get("channel")
            if (not mid or mid in found or mid in known or channel not in CHANNELS
                    or entry.get("result") not in (SENT, ALREADY_SENT)):
                continue
            found[mid] = Followed(mid, channel, str(entry.get("topic") or ""), row, None, False)
    return list(found.values())


def needs_fallback(message: Followed, outcome: str) -> bool:
    """A page of a critical alert that failed or reached nobody, and is not itself a fallback."""
    return (outcome in (FAILED, UNDELIVERED) and not message.fallback
            and message.source.get("kind") in _PAGE_KINDS
            and str(message.source.get("severity") or "") in CRITICAL_SEVERITIES)


def fallback_text(message: Followed, reason: str) -> str:
    """"SMS page for DiskFull on db-1 failed: No enabled provider found." """
    source = message.source
    where = f" on {source['instance']}" if source.get("instance") else ""
    verb = "failed" if reason != NO_RECIPIENT else "was not delivered"
    return f"{message.channel.upper()} page for {source.get('alertname') or 'an alert'}{where} {verb}: {reason}"


def fallback_messages(message: Followed, reason: str, targets: Sequence[FallbackTarget]) -> list[OutgoingMessage]:
    """One message per fallback target (other than the failed message's own topic and channel), its ID derived
    from the failed message's: a second attempt is a copy Appwrite refuses."""
    text = fallback_text(message, reason)
    out = []
    for target in targets:
        if (target.topic, target.channel) == (message.topic, message.channel):
            continue
        mid = hashlib.sha256(f"fallback\n{message.message_id}\n{target.channel}\n{target.topic}".encode()
                             ).hexdigest()[:36]
        out.append(OutgoingMessage(mid, target.channel, target.topic, f"[FALLBACK] {text}", text,
                                   {"failedMessageId": message.message_id}, (message.message_id,)))
    return out


_COPIED = ("fingerprint", "alertname", "severity", "instance", "status", "startsAt", "endsAt", "receiver")


def follow_row(message: Followed, outcome: str, reason: str, delivered: int, at: str, *,
               kind: Kind | None = None, message_id: str | None = None, channel: str | None = None,
               topic: str | None = None) -> dict[str, Any]:
    """The history row following a message (by default `message`; a fallback's row names its own)."""
    mid = message_id or message.message_id
    return {
        "$id": follow_row_id(mid),
        **{column: message.source.get(column) for column in _COPIED},
        "at": at,
        "kind": (kind or (Kind.FALLBACK if message.fallback else Kind.DELIVERY)).value,
        "reason": reason[:255],
        "messageId": mid,
        "channel": channel or message.channel,
        "topic": topic or message.topic,
        "outcome": outcome,
        "delivered": delivered,
    }
