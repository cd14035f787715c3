"""The scheduled run (Appwrite's cron, every minute), its steps in order:

1. complete the claims deliveries made once their messages went out, and send what a dead delivery's claims
   name (`claims`): an escalation of a page nobody received would be odd;
2. the on-call rules: one summary per topic of the SMS held back, then the escalations and "stable again"
   messages due (their SMS past the budget wait for the next run's summary);
3. repair firing/resolved races (`repair`);
4. the dead-man's switch (`oncall.heartbeat`), when HEARTBEAT_ALERT is set: page once when the heartbeat is
   overdue, announce once when it is back. Reads: the heartbeat's newest alert row and the switch's newest
   history rows (one call each), the `heartbeat-armed` row only while the heartbeat was never received.
5. follow the messages created to their delivery, re-route failed critical pages once (`follow`).

Order within a step, as for a delivery: messages first, then the history rows, so a retry or an overlapping run
re-derives the same message IDs (Appwrite refuses the copies) and finds the rows it would create.

Reads of step 2, bounded: the critical pages of the escalation horizon (at most 100), the flapping rows of the
last 24 h (at most 1,000), the held SMS (at most 500); then, only if these found something, the history and
the rows of those alerts (one read each per 100 alerts), the recent SMS of the topics messaged, and the topics
summarised in the last hour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..core.kinds import PAGES, Kind
from ..core.rows import RowShaper, StoredAlert, alerts_shaper, events_shaper
from ..delivery.port import HeartbeatStore, OncallStore, ScheduleStore, SendReport
from ..formats import parse_datetime
from ..messages.routing import Route
from ..oncall.announce import Signer, group_announcements
from ..oncall.delivery_status import FallbackTarget
from ..oncall.escalate import escalated_row, escalation_announcement, escalation_due
from ..oncall.heartbeat import Heartbeat, armed_row, change_row, heartbeat_messages, judge_heartbeat
from ..oncall.history import HISTORY_LOOKBACK, Event, histories
from ..oncall.policy import CRITICAL_SEVERITIES, Policy
from ..oncall.sms_budget import budget_log, gate_sms
from ..oncall.sms_summary import summarise_held
from ..oncall.stable import due_stables, stable_announcement, stable_row
from .claims import finish_claims
from .follow import follow_deliveries
from .repair import repair_races

ESCALATION_CANDIDATES = 100
FLAP_MARKERS = 1000
# The switch's newest pages and recoveries read per run (of every heartbeat name ever configured).
HEARTBEAT_MARKS = 50
HEARTBEAT_LOOKBACK = timedelta(days=3660)


@dataclass(frozen=True)
class ScheduleSummary:
    escalations: int
    stables: int
    summaries: int
    held: int
    messages_sent: int
    messages_already_sent: int
    claims_completed: int = 0
    resolves_repaired: int = 0
    heartbeat_pages: int = 0
    heartbeat_recoveries: int = 0
    deliveries_settled: int = 0
    deliveries_failed: int = 0
    fallbacks_queued: int = 0

    def as_json(self) -> dict[str, int]:
        return {"escalations": self.escalations, "stableAgain": self.stables, "smsSummaries": self.summaries,
                "smsHeld": self.held, "messagesQueued": self.messages_sent,
                "messagesAlreadyQueued": self.messages_already_sent, "resolvesRepaired": self.resolves_repaired,
                "claimsCompleted": self.claims_completed, "heartbeatPaged": self.heartbeat_pages,
                "heartbeatRecovered": self.heartbeat_recoveries, "deliveriesSettled": self.deliveries_settled,
                "deliveriesFailed": self.deliveries_failed, "fallbacksQueued": self.fallbacks_queued}


def run_scheduled(store: ScheduleStore, *, routes: tuple[Route, ...], policy: Policy, signer: Signer,
                  now: datetime, heartbeat: Heartbeat | None = None,
                  fallback: tuple[FallbackTarget, ...] = ()) -> ScheduleSummary:
    """The scheduled run, its steps in order (see the module's docstring)."""
    finished = finish_claims(store, now=now, link=signer.link, policy=policy)
    oncall = run_oncall(store, routes=routes, policy=policy, signer=signer, shaper=events_shaper(), now=now)
    repaired = repair_races(store, routes=routes, shaper=alerts_shaper(), events_shaper=events_shaper(),
                            now=now, policy=policy, linker=signer)
    paged, recovered, report = check_heartbeat(store, heartbeat, shaper=events_shaper(), now=now)
    followed = follow_deliveries(store, fallback=fallback, now=now)
    return replace(oncall, claims_completed=finished, resolves_repaired=repaired, heartbeat_pages=paged,
                   heartbeat_recoveries=recovered, messages_sent=oncall.messages_sent + len(report.sent),
                   messages_already_sent=oncall.messages_already_sent + len(report.already_sent),
                   deliveries_settled=followed.settled, deliveries_failed=followed.failed,
                   fallbacks_queued=followed.fallbacks)


def _current(row: Mapping[str, Any] | None, starts_at: datetime) -> bool:
    if row is None:
        return False
    stored = StoredAlert.from_row(row)
    return stored.status == "firing" and stored.notified_status == "firing" and stored.starts_at == starts_at


def run_oncall(store: OncallStore, *, routes: Sequence[Route], policy: Policy, signer: Signer,
               shaper: RowShaper, now: datetime) -> ScheduleSummary:
    """One summary per topic of the SMS held back until now, then the escalations and "stable again" messages
    due (their SMS past the budget wait for the next run's summary)."""
    summaries_sent, summary_report = summarise_held(store, policy, now)
    pages = (store.find_events(kinds=PAGES, severities=tuple(sorted(CRITICAL_SEVERITIES)),
                               since=now - policy.escalation_horizon, limit=ESCALATION_CANDIDATES)
             if policy.escalate_max > 0 else [])
    markers = (store.find_events(kinds=(Kind.FLAPPING, Kind.STABLE), since=now - HISTORY_LOOKBACK,
                                 limit=FLAP_MARKERS)
               if policy.flap_count > 0 else [])
    flapping_fps = {fp for fp, events in histories(markers).items() if events and events[-1].kind == Kind.FLAPPING}
    fingerprints = sorted({str(row.get("fingerprint")) for row in pages} | flapping_fps)
    history = histories(store.fetch_history(fingerprints, now - HISTORY_LOOKBACK)) if fingerprints else {}
    rows = store.fetch_alerts(fingerprints) if fingerprints else {}

    escalations = []
    for fp in sorted({str(row.get("fingerprint")) for row in pages}):
        due = escalation_due(history.get(fp, []), policy, now)
        if due is not None and _current(rows.get(fp), due.starts_at):
            escalations.append(due)
    stables = [s for s in due_stables({fp: history.get(fp, []) for fp in flapping_fps}, policy, now)
               if s.fingerprint in rows]
    escalated = [escalation_announcement(due, rows[due.fingerprint], routes, policy, signer, now)
                 for due in escalations]
    settled = [stable_announcement(stable, rows[stable.fingerprint], history.get(stable.fingerprint, []), routes,
                                   policy, signer) for stable in stables]
    messages = [*group_announcements(escalated, "ESCALATION"), *group_announcements(settled, "STABLE")]
    gated = gate_sms(messages, store, policy, now)
    report = store.send_messages(list(gated.send)) if gated.send else SendReport((), ())

    sent_ids = frozenset(m.message_id for m in report.sent)
    events = [*(escalated_row(due, rows[due.fingerprint], gated.send, sent_ids, policy, shaper, now)
                for due in escalations),
              *(stable_row(stable, rows[stable.fingerprint], gated.send, sent_ids, shaper, now)
                for stable in stables)]
    if events:
        store.write_events(events)
    if logged := budget_log(gated.send, gated.held, policy, now):
        store.record_sms(logged)

    return ScheduleSummary(
        escalations=len(escalations), stables=len(stables), summaries=summaries_sent, held=len(gated.held),
        messages_sent=len(report.sent) + len(summary_report.sent),
        messages_already_sent=len(report.already_sent) + len(summary_report.already_sent),
    )


def check_heartbeat(store: HeartbeatStore, heartbeat: Heartbeat | None, *, shaper: RowShaper,
                    now: datetime) -> tuple[int, int, SendReport]:
    """The dead-man's switch: page once when the heartbeat is overdue, announce once when it is back. Messages
    first, then the history row, so an overlapping or retried run re-derives the same IDs. Returns (pages,
    recoveries) recorded by this run, and what Appwrite said of the messages."""
    if heartbeat is None:
        return 0, 0, SendReport((), ())
    row = store.newest_alert_named(heartbeat.alertname)
    received = parse_datetime(row.get("lastReceivedAt")) if row is not None else None
    since = now - HEARTBEAT_LOOKBACK
    marks = [event for event in (Event.from_row(mark) for mark in store.find_events(
        kinds=(Kind.HEARTBEAT_MISSED, Kind.HEARTBEAT_BACK), since=since, limit=HEARTBEAT_MARKS))
        if event is not None and event.fingerprint == heartbeat.fingerprint]
    armed_at = None
    if received is None:
        armed = [event for event in (Event.from_row(mark) for mark in store.find_events(
            kinds=(Kind.HEARTBEAT_ARMED,), since=since, limit=HEARTBEAT_MARKS))
            if event is not None and event.fingerprint == heartbeat.fingerprint]
        if armed:
            armed_at = min(event.at for event in armed)
        else:
            store.create_event(armed_row(heartbeat, shaper, now))
            return 0, 0, SendReport((), ())
    change = judge_heartbeat(heartbeat, received=received, status=str(row.get("status") or "") if row else "",
                             armed_at=armed_at, marks=marks, now=now)
    if change is None:
        return 0, 0, SendReport((), ())
    messages = heartbeat_messages(heartbeat, change)
    report = store.send_messages(messages)
    store.write_events([change_row(heartbeat, change, messages, frozenset(m.message_id for m in report.sent),
                                   shaper, now)])
    missed = change.kind is Kind.HEARTBEAT_MISSED
    return int(missed), int(not missed), report
