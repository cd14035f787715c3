"""Once per change of state: firing, re-delivery, resolve, re-fire, stale and racing deliveries, routing,
digests, and Appwrite failing underneath."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env
from tests.harness import Appwrite, deliver

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
CRITICAL = ("critical-alerts", "push"), ("critical-alerts", "sms"), ("monitoring-alerts", "push")


def targets(appwrite: Appwrite) -> list[tuple[str, str]]:
    return sorted((topic, channel) for topic, channel, _ in appwrite.sent())


def ok(host: FunctionHost, *alerts: dict[str, object]) -> dict[str, object]:
    reply = deliver(host.url, p.payload(list(alerts)))
    assert reply.status_code == 200, reply.text
    body: dict[str, object] = reply.json()
    return body


class TestOncePerChange:
    def test_first_firing_pages_each_route_once(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A new critical alert: push and SMS to the critical topic, push to the monitoring topic."""
        ok(host, p.alert(starts_at=T0))
        assert targets(appwrite) == sorted(CRITICAL)
        titles = {text for _, channel, text in appwrite.sent() if channel == "push"}
        assert titles == {"[FIRING] HighCPU on 10.0.0.80:9100 (critical)"}

    def test_redelivery_sends_nothing_new(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Group-interval and repeat re-sends refresh the row but send no message."""
        alert = p.alert(starts_at=T0)
        ok(host, alert)
        before = appwrite.rows()[alert["fingerprint"]]["lastReceivedAt"]
        for _ in range(3):
            assert ok(host, alert)["messagesQueued"] == 0
        assert len(appwrite.messages()) == 3
        assert appwrite.rows()[alert["fingerprint"]]["lastReceivedAt"] >= before

    def test_resolve_is_announced_once_to_the_same_routes(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Resolving sends one [RESOLVED] message per route the firing went to, once."""
        alert = p.alert(starts_at=T0)
        ok(host, alert)
        done = p.resolved(alert, T0 + timedelta(minutes=7))
        ok(host, done)
        ok(host, done)
        resolved = [(t, c) for t, c, text in appwrite.sent() if text.startswith("[RESOLVED]")]
        assert sorted(resolved) == sorted(CRITICAL)
        row = appwrite.rows()[alert["fingerprint"]]
        assert row["status"] == "resolved" and row["endsAt"] == "2026-11-27T03:07:00.000+00:00"
        assert row["notifiedStatus"] == "resolved"

    def test_refire_with_same_starts_at_after_resolve_is_announced(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """An alert that expired and came back (same startsAt) pages again, once."""
        alert = p.alert(starts_at=T0)
        ok(host, alert)
        ok(host, p.resolved(alert))
        ok(host, alert)
        ok(host, alert)
        firing = [text for _, channel, text in appwrite.sent() if channel == "push" and "[FIRING]" in text]
        assert len(firing) == 4  # two topics, twice

    def test_new_occurrence_is_announced(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The same labels firing with a newer startsAt are a new occurrence."""
        ok(host, p.alert(starts_at=T0))
        ok(host, p.resolved(p.alert(starts_at=T0)))
        ok(host, p.alert(starts_at=T0 + timedelta(hours=1)))
        assert len(appwrite.messages()) == 9

    def test_stale_delivery_changes_nothing(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A delivery older than the stored occurrence leaves the row and sends nothing."""
        newer = p.alert(starts_at=T0 + timedelta(hours=1))
        ok(host, newer)
        row = appwrite.rows()[newer["fingerprint"]]
        reply = ok(host, p.resolved(p.alert(starts_at=T0)))
        assert reply["stale"] == 1
        assert appwrite.rows()[newer["fingerprint"]] == row
        assert len(appwrite.messages()) == 3

    def test_resolved_never_seen_firing_is_stored_silently(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A resolved alert we never saw firing is stored and not announced."""
        alert = p.resolved(p.alert(starts_at=T0))
        ok(host, alert)
        assert appwrite.rows()[alert["fingerprint"]]["status"] == "resolved"
        assert appwrite.messages() == []

    def test_same_fingerprint_twice_in_one_payload(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Firing then resolved for one fingerprint in one payload: both announced, one row."""
        alert = p.alert(severity="warning", starts_at=T0)
        ok(host, alert, p.resolved(alert))
        assert [text.split("]")[0] for _, _, text in appwrite.sent()] == ["[FIRING", "[RESOLVED"]
        assert appwrite.rows()[alert["fingerprint"]]["status"] == "resolved"

    def test_racing_deliveries_in_separate_processes_page_once(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """The same delivery posted 8 times at once, across worker processes, sends each message once."""
        body = p.payload([p.alert(starts_at=T0), p.alert("DiskFull", starts_at=T0)])
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda _: deliver(host.url, body), range(8)))
        assert all(reply.status_code == 200 for reply in replies)
        assert len(appwrite.messages()) == 6
        assert sum(r.json()["messagesQueued"] for r in replies) == 6

    def test_second_receiver_does_not_page_again(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The same alert arriving through another receiver is the same change: no second page."""
        alert = p.alert(starts_at=T0)
        deliver(host.url, p.payload([alert], receiver="team-a"))
        deliver(host.url, p.payload([alert], receiver="team-b"))
        assert len(appwrite.messages()) == 3


class TestRouting:
    @pytest.mark.parametrize(
        ("severity", "expected"),
        [
            ("critical", sorted(CRITICAL)),
            ("emergency", sorted(CRITICAL)),
            ("Critical", sorted(CRITICAL)),
            ("warning", [("monitoring-alerts", "push")]),
            (None, [("monitoring-alerts", "push")]),
        ],
    )
    def test_default_routes(self, host: FunctionHost, appwrite: Appwrite, severity: str | None,
                            expected: list[tuple[str, str]]) -> None:
        """Each alert is routed on its own severity label."""
        ok(host, p.alert(severity=severity))
        assert targets(appwrite) == expected

    def test_mixed_group_routes_per_alert(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A group mixing severities routes each alert on its own label, not commonLabels."""
        ok(host, p.alert("A", severity="critical"), p.alert("B", severity="warning"))
        assert len([1 for t, c in targets(appwrite) if t == "critical-alerts"]) == 2
        assert len([1 for t, c in targets(appwrite) if t == "monitoring-alerts"]) == 2

    def test_custom_routes_with_email(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """ALERT_ROUTES replaces the defaults: a team topic and email for warnings."""
        routes = ('[{"name": "mlops", "match": {"labels": {"team": "mlops"}}, "topic": "mlops", "channels": ["push"]},'
                  ' {"name": "mail", "match": {"severity": ["warning"]}, "topic": "ops-mail", "channels": ["email"]}]')
        env = function_env(emulator, ALERT_ROUTES=routes)
        with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key) as custom:
            ok(custom, p.alert("Drift", severity="warning", labels={"team": "mlops"}))
        assert targets(appwrite) == [("mlops", "push"), ("ops-mail", "email")]
        email = next(m for m in appwrite.messages() if m.providertype == "email")
        assert email.data["subject"].startswith("[FIRING] Drift")
        assert "Severity:    warning" in email.data["content"]

    def test_sms_fits_one_segment(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The SMS is one line of at most 160 characters."""
        ok(host, p.alert(annotations={"summary": "x" * 400}))
        sms = next(m for m in appwrite.messages() if m.providertype == "sms")
        assert len(sms.data["content"]) <= 160 and "\n" not in sms.data["content"]


class TestDigest:
    def test_many_changes_become_one_digest_per_topic_and_channel(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """More than 5 announcements to one topic and channel become one digest listing them."""
        alerts = p.many(8, severity="critical")
        ok(host, *alerts)
        assert targets(appwrite) == sorted(CRITICAL)
        push = next(m for m in appwrite.messages() if m.providertype == "push")
        assert "8 firing" in push.data["title"]
        assert push.data["body"].count("[FIRING]") == 8

    def test_five_changes_are_sent_one_by_one(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Up to 5 announcements go out individually."""
        ok(host, *p.many(5, severity="warning"))
        assert len(appwrite.messages()) == 5


class TestAppwriteFailures:
    def test_transient_failure_is_retried_inside_the_function(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """One 503 from Appwrite is absorbed by an internal retry: 200, stored, announced once."""
        appwrite.control.add_fault(r"/rows$", method="PUT", count=1, status=503)
        alert = p.alert()
        assert deliver(host.url, p.payload([alert])).status_code == 200
        assert alert["fingerprint"] in appwrite.rows()
        assert len(appwrite.messages()) == 3

    @pytest.mark.parametrize(
        ("path", "method", "mode"),
        [
            (r"/rows$", "GET", "status"),
            (r"/rows$", "PUT", "status"),
            (r"/rows$", "PUT", "drop_after"),
            (r"/messaging/messages/sms$", "POST", "status"),
            (r"/messaging/messages/push$", "POST", "drop_after"),
        ],
        ids=["lookup-503", "write-503", "write-lost-answer", "sms-503", "push-lost-answer"],
    )
    def test_outage_gives_503_and_the_retry_is_exact(
        self, host: FunctionHost, appwrite: Appwrite, path: str, method: str, mode: str
    ) -> None:
        """Appwrite failing at any step: 503 for Alertmanager, and its retry stores all and pages once."""
        appwrite.control.add_fault(path, method=method, count=10, mode=mode, status=503)
        body = p.payload([p.alert("A"), p.alert("B", severity="warning")])
        assert deliver(host.url, body).status_code == 503
        appwrite.control.clear_faults()
        assert deliver(host.url, body).status_code == 200
        assert len(appwrite.rows()) == 2
        assert sorted(targets(appwrite)) == sorted([*CRITICAL, ("monitoring-alerts", "push")])

    def test_missing_table_is_500_with_the_fix_logged(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Without the table: 500 and a log line naming the bootstrap script."""
        appwrite.control.reset()
        assert deliver(host.url, p.payload([p.alert()])).status_code == 500
        assert "bootstrap_schema.py" in " ".join(host.logs()[-1]["errors"])

    def test_key_without_scopes_is_500_with_the_fix_logged(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """A key missing rows scopes: 500 and a log line naming the scopes."""
        appwrite.control.add_key("standard_weak", ["messages.write"])
        with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key="standard_weak") as weak:
            assert deliver(weak.url, p.payload([p.alert()])).status_code == 500
            assert "rows.read" in " ".join(weak.logs()[-1]["errors"])
        assert appwrite.messages() == []
