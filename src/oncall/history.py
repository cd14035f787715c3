"""The alert history as the on-call rules read it (`alert_events`, oldest first), and the rows they add.

The history holds the changes of state (`fired`, `refired`, `resolved`, ...) and the rows the rules add:
`acknowledged` (one per firing episode), `escalated` (one per episode and level), `flapping` (the change that
started a flapping episode) and `stable` (its end). A *firing episode* is one `fired` or `refired` change of an
occurrence; its ID is that change's event ID, so every execution that reads the same history names it alike,
and every message and row derived from it gets the same ID (Appwrite refuses the second copy). Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core.events import event_id
from ..core.kinds import EPISODE_CHANGES, PAGES
from ..core.lifecycle import occurrence_key
from ..core.rows import RowShaper
from ..formats import format_datetime, parse_datetime
from ..messages.render import OutgoingMessage

# How far back the rules read an alert's history: a flapping episode open for longer is announced again.
HISTORY_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True)
class ReadAhead:
    """History rows (`HISTORY_LOOKBACK` of them) read before a rule knew it would need them, and of which alerts."""

    fingerprints: frozenset[str] = frozenset()
    rows: tuple[dict[str, Any], ...] = ()


NOTHING_READ_AHEAD = ReadAhead()


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
        """The event of a history row; reads `$id` and `core.events.RULE_COLUMNS` only (the store reads no more)."""
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
    return event_id(occurrence_key(fingerprint, starts_at, "firing", None))


def latest(events: Iterable[Event], kinds: Iterable[str]) -> Event | None:
    wanted = frozenset(kinds)
    found = None
    for event in events:
        if event.kind in wanted:
            found = event
    return found


def current_page(history: Sequence[Event]) -> Event | None:
    """The `fired` or `refired` change that started the alert's current firing episode, if it is firing."""
    page = latest(history, EPISODE_CHANGES)
    return page if page is not None and page.kind in PAGES else None


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
