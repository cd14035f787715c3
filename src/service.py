"""One webhook delivery carried out: read the rows it touches, plan, announce, record, then write; and the
metrics scrape.

Messages go out before rows are written. If the write then fails, Alertmanager's retry finds the old
rows, plans the same announcements with the same message IDs, and Appwrite refuses the duplicates;
the other order could record an announcement that never went out.

The history rows (`events`) are written after the messages, so each says where its announcement went, and
before the alert rows: once an alert row holds the new state, a retry decides `repeat` and would never
record the change, so the change must be in the history first. Their IDs are derived from the change, so
a retry that finds them written creates nothing twice.

Only when a delivery has changes of state, the on-call rules (`oncall_service`) may read more: the history
of the alerts that changed (flapping) and the SMS sent in the last hour (the SMS budget). Critical firing
messages carry an acknowledge link when `linker` makes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from .decide import Kind, decide
from .events import event_id, event_rows
from .metrics import Count, plan_metrics, render
from .oncall import Policy
from .oncall_service import OncallStore, gate_sms, judge_flapping, sms_rows
from .payload import WebhookPayload
from .plan import Decider, DeliveryPlan, group_messages, plan_delivery
from .render import Linker, OutgoingMessage, no_links
from .routing import Route
from .rows import RowShaper
from .store import SendReport

# Every on-call rule off: what a delivery does without them.
NO_ONCALL = Policy(escalate_max=0, flap_count=0, sms_budget_per_hour=0)


class AlertStore(OncallStore, Protocol):
    def fetch_alerts(self, fingerprints: list[str]) -> dict[str, dict[str, Any]]: ...
    def write_alerts(self, rows: list[dict[str, Any]]) -> None: ...
    def send_messages(self, messages: list[OutgoingMessage]) -> SendReport: ...
    def write_events(self, rows: list[dict[str, Any]], sms: list[dict[str, Any]] = ...) -> None: ...
    def recorded_events(self, event_ids: list[str]) -> set[str]: ...


class MetricsStore(Protocol):
    def measure(self, counts: Sequence[Count]) -> tuple[list[int], datetime | None]: ...


@dataclass(frozen=True)
class DeliverySummary:
    received: int
    created: int
    updated: int
    unchanged: int
    stale: int
    messages_sent: int
    messages_already_sent: int
    truncated_alerts: int
    decisions: dict[str, int]
    events: int = 0
    sms_held: int = 0
    silenced: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "messagesSent": self.messages_sent,
            "messagesAlreadySent": self.messages_already_sent,
            "truncatedAlerts": self.truncated_alerts,
            "decisions": self.decisions,
            "eventsRecorded": self.events,
            "smsHeld": self.sms_held,
            "silencedByFlapping": self.silenced,
        }


def summarise(payload: WebhookPayload, plan: DeliveryPlan, report: SendReport, events: int = 0, *,
              sms_held: int = 0, silenced: int = 0) -> DeliverySummary:
    last_outcome = {outcome.fingerprint: outcome for outcome in plan.outcomes}
    written = {row["$id"] for row in plan.rows}
    created = sum(1 for fp in written if last_outcome[fp].created)
    changed = {o.fingerprint for o in plan.outcomes if o.changed}
    decisions: dict[str, int] = {}
    for outcome in plan.outcomes:
        decisions[outcome.decision.kind.value] = decisions.get(outcome.decision.kind.value, 0) + 1
    return DeliverySummary(
        received=len(payload.alerts),
        created=created,
        updated=sum(1 for fp in written if fp in changed and not last_outcome[fp].created),
        unchanged=sum(1 for fp in written if fp not in changed),
        stale=plan.count(Kind.STALE),
        messages_sent=len(report.sent),
        messages_already_sent=len(report.already_sent),
        truncated_alerts=payload.truncated_alerts,
        decisions=decisions,
        events=events,
        sms_held=sms_held,
        silenced=silenced,
    )


def process_delivery(payload: WebhookPayload, store: AlertStore, *, routes: tuple[Route, ...],
                     shaper: RowShaper, events_shaper: RowShaper, now: datetime, policy: Policy = NO_ONCALL,
                     linker: Linker = no_links, decider: Decider = decide) -> DeliverySummary:
    fingerprints = [alert.fingerprint for alert in payload.alerts]
    stored = store.fetch_alerts(fingerprints) if fingerprints else {}
    plan = plan_delivery(payload, stored, routes=routes, shaper=shaper, now=now, linker=linker, decider=decider)
    digested = plan.digested_keys()
    if digested:
        # A digest's message ID covers the whole set it lists. If an earlier attempt was cut short after its
        # history rows were written, part of this set was announced already: those changes are left out
        # here, or they would go out again in a digest with a new ID.
        recorded = store.recorded_events([event_id(key) for key in digested])
        plan = plan.without({key for key in digested if event_id(key) in recorded}, linker)
    messages: list[OutgoingMessage] = list(plan.messages)
    held: tuple[OutgoingMessage, ...] = ()
    markers: tuple[dict[str, Any], ...] = ()
    notes: dict[str, str] = {}
    silenced = 0
    if plan.announcements:
        flaps = judge_flapping(plan.announcements, store, known=stored.keys(), policy=policy, linker=linker,
                               shaper=events_shaper, now=now)
        if flaps.changed:
            messages = [*group_messages(flaps.announced, linker), *flaps.flapping_messages]
            markers, notes, silenced = flaps.markers, dict(flaps.notes), flaps.suppressed
        gated = gate_sms(messages, store, policy, now)
        messages, held = list(gated.send), gated.held
    report = store.send_messages(messages) if messages else SendReport((), ())
    events = [*event_rows(payload, replace(plan, messages=tuple(messages)), report.sent, shaper=events_shaper,
                          now=now, held=held, notes=notes), *markers]
    logged = (sms_rows(messages, held, now)
              if policy.sms_budget_per_hour > 0 and (held or any(m.channel == "sms" for m in messages)) else [])
    if events or logged:
        store.write_events(events, logged)
    if plan.rows:
        store.write_alerts(list(plan.rows))
    return summarise(payload, plan, report, len(events) - len(markers), sms_held=len(held), silenced=silenced)


def scrape_metrics(store: MetricsStore, *, severities: Sequence[str], routes: Sequence[Route],
                   now: datetime) -> str:
    """The Prometheus exposition, from a fixed number of counts Appwrite answers (see `metrics`)."""
    plan = plan_metrics(severities, routes, now)
    counts, newest = store.measure(plan.counts)
    return render(plan, counts, newest)
