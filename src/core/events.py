"""The alert history: one row of the `alert_events` table per change of state a delivery decided.

Built from the delivery and its plan, so every row says where its announcement goes, and once the messages went
out, what Appwrite said about each. Pure: no I/O, no clock.

Each row ID is derived from the change alone (the decision's occurrence key, or for the kinds that announce
nothing, the delivered state), so a retried delivery, a second receiver or a racing copy derive the same ID
and Appwrite refuses the second row. Plain re-deliveries (`repeat`) are not recorded.

The row of a change that is announced doubles as its claim. It is created *before* the messages go out,
`pending`, naming the messages it will go out in and, in the `claim` column, the delivery that made it
(`claim_owner`: the same for Alertmanager's retries of that delivery and for an HA pair's identical copy).
Whoever creates the row announces the change; a delivery that finds it made by another leaves the change out,
so two overlapping groups racing each other cannot both put it in a digest. The scheduled run completes the row
once the messages went out (`claim` emptied, each message `sent`, `already-sent` or `held`), or once a delivery
that died left it CLAIM_TIMEOUT old (`claims`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any

from ..formats import format_datetime
from ..messages.render import OutgoingMessage
from ..messages.routing import CHANNELS, Channel
from .kinds import Kind
from .lifecycle import Decision
from .payload import Alert, WebhookPayload
from .plan import DeliveryPlan
from .rows import RowShaper

SENT = "sent"
ALREADY_SENT = "already-sent"
# Claimed, about to go out: the row was written before its messages were sent.
PENDING = "pending"
# A claim still pending this long after it was made, naming a message that did not go out, was left by a delivery
# that died (well past the function's timeout); the scheduled run sends what it names (`claims`). Until then a
# retry of that delivery does (`deliver`).
CLAIM_TIMEOUT = timedelta(minutes=2)
# An SMS held back by the budget (SMS_BUDGET_PER_HOUR); the next scheduled run summarises it.
HELD = "held"
# How many messages of each channel an event led (was the first change carried by): a message counts once.
MESSAGE_COLUMNS: Mapping[Channel, str] = {channel: f"{channel}Messages" for channel in CHANNELS}
# What the on-call rules read of a history row (`oncall.history.Event`): the store asks for these columns only.
RULE_COLUMNS = ("fingerprint", "kind", "status", "startsAt", "at", "severity", "episode", "level", "clientIp")
_NO_MESSAGES: Mapping[str, int] = {column: 0 for column in MESSAGE_COLUMNS.values()}
# The text columns of a history row, in the order `event_rows` gives their values.
_EVENT_TEXT = ("fingerprint", "alertname", "severity", "instance", "reason", "channels", "receiver", "groupKey")


# A delivery asks for the ID of each change several times (flapping, acknowledge links, history rows, claims).
_EVENT_IDS: dict[str, str] = {}
_EVENT_IDS_MAX = 8192


def event_id(key: str) -> str:
    """36 characters of [0-9a-f], the same for every copy of the same change."""
    found = _EVENT_IDS.get(key)
    if found is None:
        found = hashlib.sha256(f"event\n{key}".encode("utf-8", "replace")).hexdigest()[:36]
        if len(_EVENT_IDS) >= _EVENT_IDS_MAX:
            _EVENT_IDS.clear()
        _EVENT_IDS[key] = found
    return found


def claim_owner(payload: WebhookPayload) -> str:
    """Which delivery claimed a change: the receiver, group and every alert's state, hashed. A retry of the same
    notification and the identical copy from the other Alertmanager of an HA pair are the same owner."""
    parts = [payload.receiver, payload.group_key]
    for alert in payload.alerts:
        ends = format_datetime(alert.ends_at) if alert.ends_at else "-"
        parts.append(f"{alert.fingerprint}|{alert.status}|{format_datetime(alert.starts_at)}|{ends}")
    return hashlib.sha256("\n".join(["claim", *parts]).encode("utf-8", "replace")).hexdigest()[:36]


def channel_entries(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `channels` of a history row, decoded; nothing when unreadable."""
    try:
        channels = json.loads(row.get("channels") or "[]")
    except (TypeError, ValueError):
        return []
    return [entry for entry in channels if isinstance(entry, dict)] if isinstance(channels, list) else []


def listed_messages(row: Mapping[str, Any]) -> set[str]:
    """The message IDs a history row names."""
    return {str(entry["messageId"]) for entry in channel_entries(row) if entry.get("messageId")}


def ours_to_send(row: Mapping[str, Any], owner: str, message_ids: set[str]) -> bool:
    """Whether an existing history row is this delivery's own pending claim (an earlier attempt of it, or its HA
    copy), naming only messages this attempt sends too: then this attempt may send them (Appwrite refuses the
    copies). Any other row means the change is another delivery's to announce, or was announced already."""
    return row.get("claim") == owner and listed_messages(row) <= message_ids


def completed(claims: Sequence[Mapping[str, Any]], sent_now: set[str],
              renamed: Mapping[str, str] | None = None, held: AbstractSet[str] = frozenset()) -> list[dict[str, Any]]:
    """The claims completed: each pending message sent (created now, in `sent_now`), already sent (Appwrite had
    it) or `held` back by the SMS budget, and no longer claimed; `renamed` names the messages that went out under
    another ID than planned. Whole rows: an upsert must carry the required columns even to change two. (A held
    SMS stays counted in its claim's `smsMessages`: only the delivery itself knows which change led it.)"""
    # The changes a digest carries all name the same messages: decode and encode each distinct list once.
    done: dict[str, str] = {}
    # The claims of one delivery share their columns: find the ones to carry (not Appwrite's `$...`) once.
    kept: dict[tuple[str, ...], list[str]] = {}
    rows: list[dict[str, Any]] = []
    for row in claims:
        raw = str(row.get("channels") or "[]")
        if raw not in done:
            channels = channel_entries(row)
            for entry in channels:
                if entry.get("result") == PENDING:
                    if renamed and entry.get("messageId") in renamed:
                        entry["messageId"] = renamed[entry["messageId"]]
                    message = entry.get("messageId")
                    entry["result"] = HELD if message in held else SENT if message in sent_now else ALREADY_SENT
            done[raw] = json.dumps(channels, separators=(",", ":"))
        shape = tuple(row)
        if shape not in kept:
            kept[shape] = [key for key in shape if not key.startswith("$")]
        rows.append({"$id": row["$id"], **{key: row[key] for key in kept[shape]}, "channels": done[raw], "claim": None})
    return rows


def change_key(alert: Alert, decision: Decision) -> str:
    """What makes this change one change: its occurrence key, or the delivered state when it announces nothing."""
    if decision.occurrence_key is not None:
        return decision.occurrence_key
    ends = format_datetime(alert.ends_at) if alert.ends_at else "-"
    return f"{alert.fingerprint}|{format_datetime(alert.starts_at)}|{alert.status}|{ends}|{decision.kind.value}"


def _digests(carriers: Sequence[OutgoingMessage]) -> str:
    """What a change's reason adds when digests carry it: their sizes."""
    sizes = sorted({len(m.occurrence_keys) for m in carriers if len(m.occurrence_keys) > 1}, reverse=True)
    if not sizes:
        return ""
    noun = "digest" if len(sizes) == 1 else "digests"
    return f"; {noun} of {', '.join(str(size) for size in sizes)}"


def event_rows(payload: WebhookPayload, plan: DeliveryPlan, sent: Sequence[OutgoingMessage], *,
               shaper: RowShaper, now: datetime, held: Sequence[OutgoingMessage] = (),
               notes: Mapping[str, str] | None = None, claim: str | None = None) -> list[dict[str, Any]]:
    """The rows to create, in the order the changes were decided; `sent` are the messages Appwrite created
    now, every other message of the plan it already had; `held` are SMS the budget kept back (listed, not
    counted). `notes` add to the reason of a change, by occurrence key (say, that flapping silenced it).
    With `claim` (an owner), the rows of announced changes are claims: their messages are still `pending`."""
    created_now = {message.message_id for message in sent}
    held_ids = {message.message_id for message in held}
    messages = (*plan.messages, *held)
    carriers: dict[str, list[int]] = {}  # by occurrence key, the messages (by index) that carry it
    led: dict[str, dict[Channel, int]] = {}
    for index, message in enumerate(messages):
        for key in message.occurrence_keys:
            carriers.setdefault(key, []).append(index)
        if message.message_id in held_ids:
            continue
        counts = led.setdefault(message.occurrence_keys[0], {})
        counts[message.channel] = counts.get(message.channel, 0) + 1

    rows: dict[str, dict[str, Any]] = {}
    at = format_datetime(now)
    fit_text = shaper.text_columns(_EVENT_TEXT)
    # The changes a digest carries name the same messages: describe each distinct list once (the `channels`
    # column, and what the digests add to the reason).
    described: dict[tuple[tuple[int, ...], bool], tuple[str, str]] = {}
    # One outcome per alert of the payload, in order (plan_delivery decides them one by one).
    for alert, outcome in zip(payload.alerts, plan.outcomes, strict=True):
        decision = outcome.decision
        if decision.kind is Kind.REPEAT:
            continue
        key = change_key(alert, decision)
        row_id = event_id(key)
        if row_id in rows:  # the same stale state twice in one payload is one change
            continue
        pending = claim is not None and decision.occurrence_key is not None
        listing = (tuple(carriers.get(key, ())) if decision.occurrence_key else (), pending)
        description = described.get(listing)
        if description is None:
            carried = [messages[index] for index in listing[0]]
            results = [HELD if m.message_id in held_ids else PENDING if pending
                       else SENT if m.message_id in created_now else ALREADY_SENT for m in carried]
            description = described[listing] = (json.dumps([
                {"topic": m.topic, "channel": m.channel, "messageId": m.message_id, "result": result,
                 "alerts": len(m.occurrence_keys)}
                for m, result in zip(carried, results, strict=True)], separators=(",", ":")), _digests(carried))
        channels, digests = description
        note = (notes or {}).get(decision.occurrence_key or "", "")
        first_of = led.get(key) if decision.occurrence_key else None
        text = fit_text((
            alert.fingerprint,
            alert.alertname,
            alert.severity,
            alert.labels.get("instance", ""),
            decision.reason + digests + (f"; {note}" if note else ""),
            channels,
            payload.receiver,
            payload.group_key,
        ))
        rows[row_id] = {
            "$id": row_id,
            **text,
            "status": alert.status,
            "startsAt": format_datetime(alert.starts_at),
            "endsAt": format_datetime(alert.ends_at) if alert.ends_at else None,
            "at": at,
            "kind": decision.kind.value,
            **({column: first_of.get(channel, 0) for channel, column in MESSAGE_COLUMNS.items()} if first_of
               else _NO_MESSAGES),
            "claim": claim if pending else None,
        }
    return list(rows.values())
