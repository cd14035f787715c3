"""Turns one validated delivery plus the rows it touches into a plan: rows to write, messages to send,
and what was decided for each alert. Pure: the caller reads rows before and carries the plan out after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..formats import parse_datetime, to_millis
from ..messages.digest import Announcement, group_messages
from ..messages.render import Linker, Notice, OutgoingMessage, no_links
from ..messages.routing import Route, Router, Target
from .kinds import Kind
from .lifecycle import Decision, Delivered, decide
from .payload import Alert, WebhookPayload
from .rows import RowShaper, StoredAlert, same_content

# How stale `lastReceivedAt` may get before a re-delivery that changes nothing rewrites the row: well above
# Alertmanager's group_interval (5 min by default), so a quiet alert costs one write an hour, not twelve.
RECEIVED_RESOLUTION = timedelta(hours=1)


@dataclass(frozen=True)
class AlertOutcome:
    """What was decided for one alert of a delivery, where it would be announced, and whether its row is new
    or changed."""

    fingerprint: str
    decision: Decision
    targets: tuple[Target, ...]
    created: bool
    changed: bool


Decider = Callable[[StoredAlert | None, Delivered], Decision]


@dataclass(frozen=True)
class DeliveryPlan:
    """One delivery's plan: the rows to write, the messages to send, each alert's outcome, and the
    announcements the messages were grouped from."""

    rows: tuple[dict[str, Any], ...]
    messages: tuple[OutgoingMessage, ...]
    outcomes: tuple[AlertOutcome, ...]
    announcements: tuple[Announcement, ...] = ()

    def without(self, announced: set[str], linker: Linker = no_links) -> DeliveryPlan:
        """The same plan with these changes left unannounced (another delivery claimed them, or announced them)."""
        if not announced:
            return self
        kept = tuple(a for a in self.announcements if a.notice.occurrence_key not in announced)
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


def _received_long_ago(stored: Mapping[str, Any] | None, now: datetime, resolution: timedelta) -> bool:
    received = parse_datetime(stored.get("lastReceivedAt")) if stored is not None else None
    return received is None or now - received >= resolution


def plan_delivery(payload: WebhookPayload, stored_rows: Mapping[str, Mapping[str, Any]], *,
                  routes: Sequence[Route], shaper: RowShaper, now: datetime,
                  linker: Linker = no_links, decider: Decider = decide,
                  received_resolution: timedelta = RECEIVED_RESOLUTION, heartbeat: str = "") -> DeliveryPlan:
    """The plan of one delivery. A row whose content is unchanged is written only to refresh its
    `lastReceivedAt`, and only once that is `received_resolution` old: a quiet re-delivery writes nothing.
    The `heartbeat` alert (the dead-man's switch's, by alertname; "" for none) is never announced, and its row
    is written on every delivery carrying it: the switch reads when it last arrived from `lastReceivedAt`."""
    router = Router(routes)
    current: dict[str, StoredAlert | None] = {
        fp: StoredAlert.from_row(row) for fp, row in stored_rows.items()
    }
    rows: dict[str, dict[str, Any]] = {}
    to_write: set[str] = set()
    outcomes: list[AlertOutcome] = []
    announcements: list[Announcement] = []
    counts = Counter(alert.fingerprint for alert in payload.alerts)
    repeated = {fingerprint for fingerprint, count in counts.items() if count > 1}

    # A payload may carry one fingerprint twice: each state is decided against the one before it.
    for alert in payload.alerts:
        before = current.get(alert.fingerprint)
        decision = decider(before, _delivered(alert))
        targets = router.targets(alert.severity, alert.labels)
        changed = False
        is_heartbeat = bool(heartbeat) and alert.alertname == heartbeat
        if decision.writes:
            row = shaper.row(alert, receiver=payload.receiver, group_key=payload.group_key,
                             received_at=now, notified_status=decision.notified_status)
            original = stored_rows.get(alert.fingerprint)
            changed = original is None or not same_content(row, original)
            if changed or is_heartbeat or _received_long_ago(original, now, received_resolution):
                to_write.add(alert.fingerprint)
            rows[alert.fingerprint] = {"$id": alert.fingerprint, **row}
            if alert.fingerprint in repeated:  # only a later state of the same alert reads it
                current[alert.fingerprint] = StoredAlert(
                    status=alert.status,
                    starts_at=to_millis(alert.starts_at),
                    ends_at=parse_datetime(row["endsAt"]),
                    notified_status=decision.notified_status,
                    values=row,
                )
        if decision.announces and not is_heartbeat:
            announcements.append(Announcement(_notice(alert, decision), targets))
        outcomes.append(AlertOutcome(alert.fingerprint, decision, targets,
                                     created=alert.fingerprint not in stored_rows, changed=changed))

    return DeliveryPlan(
        rows=tuple(row for fingerprint, row in rows.items() if fingerprint in to_write),
        messages=tuple(group_messages(announcements, linker)),
        outcomes=tuple(outcomes),
        announcements=tuple(announcements),
    )
