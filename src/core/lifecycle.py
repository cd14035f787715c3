"""The decision at the heart of the function: given the stored row of an alert and a delivered state,
what changes and what do people hear? Pure: no I/O, no clock.

People hear once when an occurrence starts firing and once when it resolves. Alertmanager gives no
delivery ID, so every announcement carries an occurrence key derived only from values that every copy
of the same delivery sees alike (the fingerprint, the occurrence's `startsAt`, the stored row as read):
retries, a second receiver, an HA pair or two racing executions all derive the same key, and the key
becomes the Appwrite message ID, which Appwrite refuses to create twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..formats import format_datetime
from .kinds import ANNOUNCING, Kind
from .payload import AlertStatus
from .rows import StoredAlert


@dataclass(frozen=True)
class Delivered:
    """One alert's state as a delivery reports it, at Appwrite's millisecond precision."""

    fingerprint: str
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True)
class Decision:
    """What a delivered state means for one alert: its kind and why, what people know once it is carried out,
    and the occurrence key its announcement goes out under (None when it announces nothing)."""

    kind: Kind
    reason: str
    # The status people have been told about once this decision is carried out.
    notified_status: str
    occurrence_key: str | None = None

    @property
    def announces(self) -> bool:
        return self.kind in ANNOUNCING

    @property
    def writes(self) -> bool:
        return self.kind is not Kind.STALE


def occurrence_key(fingerprint: str, starts_at: datetime, status: str, discriminator: datetime | None) -> str:
    """The key of one announced change of an occurrence: every copy of the change derives the same.
    `discriminator` tells apart two announcements of the same status for one startsAt: a re-fire after a
    resolve uses the stored resolve time; a resolve uses its own endsAt; a first firing has none."""
    tail = format_datetime(discriminator) if discriminator else "-"
    return f"{fingerprint}|{format_datetime(starts_at)}|{status}|{tail}"


def _key(alert: Delivered, status: str, discriminator: datetime | None) -> str:
    return occurrence_key(alert.fingerprint, alert.starts_at, status, discriminator)


def decide(stored: StoredAlert | None, alert: Delivered) -> Decision:
    if stored is None or alert.starts_at > stored.starts_at:
        why = "first firing" if stored is None else "newer startsAt than stored"
        if alert.status == "firing":
            return Decision(Kind.FIRED, why, "firing", _key(alert, "firing", None))
        return Decision(Kind.RESOLVED_UNSEEN, "resolved, never seen firing", "")

    if alert.starts_at < stored.starts_at:
        return Decision(Kind.STALE, "older startsAt than stored", stored.notified_status)

    told = stored.notified_status
    if alert.status == "firing":
        if told == "firing":
            return Decision(Kind.REPEAT, "already announced as firing", "firing")
        if told == "resolved":
            return Decision(Kind.REFIRED, "same startsAt after resolved", "firing",
                            _key(alert, "firing", stored.ends_at))
        # Nobody heard of this occurrence yet: this is its first firing announcement, under the same key as
        # a first firing from no row (a racing copy that read no row announces the same message).
        return Decision(Kind.FIRED, "firing after a resolve nobody was told about", "firing",
                        _key(alert, "firing", None))

    if told == "firing":
        return Decision(Kind.RESOLVED, "resolved after firing", "resolved",
                        _key(alert, "resolved", alert.ends_at))
    if told == "resolved":
        return Decision(Kind.REPEAT, "already announced as resolved", "resolved")
    return Decision(Kind.REPEAT, "resolved, never seen firing", "")


def first_firing_key(alert: Delivered) -> str:
    """The occurrence key a first firing of this occurrence was announced under (see `decide`)."""
    return _key(alert, "firing", None)


def decide_repair(stored: StoredAlert | None, alert: Delivered) -> Decision:
    """A resolve a racing delivery left unannounced: the occurrence was announced as firing (its history says
    so) and this resolve was stored silently, or overwritten by the firing copy. Announce it, once."""
    if stored is None or alert.starts_at != stored.starts_at or alert.status != "resolved":
        return decide(stored, alert)
    if stored.notified_status == "resolved" and stored.status == "resolved":
        return Decision(Kind.REPEAT, "already announced as resolved", "resolved")
    return Decision(Kind.RESOLVED, "resolved after firing (a racing delivery had left it unannounced)", "resolved",
                    _key(alert, "resolved", alert.ends_at))
