"""One webhook delivery carried out: read the rows it touches, plan, claim, announce, then write.

1. Read the alert rows and plan (`plan`): what changed, what to announce, in which messages.
2. Claim: create the history rows (`events`), the announced ones as claims naming their messages, still
   pending. A change whose row another delivery made first is left out: that delivery announces it. This is
   what keeps two overlapping groups racing each other from listing one alert in two digests (a digest's
   message ID depends on everything it lists, so Appwrite's duplicate-ID check alone cannot catch that).
   Alongside, the SMS budget reads the last hour's SMS: the claims name every SMS planned, and their
   completion (step 4) says which the budget held.
3. Send, and record the SMS in the SMS log alongside. Message IDs are derived from what they announce: a
   retry sends the same IDs, Appwrite refuses the copies.
4. Write the alert rows and, overlapped with them, complete the claims (each message sent or already sent).
   Last: once an alert row holds the new state a retry decides `repeat` and sends nothing, so the rows wait
   for the messages. The completion does not need to wait for the rows: once the messages went out it is
   bookkeeping. If Appwrite keeps failing it while the rows are written, the delivery still succeeds (the
   pages went out, the state is stored) and leaves the claims to the scheduled run (`claims`), which meets
   their messages as already sent.

A retry of a delivery that failed after step 2 finds its own pending claims and sends what they name; one
that failed in step 4 finds the changes claimed (pending: it sends again, Appwrite refuses the copies; completed:
it leaves them) and writes the rows. A claim whose delivery died and was never retried is completed by the
scheduled run (`claims`).

Only when a delivery has changes of state, the on-call rules (`oncall_service`) may read more: the history
of the alerts that changed (flapping) and the SMS sent in the last hour (the SMS budget). Critical firing
messages carry an acknowledge link when `linker` makes one."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..core.events import claim_owner, completed, event_id, event_rows, ours_to_send
from ..core.kinds import Kind
from ..core.lifecycle import decide
from ..core.payload import WebhookPayload
from ..core.plan import RECEIVED_RESOLUTION, Decider, DeliveryPlan, plan_delivery
from ..core.rows import RowShaper
from ..delivery.port import AlertStore, SendReport
from ..messages.digest import group_messages
from ..messages.render import Linker, OutgoingMessage, no_links
from ..messages.routing import Route
from ..oncall.flapping import judge_flapping
from ..oncall.policy import Policy
from ..oncall.sms_budget import SMS_WINDOW, budget_log, budget_reads, within_budget

# Every on-call rule off: what a delivery does without them.
NO_ONCALL = Policy(escalate_max=0, flap_count=0, sms_budget_per_hour=0)


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
    # Claims Appwrite failed to complete once the messages went out: the scheduled run completes them.
    claims_left: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "messagesQueued": self.messages_sent,
            "messagesAlreadyQueued": self.messages_already_sent,
            "truncatedAlerts": self.truncated_alerts,
            "decisions": self.decisions,
            "eventsRecorded": self.events,
            "smsHeld": self.sms_held,
            "silencedByFlapping": self.silenced,
        }


def summarise(payload: WebhookPayload, plan: DeliveryPlan, report: SendReport, events: int = 0, *,
              sms_held: int = 0, silenced: int = 0, claims_left: int = 0) -> DeliverySummary:
    last_outcome = {outcome.fingerprint: outcome for outcome in plan.outcomes}
    kept = {o.fingerprint for o in plan.outcomes if o.decision.writes}  # rows that hold this delivery's state
    created = sum(1 for fp in kept if last_outcome[fp].created)
    changed = {o.fingerprint for o in plan.outcomes if o.changed}
    decisions: dict[str, int] = {}
    for outcome in plan.outcomes:
        decisions[outcome.decision.kind.value] = decisions.get(outcome.decision.kind.value, 0) + 1
    return DeliverySummary(
        received=len(payload.alerts),
        created=created,
        updated=sum(1 for fp in kept if fp in changed and not last_outcome[fp].created),
        unchanged=sum(1 for fp in kept if fp not in changed),
        stale=plan.count(Kind.STALE),
        messages_sent=len(report.sent),
        messages_already_sent=len(report.already_sent),
        truncated_alerts=payload.truncated_alerts,
        decisions=decisions,
        events=events,
        sms_held=sms_held,
        silenced=silenced,
        claims_left=claims_left,
    )


@dataclass(frozen=True)
class Outgoing:
    """What a delivery sends once the on-call rules had their say, and what they add to the history."""

    messages: tuple[OutgoingMessage, ...]
    held: tuple[OutgoingMessage, ...] = ()
    markers: tuple[dict[str, Any], ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    silenced: int = 0

    def message_ids(self) -> set[str]:
        return {message.message_id for message in (*self.messages, *self.held)}


@dataclass(frozen=True)
class _Delivery:
    """What every step of one delivery needs besides its plan."""

    payload: WebhookPayload
    store: AlertStore
    known: AbstractSet[str]  # fingerprints that had a row
    policy: Policy
    linker: Linker
    events_shaper: RowShaper
    now: datetime
    owner: str  # `claim_owner(payload)`

    def announced(self, plan: DeliveryPlan) -> Outgoing:
        """The messages of the plan after flapping (which reads the history), before the SMS budget."""
        if not plan.announcements:
            return Outgoing(plan.messages)
        flaps = judge_flapping(plan.announcements, self.store, known=self.known, policy=self.policy,
                               linker=self.linker, shaper=self.events_shaper, now=self.now)
        if not flaps.changed:
            return Outgoing(plan.messages)
        messages = (*group_messages(flaps.announced, self.linker), *flaps.flapping_messages)
        return Outgoing(messages, (), flaps.markers, flaps.notes, flaps.suppressed)

    def history(self, plan: DeliveryPlan, out: Outgoing) -> list[dict[str, Any]]:
        """The history rows of the plan, the announced changes' as claims (their messages pending)."""
        return event_rows(self.payload, replace(plan, messages=out.messages), (), shaper=self.events_shaper,
                          now=self.now, held=out.held, notes=out.notes, claim=self.owner)

    def claim(self, plan: DeliveryPlan) -> tuple[DeliveryPlan, Outgoing, list[dict[str, Any]]]:
        """Create the history rows, announced changes as claims; leave out the changes another delivery claimed
        (or announced) first. The SMS budget reads the last hour's SMS alongside, so the claims name every
        message planned; the rows returned (to complete) say which SMS the budget held. Returns the plan and
        messages left, and this delivery's rows."""
        out = self.announced(plan)
        rows = self.history(plan, out)
        if not rows and not out.markers:
            return plan, out, rows
        reads = budget_reads(out.messages, self.policy)
        claim = partial(self.store.claim_events, [*rows, *out.markers])
        if reads:
            recent, existing = self.store.at_once(
                partial(self.store.sms_sent_since, reads, self.now - SMS_WINDOW), claim)
        else:
            recent, existing = {}, claim()
        mine = out.message_ids()
        taken = {
            notice.occurrence_key for notice, _ in plan.announcements
            if (row := existing.get(event_id(notice.occurrence_key))) is not None
            and not ours_to_send(row, self.owner, mine)
        } if existing else set()
        if taken:
            first_markers = {row["$id"] for row in out.markers}
            taken_rows = {event_id(key) for key in taken}
            plan = plan.without(taken, self.linker)
            out = self.announced(plan)
            rows = [row for row in self.history(plan, out) if row["$id"] not in taken_rows]
            # The claims kept still name the messages planned with the changes left out: name the ones sent now.
            self.store.update_events([row for row in rows if row["claim"] is not None])
            new_markers = [row for row in out.markers if row["$id"] not in first_markers]
            if new_markers:
                self.store.write_events(new_markers)
        gated = within_budget(out.messages, recent, self.policy)
        if not gated.held:
            return plan, out, rows
        out = replace(out, messages=gated.send, held=gated.held)
        mine_rows = {row["$id"] for row in rows}
        return plan, out, [row for row in self.history(plan, out) if row["$id"] in mine_rows]


def process_delivery(payload: WebhookPayload, store: AlertStore, *, routes: tuple[Route, ...],
                     shaper: RowShaper, events_shaper: RowShaper, now: datetime, policy: Policy = NO_ONCALL,
                     linker: Linker = no_links, decider: Decider = decide,
                     received_resolution: timedelta = RECEIVED_RESOLUTION, heartbeat: str = "") -> DeliverySummary:
    fingerprints = [alert.fingerprint for alert in payload.alerts]
    stored = store.fetch_alerts(fingerprints) if fingerprints else {}
    plan = plan_delivery(payload, stored, routes=routes, shaper=shaper, now=now, linker=linker, decider=decider,
                         received_resolution=received_resolution, heartbeat=heartbeat)
    delivery = _Delivery(payload, store, stored.keys(), policy, linker, events_shaper, now, claim_owner(payload))
    plan, out, rows = delivery.claim(plan)
    logged = budget_log(out.messages, out.held, policy, now)
    report = store.send_messages(list(out.messages), logged) if out.messages or logged else SendReport((), ())
    done = completed([row for row in rows if row["claim"] is not None], {m.message_id for m in report.sent})
    # Last, together: see step 4.
    claims_left = 0
    if (plan.rows or done) and not store.write_alerts(list(plan.rows), done):
        claims_left = len(done)
    return summarise(payload, plan, report, len(rows), sms_held=len(out.held), silenced=out.silenced,
                     claims_left=claims_left)
