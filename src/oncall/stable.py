"""The end of a flapping episode (`flapping`): once an alert has been quiet for a whole window, one "stable
again" message says where it settled. Only the scheduled run looks for ended episodes, so a delivery does not
load this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.kinds import Kind
from ..core.rows import RowShaper, StoredAlert
from ..formats import format_datetime
from ..messages.render import Notice, OutgoingMessage
from ..messages.routing import Route, route
from .announce import Announced, Signer, Text, minutes, notice_from_row, where
from .flapping import episode_end, stable_key, transitions
from .history import Event, current_page, latest, oncall_event
from .policy import Policy


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
        marker = latest(events, (Kind.FLAPPING,))
        if marker is None or any(e.kind == Kind.STABLE and e.episode == marker.episode for e in events):
            continue
        end = episode_end(marker, events, policy.flap_window, now)
        if end is None:
            continue
        changes = sum(1 for e in transitions(events) if marker.at <= e.at <= end)
        due.append(Stable(fingerprint, marker.episode, end - policy.flap_window, max(changes, 1)))
    return due


def stable_text(notice: Notice, stable: Stable, policy: Policy) -> Text:
    state = "FIRING" if notice.status == "firing" else "RESOLVED"
    window = minutes(policy.flap_window)
    body = f"No change for {window} since {format_datetime(stable.since)}; it is {state.lower()} now."
    return Text(
        title=f"[STABLE, {state}] {where(notice)}",
        body="\n".join(line for line in (body, notice.summary, notice.link) if line),
        sms=f"[STABLE, {state}] {where(notice)}: no change for {window}. {notice.summary}",
        data={"kind": "stable"},
    )


def stable_announcement(stable: Stable, row: Mapping[str, Any], history: Sequence[Event], routes: Sequence[Route],
                        policy: Policy, signer: Signer) -> Announced:
    """"Stable again", to the alert's targets; while it fires, with the acknowledge link of its current page."""
    key = stable_key(stable.episode)
    notice = notice_from_row(row, key)
    page = current_page(history)
    link = signer.link(notice, page.id) if page is not None else ""
    return Announced(stable_text(notice, stable, policy), notice, route(notice.severity, notice.labels, routes),
                     key, link)


def stable_row(stable: Stable, row: Mapping[str, Any], sent: Sequence[OutgoingMessage], sent_ids: frozenset[str],
               shaper: RowShaper, now: datetime) -> dict[str, Any]:
    """The `stable` history row that closes the flapping episode, naming the messages that said so."""
    key = stable_key(stable.episode)
    stored = StoredAlert.from_row(row)
    return oncall_event(
        shaper, kind=Kind.STABLE, row_key=key, fingerprint=stable.fingerprint, alert=row, status=stored.status,
        starts_at=stored.starts_at, at=now, episode=stable.episode,
        reason=f"no change since {format_datetime(stable.since)}",
        messages=[m for m in sent if key in m.occurrence_keys], sent=sent_ids)
