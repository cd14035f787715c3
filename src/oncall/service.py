"""The on-call rules carried out against Appwrite: what a delivery with changes of state adds (flapping, the
SMS budget), the acknowledge link (`GET /ack`), and the scheduled run (escalations, "stable again", SMS
summaries). The decisions are `oncall`'s; this module reads what they need, sends, and records.

Reads, bounded (each a `list_rows` call):

* a delivery: nothing more for a plain re-delivery. With changes of state, one history read per 100 alerts
  that changed and had a row before (a new alert has no history), when FLAP_COUNT > 0; one count of recent SMS
  per topic that gets an SMS, when SMS_BUDGET_PER_HOUR > 0.
* `/ack`: the alert row and its history (two reads), then one create.
* a scheduled run: the critical pages of the escalation horizon (at most 100), the flapping rows of the last
  24 h (at most 1,000), the held SMS (at most 500); then, only if any of these found something, the history and
  the rows of those alerts (one read each per 100 alerts), the recent SMS of the topics messaged, and the topics
  summarised in the last hour.

Order, as for a delivery: messages first, then the history rows, so a retry or an overlapping run re-derives
the same message IDs (Appwrite refuses the copies) and finds the rows it would create.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..core.events import event_id
from ..core.plan import Announcement
from ..core.rows import RowShaper, StoredAlert, format_datetime, parse_datetime
from ..delivery.appwrite_store import SendReport
from ..messages.render import Linker, Notice, OutgoingMessage
from ..messages.routing import Route, Target, route
from .links import AckLink
from .messages import Signer, group_announcements, summary_message
from .rules import (
    ACKNOWLEDGED,
    CRITICAL_SEVERITIES,
    ESCALATED,
    FIRED,
    FLAPPING,
    HISTORY_LOOKBACK,
    REFIRED,
    SMS_WINDOW,
    STABLE,
    SUMMARY_INTERVAL,
    AckJudgement,
    AckVerdict,
    Change,
    FlapVerdict,
    Held,
    Policy,
    SmsCandidate,
    Text,
    apply_sms_budget,
    current_page,
    due_stables,
    due_summaries,
    escalation_due,
    escalation_key,
    escalation_text,
    flapping_text,
    histories,
    judge_ack,
    judge_changes,
    notice_from_row,
    stable_text,
)

ESCALATION_CANDIDATES = 100
FLAP_MARKERS = 1000
HELD_SMS = 500
SENT, HELD, SUMMARY, SUMMARISED = "sent", "held", "summary", "summarised"


class OncallStore(Protocol):
    def fetch_alerts(self, fingerprints: list[str]) -> dict[str, dict[str, Any]]: ...
    def send_messages(self, messages: list[OutgoingMessage], sms_log: list[dict[str, Any]] = ...) -> SendReport: ...
    def write_events(self, rows: list[dict[str, Any]]) -> None: ...
    def create_event(self, row: dict[str, Any]) -> bool: ...
    def fetch_history(self, fingerprints: Sequence[str], since: datetime) -> list[dict[str, Any]]: ...
    def find_events(self, *, kinds: Sequence[str], since: datetime, severities: Sequence[str] = (),
                    limit: int) -> list[dict[str, Any]]: ...
    def sms_sent_since(self, limits: Mapping[str, int], since: datetime) -> dict[str, list[str]]: ...
    def held_sms(self, limit: int) -> list[dict[str, Any]]: ...
    def summarised_topics(self, since: datetime) -> set[str]: ...
    def record_sms(self, rows: list[dict[str, Any]]) -> None: ...
    def update_sms(self, rows: list[dict[str, Any]]) -> None: ...


# ---------------------------------------------------------------------------------------------------
# History rows these rules add
# ---------------------------------------------------------------------------------------------------


def oncall_event(shaper: RowShaper, *, kind: str, row_key: str, fingerprint: str, alert: Mapping[str, Any],
                 status: str, starts_at: datetime, at: datetime, episode: str, reason: str, level: int = 0,
                 client_ip: str = "", messages: Sequence[OutgoingMessage] = (),
                 sent: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A history row of one of the on-call kinds; `row_key` makes its ID, the same for every copy."""
    channels = [{"topic": m.topic, "channel": m.channel, "messageId": m.message_id,
                 "result": "sent" if m.message_id in sent else "already-sent"} for m in messages]
    counts = {channel: sum(1 for m in messages if m.channel == channel) for channel in ("push", "sms", "email")}
    text = {
        "fingerprint": fingerprint,
        "alertname": str(alert.get("alertname") or ""),
        "severity": str(alert.get("severity") or ""),
        "instance": str(alert.get("instance") or ""),
        "reason": reason,
        "channels": json.dumps(channels, separators=(",", ":")),
        "episode": episode,
        "clientIp": client_ip,
    }
    return {
        "$id": event_id(row_key),
        **{column: shaper.fit(column, value) for column, value in text.items()},
        "status": status,
        "startsAt": format_datetime(starts_at),
        "endsAt": None,
        "at": format_datetime(at),
        "kind": kind,
        "level": level,
        "pushMessages": counts["push"],
        "smsMessages": counts["sms"],
        "emailMessages": counts["email"],
    }


# ---------------------------------------------------------------------------------------------------
# The SMS budget, shared by deliveries and scheduled runs
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gated:
    send: tuple[OutgoingMessage, ...]
    held: tuple[OutgoingMessage, ...]


def gate_sms(messages: Sequence[OutgoingMessage], store: OncallStore, policy: Policy, now: datetime) -> Gated:
    """Hold the SMS past each topic's budget; push and email always go."""
    sms = [m for m in messages if m.channel == "sms"]
    if policy.sms_budget_per_hour <= 0 or not sms:
        return Gated(tuple(messages), ())
    per_topic: dict[str, int] = {}
    for message in sms:
        per_topic[message.topic] = per_topic.get(message.topic, 0) + 1
    limits = {topic: policy.sms_budget_per_hour + count for topic, count in per_topic.items()}
    recent = store.sms_sent_since(limits, now - SMS_WINDOW)
    decision = apply_sms_budget([SmsCandidate(m.message_id, m.topic, len(m.occurrence_keys)) for m in sms],
                                recent, policy.sms_budget_per_hour)
    held = set(decision.hold)
    return Gated(tuple(m for m in messages if m.message_id not in held),
                 tuple(m for m in sms if m.message_id in held))


def sms_rows(messages: Sequence[OutgoingMessage], held: Sequence[OutgoingMessage], now: datetime,
             *, state: str = SENT) -> list[dict[str, Any]]:
    """Rows of the `sms_log` table for the SMS sent (or tried again) and those held."""
    at = format_datetime(now)
    rows = [{"$id": m.message_id, "topic": m.topic, "at": at, "state": state, "alerts": len(m.occurrence_keys),
             "summary": ""} for m in messages if m.channel == "sms"]
    rows += [{"$id": m.message_id, "topic": m.topic, "at": at, "state": HELD, "alerts": len(m.occurrence_keys),
              "summary": ""} for m in held]
    return rows


# ---------------------------------------------------------------------------------------------------
# Deliveries
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOncall:
    # Flapping: the announcements that are announced as usual, and the messages replacing the others.
    announced: tuple[Announcement, ...]
    flapping_messages: tuple[OutgoingMessage, ...] = ()
    markers: tuple[dict[str, Any], ...] = ()
    suppressed: int = 0
    # By occurrence key, what flapping did to the change (added to its history row's reason).
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def _alert(notice: Notice) -> dict[str, str]:
    return {"alertname": notice.alertname, "severity": notice.severity, "instance": notice.instance}


def judge_flapping(announcements: Sequence[Announcement], store: OncallStore, *, known: AbstractSet[str],
                   policy: Policy, linker: Linker, shaper: RowShaper, now: datetime) -> DeliveryOncall:
    """Which changes are announced, which become one "flapping" message, which say nothing. Reads the history
    of the alerts that changed and had a row before (`known`; one call per 100), nothing when FLAP_COUNT is 0."""
    if policy.flap_count <= 0 or not announcements:
        return DeliveryOncall(tuple(announcements))
    had_rows = sorted({notice.fingerprint for notice, _ in announcements if notice.fingerprint in known})
    history = histories(store.fetch_history(had_rows, now - HISTORY_LOOKBACK)) if had_rows else {}
    changes = [Change(event_id(notice.occurrence_key), notice.fingerprint, notice.status)
               for notice, _ in announcements]
    verdicts = judge_changes(changes, history, policy, now)
    announced: list[Announcement] = []
    flapping: list[tuple[Text, Notice, tuple[Target, ...], str, str]] = []
    markers: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    for announcement, change, verdict in zip(announcements, changes, verdicts, strict=True):
        notice, targets = announcement
        if verdict is FlapVerdict.NORMAL:
            announced.append(announcement)
            continue
        if verdict is FlapVerdict.SUPPRESS:
            notes[notice.occurrence_key] = "flapping: not announced"
            continue
        key = f"{change.event_id}|flapping"
        notes[notice.occurrence_key] = "flapping: announced as flapping"
        flapping.append((flapping_text(notice, policy.flap_count, policy), notice, targets, key, linker(notice)))
        markers.append(oncall_event(
            shaper, kind=FLAPPING, row_key=key, fingerprint=notice.fingerprint, alert=_alert(notice),
            status=notice.status, starts_at=notice.starts_at, at=now, episode=change.event_id,
            reason=f"{policy.flap_count} changes within {policy.flap_window}: changes not announced until stable"))
    messages = group_announcements(flapping, "FLAPPING")
    suppressed = sum(1 for note in notes.values() if note.endswith("not announced"))
    return DeliveryOncall(tuple(announced), tuple(messages), tuple(markers), suppressed, notes)


# ---------------------------------------------------------------------------------------------------
# Acknowledge
# ---------------------------------------------------------------------------------------------------


def acknowledge(link: AckLink, store: OncallStore, *, shaper: RowShaper, client_ip: str,
                now: datetime) -> tuple[AckJudgement, Mapping[str, Any]]:
    """Acknowledge the firing episode the link names, once; says what happened and the alert's row."""
    rows = store.fetch_alerts([link.fingerprint])
    row = rows.get(link.fingerprint)
    history = histories(store.fetch_history([link.fingerprint], link.issued_at - HISTORY_LOOKBACK))
    stored = StoredAlert.from_row(row) if row is not None else None
    judged = judge_ack(link, stored, history.get(link.fingerprint, []))
    if judged.verdict is not AckVerdict.ACKNOWLEDGED or row is None:
        return judged, row or {}
    created = store.create_event(oncall_event(
        shaper, kind=ACKNOWLEDGED, row_key=f"{judged.episode}|acknowledged", fingerprint=link.fingerprint,
        alert=row, status="firing", starts_at=link.starts_at, at=now, episode=judged.episode,
        reason=f"acknowledged through a signed link from {client_ip or 'an unknown address'}", client_ip=client_ip))
    if not created:  # a second click raced the first one
        return AckJudgement(AckVerdict.ALREADY, judged.episode), row
    return AckJudgement(AckVerdict.ACKNOWLEDGED, judged.episode, now, client_ip), row


# ---------------------------------------------------------------------------------------------------
# The scheduled run
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSummary:
    escalations: int
    stables: int
    summaries: int
    held: int
    messages_sent: int
    messages_already_sent: int

    def as_json(self) -> dict[str, int]:
        return {"escalations": self.escalations, "stableAgain": self.stables, "smsSummaries": self.summaries,
                "smsHeld": self.held, "messagesSent": self.messages_sent,
                "messagesAlreadySent": self.messages_already_sent}


def _current(row: Mapping[str, Any] | None, starts_at: datetime) -> bool:
    if row is None:
        return False
    stored = StoredAlert.from_row(row)
    return stored.status == "firing" and stored.notified_status == "firing" and stored.starts_at == starts_at


def run_schedule(store: OncallStore, *, routes: Sequence[Route], policy: Policy, signer: Signer,
                 shaper: RowShaper, now: datetime) -> ScheduleSummary:
    """One summary per topic of the SMS held back until now, then the escalations and "stable again" messages
    due (their SMS past the budget wait for the next run's summary)."""
    summaries_sent, summary_report = _summarise_held(store, policy, now)
    pages = (store.find_events(kinds=(FIRED, REFIRED), severities=tuple(sorted(CRITICAL_SEVERITIES)),
                               since=now - policy.escalation_horizon, limit=ESCALATION_CANDIDATES)
             if policy.escalate_max > 0 else [])
    markers = (store.find_events(kinds=(FLAPPING, STABLE), since=now - HISTORY_LOOKBACK, limit=FLAP_MARKERS)
               if policy.flap_count > 0 else [])
    open_markers = histories(markers)
    flapping_fps = {fp for fp, events in open_markers.items()
                    if events and events[-1].kind == FLAPPING}
    fingerprints = sorted({str(row.get("fingerprint")) for row in pages} | flapping_fps)
    history = histories(store.fetch_history(fingerprints, now - HISTORY_LOOKBACK)) if fingerprints else {}
    rows = store.fetch_alerts(fingerprints) if fingerprints else {}

    escalations = []
    for fp in sorted({str(row.get("fingerprint")) for row in pages}):
        due = escalation_due(history.get(fp, []), policy, now)
        if due is not None and _current(rows.get(fp), due.starts_at):
            escalations.append(due)
    stables = [s for s in due_stables({fp: history.get(fp, []) for fp in flapping_fps}, policy, now)
               if s.fingerprint in rows]

    items: list[tuple[Text, Notice, tuple[Target, ...], str, str]] = []
    events: list[dict[str, Any]] = []
    for due in escalations:
        key = escalation_key(due.episode, due.level)
        row = rows[due.fingerprint]
        notice = notice_from_row(row, key)
        targets = route(notice.severity, notice.labels, routes)
        items.append((escalation_text(notice, due, policy, now), notice, targets, key,
                      signer.link(notice, due.episode)))
    stable_items: list[tuple[Text, Notice, tuple[Target, ...], str, str]] = []
    for stable in stables:
        key = f"{stable.episode}|stable"
        row = rows[stable.fingerprint]
        notice = notice_from_row(row, key)
        targets = route(notice.severity, notice.labels, routes)
        page = current_page(history.get(stable.fingerprint, []))
        link = signer.link(notice, page.id) if page is not None else ""
        stable_items.append((stable_text(notice, stable, policy), notice, targets, key, link))
    messages = [*group_announcements(items, "ESCALATION"), *group_announcements(stable_items, "STABLE")]
    gated = gate_sms(messages, store, policy, now)
    report = store.send_messages(list(gated.send)) if gated.send else SendReport((), ())
    sent_ids = frozenset(m.message_id for m in report.sent)

    for due in escalations:
        key = escalation_key(due.episode, due.level)
        row = rows[due.fingerprint]
        carried = [m for m in gated.send if key in m.occurrence_keys]
        events.append(oncall_event(
            shaper, kind=ESCALATED, row_key=f"{due.episode}|escalated|{due.level}", fingerprint=due.fingerprint,
            alert=row, status="firing", starts_at=due.starts_at, at=now, episode=due.episode, level=due.level,
            reason=f"escalation {due.level} of {policy.escalate_max}: not acknowledged", messages=carried,
            sent=sent_ids))
    for stable in stables:
        key = f"{stable.episode}|stable"
        row = rows[stable.fingerprint]
        stored = StoredAlert.from_row(row)
        carried = [m for m in gated.send if key in m.occurrence_keys]
        events.append(oncall_event(
            shaper, kind=STABLE, row_key=key, fingerprint=stable.fingerprint, alert=row, status=stored.status,
            starts_at=stored.starts_at, at=now, episode=stable.episode,
            reason=f"no change since {format_datetime(stable.since)}", messages=carried, sent=sent_ids))
    if events:
        store.write_events(events)
    if policy.sms_budget_per_hour > 0 and (gated.held or any(m.channel == "sms" for m in gated.send)):
        store.record_sms(sms_rows(gated.send, gated.held, now))

    return ScheduleSummary(
        escalations=len(escalations), stables=len(stables), summaries=summaries_sent, held=len(gated.held),
        messages_sent=len(report.sent) + len(summary_report.sent),
        messages_already_sent=len(report.already_sent) + len(summary_report.already_sent),
    )


def _summarise_held(store: OncallStore, policy: Policy, now: datetime) -> tuple[int, SendReport]:
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
