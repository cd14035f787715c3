"""The time rules, run in this process at chosen times (the `now` every rule reads) with the real store
against the emulator: escalation levels and what stops them, a flapping alert's one "flapping" and one
"stable again" message, and the hourly SMS window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from devkit import payloads as p
from devkit.emulator import Emulator
from tests.harness import Appwrite
from tests.oncall.conftest import BASE, Oncall, ack_link, events, oncall_with, sms_log, texts, titles

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
STARTS = T0 - timedelta(minutes=3)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def escalation_titles(appwrite: Appwrite) -> list[str]:
    return [title for title in titles(appwrite, "critical-alerts") if title.startswith("[ESCALATION ")]


class TestEscalationLevels:
    def test_levels_follow_escalate_after_up_to_escalate_max(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Paged at 10:00: level 1 at 10:15, level 2 at 10:30, level 3 at 10:45, then nothing; never early."""
        oncall.deliver(p.alert(starts_at=STARTS), at=at(0))
        sent = {minute: oncall.schedule(at(minute)).escalations for minute in (14, 15, 16, 29, 30, 44, 45, 60, 120)}
        assert sent == {14: 0, 15: 1, 16: 0, 29: 0, 30: 1, 44: 0, 45: 1, 60: 0, 120: 0}
        assert escalation_titles(appwrite) == [f"[ESCALATION {n}/3] HighCPU on 10.0.0.80:9100 (critical)"
                                               for n in (1, 2, 3)]
        assert [e["level"] for e in events(appwrite, "escalated")] == [1, 2, 3]

    def test_a_late_run_escalates_one_level_at_a_time(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Runs that resume after 40 minutes send level 1, and level 2 only 15 minutes after it."""
        oncall.deliver(p.alert(starts_at=STARTS), at=at(0))
        assert [oncall.schedule(at(minute)).escalations for minute in (40, 41, 55)] == [1, 0, 1]

    def test_every_escalation_carries_a_link_that_stops_the_next(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """The level-1 push carries an acknowledge link; opening it records the client IP and no level 2 follows."""
        oncall.deliver(p.alert(starts_at=STARTS), at=at(0))
        oncall.schedule(at(15))
        link = ack_link(appwrite, "[ESCALATION 1/3]")
        assert link.startswith(f"{BASE}/ack?")
        reply = oncall.open(link, at(16))
        assert reply.status == 200 and "Acknowledged" in str(reply.body)
        assert [(e["clientIp"], e["at"][:16]) for e in events(appwrite, "acknowledged")] == [
            ("198.51.100.7", "2026-11-27T10:16")]
        assert [oncall.schedule(at(minute)).escalations for minute in (30, 45, 60)] == [0, 0, 0]

    def test_resolving_stops_it(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Level 1 went out, then the alert resolved: no level 2."""
        alert = p.alert(starts_at=STARTS)
        oncall.deliver(alert, at=at(0))
        assert oncall.schedule(at(15)).escalations == 1
        oncall.deliver(p.resolved(alert, at(20)), at=at(20))
        assert [oncall.schedule(at(minute)).escalations for minute in (30, 45)] == [0, 0]

    def test_a_refire_escalates_anew(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Acknowledged, resolved, then firing again: the new firing escalates from its own page."""
        alert = p.alert(starts_at=STARTS)
        oncall.deliver(alert, at=at(0))
        assert oncall.open(ack_link(appwrite), at(1)).status == 200
        oncall.deliver(p.resolved(alert, at(5)), at=at(5))
        oncall.deliver(alert, at=at(10))
        assert [oncall.schedule(at(minute)).escalations for minute in (20, 25)] == [0, 1]

    def test_overlapping_runs_send_each_level_once(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Four runs at the same moment: one level-1 escalation per target, one history row."""
        oncall.deliver(p.alert(starts_at=STARTS), at=at(0))
        with ThreadPoolExecutor(max_workers=4) as pool:
            summaries = list(pool.map(lambda _: oncall.schedule(at(15)), range(4)))
        assert sum(s.messages_sent for s in summaries) == 3
        assert len(escalation_titles(appwrite)) == 1 and len(events(appwrite, "escalated")) == 1

    def test_escalations_of_many_alerts_become_one_digest_per_target(
        self, oncall: Oncall, appwrite: Appwrite
    ) -> None:
        """Eight pages due at once: one escalation digest per topic and channel, listing each link."""
        oncall.deliver(*(p.alert(f"Node{i}", starts_at=STARTS) for i in range(8)), at=at(0))
        assert oncall.schedule(at(15)).escalations == 8
        assert escalation_titles(appwrite) == []
        digests = [title for title in titles(appwrite, "critical-alerts") if title.startswith("[ESCALATION]")]
        assert digests == ["[ESCALATION] 8 alerts (critical-alerts)"]


def flap(oncall: Oncall, alert: dict[str, object], minutes: list[float]) -> None:
    """Alternate firing and resolved at these minutes, starting with firing (same startsAt: re-fires)."""
    for i, minute in enumerate(minutes):
        oncall.deliver(alert if i % 2 == 0 else p.resolved(alert, at(minute)), at=at(minute))


class TestFlapping:
    def test_one_flapping_and_one_stable_message(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Seven changes two minutes apart: three announced, the fourth becomes "flapping", the rest say
        nothing; scheduled runs say "stable again" (firing) once, 30 minutes after the last change."""
        alert = p.alert("Flappy", severity="warning", starts_at=STARTS)
        flap(oncall, alert, [0, 2, 4, 6, 8, 10, 12])
        for minute in (13, 30, 41.9):
            assert oncall.schedule(at(minute)).stables == 0
        assert oncall.schedule(at(42)).stables == 1
        assert oncall.schedule(at(43)).stables == 0
        assert [title.split(" on ")[0] for title in titles(appwrite)] == [
            "[FIRING] Flappy", "[RESOLVED] Flappy", "[FIRING] Flappy", "[FLAPPING] Flappy", "[STABLE, FIRING] Flappy"]
        assert [len(events(appwrite, kind)) for kind in ("flapping", "stable")] == [1, 1]
        silenced = [e for e in events(appwrite) if e["reason"].endswith("flapping: not announced")]
        assert len(silenced) == 3

    def test_after_stable_changes_are_announced_again(self, oncall: Oncall, appwrite: Appwrite) -> None:
        """Once stable, the next change is announced as usual; a new burst is a new flapping episode."""
        alert = p.alert("Flappy", severity="warning", starts_at=STARTS)
        flap(oncall, alert, [0, 1, 2, 3])
        assert oncall.schedule(at(34)).stables == 1
        assert titles(appwrite)[-1].startswith("[STABLE, RESOLVED] Flappy")
        flap(oncall, alert, [50, 51, 52])
        assert [t.split(" on ")[0] for t in titles(appwrite)[-3:]] == [
            "[FIRING] Flappy", "[RESOLVED] Flappy", "[FIRING] Flappy"]
        oncall.deliver(p.resolved(alert, at(53)), at=at(53))
        assert [t.split(" ")[0] for t in titles(appwrite)].count("[FLAPPING]") == 2

    def test_a_stable_critical_alert_escalates_from_the_stable_message(
        self, oncall: Oncall, appwrite: Appwrite
    ) -> None:
        """A critical alert that flapped is not escalated while flapping; "stable again, firing" carries a link,
        and escalation counts from it."""
        alert = p.alert(starts_at=STARTS)
        flap(oncall, alert, [0, 1, 2, 3, 4])
        assert oncall.schedule(at(20)).escalations == 0
        assert oncall.schedule(at(34)).stables == 1
        assert ack_link(appwrite, "[STABLE, FIRING]").startswith(f"{BASE}/ack?")
        assert [oncall.schedule(at(minute)).escalations for minute in (48, 49)] == [0, 1]

    def test_racing_copies_of_the_fourth_change_send_one_flapping_message(
        self, oncall: Oncall, appwrite: Appwrite
    ) -> None:
        """The change that starts flapping, delivered four times at once: one "flapping" message, one row."""
        alert = p.alert("Flappy", severity="warning", starts_at=STARTS)
        flap(oncall, alert, [0, 1, 2])
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: oncall.deliver(p.resolved(alert, at(3)), at=at(3)), range(4)))
        assert [t.split(" ")[0] for t in titles(appwrite)].count("[FLAPPING]") == 1
        assert len(events(appwrite, "flapping")) == 1


class TestSmsWindow:
    def test_the_budget_is_per_hour_and_the_summary_once_per_hour(
        self, emulator: Emulator, appwrite: Appwrite
    ) -> None:
        """Budget 2: of three SMS at 10:00 one is held and summarised at 10:01; at 10:30 another is held but its
        summary waits until an hour after the first; at 11:05 SMS go out again."""
        oncall = oncall_with(emulator, SMS_BUDGET_PER_HOUR="2", ESCALATE_MAX="0")
        for i in range(3):
            oncall.deliver(p.alert(f"A{i}", starts_at=STARTS), at=at(0))
        assert sms_log(appwrite) == {"sent": 2, "held": 1}
        assert oncall.schedule(at(1)).summaries == 1
        assert texts(appwrite)[-1] == "1 more alert since 10:00 UTC, see push/email"
        assert oncall.deliver(p.alert("B", starts_at=STARTS), at=at(30)).sms_held == 1
        assert oncall.schedule(at(31)).summaries == 0
        assert oncall.schedule(at(60)).summaries == 0
        assert oncall.schedule(at(61.1)).summaries == 1
        assert texts(appwrite)[-1] == "1 more alert since 10:30 UTC, see push/email"
        assert oncall.deliver(p.alert("C", starts_at=STARTS), at=at(65)).sms_held == 0
        assert len(texts(appwrite)) == 2 + 1 + 1 + 1

    def test_escalation_sms_count_against_the_budget(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """Budget 1: the page's SMS uses it; the escalation's SMS is held (its push goes out), and the next run
        summarises it."""
        oncall = oncall_with(emulator, SMS_BUDGET_PER_HOUR="1")
        oncall.deliver(p.alert(starts_at=STARTS), at=at(0))
        summary = oncall.schedule(at(15))
        assert (summary.escalations, summary.held, summary.summaries) == (1, 1, 0)
        assert len(escalation_titles(appwrite)) == 1 and len(texts(appwrite)) == 1
        assert oncall.schedule(at(16)).summaries == 1
        assert texts(appwrite)[-1] == "1 more alert since 10:15 UTC, see push/email"
