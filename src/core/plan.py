"""Turns one validated delivery plus the rows it touches into a plan: rows to write, messages to send,
and what was decided for each alert. Pure: the caller reads rows before and carries the plan out after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..messages.render import Linker, Notice, OutgoingMessage, digest, no_links, single
from ..messages.routing import Route, Router, Target
from .lifecycle import Decision, Delivered, Kind, decide
from .payload import Alert, WebhookPayload
from .rows import RowShaper, StoredAlert, parse_datetime, same_content, to_millis

# More announcements than this to one topic and channel in one delivery become a single digest.
DIGEST_THRESHOLD = 5


@dataclass(frozen=True)
class AlertOutcome:
    fingerprint: str
    decision: Decision
    targets: tuple[Target, ...]
    created: bool
    changed: bool


Announcement = tuple[Notice, tuple[Target, ...]]
Decider = Callable[[StoredAlert | None, Delivered], Decision]


@dataclass(frozen=True)
class DeliveryPlan:
    rows: tuple[dict[str, Any], ...]
    messages: tuple[OutgoingMessage, ...]
    outcomes: tuple[AlertOutcome, ...]
    announcements: tuple[Announcement, ...] = ()

    def without(self, announced: set[str], linker: Linker = no_links) -> DeliveryPlan:
        """The same plan with these changes left unannounced (another delivery claimed them, or announced them)."""
        if not announced:
            return self
        kept = tuple(a for a in self.announcements if a[0].occurrence_key not in announced)
        return replace(self, messages=tuple(group_messages(kept, linker)), announcements=kept)

    def count(self, kind: Kind) -> int:
        return sum(1 for outcome in self.outcomes if outcome.decision.kind is kind)


def _delivered(alert: Alert) -> Delivered:
    return Delivered(
        fingerprint=alert.fingerprint,
        status=alert.status,
        starts_at=to_millis(alert.starts_at),
        ends_at=to_millis(alert.ends_at) if alert.ends_at else None,
    )


def _notice(alert: Alert, decision: Decision) -> Notice:
    assert decision.occurrence_key is not None
    return Notice(
        occurrence_key=decision.occurrence_key,
        status=alert.status,
        refired=decision.kind is Kind.REFIRED,
        fingerprint=alert.fingerprint,
        alertname=alert.alertname,
        severity=alert.severity,
        instance=alert.labels.get("instance", ""),
        summary=alert.annotations.get("summary", ""),
        description=alert.annotations.get("description", ""),
        link=alert.annotations.get("runbook_url", "") or alert.generator_url,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        labels=dict(alert.labels),
    )


def group_messages(announcements: Sequence[Announcement], linker: Linker = no_links) -> list[OutgoingMessage]:
    """One message per announcement and target, or one digest per target above the threshold; each critical
    firing alert carries its acknowledge link when `linker` makes one."""
    by_target: dict[Target, list[Notice]] = {}
    links: dict[str, str] = {}
    for notice, targets in announcements:
        links[notice.occurrence_key] = linker(notice)
        for target in targets:
            by_target.setdefault(target, []).append(notice)
    messages: list[OutgoingMessage] = []
    for target, notices in by_target.items():
        if len(notices) > DIGEST_THRESHOLD:
            messages.append(digest(notices, target.channel, target.topic, links))
        else:
            messages.extend(single(notice, target.channel, target.topic, links[notice.occurrence_key])
                            for notice in notices)
    return messages


def plan_delivery(payload: WebhookPayload, stored_rows: Mapping[str, Mapping[str, Any]], *,
                  routes: Sequence[Route], shaper: RowShaper, now: datetime,
                  linker: Linker = no_links, decider: Decider = decide) -> DeliveryPlan:
    router = Router(routes)
    current: dict[str, StoredAlert | None] = {
        fp: StoredAlert.from_row(row) for fp, row in stored_rows.items()
    }
    rows: dict[str, dict[str, Any]] = {}
    outcomes: list[AlertOutcome] = []
    announcements: list[Announcement] = []

    # A payload may carry one fingerprint twice: each state is decided against the one before it.
    for alert in payload.alerts:
        before = current.get(alert.fingerprint)
        decision = decider(before, _delivered(alert))
        targets = router.targets(alert.severity, alert.labels)
        changed = False
        if decision.writes:
            row = shaper.row(alert, receiver=payload.receiver, group_key=payload.group_key,
                             received_at=now, notified_status=decision.notified_status)
            original = stored_rows.get(alert.fingerprint)
            changed = original is None or not same_content(row, original)
            rows[alert.fingerprint] = {"$id": alert.fingerprint, **row}
            current[alert.fingerprint] = StoredAlert(
                status=alert.status,
                starts_at=to_millis(alert.starts_at),
                ends_at=parse_datetime(row["endsAt"]),
                notified_status=decision.notified_status,
                values=row,
            )
        if decision.announces:
            announcements.append((_notice(alert, decision), targets))
        outcomes.append(AlertOutcome(alert.fingerprint, decision, targets,
                                     created=alert.fingerprint not in stored_rows, changed=changed))

    return DeliveryPlan(
        rows=tuple(rows.values()),
        messages=tuple(group_messages(announcements, linker)),
        outcomes=tuple(outcomes),
        announcements=tuple(announcements),
    )
