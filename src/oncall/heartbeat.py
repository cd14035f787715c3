"""The dead-man's switch: Alertmanager's always-firing heartbeat alert (a `Watchdog` rule, `vector(1)`) must keep
arriving. When the newest delivery carrying it is older than its interval plus a grace, the scheduled run pages
the heartbeat topic once; when it arrives again, it announces the recovery once. Pure: the scheduled run
(`jobs.schedule`) reads the heartbeat's alert row and the switch's history rows and carries out what this decides.

An outage is named by the moment it is measured from: the last delivery before it or, when the heartbeat was
never received, the moment the switch was armed (its first scheduled run). Its page and its recovery take their
message and history row IDs from that name, so overlapping or retried runs create the same ones and Appwrite
refuses the copies."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core.events import event_id
from ..core.kinds import Kind
from ..core.rows import RowShaper
from ..formats import cut_chars
from ..messages.render import (
    EMAIL_BODY_MAX_CHARS,
    EMAIL_SUBJECT_MAX_CHARS,
    PUSH_BODY_MAX_CHARS,
    PUSH_TITLE_MAX_CHARS,
    OutgoingMessage,
    message_id,
)
from ..messages.routing import Channel
from .announce import minutes
from .history import Event, oncall_event

# The channels a heartbeat page goes out on: push wakes someone, email carries what to check.
HEARTBEAT_CHANNELS: tuple[Channel, ...] = ("push", "email")


@dataclass(frozen=True)
class Heartbeat:
    """The configured switch: the alert's name, how often Alertmanager re-sends it, the grace past that, and the
    topic paged."""

    alertname: str
    interval: timedelta
    grace: timedelta
    topic: str

    @property
    def overdue_after(self) -> timedelta:
        return self.interval + self.grace

    @property
    def fingerprint(self) -> str:
        """The `fingerprint` of the switch's own history rows (not an alert's: a heartbeat may have several)."""
        return "heartbeat-" + hashlib.sha256(self.alertname.encode("utf-8", "replace")).hexdigest()[:24]


@dataclass(frozen=True)
class HeartbeatChange:
    """A page (`heartbeat-missed`) or a recovery (`heartbeat-back`) to announce and record."""

    kind: Kind
    outage: str  # the outage's ID: the history rows' `episode`
    since: datetime  # what the outage is measured from
    received: datetime | None  # the newest delivery carrying the heartbeat; None: never received
    title: str
    body: str

    @property
    def key(self) -> str:
        return f"{self.outage}|{self.kind.value}"


def clock_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def outage_id(heartbeat: Heartbeat, since: datetime) -> str:
    return event_id(f"heartbeat|{heartbeat.alertname}|{since.astimezone(UTC).isoformat(timespec='milliseconds')}")


def _missed(heartbeat: Heartbeat, since: datetime, received: datetime | None, status: str,
            now: datetime) -> tuple[str, str]:
    name, late = heartbeat.alertname, minutes(now - since)
    expected = (f"expected every {minutes(heartbeat.interval)} (HEARTBEAT_INTERVAL), grace "
                f"{minutes(heartbeat.grace)} (HEARTBEAT_GRACE)")
    if received is None:
        title = f"[HEARTBEAT MISSED] {name} never reached alert-processor"
        lines = [f"Alertmanager has not delivered {name} to alert-processor since the dead-man's switch was armed at "
                 f"{clock_time(since)} ({late} ago; {expected}).",
                 f"Check that Prometheus loads the {name} rule, that Alertmanager routes it to this receiver, and "
                 "the webhook URL and token."]
    else:
        title = f"[HEARTBEAT MISSED] Alertmanager has not reached alert-processor for {late}"
        lines = [f"Alertmanager has not reached alert-processor for {late}: last delivery of {name} at "
                 f"{clock_time(received)} ({expected}).",
                 "Check Alertmanager's notification log (alertmanager_notifications_failed_total, its logs) and "
                 "the webhook URL and token. Until this is fixed, alerts may not reach anyone."]
        if status == "resolved":
            lines.append(f"Its last delivery said {name} was resolved: is Prometheus running and evaluating it?")
    return title, "\n".join(lines)


def _back(heartbeat: Heartbeat, missed: Event, received: datetime) -> tuple[str, str]:
    name = heartbeat.alertname
    title = f"[HEARTBEAT BACK] Alertmanager reaches alert-processor again ({name})"
    body = (f"{name} arrived at {clock_time(received)}, {minutes(received - missed.starts_at)} after the "
            f"{'switch was armed' if missed.level == 0 else 'last delivery'} "
            f"({clock_time(missed.starts_at)}; paged at {clock_time(missed.at)}). Alertmanager retries failed "
            "notifications; check its notification log for any it gave up on meanwhile.")
    return title, body


def judge_heartbeat(heartbeat: Heartbeat, *, received: datetime | None, status: str, armed_at: datetime | None,
                    marks: Sequence[Event], now: datetime) -> HeartbeatChange | None:
    """What the switch announces now, if anything.

    `received` is the newest delivery carrying the heartbeat (its `lastReceivedAt`, refreshed by every delivery)
    and `status` the state it gave; `armed_at` when the switch was armed; `marks` the switch's `heartbeat-missed`
    and `heartbeat-back` rows. A page when the heartbeat is overdue and its outage was not paged yet; a recovery
    when the newest mark is a page and the heartbeat has arrived since, in time."""
    since = received or armed_at
    if since is None:
        return None
    latest = max(marks, key=lambda mark: mark.at, default=None)
    if now - since > heartbeat.overdue_after:
        outage = outage_id(heartbeat, since)
        if any(mark.episode == outage for mark in marks):
            return None
        title, body = _missed(heartbeat, since, received, status, now)
        return HeartbeatChange(Kind.HEARTBEAT_MISSED, outage, since, received, title, body)
    if latest is not None and latest.kind == Kind.HEARTBEAT_MISSED and received is not None \
            and received > latest.starts_at:
        title, body = _back(heartbeat, latest, received)
        return HeartbeatChange(Kind.HEARTBEAT_BACK, latest.episode, latest.starts_at, received, title, body)
    return None


def heartbeat_messages(heartbeat: Heartbeat, change: HeartbeatChange) -> list[OutgoingMessage]:
    """The change to the heartbeat topic, one message per channel, their IDs from the change's key."""
    data = {"kind": change.kind.value, "alertname": heartbeat.alertname}
    messages = []
    for channel in HEARTBEAT_CHANNELS:
        if channel == "email":
            title, body = cut_chars(change.title, EMAIL_SUBJECT_MAX_CHARS), cut_chars(change.body, EMAIL_BODY_MAX_CHARS)
        else:
            title, body = cut_chars(change.title, PUSH_TITLE_MAX_CHARS), cut_chars(change.body, PUSH_BODY_MAX_CHARS)
        messages.append(OutgoingMessage(message_id(channel, heartbeat.topic, [change.key]), channel, heartbeat.topic,
                                        title, body, data, (change.key,)))
    return messages


def _row(heartbeat: Heartbeat, shaper: RowShaper, *, kind: Kind, key: str, status: str, since: datetime,
         at: datetime, episode: str, reason: str, level: int = 0, messages: Sequence[OutgoingMessage] = (),
         sent: frozenset[str] = frozenset()) -> dict[str, Any]:
    alert: Mapping[str, Any] = {"alertname": heartbeat.alertname, "severity": "heartbeat"}
    return oncall_event(shaper, kind=kind, row_key=key, fingerprint=heartbeat.fingerprint, alert=alert,
                        status=status, starts_at=since, at=at, episode=episode, reason=reason, level=level,
                        messages=messages, sent=sent)


def armed_row(heartbeat: Heartbeat, shaper: RowShaper, now: datetime) -> dict[str, Any]:
    """The `heartbeat-armed` row: from now on, a heartbeat never received is overdue after its grace."""
    return _row(heartbeat, shaper, kind=Kind.HEARTBEAT_ARMED, key=f"heartbeat|{heartbeat.alertname}|armed",
                status="resolved", since=now, at=now, episode="", reason="dead-man's switch armed")


def change_row(heartbeat: Heartbeat, change: HeartbeatChange, messages: Sequence[OutgoingMessage],
               sent: frozenset[str], shaper: RowShaper, now: datetime) -> dict[str, Any]:
    """The history row of a page or a recovery; `level` 1 marks an outage of a heartbeat received before."""
    missed = change.kind is Kind.HEARTBEAT_MISSED
    reason = (f"heartbeat overdue: no delivery for {minutes(now - change.since)}" if missed
              else f"heartbeat back after {minutes((change.received or now) - change.since)}")
    return _row(heartbeat, shaper, kind=change.kind, key=change.key, status="firing" if missed else "resolved",
                since=change.since, at=now, episode=change.outage, reason=reason,
                level=1 if change.received is not None and missed else 0, messages=messages, sent=sent)
