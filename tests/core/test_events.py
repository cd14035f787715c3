"""The alert history through the runtime host and the emulator: one row per change of state, with the right
kind, reason and channels; none for a plain re-delivery; never two for one change, whatever is retried."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from devkit.runtime.worker import CLOCK_OFFSET_HEADER
from ops.provision import load_settings, run
from scripts.bootstrap_schema import main as bootstrap
from src.core.schema import load_schema
from tests.conftest import REPO_ROOT, function_env
from tests.endpoints.metrics_support import events, kinds, metrics_host, ok  # noqa: F401 (metrics_host: the `host` fixture)
from tests.harness import PROJECT_ID, Appwrite, deliver, scheduled_run

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
HISTORY_CREATE = "POST /tablesdb/{databaseId}/tables/{tableId}/rows"
HISTORY_PATH = r"/tables/alert_events/rows$"


def changes(appwrite: Appwrite) -> list[dict[str, Any]]:
    """The history rows of changes of state (without the scheduled run's rows following messages)."""
    return [event for event in events(appwrite) if event["kind"] != "delivery"]


def the_change(appwrite: Appwrite) -> tuple[set[str], str | None]:
    """The one change recorded: the results its messages show, and who claims it (None once completed)."""
    [event] = changes(appwrite)
    return {c["result"] for c in event["channels"]}, event["claim"]


class TestOneEventPerChange:
    def test_first_firing_is_recorded_with_where_it_went(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A new critical alert: one `fired` row naming the alert, the delivery and its three messages, claimed
        (pending) until the scheduled run finds them sent."""
        before = datetime.now(UTC) - timedelta(seconds=1)
        alert = p.alert(starts_at=T0)
        assert ok(host, alert, receiver="team-a")["eventsRecorded"] == 1
        [event] = changes(appwrite)
        assert {key: event[key] for key in ("fingerprint", "alertname", "severity", "instance", "status", "startsAt",
                                            "endsAt", "kind", "reason", "receiver")} == {
            "fingerprint": alert["fingerprint"], "alertname": "HighCPU", "severity": "critical",
            "instance": "10.0.0.80:9100", "status": "firing", "startsAt": "2026-11-27T03:00:00.000+00:00",
            "endsAt": None, "kind": "fired", "reason": "first firing", "receiver": "team-a",
        }
        assert event["groupKey"] == p.payload([alert])["groupKey"]
        assert before <= datetime.fromisoformat(event["at"]) <= datetime.now(UTC)
        sent = {(m.topics[0], m.providertype): m.id for m in appwrite.messages()}
        listed = [("critical-alerts", "push"), ("critical-alerts", "sms"), ("monitoring-alerts", "push")]
        assert [(c["topic"], c["channel"], c["messageId"], c["result"]) for c in event["channels"]] == [
            (*where, sent[where], "pending") for where in listed]
        assert event["claim"]
        assert (event["pushMessages"], event["smsMessages"], event["emailMessages"]) == (2, 1, 0)
        assert scheduled_run(host.url)["claimsCompleted"] == 1
        [event] = changes(appwrite)
        assert [(c["topic"], c["channel"], c["messageId"], c["result"]) for c in event["channels"]] == [
            (*where, sent[where], "sent") for where in listed]
        assert event["claim"] is None

    def test_plain_redelivery_records_nothing_and_makes_no_history_call(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """Group-interval and repeat re-sends of an announced alert (5, 10 and 15 minutes later) add no row and not
        one history call."""
        alert = p.alert(starts_at=T0)
        ok(host, alert)
        appwrite.control.reset_calls()
        for later in (300, 600, 900):
            reply = deliver(host.url, p.payload([alert]), headers={CLOCK_OFFSET_HEADER: str(later)})
            assert reply.status_code == 200 and reply.json()["eventsRecorded"] == 0
        assert HISTORY_CREATE not in appwrite.control.calls()
        assert len(events(appwrite)) == 1

    def test_fire_resolve_refire_and_a_new_occurrence_each_get_their_kind_and_reason(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """Each change of one alert is one row, in order, with the decision's kind and reason."""
        alert = p.alert(severity="warning", starts_at=T0)
        ok(host, alert)
        ok(host, p.resolved(alert, T0 + timedelta(minutes=7)))
        ok(host, alert)
        ok(host, p.alert(severity="warning", starts_at=T0 + timedelta(hours=1)))
        assert kinds(appwrite) == [
            ("fired", "first firing"),
            ("resolved", "resolved after firing"),
            ("refired", "same startsAt after resolved"),
            ("fired", "newer startsAt than stored"),
        ]
        assert events(appwrite)[1]["endsAt"] == "2026-11-27T03:07:00.000+00:00"
        assert [e["startsAt"][:19] for e in events(appwrite)] == ["2026-11-27T03:00:00"] * 3 + ["2026-11-27T04:00:00"]

    def test_stale_delivery_is_recorded_once_as_ignored(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """An older occurrence arriving after a newer one: the row stays, nothing is sent, and the ignored
        delivery is recorded once however often it comes."""
        newer = p.alert(starts_at=T0 + timedelta(hours=1))
        ok(host, newer)
        row = appwrite.rows()[newer["fingerprint"]]
        stale = p.resolved(p.alert(starts_at=T0))
        for _ in range(2):
            assert ok(host, stale)["stale"] == 1
        assert kinds(appwrite) == [("fired", "first firing"), ("stale-ignored", "older startsAt than stored")]
        ignored = events(appwrite)[1]
        assert (ignored["status"], ignored["startsAt"][:19], ignored["channels"]) == ("resolved", "2026-11-27T03:00:00",
                                                                                        [])
        assert appwrite.rows()[newer["fingerprint"]] == row
        assert len(appwrite.messages()) == 3

    def test_resolved_never_seen_firing_is_recorded_without_channels(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """A resolved alert never seen firing is stored silently and recorded once as `resolved-unseen`."""
        alert = p.resolved(p.alert(starts_at=T0))
        ok(host, alert)
        ok(host, alert)
        assert kinds(appwrite) == [("resolved-unseen", "resolved, never seen firing")]
        assert events(appwrite)[0]["channels"] == [] and appwrite.messages() == []

    def test_firing_and_resolved_in_one_payload_are_two_rows_in_order(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """One fingerprint twice in a delivery (firing, then resolved): two rows, firing first."""
        alert = p.alert(severity="warning", starts_at=T0)
        ok(host, alert, p.resolved(alert))
        assert kinds(appwrite) == [("fired", "first firing"), ("resolved", "resolved after firing")]

    def test_changes_carried_by_a_digest_say_so_and_share_its_messages(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """Eight criticals in one delivery: each row says "digest of 8", all name the same three messages,
        and the first change alone counts them."""
        ok(host, *p.many(8, severity="critical", starts_at=T0))
        recorded = events(appwrite)
        assert {e["reason"] for e in recorded} == {"first firing; digest of 8"}
        assert {tuple(c["messageId"] for c in e["channels"]) for e in recorded} == {
            tuple(m.id for m in sorted(appwrite.messages(), key=lambda m: (m.topics[0], m.providertype)))
        }
        assert [(e["pushMessages"], e["smsMessages"]) for e in recorded] == [(2, 1)] + [(0, 0)] * 7

    def test_a_second_receiver_adds_no_row(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The same alert through another receiver is the same change: one row, from the first receiver."""
        alert = p.alert(starts_at=T0)
        ok(host, alert, receiver="team-a")
        ok(host, alert, receiver="team-b")
        assert [e["receiver"] for e in events(appwrite)] == ["team-a"]

    def test_many_changes_are_written_in_batches_of_100(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """250 new alerts: 250 rows, created by one transaction (3 calls: start, stage, commit), not row by row."""
        appwrite.control.reset_calls()
        assert ok(host, *p.many(250, starts_at=T0))["eventsRecorded"] == 250
        calls = appwrite.control.calls()
        assert HISTORY_CREATE not in calls
        assert calls["POST /tablesdb/transactions"] == 1 and calls["PATCH /tablesdb/transactions/{transactionId}"] == 1
        assert calls["POST /tablesdb/transactions/{transactionId}/operations"] == 1
        assert len(events(appwrite)) == 250


class TestNoDuplicate:
    def test_a_failed_history_write_sends_nothing_and_the_retry_announces_once(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """The history row is the claim written before the messages: its write failing answers 503 with nothing
        sent and no row; Alertmanager's retry announces the change once, and the scheduled run records it sent."""
        appwrite.control.add_fault(HISTORY_PATH, method="POST", count=10, status=503)
        alert = p.alert(starts_at=T0)
        assert deliver(host.url, p.payload([alert])).status_code == 503
        assert appwrite.rows() == {} and changes(appwrite) == [] and appwrite.messages() == []
        appwrite.control.clear_faults()
        assert ok(host, alert)["eventsRecorded"] == 1
        scheduled_run(host.url)
        [event] = changes(appwrite)
        assert (event["kind"], {c["result"] for c in event["channels"]}, event["claim"]) == ("fired", {"sent"}, None)
        assert alert["fingerprint"] in appwrite.rows()
        assert len(appwrite.messages()) == 3

    def test_a_failed_row_write_leaves_a_claim_the_retry_finishes(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """The messages went out but writing the alert row failed: 503; the retry finds its own pending claim,
        meets Appwrite's duplicate check for each message and writes the row once; the scheduled run records the
        messages sent."""
        appwrite.control.add_fault(r"/tables/alerts/rows$", method="PUT", count=20, status=503)
        alert = p.alert(starts_at=T0)
        assert deliver(host.url, p.payload([alert])).status_code == 503
        results, owner = the_change(appwrite)
        assert results == {"pending"} and owner
        assert len(appwrite.messages()) == 3 and appwrite.rows() == {}
        appwrite.control.clear_faults()
        assert ok(host, alert)["messagesAlreadyQueued"] == 3
        assert appwrite.rows()[alert["fingerprint"]]["notifiedStatus"] == "firing"
        scheduled_run(host.url)
        assert the_change(appwrite) == ({"sent"}, None)
        assert len(appwrite.messages()) == 3

    def test_messages_failing_after_the_row_was_written_are_sent_by_the_retry(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """The row is written alongside the messages: the row landed, every SMS attempt failed (503). The retry
        decides `repeat` from the row, but the change was stored moments ago, so it reads its own pending claim
        and sends the SMS it names, once; the messages that went out are not sent again."""
        appwrite.control.add_fault(r"/messaging/messages/sms$", method="POST", count=3, status=503)
        alert = p.alert(starts_at=T0)
        assert deliver(host.url, p.payload([alert])).status_code == 503
        assert appwrite.rows()[alert["fingerprint"]]["notifiedStatus"] == "firing"
        assert sorted(m.providertype for m in appwrite.messages()) == ["push", "push"]
        appwrite.control.clear_faults()
        reply = ok(host, alert)
        assert (reply["messagesQueued"], reply["messagesAlreadyQueued"]) == (1, 0)
        assert sorted(m.providertype for m in appwrite.messages()) == ["push", "push", "sms"]
        assert the_change(appwrite) == ({"sent"}, None)
        assert ok(host, alert)["messagesQueued"] == 0

    def test_a_failed_completion_is_done_by_the_next_scheduled_run(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """The scheduled run failing to complete a claim (503) leaves it pending; the next run completes it and
        sends nothing again."""
        alert = p.alert(starts_at=T0)
        assert ok(host, alert)["messagesQueued"] == 3
        appwrite.control.add_fault(HISTORY_PATH, method="PUT", count=10, status=503)
        assert requests.post(host.url + "/_host/schedule", timeout=60).status_code == 503
        results, owner = the_change(appwrite)
        assert results == {"pending"} and owner
        appwrite.control.clear_faults()
        assert scheduled_run(host.url)["messagesQueued"] == 0
        assert the_change(appwrite) == ({"sent"}, None)
        assert len(appwrite.messages()) == 3

    def test_a_lost_answer_to_the_history_write_adds_no_second_row(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """The rows were created but every answer was lost: 503 before any message; the retry finds them (one
        409 and one lookup), sees they are its own claims, announces and creates nothing twice."""
        appwrite.control.add_fault(HISTORY_PATH, method="POST", count=10, mode="drop_after")
        alerts = [p.alert("A", starts_at=T0), p.alert("B", severity="warning", starts_at=T0)]
        assert deliver(host.url, p.payload(alerts)).status_code == 503
        assert len(events(appwrite)) == 2 and appwrite.messages() == []
        appwrite.control.clear_faults()
        appwrite.control.reset_calls()
        assert ok(host, *alerts)["messagesQueued"] == 4
        calls = appwrite.control.calls()
        # Plus the SMS budget's count of recent SMS (GET) and its record of alert A's SMS (POST).
        assert calls[HISTORY_CREATE] == 1 + 1 and calls["GET /tablesdb/{databaseId}/tables/{tableId}/rows"] == 2 + 1
        assert [e["alertname"] for e in events(appwrite)] == ["A", "B"]
        scheduled_run(host.url)
        assert {c["result"] for e in events(appwrite) if e["kind"] != "delivery" for c in e["channels"]} == {"sent"}

    def test_a_lost_answer_is_absorbed_inside_the_function(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """One lost answer: the function's own retry meets 409, looks the IDs up, and answers 200 with one row."""
        appwrite.control.add_fault(HISTORY_PATH, method="POST", count=1, mode="drop_after")
        ok(host, p.alert(starts_at=T0))
        assert kinds(appwrite) == [("fired", "first firing")]

    def test_only_the_missing_rows_of_a_batch_are_created(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A batch holding one change already recorded (a stale state seen before) and one new change: the
        refused bulk create is followed by a create of the new one alone."""
        ok(host, p.alert(starts_at=T0 + timedelta(hours=1)))
        stale = p.alert(starts_at=T0)
        ok(host, stale)
        appwrite.control.reset_calls()
        ok(host, stale, p.alert("DiskFull", starts_at=T0))
        assert appwrite.control.calls()[HISTORY_CREATE] == 2 + 1  # and the SMS budget's record of DiskFull's SMS
        assert kinds(appwrite) == [
            ("fired", "first firing"), ("stale-ignored", "older startsAt than stored"), ("fired", "first firing"),
        ]

    def test_racing_copies_record_each_change_once(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The same delivery posted 8 times at once across two worker processes: one row per change."""
        body = p.payload([p.alert(starts_at=T0), p.alert("DiskFull", starts_at=T0)])
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda _: deliver(host.url, body), range(8)))
        assert [reply.status_code for reply in replies] == [200] * 8
        assert sorted(e["alertname"] for e in events(appwrite)) == ["DiskFull", "HighCPU"]
        assert len(appwrite.messages()) == 6


class TestDeployment:
    def test_renamed_events_table_is_bootstrapped_and_written(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """EVENTS_TABLE_ID renames the table for the bootstrap and the function alike."""
        env = {"APPWRITE_ENDPOINT": emulator.endpoint, "APPWRITE_PROJECT_ID": PROJECT_ID,
               "APPWRITE_API_KEY": emulator.api_key, "EVENTS_TABLE_ID": "history"}
        assert bootstrap([], env) == 0
        function = function_env(emulator, EVENTS_TABLE_ID="history")
        with FunctionHost(REPO_ROOT, env=function, api_key=emulator.api_key, echo=False) as renamed:
            ok(renamed, p.alert(starts_at=T0))
        assert [e["kind"] for e in events(appwrite, "history")] == ["fired"]
        assert events(appwrite) == []

    def test_missing_events_table_is_500_with_the_fix_logged(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """A project bootstrapped before the history existed: 500 and a log line naming the bootstrap script."""
        function = function_env(emulator, EVENTS_TABLE_ID="not_bootstrapped")
        with FunctionHost(REPO_ROOT, env=function, api_key=emulator.api_key, echo=False) as stale:
            assert deliver(stale.url, p.payload([p.alert()])).status_code == 500
            assert "bootstrap_schema.py" in " ".join(stale.logs()[-1]["errors"])
        assert appwrite.rows() == {}

    @pytest.mark.parametrize(("name", "value"), [("EVENTS_TABLE_ID", "alerts"), ("EVENTS_TABLE_ID", "-bad")])
    def test_invalid_events_table_id_refuses_deliveries(self, emulator: Emulator, appwrite: Appwrite, name: str,
                                                          value: str) -> None:
        """An events table ID that is invalid or names the alerts table: 500, the variable named in the log."""
        with FunctionHost(REPO_ROOT, env=function_env(emulator, **{name: value}), api_key=emulator.api_key,
                          echo=False) as bad:
            assert deliver(bad.url, p.payload([p.alert()])).status_code == 500
            assert name in " ".join(bad.logs()[-1]["errors"])
        assert appwrite.control.calls() == {}


class TestUpgrade:
    def test_a_project_bootstrapped_before_claims_existed_fails_clearly_until_the_bootstrap_runs_again(
        self, host: FunctionHost, emulator: Emulator
    ) -> None:
        """A project whose history table lacks the `claim` column (bootstrapped by an older version): a delivery
        with a change answers 500, sends nothing and logs that the table differs from schema/ with the command
        to run; re-running the bootstrap adds the column and index, and the retried delivery announces once."""
        current = load_schema()
        events_table = current.table("alert_events")
        older_events = events_table.model_copy(update={
            "columns": tuple(c for c in events_table.columns if c.key != "claim"),
            "indexes": tuple(i for i in events_table.indexes if "claim" not in i.columns),
        })
        older = current.model_copy(update={"tables": tuple(
            older_events if table.id == "alert_events" else table for table in current.tables)})
        emulator.control.reset()
        settings = load_settings(older, {}, endpoint=emulator.endpoint, project=PROJECT_ID, key=emulator.api_key)
        assert run(settings, schema=older).exit_code == 0
        appwrite = Appwrite(emulator)
        body = p.payload([p.alert(starts_at=T0)])
        mark = len(host.logs())

        reply = deliver(host.url, body)
        assert reply.status_code == 500
        errors = " ".join(" ".join(record["errors"]) for record in host.logs()[mark:])
        assert "Unknown attribute" in errors and "bootstrap_schema.py --check" in errors
        assert appwrite.messages() == [] and appwrite.rows() == {}

        assert bootstrap(["--endpoint", emulator.endpoint, "--project", PROJECT_ID, "--key", emulator.api_key]) == 0
        assert deliver(host.url, body).status_code == 200
        assert len(appwrite.messages()) == 3 and len(events(appwrite)) == 1
