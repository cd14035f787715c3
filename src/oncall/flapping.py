"""Flapping: an alert that changes state `flap_count` times within `flap_window` is announced once as
"flapping"; its further changes are recorded but not announced until it has been quiet for a whole window,
when one "stable again" message says where it settled (`stable`).

A delivery with changes of state reads the history of the alerts that changed and had a row before (one call
per 100 alerts; for the alerts it resolves, alongside their rows: `deliver`) when FLAP_COUNT > 0; the scheduled
run finds the flapping episodes that ended (`stable`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..core.events import event_id
from ..core.kinds import ANNOUNCING, Kind
from ..core.rows import RowShaper
from ..delivery.port import OncallStore
from ..messages.digest import Announcement
from ..messages.render import Linker, Notice, OutgoingMessage
from ..messages.routing import Target
from .history import HISTORY_LOOKBACK, NOTHING_READ_AHEAD, Event, ReadAhead, histories, latest, oncall_event
from .policy import Policy

# The messages of the on-call rules load when a flapping or stable message is first worded: a delivery without
# flapping needs none of them.
if TYPE_CHECKING:
    from .announce import Announced, Text


def flapping_key(change_id: str) -> str:
    """The key of the "flapping" announcement (and row) of the change that started a flapping episode."""
    return f"{change_id}|flapping"


def stable_key(episode: str) -> str:
    """The key of the "stable again" announcement (and row) that ends flapping `episode`."""
    return f"{episode}|stable"


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
        if event.kind in ANNOUNCING:
            if event.status != status:
                flips.append(event)
            status = event.status
    return flips


def episode_end(marker: Event, history: Sequence[Event], window: timedelta, now: datetime) -> datetime | None:
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
    marker = latest(history, (Kind.FLAPPING,))
    if marker is None or any(e.kind == Kind.STABLE and e.episode == marker.episode for e in history):
        return None
    return marker if episode_end(marker, history, window, now) is None else None


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
    repeated = {fingerprint for fingerprint, count in Counter(c.fingerprint for c in changes).items() if count > 1}
    for change in changes:
        if policy.flap_count <= 0:
            verdicts.append(FlapVerdict.NORMAL)
            continue
        past = [e for e in history.get(change.fingerprint, ()) if e.id not in ours and e.episode not in ours]
        past += added.get(change.fingerprint, [])
        if not past and policy.flap_count > 1 and change.fingerprint not in repeated:
            # A first flip with nothing before it cannot be flapping, and no later change of this delivery reads it.
            verdicts.append(FlapVerdict.NORMAL)
            continue
        itself = Event(change.event_id, change.fingerprint, Kind.FIRED, change.status, now, now)
        mine = added.setdefault(change.fingerprint, [])
        mine.append(itself)
        if open_flap(past, policy.flap_window, now) is not None:
            verdicts.append(FlapVerdict.SUPPRESS)
            continue
        flips = transitions([*past, itself])
        recent = sum(1 for e in flips if now - e.at < policy.flap_window)
        if flips and flips[-1] is itself and recent >= policy.flap_count:
            verdicts.append(FlapVerdict.START)
            mine.append(Event(flapping_key(change.event_id), change.fingerprint, Kind.FLAPPING, "", now, now,
                              episode=change.event_id))
        else:
            verdicts.append(FlapVerdict.NORMAL)
    return verdicts


def flapping_text(notice: Notice, changes: int, policy: Policy) -> Text:
    from .announce import Text, minutes, where

    window = minutes(policy.flap_window)
    now_state = "firing" if notice.status == "firing" else "resolved"
    return Text(
        title=f"[FLAPPING] {where(notice)}",
        body=(f"Changed state {changes} times within {window}; further changes are not announced until it has "
              f"been stable for {window}. Now {now_state}.\n{notice.summary}").strip(),
        sms=f"[FLAPPING] {where(notice)}: {changes} changes in {window}, now {now_state}. Quiet until stable.",
        data={"kind": "flapping"},
    )


@dataclass(frozen=True)
class DeliveryOncall:
    """What the flapping rule makes of a delivery's announcements."""

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


def _flapping_announced(notice: Notice, targets: tuple[Target, ...], key: str, link: str,
                        policy: Policy) -> Announced:
    from .announce import Announced

    return Announced(flapping_text(notice, policy.flap_count, policy), notice, targets, key, link)


def judge_flapping(announcements: Sequence[Announcement], store: OncallStore, *, known: AbstractSet[str],
                   policy: Policy, linker: Linker, shaper: RowShaper, now: datetime,
                   read_ahead: ReadAhead = NOTHING_READ_AHEAD) -> DeliveryOncall:
    """Which changes are announced, which become one "flapping" message, which say nothing. Reads the history
    of the alerts that changed and had a row before (`known`; one call per 100) unless `read_ahead` holds it,
    nothing when FLAP_COUNT is 0."""
    if policy.flap_count <= 0 or not announcements:
        return DeliveryOncall(tuple(announcements))
    had_rows = sorted({notice.fingerprint for notice, _ in announcements if notice.fingerprint in known})
    unread = [fingerprint for fingerprint in had_rows if fingerprint not in read_ahead.fingerprints]
    rows = [*read_ahead.rows, *(store.fetch_history(unread, now - HISTORY_LOOKBACK) if unread else ())]
    history = histories(rows) if had_rows else {}
    changes = [Change(event_id(notice.occurrence_key), notice.fingerprint, notice.status)
               for notice, _ in announcements]
    verdicts = judge_changes(changes, history, policy, now)
    announced: list[Announcement] = []
    flapping: list[Announced] = []
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
        key = flapping_key(change.event_id)
        notes[notice.occurrence_key] = "flapping: announced as flapping"
        flapping.append(_flapping_announced(notice, targets, key, linker(notice), policy))
        markers.append(oncall_event(
            shaper, kind=Kind.FLAPPING, row_key=key, fingerprint=notice.fingerprint, alert=_alert(notice),
            status=notice.status, starts_at=notice.starts_at, at=now, episode=change.event_id,
            reason=f"{policy.flap_count} changes within {policy.flap_window}: changes not announced until stable"))
    messages: list[OutgoingMessage] = []
    if flapping:
        from .announce import group_announcements

        messages = group_announcements(flapping, "FLAPPING")
    suppressed = sum(1 for note in notes.values() if note.endswith("not announced"))
    return DeliveryOncall(tuple(announced), tuple(messages), tuple(markers), suppressed, notes)
