"""Acknowledging a page through its signed link (`GET /ack`): only the firing episode the link was made
for, only while it is the alert's current one, and only once. Reads the alert row and its history (two
calls), then creates one row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..core.kinds import EPISODE_CHANGES, PAGES, Kind
from ..core.rows import RowShaper, StoredAlert
from ..delivery.port import OncallStore
from .history import HISTORY_LOOKBACK, Event, first_firing_episode, histories, latest, oncall_event
from .links import AckLink, episode_tag


def acknowledged_key(episode: str) -> str:
    """The key of the one `acknowledged` row a firing episode can have."""
    return f"{episode}|acknowledged"


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
    last = latest(occurrence, EPISODE_CHANGES)
    if last is not None and last.kind not in PAGES:  # recorded, the row not yet written
        return AckJudgement(AckVerdict.RESOLVED, at=last.at)
    pages = [event for event in occurrence if event.kind in PAGES]
    episode = pages[-1].id if pages else first_firing_episode(link.fingerprint, link.starts_at)
    if link.tag != episode_tag(episode):
        if any(link.tag == episode_tag(page.id) for page in pages[:-1]):
            resolve = latest((e for e in occurrence if e.at <= pages[-1].at), (Kind.RESOLVED,))
            return AckJudgement(AckVerdict.REFIRED, at=resolve.at if resolve else None)
        return AckJudgement(AckVerdict.UNKNOWN)  # genuine, but for a firing the history no longer shows
    earlier = next((e for e in history if e.kind == Kind.ACKNOWLEDGED and e.episode == episode), None)
    if earlier is not None:
        return AckJudgement(AckVerdict.ALREADY, episode, earlier.at, earlier.client_ip)
    return AckJudgement(AckVerdict.ACKNOWLEDGED, episode)


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
        shaper, kind=Kind.ACKNOWLEDGED, row_key=acknowledged_key(judged.episode), fingerprint=link.fingerprint,
        alert=row, status="firing", starts_at=link.starts_at, at=now, episode=judged.episode,
        reason=f"acknowledged through a signed link from {client_ip or 'an unknown address'}", client_ip=client_ip))
    if not created:  # a second click raced the first one
        return AckJudgement(AckVerdict.ALREADY, judged.episode), row
    return AckJudgement(AckVerdict.ACKNOWLEDGED, judged.episode, now, client_ip), row
