"""On-call rules beyond Alertmanager: acknowledgements, escalations, flapping and the SMS budget.

Every rule reads the alert history (`alert_events`, oldest first) and the `now` it is given, and says what
to do; `service` reads and writes. Pure: no I/O, no clock.

The history holds the changes of state (`fired`, `refired`, `resolved`, ...) and the rows these rules add:
`acknowledged` (one per firing episode), `escalated` (one per episode and level), `flapping` (the change that
started a flapping episode) and `stable` (its end). A *firing episode* is one `fired` or `refired` change of an
occurrence; its ID is that change's event ID, so every execution that reads the same history names it alike,
and every message and row derived from it gets the same ID (Appwrite refuses the second copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from ..core.events import event_id
from ..core.rows import StoredAlert, format_datetime, parse_datetime, stored_object
from ..messages.render import Notice
from .links import AckLink, episode_tag

CRITICAL_SEVERITIES = frozenset({"critical", "emergency"})
FIRED, REFIRED, RESOLVED, RESOLVED_UNSEEN = "fired", "refired", "resolved", "resolved-unseen"
ACKNOWLEDGED, ESCALATED, FLAPPING, STABLE = "acknowledged", "escalated", "flapping", "stable"
ONCALL_KINDS = (ACKNOWLEDGED, ESCALATED, FLAPPING, STABLE)
# Changes people hear about; those that flip the status (firing <-> resolved) count towards flapping.
ANNOUNCED_CHANGES = frozenset({FIRED, REFIRED, RESOLVED})
# Changes that end a firing episode or start another one.
EPISODE_CHANGES = ANNOUNCED_CHANGES | {RESOLVED_UNSEEN}
# How far back the rules read an alert's history: a flapping episode open for longer is announced again.
HISTORY_LOOKBACK = timedelta(hours=24)
SMS_WINDOW = timedelta(hours=1)
# At most one summary SMS per topic in this long: a storm costs at most the budget plus one SMS per hour.
SUMMARY_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Policy:
    escalate_after: timedelta = timedelta(minutes=15)
    escalate_max: int = 3
    flap_count: int = 4
    flap_window: timedelta = timedelta(minutes=30)
    sms_budget_per_hour: int = 20

    @property
    def escalation_horizon(self) -> timedelta:
        """How old a page can be and still be escalated: its last level's time plus an hour of slack."""
        return self.escalate_after * (self.escalate_max + 1) + timedelta(hours=1)


def is_critical(severity: str) -> bool:
    return severity.strip().lower() in CRITICAL_SEVERITIES


@dataclass(frozen=True)
class Event:
    """One row of the alert history, as these rules need it."""

    id: str
    fingerprint: str
    kind: str
    status: str
    starts_at: datetime
    at: datetime
    severity: str = ""
    episode: str = ""
    level: int = 0
    client_ip: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event | None:
        starts_at, at = parse_datetime(row.get("startsAt")), parse_datetime(row.get("at"))
        if starts_at is None or at is None:
            return None
        return cls(
            id=str(row.get("$id", "")),
            fingerprint=str(row.get("fingerprint", "")),
            kind=str(row.get("kind", "")),
            status=str(row.get("status", "")),
            starts_at=starts_at,
            at=at,
            severity=str(row.get("severity") or ""),
            episode=str(row.get("episode") or ""),
            level=int(row.get("level") or 0),
            client_ip=str(row.get("clientIp") or ""),
        )


def histories(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Event]]:
    """History rows grouped by fingerprint, each oldest first (ties keep the order given)."""
    found: dict[str, list[Event]] = {}
    for row in rows:
        event = Event.from_row(row)
        if event is not None:
            found.setdefault(event.fingerprint, []).append(event)
    for events in found.values():
        events.sort(key=lambda event: event.at)
    return found


def first_firing_episode(fingerprint: str, starts_at: datetime) -> str:
    """The event ID of the first `fired` change of an occurrence (from the key `decide` gives it), for alerts
    whose history does not show their page."""
    return event_id(f"{fingerprint}|{format_datetime(starts_at)}|firing|-")


def _latest(events: Iterable[Event], kinds: Iterable[str]) -> Event | None:
    wanted = frozenset(kinds)
    found = None
    for event in events:
        if event.kind in wanted:
            found = event
    return found


# ---------------------------------------------------------------------------------------------------
# Acknowledge
# ---------------------------------------------------------------------------------------------------


class AckVerdict(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already-acknowledged"
    RESOLVED = "resolved"
    REFIRED = "refired"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AckJudgement:
    verdict: AckVerdict
    # The firing episode acknowledged (or already acknowledged): an event ID, or a key when there is no event.
    episode: str = ""
    # When the earlier acknowledgement, the resolve or the newer occurrence happened.
    at: datetime | None = None
    client_ip: str = ""

    @property
    def changes(self) -> bool:
        return self.verdict is AckVerdict.ACKNOWLEDGED


def judge_ack(link: AckLink, stored: StoredAlert | None, history: Sequence[Event]) -> AckJudgement:
    """What a verified link does, given the alert's row and its history: only the firing episode the link was
    made for (its tag) can be acknowledged, only while it is the current one, and only once."""
    if stored is None or stored.starts_at < link.starts_at:
        return AckJudgement(AckVerdict.UNKNOWN)
    if stored.starts_at > link.starts_at:
        return AckJudgement(AckVerdict.SUPERSEDED, at=stored.starts_at)
    if stored.status != "firing" or stored.notified_status != "firing":
        return AckJudgement(AckVerdict.RESOLVED, at=stored.ends_at)
    occurrence = [event for event in history if event.starts_at == link.starts_at]
    last = _latest(occurrence, EPISODE_CHANGES)
    if last is not None and last.kind not in (FIRED, REFIRED):  # recorded, the row not yet written
        return AckJudgement(AckVerdict.RESOLVED, at=last.at)
    pages = [event for event in occurrence if event.kind in (FIRED, REFIRED)]
    episode = pages[-1].id if pages else first_firing_episode(link.fingerprint, link.starts_at)
    if link.tag != episode_tag(episode):
        if any(link.tag == episode_tag(page.id) for page in pages[:-1]):
            resolve = _latest((e for e in occurrence if e.at <= pages[-1].at), (RESOLVED,))
            return AckJudgement(AckVerdict.REFIRED, at=resolve.at if resolve else None)
        return AckJudgement(AckVerdict.UNKNOWN)  # genuine, but for a firing the history no longer shows
    earlier = next((e for e in history if e.kind == ACKNOWLEDGED and e.episode == episode), None)
    if earlier is not None:
        return AckJudgement(AckVerdict.ALREADY, episode, earlier.at, earlier.client_ip)
    return AckJudgement(AckVerdict.ACKNOWLEDGED, episode)


# ---------------------------------------------------------------------------------------------------
# Flapping
# ---------------------------------------------------------------------------------------------------


class FlapVerdict(StrEnum):
    NORMAL = "normal"
    START = "start"
    SUPPRESS = "suppress"


def transitions(history: Sequence[Event]) -> list[Event]:
    """The changes that flipped the alert's status: the first one, then each whose status differs from the
    change before it (a newer occurrence firing while the last one fires is announced, but is no flip)."""
    flips: list[Event] = []
    status = ""
    for event in history:
        if event.kind in ANNOUNCED_CHANGES:
            if event.status != status:
                flips.append(event)
            status = event.status
    return flips


def _episode_end(marker: Event, history: Sequence[Event], window: timedelta, now: datetime) -> datetime | None:
    """When the flapping episode `marker` started was over (a full window without a flip), if it is."""
    previous = marker.at
    for event in transitions(history):
        if event.at > previous:
            if event.at - previous >= window:
                return previous + window
            previous = event.at
    return previous + window if now - previous >= window else None


def open_flap(history: Sequence[Event], window: timedelta, now: datetime) -> Event | None:
    """The `flapping` row of the episode still going on, if any: no `stable` row for it and no quiet window."""
    marker = _latest(history, (FLAPPING,))
    if marker is None or any(e.kind == STABLE and e.episode == marker.episode for e in history):
        return None
    return marker if _episode_end(marker, history, window, now) is None else None


@dataclass(frozen=True)
class Change:
    """A change of state a delivery is about to announce, named by its event ID, and the status it brings."""

    event_id: str
    fingerprint: str
    status: str


def judge_changes(changes: Sequence[Change], history: Mapping[str, Sequence[Event]], policy: Policy,
                  now: datetime) -> list[FlapVerdict]:
    """For each change (in delivery order): announce it, announce "flapping" instead, or say nothing.

    Rows this very delivery recorded before (a retry found them) are left out, so a retry decides as the
    first attempt did; the delivery's own earlier changes (one alert twice in a payload) count.
    """
    ours = {change.event_id for change in changes}
    added: dict[str, list[Event]] = {}
    verdicts: list[FlapVerdict] = []
    for change in changes:
        if policy.flap_count <= 0:
            verdicts.append(FlapVerdict.NORMAL)
            continue
        past = [e for e in history.get(change.fingerprint, ()) if e.id not in ours and e.episode not in ours]
        past += added.get(change.fingerprint, [])
        itself = Event(change.event_id, change.fingerprint, FIRED, change.status, now, now)
        mine = added.setdefault(change.fingerprint, [])
        mine.append(itself)
        if open_flap(past, policy.flap_window, now) is not None:
            verdicts.append(FlapVerdict.SUPPRESS)
            continue
        flips = transitions([*past, itself])
        recent = sum(1 for e in flips if now - e.at < policy.flap_window)
        if flips and flips[-1] is itself and recent >= policy.flap_count:
            verdicts.append(FlapVerdict.START)
            mine.append(Event(f"{change.event_id}|flapping", change.fingerprint, FLAPPING, "", now, now,
                              episode=change.event_id))
        else:
            verdicts.append(FlapVerdict.NORMAL)
    return verdicts


@dataclass(frozen=True)
class Stable:
    fingerprint: str
    episode: str
    since: datetime
    changes: int


def due_stables(history: Mapping[str, Sequence[Event]], policy: Policy, now: datetime) -> list[Stable]:
    """Flapping episodes that are over (a full window without a change) and not yet announced as stable."""
    due: list[Stable] = []
    for fingerprint, events in sorted(history.items()):
        marker = _latest(events, (FLAPPING,))
        if marker is None or any(e.kind == STABLE and e.episode == marker.episode for e in events):
            continue
        end = _episode_end(marker, events, policy.flap_window, now)
        if end is None:
            continue
        changes = sum(1 for e in transitions(events) if marker.at <= e.at <= end)
        due.append(Stable(fingerprint, marker.episode, end - policy.flap_window, max(changes, 1)))
    return due


# ---------------------------------------------------------------------------------------------------
# Escalation
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    fingerprint: str
    starts_at: datetime
    episode: str
    level: int
    paged_at: datetime


def current_page(history: Sequence[Event]) -> Event | None:
    """The `fired` or `refired` change that started the alert's current firing episode, if it is firing."""
    page = _latest(history, EPISODE_CHANGES)
    return page if page is not None and page.kind in (FIRED, REFIRED) else None


def escalation_due(history: Sequence[Event], policy: Policy, now: datetime) -> Escalation | None:
    """The next escalation of an alert's current firing episode, if one is due now.

    Due when the episode is still the alert's latest change, critical, not acknowledged, not inside a
    flapping episode, has had fewer than `escalate_max` escalations, and its last page (the first page, the
    "stable again" message that replaced it, or the previous escalation) is `escalate_after` old.
    """
    if policy.escalate_max <= 0:
        return None
    page = current_page(history)
    if page is None or not is_critical(page.severity):
        return None
    if any(e.kind == ACKNOWLEDGED and e.episode == page.id for e in history):
        return None
    marker = _latest(history, (FLAPPING,))
    last_page = page.at
    if marker is not None:
        stable = next((e for e in history if e.kind == STABLE and e.episode == marker.episode), None)
        if stable is None:
            return None  # the page was replaced by "flapping"; "stable again" comes first
        last_page = max(last_page, stable.at)
    levels = {e.level: e.at for e in history if e.kind == ESCALATED and e.episode == page.id}
    level = max(levels, default=0)
    if level >= policy.escalate_max:
        return None
    if level:
        last_page = levels[level]
    if now - last_page < policy.escalate_after:
        return None
    return Escalation(page.fingerprint, page.starts_at, page.id, level + 1, page.at)


def escalation_key(episode: str, level: int) -> str:
    return f"{episode}|escalation|{level}"


# ---------------------------------------------------------------------------------------------------
# SMS budget
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsCandidate:
    message_id: str
    topic: str
    alerts: int


@dataclass(frozen=True)
class BudgetDecision:
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


# ---------------------------------------------------------------------------------------------------
# Message text
# ---------------------------------------------------------------------------------------------------


def notice_from_row(row: Mapping[str, Any], occurrence_key: str) -> Notice:
    """What a scheduled message says about an alert, from its stored row."""
    labels, annotations = stored_object(row, "labels") or {}, stored_object(row, "annotations") or {}
    stored = StoredAlert.from_row(row)
    return Notice(
        occurrence_key=occurrence_key,
        status=stored.status,
        refired=False,
        fingerprint=str(row.get("fingerprint") or row.get("$id") or ""),
        alertname=str(row.get("alertname") or ""),
        severity=str(row.get("severity") or "none"),
        instance=str(row.get("instance") or ""),
        summary=str(row.get("summary") or ""),
        description=str(row.get("description") or ""),
        link=annotations.get("runbook_url", "") or str(row.get("generatorURL") or ""),
        starts_at=stored.starts_at,
        ends_at=stored.ends_at,
        labels=labels,
    )


def _minutes(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _where(notice: Notice) -> str:
    where = f" on {notice.instance}" if notice.instance else ""
    return f"{notice.alertname or 'unnamed alert'}{where} ({notice.severity})"


@dataclass(frozen=True)
class Text:
    """One announcement in the words of each channel; `oncall_messages` adds the acknowledge link."""

    title: str
    body: str
    sms: str
    data: dict[str, str] = field(default_factory=dict)


def escalation_text(notice: Notice, escalation: Escalation, policy: Policy, now: datetime) -> Text:
    tag = f"[ESCALATION {escalation.level}/{policy.escalate_max}]"
    age = _minutes(now - escalation.paged_at)
    lines = [f"Still firing and not acknowledged, {age} after the first page "
             f"({format_datetime(escalation.paged_at)})."]
    lines += [line for line in (notice.summary, notice.link) if line]
    return Text(
        title=f"{tag} {_where(notice)}",
        body="\n".join(lines),
        sms=f"{tag} {_where(notice)} firing {age}, not acknowledged: {notice.summary}",
        data={"kind": "escalation", "level": str(escalation.level)},
    )


def flapping_text(notice: Notice, changes: int, policy: Policy) -> Text:
    window = _minutes(policy.flap_window)
    now_state = "firing" if notice.status == "firing" else "resolved"
    return Text(
        title=f"[FLAPPING] {_where(notice)}",
        body=(f"Changed state {changes} times within {window}; further changes are not announced until it has "
              f"been stable for {window}. Now {now_state}.\n{notice.summary}").strip(),
        sms=f"[FLAPPING] {_where(notice)}: {changes} changes in {window}, now {now_state}. Quiet until stable.",
        data={"kind": "flapping"},
    )


def stable_text(notice: Notice, stable: Stable, policy: Policy) -> Text:
    state = "FIRING" if notice.status == "firing" else "RESOLVED"
    window = _minutes(policy.flap_window)
    body = f"No change for {window} since {format_datetime(stable.since)}; it is {state.lower()} now."
    return Text(
        title=f"[STABLE, {state}] {_where(notice)}",
        body="\n".join(line for line in (body, notice.summary, notice.link) if line),
        sms=f"[STABLE, {state}] {_where(notice)}: no change for {window}. {notice.summary}",
        data={"kind": "stable"},
    )
