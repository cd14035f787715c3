"""Completing the claims a delivery made and never completed, in the scheduled run.

A delivery claims the changes it announces (their history rows, `pending`, see `events`) before it sends, and
completes the rows after. If it died in between and Alertmanager never sent that delivery again (it gave up,
or its next notification of the group holds other alerts), the claims stay pending, and every other delivery
leaves those changes to their owner: nobody would announce them. The scheduled run takes the claims pending for
longer than CLAIM_TIMEOUT (well past the function's own timeout, so their delivery is over) and sends the
messages they name, under the IDs they name: what the delivery got out before it died, Appwrite refuses as a
copy; the rest goes out now. Then it completes the rows.

A message is rebuilt from the claims that name it and the alert rows (summary, description, labels), so its
words can differ from the ones first planned; its ID, the one thing that keeps it from going out twice, does
not. Except when fewer claims name a message than it was planned to carry (`Named.partial`): see `rebuild`.

Reads per scheduled run: one (the pending claims, oldest first; one more per 1,000 of them); then, only if there
are any, the rows of those alerts (one read per 100).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..core.events import CLAIM_TIMEOUT, PENDING, channel_entries, completed
from ..delivery.port import ClaimStore, SendReport
from ..messages.render import Notice, OutgoingMessage, digest, message_id, single
from ..messages.routing import CHANNELS, Channel
from ..oncall.announce import notice_from_row
from ..oncall.policy import Policy
from ..oncall.sms_budget import SMS_WINDOW, budget_log, budget_reads, within_budget

# Read whole: a message named by claims beyond the ones read would look partial.
CLAIM_LIMIT = 5000
NO_SMS_BUDGET = Policy(sms_budget_per_hour=0)

# The acknowledge link of a notice for a firing episode (an event ID): `oncall_messages.Signer.link`.
EpisodeLinker = Callable[[Notice, str], str]


def no_episode_links(_: Notice, __: str) -> str:
    return ""


@dataclass(frozen=True)
class Named:
    """One message claims name: where it goes, which claims (history row IDs) name it, and how many changes the
    delivery planned it to carry."""

    message_id: str
    channel: Channel
    topic: str
    row_ids: tuple[str, ...]
    carries: int

    @property
    def partial(self) -> bool:
        """Fewer claims than changes: the delivery died between two of its bulk creates (a claim of more than
        100 changes takes several), so it never sent this message."""
        return len(self.row_ids) < self.carries


def named_messages(claims: Sequence[Mapping[str, Any]]) -> list[Named]:
    """The pending messages these claims name, each once, in the order first named."""
    found: dict[str, tuple[Channel, str, list[str], int]] = {}
    for row in claims:
        for entry in channel_entries(row):
            channel = entry.get("channel")
            if entry.get("result") != PENDING or channel not in CHANNELS or not entry.get("messageId"):
                continue
            carries = entry.get("alerts")
            _, _, rows, _ = found.setdefault(str(entry["messageId"]), (
                channel, str(entry.get("topic") or ""), [], carries if isinstance(carries, int) else 0))
            rows.append(str(row["$id"]))
    return [Named(mid, channel, topic, tuple(rows), carries)
            for mid, (channel, topic, rows, carries) in found.items()]


# What a claim knows better than the alert row (which may hold a later state, or not exist at all).
_CLAIMED = ("fingerprint", "alertname", "severity", "instance", "status", "startsAt", "endsAt")


def notice_of(claim: Mapping[str, Any], alert_row: Mapping[str, Any] | None) -> Notice:
    """What a message must say about the change a claim stands for: its state from the claim, its words
    (summary, description, labels, link) from the alert row when there is one."""
    merged = {**(alert_row or {}), **{column: claim.get(column) for column in _CLAIMED}}
    return replace(notice_from_row(merged, str(claim["$id"])), refired=claim.get("kind") == "refired")


def rebuild(claims: Sequence[Mapping[str, Any]], alert_rows: Mapping[str, Mapping[str, Any]],
            link: EpisodeLinker = no_episode_links) -> tuple[list[OutgoingMessage], dict[str, str]]:
    """The messages the claims name, under the IDs they name; and, by planned ID, the new ID of each partial one.

    A partial message was never sent, and its delivery's retry may still send it whole under its ID: sent under
    that ID with only the changes claimed, it would make the retry's whole message a refused copy and leave the
    other changes unannounced. Under an ID of its own it cannot (at worst a retry arriving at this very moment
    announces the claimed changes a second time)."""
    by_id = {str(row["$id"]): row for row in claims}
    notices = {row_id: notice_of(row, alert_rows.get(str(row.get("fingerprint")))) for row_id, row in by_id.items()}
    links = {row_id: link(notice, row_id) for row_id, notice in notices.items()}
    messages: list[OutgoingMessage] = []
    renamed: dict[str, str] = {}
    for named in named_messages(claims):
        listed = [notices[row_id] for row_id in named.row_ids]
        if len(listed) == 1:
            message = single(listed[0], named.channel, named.topic, links[named.row_ids[0]])
        else:
            message = digest(listed, named.channel, named.topic, links)
        sent_as = named.message_id
        if named.partial:
            sent_as = renamed[named.message_id] = message_id(named.channel, named.topic,
                                                              [named.message_id, *named.row_ids])
        messages.append(replace(message, message_id=sent_as))
    return messages, renamed


def finish_claims(store: ClaimStore, *, now: datetime, link: EpisodeLinker = no_episode_links,
                  policy: Policy = NO_SMS_BUDGET) -> int:
    """Send what the claims abandoned for CLAIM_TIMEOUT name and complete them; returns how many were
    completed."""
    # However old: a change nobody announced is announced late rather than never (its message says when it
    # started).
    claims = store.pending_claims(before=now - CLAIM_TIMEOUT, limit=CLAIM_LIMIT)
    if not claims:
        return 0
    alert_rows = store.fetch_alerts(sorted({str(row.get("fingerprint")) for row in claims}))
    messages, renamed = rebuild(claims, alert_rows, link)
    # A claim names every SMS its delivery planned, the budget's say comes with the completion (`deliver`): hold
    # the ones past the budget now, as the delivery would have, and log the SMS as a delivery does.
    reads = budget_reads(messages, policy)
    gated = within_budget(messages, store.sms_sent_since(reads, now - SMS_WINDOW) if reads else {}, policy)
    logged = budget_log(gated.send, gated.held, policy, now)
    report = store.send_messages(list(gated.send), logged) if gated.send or logged else SendReport((), ())
    store.update_events(completed(claims, {message.message_id for message in report.sent}, renamed,
                                  held={message.message_id for message in gated.held}))
    return len(claims)
