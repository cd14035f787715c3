"""Escalation: a critical page nobody acknowledged is paged again every `escalate_after`, at most
`escalate_max` times, by the scheduled run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.kinds import Kind
from ..core.rows import RowShaper
from ..formats import format_datetime
from ..messages.render import Notice, OutgoingMessage
from ..messages.routing import Route, route
from .announce import Announced, Signer, Text, minutes, notice_from_row, where
from .history import Event, current_page, latest, oncall_event
from .policy import Policy, is_critical


@dataclass(frozen=True)
class Escalation:
    fingerprint: str
    starts_at: datetime
    episode: str
    level: int
    paged_at: datetime


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
    if any(e.kind == Kind.ACKNOWLEDGED and e.episode == page.id for e in history):
        return None
    marker = latest(history, (Kind.FLAPPING,))
    last_page = page.at
    if marker is not None:
        stable = next((e for e in history if e.kind == Kind.STABLE and e.episode == marker.episode), None)
        if stable is None:
            return None  # the page was replaced by "flapping"; "stable again" comes first
        last_page = max(last_page, stable.at)
    levels = {e.level: e.at for e in history if e.kind == Kind.ESCALATED and e.episode == page.id}
    level = max(levels, default=0)
    if level >= policy.escalate_max:
        return None
    if level:
        last_page = levels[level]
    if now - last_page < policy.escalate_after:
        return None
    return Escalation(page.fingerprint, page.starts_at, page.id, level + 1, page.at)


def escalation_key(episode: str, level: int) -> str:
    """The key of escalation `level` of firing `episode`: its messages' IDs come from it."""
    return f"{episode}|escalation|{level}"


def escalated_row_key(episode: str, level: int) -> str:
    """The key of the history row recording escalation `level` of firing `episode`."""
    return f"{episode}|escalated|{level}"


def escalation_text(notice: Notice, escalation: Escalation, policy: Policy, now: datetime) -> Text:
    tag = f"[ESCALATION {escalation.level}/{policy.escalate_max}]"
    age = minutes(now - escalation.paged_at)
    lines = [f"Still firing and not acknowledged, {age} after the first page "
             f"({format_datetime(escalation.paged_at)})."]
    lines += [line for line in (notice.summary, notice.link) if line]
    return Text(
        title=f"{tag} {where(notice)}",
        body="\n".join(lines),
        sms=f"{tag} {where(notice)} firing {age}, not acknowledged: {notice.summary}",
        data={"kind": "escalation", "level": str(escalation.level)},
    )


def escalation_announcement(due: Escalation, row: Mapping[str, Any], routes: Sequence[Route], policy: Policy,
                            signer: Signer, now: datetime) -> Announced:
    """The escalation, to the alert's targets, with the acknowledge link of its episode."""
    key = escalation_key(due.episode, due.level)
    notice = notice_from_row(row, key)
    return Announced(escalation_text(notice, due, policy, now), notice, route(notice.severity, notice.labels, routes),
                     key, signer.link(notice, due.episode))


def escalated_row(due: Escalation, row: Mapping[str, Any], sent: Sequence[OutgoingMessage],
                  sent_ids: frozenset[str], policy: Policy, shaper: RowShaper, now: datetime) -> dict[str, Any]:
    """The `escalated` history row, naming the messages that carried the escalation."""
    key = escalation_key(due.episode, due.level)
    return oncall_event(
        shaper, kind=Kind.ESCALATED, row_key=escalated_row_key(due.episode, due.level), fingerprint=due.fingerprint,
        alert=row, status="firing", starts_at=due.starts_at, at=now, episode=due.episode, level=due.level,
        reason=f"escalation {due.level} of {policy.escalate_max}: not acknowledged",
        messages=[m for m in sent if key in m.occurrence_keys], sent=sent_ids)
