"""Completing the claims deliveries made, in the scheduled run (and in a delivery's retry: `settle`).

A delivery claims the changes it announces (their history rows, `pending`, see `events`) before it sends, and
leaves them pending: completing them would be a fourth sequential step on the way to a page. The scheduled run
(every minute) asks Messaging which of the messages the pending claims name it has. A claim whose messages all
went out is completed (each `sent`; an SMS the SMS log says the budget held, `held`), however young. A claim
naming a message Appwrite does not have is left to its delivery (or Alertmanager's retry of it, which finds it,
see `deliver`) until it is CLAIM_TIMEOUT old, well past the function's own timeout: then its delivery is over,
and the run sends the messages missing under the IDs the claim names (an SMS the SMS log says was held stays held;
the others face the budget) and completes it.

A message is rebuilt from the claims that name it and the alert rows (summary, description, labels), so its
words can differ from the ones first planned; its ID, the one thing that keeps it from going out twice, does
not. Except when fewer claims name a message than it was planned to carry (`Named.partial`): see `rebuild`.

Reads per scheduled run: one (the pending claims, oldest first; one more per 1,000 of them); then, only if there
are any, the messages they name (one read per 100) and, for SMS Messaging does not have, the SMS log (one read per
100); only for claims missing a message past CLAIM_TIMEOUT, the rows of those alerts (one read per 100), the SMS
log of those SMS and the recent SMS of their topics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..core.events import CLAIM_TIMEOUT, HELD, PENDING, channel_entries, completed
from ..delivery.port import ClaimStore, SendReport, SettleStore
from ..formats import parse_datetime
from ..messages.render import Notice, OutgoingMessage, digest, message_id, single
from ..messages.routing import CHANNELS, Channel
from ..oncall.announce import notice_from_row
from ..oncall.policy import Policy
from ..oncall.sms_budget import SMS_WINDOW, SUMMARISED, budget_log, budget_reads, within_budget

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


@dataclass(frozen=True)
class Settled:
    """Claims settled: what went out now, and the claims completed."""

    report: SendReport
    completed: int
    held: int


def accounted_for(claims: Sequence[Mapping[str, Any]], store: SettleStore) -> tuple[set[str], set[str]]:
    """Of the messages these claims name: those Messaging has (they went out), and the SMS it has not that the SMS
    log says the budget held."""
    named = named_messages(claims)
    present = set(store.message_statuses([n.message_id for n in named])) if named else set()
    missing_sms = [n.message_id for n in named if n.channel == "sms" and n.message_id not in present]
    logged = store.sms_states(missing_sms) if missing_sms else {}
    return present, {mid for mid, state in logged.items() if state in (HELD, SUMMARISED)}


def settle(claims: Sequence[Mapping[str, Any]], alert_rows: Mapping[str, Mapping[str, Any]], store: SettleStore, *,
           now: datetime, link: EpisodeLinker = no_episode_links, policy: Policy = NO_SMS_BUDGET,
           known: tuple[set[str], set[str]] | None = None) -> Settled:
    """Send what these pending claims name and Appwrite does not have yet, and complete them (`known`: what
    `accounted_for` found of them, if it was asked already).

    Messages Appwrite has went out (their delivery sent them). An SMS it does not have that the SMS log says was
    held stays held; the other SMS missing face the SMS budget now, as their delivery's would have."""
    if not claims:
        return Settled(SendReport((), ()), 0, 0)
    present, held_before = known or accounted_for(claims, store)
    messages, renamed = rebuild(claims, alert_rows, link)
    missing = [m for m in messages if m.message_id not in present and m.message_id not in held_before]
    reads = budget_reads(missing, policy)
    gated = within_budget(missing, store.sms_sent_since(reads, now - SMS_WINDOW) if reads else {}, policy)
    # The SMS that went out are logged too: their delivery may have failed to (Appwrite keeps each log row once).
    went_out = [m for m in messages if m.channel == "sms" and m.message_id in present]
    log = budget_log([*went_out, *gated.send], gated.held, policy, now)
    report = store.send_messages(list(gated.send), log) if gated.send or log else SendReport((), ())
    held = held_before | {message.message_id for message in gated.held}
    store.update_events(completed(claims, present | {message.message_id for message in report.sent}, renamed,
                                  held=held))
    return Settled(report, len(claims), len(held))


def _names_only(claim: Mapping[str, Any], present: set[str]) -> bool:
    return all(entry.get("messageId") in present for entry in channel_entries(claim)
               if entry.get("result") == PENDING)


def _made_before(claim: Mapping[str, Any], moment: datetime) -> bool:
    made = parse_datetime(claim.get("at"))
    return made is None or made < moment


def finish_claims(store: ClaimStore, *, now: datetime, link: EpisodeLinker = no_episode_links,
                  policy: Policy = NO_SMS_BUDGET) -> int:
    """Complete the pending claims: at any age those whose messages all went out (or, SMS, were held by the
    budget, as the SMS log says); once CLAIM_TIMEOUT old (their delivery is over) the others too, sending what is
    missing (`settle`). Returns how many were completed."""
    claims = store.pending_claims(limit=CLAIM_LIMIT)
    if not claims:
        return 0
    present, held = accounted_for(claims, store)
    done = [claim for claim in claims if _names_only(claim, present | held)]
    # However old: a change nobody announced is announced late rather than never (its message says when it
    # started).
    abandoned = [claim for claim in claims
                 if not _names_only(claim, present | held) and _made_before(claim, now - CLAIM_TIMEOUT)]
    if done:
        store.update_events(completed(done, present, held=held))
    if not abandoned:
        return len(done)
    alert_rows = store.fetch_alerts(sorted({str(row.get("fingerprint")) for row in abandoned}))
    settled = settle(abandoned, alert_rows, store, now=now, link=link, policy=policy, known=(present, held))
    return len(done) + settled.completed
