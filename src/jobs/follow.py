"""Following the messages the function created to their delivery, in the scheduled run; and the fallback.

Reads per run: the announcing history rows of FOLLOW_WINDOW (one read, at most ANNOUNCED_LIMIT), the follow
rows of that window (one read), then, only if some message is not settled, one `list_messages` per 100 of them.
Each outcome that changed is written to the message's follow row (kind `delivery`). A failed or undelivered
page of a critical alert gets one message per ALERT_FALLBACK target, sent before its row is written: a run that
dies in between sends it again under the same ID, which Appwrite refuses; a settled row is never followed
again, so a second run re-sends nothing. A fallback message is followed (kind `fallback`), never re-routed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..core.kinds import FOLLOWED_KINDS, Kind
from ..core.message_status import DELIVERED, PENDING
from ..delivery.port import FollowStore, SendReport
from ..formats import format_datetime
from ..oncall.delivery_status import (
    FOLLOW_KINDS,
    FallbackTarget,
    fallback_messages,
    follow_row,
    needs_fallback,
    outcome_of,
    to_follow,
)

FOLLOW_WINDOW = timedelta(hours=6)
ANNOUNCED_LIMIT = 1000
FOLLOWED_LIMIT = 5000


@dataclass(frozen=True)
class FollowSummary:
    settled: int
    failed: int
    fallbacks: int


def follow_deliveries(store: FollowStore, *, fallback: Sequence[FallbackTarget], now: datetime) -> FollowSummary:
    """Read the status of the messages not settled yet, record each outcome that changed, re-route failed
    critical pages once."""
    since = now - FOLLOW_WINDOW
    announced = store.find_events(kinds=FOLLOWED_KINDS, since=since, limit=ANNOUNCED_LIMIT)
    followed = store.find_events(kinds=FOLLOW_KINDS, since=since, limit=FOLLOWED_LIMIT)
    open_messages = to_follow(announced, followed)
    if not open_messages:
        return FollowSummary(0, 0, 0)
    statuses = store.message_statuses([message.message_id for message in open_messages])
    at = format_datetime(now)
    rows = []
    outgoing = []
    failed = 0
    for message in open_messages:
        outcome, reason = outcome_of(statuses.get(message.message_id))
        if outcome == message.outcome:
            continue
        status = statuses.get(message.message_id)
        rows.append(follow_row(message, outcome, reason, status.delivered_total if status else 0, at))
        if outcome not in (PENDING, DELIVERED):
            failed += 1
        if fallback and needs_fallback(message, outcome):
            for sent in fallback_messages(message, reason, fallback):
                outgoing.append(sent)
                rows.append(follow_row(message, PENDING, f"fallback for {message.message_id}", 0, at,
                                       kind=Kind.FALLBACK, message_id=sent.message_id,
                                       channel=sent.channel, topic=sent.topic))
    report = store.send_messages(outgoing) if outgoing else SendReport((), ())
    if rows:
        store.update_events(rows)
    return FollowSummary(sum(1 for row in rows if row["outcome"] != PENDING), failed,
                         len(report.sent) + len(report.already_sent))
