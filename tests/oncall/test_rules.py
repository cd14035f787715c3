"""The on-call rules, decided from an alert's history and a given `now`: acknowledgements, flapping,
escalations and the SMS budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from src.core.events import RULE_COLUMNS
from src.core.kinds import Kind
from src.core.rows import StoredAlert
from src.formats import format_datetime
from src.oncall.acknowledge import AckVerdict, judge_ack
from src.oncall.announce import notice_from_row
from src.oncall.escalate import escalation_due
from src.oncall.flapping import Change, FlapVerdict, judge_changes, open_flap
from src.oncall.history import Event, first_firing_episode, histories
from src.oncall.links import AckLink, episode_tag, expiry_for
from src.oncall.policy import Policy
from src.oncall.sms_budget import SmsCandidate, apply_sms_budget
from src.oncall.sms_summary import Held, due_summaries, summary_text
from src.oncall.stable import due_stables

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
FP = "ffdd78bd7f1cd0ed"
POLICY = Policy()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def event(kind: str, at: datetime, *, id: str = "", starts: datetime = T0, severity: str = "critical",
          episode: str = "", level: int = 0, status: str = "") -> Event:
    status = status or ("resolved" if kind == Kind.RESOLVED else "firing")
    return Event(id or f"{kind}@{at.isoformat()}", FP, kind, status, starts, at, severity, episode, level)


def stored(status: str = "firing", starts: datetime = T0, told: str | None = None) -> StoredAlert:
    row = {"status": status, "startsAt": format_datetime(starts), "notifiedStatus": told or status}
    return StoredAlert.from_row(row)


def link(episode: str, starts: datetime = T0) -> AckLink:
    return AckLink(FP, starts, expiry_for(T0), episode_tag(episode))


class TestAcknowledge:
    def test_a_current_firing_episode_is_acknowledged(self) -> None:
        """A link made for the current firing acknowledges that episode (named by its event)."""
        judged = judge_ack(link("e1"), stored(), [event(Kind.FIRED, T0, id="e1")])
        assert (judged.verdict, judged.episode, judged.changes) == (AckVerdict.ACKNOWLEDGED, "e1", True)

    def test_a_second_click_finds_the_first_acknowledgement(self) -> None:
        """Acknowledging again changes nothing and reports when and from where it was first done."""
        history = [event(Kind.FIRED, T0, id="e1"),
                   Event("a1", FP, Kind.ACKNOWLEDGED, "firing", T0, T0 + minutes(3), episode="e1",
                         client_ip="203.0.113.9")]
        judged = judge_ack(link("e1"), stored(), history)
        assert (judged.verdict, judged.at, judged.client_ip) == (AckVerdict.ALREADY, T0 + minutes(3), "203.0.113.9")
        assert not judged.changes

    def test_a_resolved_occurrence_is_not_acknowledged(self) -> None:
        """Once the occurrence resolved, its link says so and changes nothing."""
        judged = judge_ack(link("e1"), stored("resolved"), [event(Kind.FIRED, T0, id="e1"),
                                                            event(Kind.RESOLVED, T0 + minutes(5))])
        assert judged.verdict is AckVerdict.RESOLVED and not judged.changes

    def test_a_resolve_recorded_before_its_row_counts(self) -> None:
        """The history is written before the row: a recorded resolve already ends the episode."""
        history = [event(Kind.FIRED, T0, id="e1"), event(Kind.RESOLVED, T0 + minutes(5))]
        judged = judge_ack(link("e1"), stored(), history)
        assert judged.verdict is AckVerdict.RESOLVED

    def test_an_old_link_does_not_acknowledge_a_refire(self) -> None:
        """Fired, resolved, fired again (same startsAt): the first firing's link acknowledges nothing and says
        when it resolved; the re-fire's own link acknowledges the re-fire."""
        history = [event(Kind.FIRED, T0, id="e1"), event(Kind.RESOLVED, T0 + minutes(10)),
                   event(Kind.REFIRED, T0 + minutes(20), id="e2")]
        old = judge_ack(link("e1"), stored(), history)
        assert (old.verdict, old.at, old.changes) == (AckVerdict.REFIRED, T0 + minutes(10), False)
        current = judge_ack(link("e2"), stored(), history)
        assert (current.verdict, current.episode) == (AckVerdict.ACKNOWLEDGED, "e2")

    def test_a_newer_occurrence_supersedes_the_link(self) -> None:
        """The alert fired again with a newer startsAt: the old occurrence is over, nothing changes."""
        judged = judge_ack(link("e1"), stored(starts=T0 + minutes(30)), [])
        assert judged.verdict is AckVerdict.SUPERSEDED

    def test_an_alert_without_a_row_is_unknown(self) -> None:
        """No row for the fingerprint: nothing to acknowledge."""
        assert judge_ack(link("e1"), None, []).verdict is AckVerdict.UNKNOWN

    def test_an_alert_paged_before_the_history_began_is_acknowledged_by_its_first_firing(self) -> None:
        """Without a recorded page the episode is the occurrence's first firing; another tag matches nothing."""
        first = first_firing_episode(FP, T0)
        judged = judge_ack(link(first), stored(), [])
        assert (judged.verdict, judged.episode) == (AckVerdict.ACKNOWLEDGED, first)
        assert judge_ack(link("e9"), stored(), []).verdict is AckVerdict.UNKNOWN


def changes_at(*offsets: float, kinds: tuple[str, ...] = (Kind.FIRED, Kind.RESOLVED)) -> list[Event]:
    return [event(kinds[i % len(kinds)], T0 + minutes(m), id=f"c{i}") for i, m in enumerate(offsets)]


class TestFlapping:
    def test_the_fourth_change_within_the_window_starts_flapping(self) -> None:
        """Three changes are announced; the fourth within 30 minutes becomes one "flapping" message."""
        history = changes_at(0, 5, 10)
        verdicts = judge_changes([Change("c3", FP, "resolved")], {FP: history}, POLICY, T0 + minutes(15))
        assert verdicts == [FlapVerdict.START]
        assert judge_changes([Change("c3", FP, "resolved")], {FP: history[1:]}, POLICY,
                             T0 + minutes(15)) == [FlapVerdict.NORMAL]

    def test_a_newer_occurrence_firing_while_firing_is_no_flip(self) -> None:
        """Fired, resolved, fired, then a newer occurrence fires: announced, but only three flips."""
        history = changes_at(0, 5, 10)
        assert judge_changes([Change("c3", FP, "firing")], {FP: history}, POLICY,
                             T0 + minutes(15)) == [FlapVerdict.NORMAL]

    def test_changes_while_flapping_are_not_announced(self) -> None:
        """After the "flapping" message, further changes say nothing until the alert is stable."""
        history = [*changes_at(0, 5, 10, 15), event(Kind.FLAPPING, T0 + minutes(15), episode="c3")]
        assert judge_changes([Change("c4", FP, "firing")], {FP: history}, POLICY,
                             T0 + minutes(40)) == [FlapVerdict.SUPPRESS]

    def test_a_full_quiet_window_ends_the_episode(self) -> None:
        """30 minutes without a change: the episode is over and the next change is announced normally."""
        history = [*changes_at(0, 5, 10, 15), event(Kind.FLAPPING, T0 + minutes(15), episode="c3")]
        assert open_flap(history, POLICY.flap_window, T0 + minutes(45)) is None
        assert judge_changes([Change("c4", FP, "firing")], {FP: history}, POLICY,
                             T0 + minutes(46)) == [FlapVerdict.NORMAL]

    def test_a_retry_decides_as_its_first_attempt(self) -> None:
        """Rows the same delivery recorded before (the change, its flapping row) are left out of the count."""
        history = [*changes_at(0, 5, 10), event(Kind.RESOLVED, T0 + minutes(15), id="c3"),
                   event(Kind.FLAPPING, T0 + minutes(15), episode="c3")]
        assert judge_changes([Change("c3", FP, "resolved")], {FP: history}, POLICY,
                             T0 + minutes(16)) == [FlapVerdict.START]

    def test_one_alert_twice_in_a_payload_counts_both_changes(self) -> None:
        """Firing then resolved in one delivery: the first starts flapping, the second is inside it."""
        history = changes_at(0, 5)
        firing, resolved = Change("x1", FP, "firing"), Change("x2", FP, "resolved")
        verdicts = judge_changes([firing, resolved], {FP: history}, POLICY, T0 + minutes(6))
        assert verdicts == [FlapVerdict.NORMAL, FlapVerdict.START]
        verdicts = judge_changes([firing, resolved, Change("x3", FP, "firing")], {FP: history},
                                 POLICY, T0 + minutes(6))
        assert verdicts == [FlapVerdict.NORMAL, FlapVerdict.START, FlapVerdict.SUPPRESS]

    def test_without_history_only_changes_within_the_delivery_count(self) -> None:
        """No history: a single change is announced; one alert flipping within a delivery still counts each flip,
        and with FLAP_COUNT=1 a first change is already flapping."""
        now = T0 + minutes(1)
        flips = [Change("y1", FP, "firing"), Change("y2", FP, "resolved"), Change("y3", FP, "firing")]
        assert judge_changes([Change("y0", "other", "firing")], {}, POLICY, now) == [FlapVerdict.NORMAL]
        assert judge_changes([*flips, Change("y4", FP, "resolved")], {}, POLICY, now) == [
            FlapVerdict.NORMAL, FlapVerdict.NORMAL, FlapVerdict.NORMAL, FlapVerdict.START]
        assert judge_changes([Change("y0", "other", "firing")], {}, Policy(flap_count=1), now) == [
            FlapVerdict.START]

    def test_flap_count_zero_turns_it_off(self) -> None:
        """FLAP_COUNT=0: every change is announced."""
        policy = Policy(flap_count=0)
        assert judge_changes([Change("c9", FP, "resolved")], {FP: changes_at(0, 1, 2, 3, 4)}, policy,
                             T0 + minutes(5)) == [FlapVerdict.NORMAL]

    def test_stable_is_due_once_a_full_window_passed_and_not_before(self) -> None:
        """The "stable again" message is due 30 minutes after the last change, once."""
        history = [*changes_at(0, 5, 10, 15, 20), event(Kind.FLAPPING, T0 + minutes(15), episode="c3")]
        assert due_stables({FP: history}, POLICY, T0 + minutes(49)) == []
        (stable,) = due_stables({FP: history}, POLICY, T0 + minutes(50))
        assert (stable.episode, stable.since, stable.changes) == ("c3", T0 + minutes(20), 2)
        done = [*history, event(Kind.STABLE, T0 + minutes(50), episode="c3")]
        assert due_stables({FP: done}, POLICY, T0 + minutes(60)) == []


def page_history(*extra: Event, severity: str = "critical") -> list[Event]:
    return [event(Kind.FIRED, T0, id="e1", severity=severity), *extra]


def escalated(level: int, at: datetime, episode: str = "e1") -> Event:
    return event(Kind.ESCALATED, at, episode=episode, level=level)


class TestEscalation:
    def test_first_level_is_due_after_escalate_after(self) -> None:
        """15 minutes after the page, not acknowledged: level 1; a minute earlier, nothing."""
        assert escalation_due(page_history(), POLICY, T0 + minutes(14.9)) is None
        due = escalation_due(page_history(), POLICY, T0 + minutes(15))
        assert due is not None and (due.episode, due.level, due.paged_at) == ("e1", 1, T0)

    def test_each_level_waits_for_the_previous_one(self) -> None:
        """Level 2 is due 15 minutes after level 1 went out, and never more than ESCALATE_MAX levels."""
        history = page_history(escalated(1, T0 + minutes(17)))
        assert escalation_due(history, POLICY, T0 + minutes(31)) is None
        due = escalation_due(history, POLICY, T0 + minutes(32))
        assert due is not None and due.level == 2
        done = page_history(*(escalated(n, T0 + minutes(15 * n)) for n in (1, 2, 3)))
        assert escalation_due(done, POLICY, T0 + minutes(200)) is None

    def test_acknowledging_stops_it(self) -> None:
        """An acknowledgement of the episode stops every further level."""
        history = page_history(Event("a", FP, Kind.ACKNOWLEDGED, "firing", T0, T0 + minutes(2), episode="e1"))
        assert escalation_due(history, POLICY, T0 + minutes(60)) is None

    def test_resolving_stops_it(self) -> None:
        """A resolve (or any later change) ends the episode: no escalation."""
        history = page_history(event(Kind.RESOLVED, T0 + minutes(5), status="resolved"))
        assert escalation_due(history, POLICY, T0 + minutes(60)) is None

    def test_an_acknowledgement_of_an_earlier_episode_does_not_count(self) -> None:
        """After a re-fire the new episode escalates even though the first one was acknowledged."""
        history = page_history(Event("a", FP, Kind.ACKNOWLEDGED, "firing", T0, T0 + minutes(2), episode="e1"),
                               event(Kind.RESOLVED, T0 + minutes(5)), event(Kind.REFIRED, T0 + minutes(10), id="e2"))
        due = escalation_due(history, POLICY, T0 + minutes(25))
        assert due is not None and (due.episode, due.level) == ("e2", 1)

    def test_only_critical_alerts_escalate(self) -> None:
        """A warning is never escalated; ESCALATE_MAX=0 turns escalation off."""
        assert escalation_due(page_history(severity="warning"), POLICY, T0 + minutes(60)) is None
        assert escalation_due(page_history(), Policy(escalate_max=0), T0 + minutes(60)) is None

    def test_a_flapping_alert_escalates_only_after_stable_again(self) -> None:
        """While flapping nothing escalates; after "stable again" (firing) the wait starts from that message."""
        flapping = page_history(event(Kind.FLAPPING, T0, episode="e1"))
        assert escalation_due(flapping, POLICY, T0 + minutes(60)) is None
        stable = [*flapping, event(Kind.STABLE, T0 + minutes(30), episode="e1")]
        assert escalation_due(stable, POLICY, T0 + minutes(44)) is None
        assert escalation_due(stable, POLICY, T0 + minutes(45)) is not None


class TestSmsBudget:
    def test_at_most_the_budget_goes_out_per_topic(self) -> None:
        """With 18 sent in the hour and a budget of 20, two of five go out and three are held."""
        candidates = [SmsCandidate(f"m{i}", "critical-alerts", 1) for i in range(5)]
        sent = {"critical-alerts": [f"old{i}" for i in range(18)]}
        decision = apply_sms_budget(candidates, sent, 20)
        assert decision.send == ("m0", "m1") and decision.hold == ("m2", "m3", "m4")

    def test_topics_have_separate_budgets(self) -> None:
        """A full topic does not hold another topic's SMS."""
        candidates = [SmsCandidate("a", "full", 1), SmsCandidate("b", "empty", 1)]
        decision = apply_sms_budget(candidates, {"full": ["x", "y"]}, 2)
        assert decision.send == ("b",) and decision.hold == ("a",)

    def test_a_retried_sms_goes_out_again_without_counting_twice(self) -> None:
        """An SMS already recorded as sent (an earlier attempt) is sent again (Appwrite refuses the copy)."""
        decision = apply_sms_budget([SmsCandidate("m1", "t", 1)], {"t": ["m1", "o1"]}, 2)
        assert decision.send == ("m1",)

    def test_budget_zero_turns_it_off(self) -> None:
        """SMS_BUDGET_PER_HOUR=0: nothing is held."""
        assert apply_sms_budget([SmsCandidate("m", "t", 1)], {"t": ["x"] * 50}, 0).hold == ()

    def test_one_summary_per_topic_naming_count_and_first_time(self) -> None:
        """Held SMS become one summary per topic, counting the alerts they stood for."""
        held = [Held("h1", "t", T0 + minutes(2), 1), Held("h2", "t", T0 + minutes(3), 13),
                Held("h3", "u", T0 + minutes(4), 1)]
        first, second = due_summaries(held, [])
        assert (first.topic, first.alerts, summary_text(first)) == (
            "t", 14, "14 more alerts since 10:02 UTC, see push/email")
        assert second.topic == "u" and summary_text(second).startswith("1 more alert since")
        assert [s.topic for s in due_summaries(held, ["t"])] == ["u"]

    def test_the_summary_key_depends_on_its_first_held_sms_only(self) -> None:
        """Two overlapping runs that read slightly different held sets still name the same summary."""
        early = [Held("h1", "t", T0, 1)]
        late = [*early, Held("h2", "t", T0 + minutes(1), 1)]
        assert due_summaries(early, [])[0].key == due_summaries(late, [])[0].key


def test_history_rows_are_grouped_by_alert_oldest_first() -> None:
    """Rows from Appwrite become per-alert lists ordered by time; rows without times are skipped."""
    rows: list[dict[str, Any]] = [
        {"$id": "b", "fingerprint": FP, "kind": Kind.RESOLVED, "status": "resolved",
         "startsAt": format_datetime(T0), "at": format_datetime(T0 + minutes(5))},
        {"$id": "a", "fingerprint": FP, "kind": Kind.FIRED, "status": "firing", "startsAt": format_datetime(T0),
         "at": format_datetime(T0), "level": None},
        {"$id": "c", "fingerprint": FP, "kind": Kind.FIRED, "status": "firing", "startsAt": None, "at": None},
    ]
    assert [e.id for e in histories(rows)[FP]] == ["a", "b"]


def test_an_event_needs_only_the_columns_the_store_reads_for_the_rules() -> None:
    """The store reads history rows for the rules with `RULE_COLUMNS` only: every field of an event comes from
    them, so an escalation row read that way is the same event as read whole."""
    row: dict[str, Any] = {
        "$id": "e1", "fingerprint": FP, "alertname": "DiskFull", "severity": "critical", "instance": "db-1:9100",
        "status": "firing", "startsAt": format_datetime(T0), "endsAt": None, "at": format_datetime(T0 + minutes(20)),
        "kind": Kind.ESCALATED.value, "reason": "unacknowledged", "channels": "[]", "pushMessages": 1,
        "smsMessages": 1, "emailMessages": 0, "receiver": "r", "groupKey": "{}", "episode": "ep1", "level": 2,
        "clientIp": "198.51.100.7", "claim": None, "messageId": None, "channel": None, "topic": None,
        "outcome": None, "delivered": None,
    }
    selected = {column: row[column] for column in ("$id", *RULE_COLUMNS)}
    assert Event.from_row(selected) == Event.from_row(row)
    assert Event.from_row(row) == Event("e1", FP, "escalated", "firing", T0, T0 + minutes(20), "critical", "ep1", 2,
                                        "198.51.100.7")


@pytest.mark.parametrize("labels", ['{"team": "db"}', "not json", None])
def test_a_notice_is_rebuilt_from_a_stored_row(labels: str | None) -> None:
    """Scheduled messages describe the alert from its row; unreadable label JSON gives no labels."""
    row = {"$id": FP, "fingerprint": FP, "alertname": "DiskFull", "severity": "critical", "instance": "db-1",
           "status": "firing", "startsAt": format_datetime(T0), "labels": labels,
           "annotations": '{"runbook_url": "https://runbooks/disk"}', "summary": "Disk 95% full"}
    notice = notice_from_row(row, "key")
    assert (notice.alertname, notice.instance, notice.link) == ("DiskFull", "db-1", "https://runbooks/disk")
    assert notice.labels == ({"team": "db"} if labels and labels.startswith("{") else {})
