"""One webhook delivery carried out: read the rows it touches, plan, claim, then announce and write.

Three sequential steps of Appwrite calls:
1. Read the alert rows and plan (`plan`): what changed, what to announce, in which messages. Alongside, when
   flapping is judged, the history of the alerts the delivery resolves.
2. Claim: create the history rows (`events`), the announced ones as claims naming their messages, pending. A
   change whose row another delivery made first is left out: that delivery announces it. This is what keeps two
   overlapping groups racing each other from listing one alert in two digests (a digest's message ID depends on
   everything it lists, so Appwrite's duplicate-ID check alone cannot catch that). Alongside, the SMS budget
   reads the last hour's SMS.
3. Send, and alongside record the SMS in the SMS log and write the alert rows. Message IDs are derived from what
   they announce: a retry sends the same IDs, Appwrite refuses the copies. The rows can go with the messages
   because the claims come first: no row ever holds a change nobody claimed.

The claims stay pending: the scheduled run completes them once their messages went out (`claims`), which keeps a
fourth step (and its writes) off the way to a page. A retry of a delivery that failed in step 3 may find the rows
already holding the new state, so it decides `repeat`; when that state was stored within CLAIM_TIMEOUT it reads
its own pending claims alongside step 2 (one read; `earlier_attempt_may_be_unsettled`) and sends what they name
that Appwrite does not have. A retry that finds the rows not written yet decides the changes again and finds
them claimed by itself: it sends again (Appwrite refuses the copies) and writes the rows. A claim whose delivery
died and was never retried is settled by the scheduled run once CLAIM_TIMEOUT old.

Only when a delivery has changes of state, the on-call rules (`oncall_service`) may read more: the history
of the alerts that changed (flapping; read in step 1 for the resolves, else one more step) and the SMS sent in
the last hour (the SMS budget). Critical firing messages carry an acknowledge link when `linker` makes one."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from ..core.events import CLAIM_TIMEOUT, claim_owner, event_id, event_rows, ours_to_send
from ..core.kinds import Kind
from ..core.lifecycle import decide
from ..core.payload import WebhookPayload
from ..core.plan import RECEIVED_RESOLUTION, Decider, DeliveryPlan, plan_delivery
from ..core.rows import RowShaper
from ..delivery.port import AlertStore, SendReport
from ..formats import parse_datetime
from ..messages.digest import group_messages
from ..messages.render import Linker, OutgoingMessage, no_links
from ..messages.routing import Route
from ..oncall.flapping import judge_flapping
from ..oncall.history import HISTORY_LOOKBACK, NOTHING_READ_AHEAD, ReadAhead
from ..oncall.policy import Policy
from ..oncall.sms_budget import SMS_WINDOW, budget_log, budget_reads, within_budget

if TYPE_CHECKING:
    from .claims import EpisodeLinker, Settled

# The most pending claims of one delivery a retry reads (as many as the scheduled run reads at once).
EARLIER_CLAIMS = 5000
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
              sms_held: int = 0, silenced: int = 0) -> DeliverySummary:
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
    read_ahead: ReadAhead = NOTHING_READ_AHEAD  # the history of the alerts resolved, read with their rows

    def announced(self, plan: DeliveryPlan) -> Outgoing:
        """The messages of the plan after flapping (which reads the history), before the SMS budget."""
        if not plan.announcements:
            return Outgoing(plan.messages)
        flaps = judge_flapping(plan.announcements, self.store, known=self.known, policy=self.policy,
                               linker=self.linker, shaper=self.events_shaper, now=self.now, read_ahead=self.read_ahead)
        if not flaps.changed:
            return Outgoing(plan.messages)
        messages = (*group_messages(flaps.announced, self.linker), *flaps.flapping_messages)
        return Outgoing(messages, (), flaps.markers, flaps.notes, flaps.suppressed)

    def history(self, plan: DeliveryPlan, out: Outgoing) -> list[dict[str, Any]]:
        """The history rows of the plan, the announced changes' as claims (their messages pending)."""
        return event_rows(self.payload, replace(plan, messages=out.messages), (), shaper=self.events_shaper,
                          now=self.now, held=out.held, notes=out.notes, claim=self.owner)

    def claim(self, plan: DeliveryPlan, *, look_back: bool = False
              ) -> tuple[DeliveryPlan, Outgoing, list[dict[str, Any]], list[dict[str, Any]]]:
        """Create the history rows, announced changes as claims; leave out the changes another delivery claimed
        (or announced) first. Alongside: the SMS budget reads the last hour's SMS, and with `look_back` the pending
        claims an earlier attempt of this delivery made are read (see `earlier_attempt_may_be_unsettled`).
        Returns the plan and messages left, this delivery's rows, and the earlier attempts' claims."""
        out = self.announced(plan)
        rows = self.history(plan, out)
        reads = budget_reads(out.messages, self.policy)
        # The budget's reads overlap among themselves: they go first, in this thread (see `AlertStore.at_once`).
        calls = {name: call for name, call in (
            ("recent", partial(self.store.sms_sent_since, reads, self.now - SMS_WINDOW) if reads else None),
            ("existing", partial(self.store.claim_events, [*rows, *out.markers]) if rows or out.markers else None),
            ("earlier", partial(self.store.claims_of, self.owner, EARLIER_CLAIMS) if look_back else None),
        ) if call is not None}
        found: dict[str, Any] = {}
        if calls:
            first, *others = calls.values()
            result, rest = self.store.at_once(first, *others)
            found = dict(zip(calls, [result, *rest], strict=True))
        recent: Mapping[str, list[str]] = found.get("recent", {})
        existing: Mapping[str, dict[str, Any]] = found.get("existing", {})
        mine = out.message_ids()
        taken = {
            notice.occurrence_key for notice, _ in plan.announcements
            if (row := existing.get(event_id(notice.occurrence_key))) is not None
            and not ours_to_send(row, self.owner, mine)
        } if existing else set()
        earlier: list[dict[str, Any]] = found.get("earlier", [])
        if not look_back and any(existing[event_id(key)].get("claim") == self.owner for key in taken):
            # An earlier attempt claimed these changes for messages this attempt does not plan alike (say, a digest
            # of more alerts, whose rows it wrote): settle what it planned.
            earlier = self.store.claims_of(self.owner, EARLIER_CLAIMS)
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
        if gated.held:
            out = replace(out, messages=gated.send, held=gated.held)
        sends = {row["$id"] for row in rows}  # the claims this attempt sends itself
        return plan, out, rows, [row for row in earlier if row["$id"] not in sends]


def earlier_attempt_may_be_unsettled(payload: WebhookPayload, plan: DeliveryPlan,
                                     stored: Mapping[str, Mapping[str, Any]], now: datetime, heartbeat: str) -> bool:
    """Whether an earlier attempt of this delivery may have left claims whose messages did not all go out.

    A delivery writes the alert rows alongside its messages: a row holding the state delivered says the change
    was claimed, not that its messages went out. So when this delivery repeats a state announced within
    CLAIM_TIMEOUT (after that the scheduled run settles what a delivery left), it reads its own pending claims:
    one read, only then. Alertmanager re-sends a group at group_interval, so this is its retry (or the HA
    pair's copy), not its routine re-delivery."""
    since = now - CLAIM_TIMEOUT
    for alert, outcome in zip(payload.alerts, plan.outcomes, strict=True):
        row = stored.get(alert.fingerprint)
        if (row is None or outcome.decision.kind is not Kind.REPEAT or not outcome.decision.notified_status
                or (heartbeat and alert.alertname == heartbeat)):
            continue
        received = parse_datetime(row.get("lastReceivedAt"))
        if received is not None and received >= since:
            return True
    return False


def settle_earlier(claims: list[dict[str, Any]], store: AlertStore, stored: Mapping[str, Mapping[str, Any]], *,
                   now: datetime, policy: Policy, episode_link: EpisodeLinker | None) -> Settled:
    """An earlier attempt's pending claims (Alertmanager's retry): send what they name that did not go out, and
    complete them (`claims.settle`, loaded only on a retry)."""
    from .claims import no_episode_links, settle

    return settle(claims, stored, store, now=now, link=episode_link or no_episode_links, policy=policy)


def process_delivery(payload: WebhookPayload, store: AlertStore, *, routes: tuple[Route, ...],
                     shaper: RowShaper, events_shaper: RowShaper, now: datetime, policy: Policy = NO_ONCALL,
                     linker: Linker = no_links, decider: Decider = decide,
                     received_resolution: timedelta = RECEIVED_RESOLUTION, heartbeat: str = "",
                     episode_link: EpisodeLinker | None = None) -> DeliverySummary:
    fingerprints = [alert.fingerprint for alert in payload.alerts]
    # A resolve is nearly always a change (Alertmanager sends it once): the history flapping reads of it comes
    # with the rows instead of a step of its own.
    resolving = [alert.fingerprint for alert in payload.alerts if alert.status == "resolved"] \
        if policy.flap_count > 0 else []
    read_ahead = NOTHING_READ_AHEAD
    if resolving:
        stored, history = store.fetch_alerts_with_history(fingerprints, resolving, now - HISTORY_LOOKBACK)
        read_ahead = ReadAhead(frozenset(resolving), tuple(history))
    else:
        stored = store.fetch_alerts(fingerprints) if fingerprints else {}
    plan = plan_delivery(payload, stored, routes=routes, shaper=shaper, now=now, linker=linker, decider=decider,
                         received_resolution=received_resolution, heartbeat=heartbeat)
    delivery = _Delivery(payload, store, stored.keys(), policy, linker, events_shaper, now, claim_owner(payload),
                         read_ahead)
    look_back = earlier_attempt_may_be_unsettled(payload, plan, stored, now, heartbeat)
    plan, out, rows, earlier = delivery.claim(plan, look_back=look_back)
    logged = budget_log(out.messages, out.held, policy, now)
    # The alert rows go alongside the messages: the claims made above already keep any other delivery from
    # announcing these changes, and a retry finds them (see step 3).
    report = (store.send_messages(list(out.messages), logged, list(plan.rows)) if out.messages or logged or plan.rows
              else SendReport((), ()))
    held = len(out.held)
    if earlier:
        settled = settle_earlier(earlier, store, stored, now=now, policy=policy, episode_link=episode_link)
        report = SendReport((*report.sent, *settled.report.sent), (*report.already_sent, *settled.report.already_sent))
        held += settled.held
    return summarise(payload, plan, report, len(rows), sms_held=held, silenced=out.silenced)
