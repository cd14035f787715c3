"""Claims, pure: who owns a claim, when a delivery may send what an existing claim names, the history rows
written as claims, and how the scheduled run rebuilds and completes an abandoned claim's messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from devkit import payloads as p
from src.core.events import ALREADY_SENT, PENDING, SENT, claim_owner, completed, event_rows, ours_to_send
from src.core.payload import WebhookPayload, parse_payload
from src.core.plan import plan_delivery
from src.core.rows import RowShaper
from src.core.schema import load_schema
from src.jobs.claims import named_messages, rebuild
from src.messages.digest import DIGEST_THRESHOLD
from src.messages.render import OutgoingMessage, message_id
from src.messages.routing import default_routes

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)
SCHEMA = load_schema()
ROUTES = default_routes("critical-alerts", "monitoring-alerts")
ALERTS, EVENTS = RowShaper(SCHEMA.table("alerts")), RowShaper(SCHEMA.table("alert_events"))


def parsed(alerts: list[dict[str, Any]], **options: Any) -> WebhookPayload:
    return parse_payload(json.dumps(p.payload(alerts, **options)).encode())


def warnings(count: int, name: str = "Disk") -> list[dict[str, Any]]:
    return [p.alert(name, severity="warning", instance=f"node-{i}:9100", starts_at=T0) for i in range(count)]


def claims_of(payload: WebhookPayload, stored: dict[str, dict[str, Any]] | None = None,
              ) -> tuple[list[dict[str, Any]], list[OutgoingMessage]]:
    plan = plan_delivery(payload, stored or {}, routes=ROUTES, shaper=ALERTS, now=NOW)
    rows = event_rows(payload, plan, (), shaper=EVENTS, now=NOW, claim=claim_owner(payload))
    return rows, list(plan.messages)


class TestOwner:
    def test_the_same_delivery_again_is_the_same_owner(self) -> None:
        """Alertmanager's retry, or the HA pair's identical copy, of one notification owns the same claims."""
        alerts = warnings(3)
        assert claim_owner(parsed(alerts)) == claim_owner(parsed([dict(a) for a in alerts]))

    def test_another_group_of_the_same_alerts_or_another_state_is_another_owner(self) -> None:
        alerts = warnings(3)
        owners = {
            claim_owner(parsed(alerts)),
            claim_owner(parsed(alerts[:2])),
            claim_owner(parsed(alerts, receiver="team-b")),
            claim_owner(parsed([p.resolved(a) for a in alerts])),
        }
        assert len(owners) == 4
        assert all(len(owner) == 36 for owner in owners)


class TestOursToSend:
    def row(self, claim: str | None, *message_ids: str) -> dict[str, Any]:
        channels = [{"topic": "t", "channel": "push", "messageId": m, "result": PENDING} for m in message_ids]
        return {"claim": claim, "channels": json.dumps(channels)}

    def test_own_pending_claim_naming_messages_this_attempt_sends(self) -> None:
        assert ours_to_send(self.row("me", "m1"), "me", {"m1", "m2"})

    def test_own_claim_naming_a_message_this_attempt_would_not_send(self) -> None:
        """The earlier attempt planned another digest (its group then differed): not ours to send now."""
        assert not ours_to_send(self.row("me", "m1", "m3"), "me", {"m1", "m2"})

    def test_another_deliverys_claim_or_a_completed_row(self) -> None:
        assert not ours_to_send(self.row("other", "m1"), "me", {"m1"})
        assert not ours_to_send(self.row(None, "m1"), "me", {"m1"})

    def test_unreadable_channels_name_nothing(self) -> None:
        assert ours_to_send({"claim": "me", "channels": "not json"}, "me", set())
        assert not ours_to_send({"claim": "other", "channels": None}, "me", set())


class TestClaimRows:
    def test_announced_changes_are_pending_claims_naming_their_messages(self) -> None:
        payload = parsed(warnings(DIGEST_THRESHOLD + 1))
        rows, messages = claims_of(payload)
        [message] = messages
        assert len(rows) == DIGEST_THRESHOLD + 1
        for row in rows:
            assert row["claim"] == claim_owner(payload)
            assert json.loads(row["channels"]) == [{"topic": "monitoring-alerts", "channel": "push",
                                                    "messageId": message.message_id, "result": PENDING,
                                                    "alerts": DIGEST_THRESHOLD + 1}]

    def test_a_change_that_announces_nothing_is_recorded_complete(self) -> None:
        """A stale state is recorded as it is: nothing to send, so nothing to claim."""
        [newer] = warnings(1)
        older = dict(newer, startsAt=p.rfc3339(T0 - timedelta(hours=1)))
        stored = {newer["fingerprint"]: {**ALERTS.row(parsed([newer]).alerts[0], receiver="r", group_key="g",
                                                      received_at=T0, notified_status="firing")}}
        [row], messages = claims_of(parsed([older]), stored)
        assert (row["kind"], row["claim"], row["channels"], messages) == ("stale-ignored", None, "[]", [])

    def test_completed_rows_say_what_appwrite_answered(self) -> None:
        payload = parsed(warnings(2))
        plan = plan_delivery(payload, {}, routes=ROUTES, shaper=ALERTS, now=NOW)
        first, _ = plan.messages
        rows = event_rows(payload, plan, [first], shaper=EVENTS, now=NOW)
        assert [(row["claim"], [c["result"] for c in json.loads(row["channels"])]) for row in rows] == [
            (None, [SENT]), (None, [ALREADY_SENT])]


class TestRebuild:
    def claims(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[OutgoingMessage]]:
        """Seven warnings and a critical alert, as their claims read back: the critical alert alone on the critical
        topic (push, SMS), all eight in one digest on the monitoring topic."""
        payload = parsed([*warnings(7), p.alert("Down", starts_at=T0)])
        rows, messages = claims_of(payload)
        alert_rows = {alert.fingerprint: ALERTS.row(alert, receiver="r", group_key="g", received_at=NOW,
                                                    notified_status="none") for alert in payload.alerts}
        return [{**row, "$createdAt": "x"} for row in rows], alert_rows, messages

    def test_each_named_message_is_rebuilt_under_its_id(self) -> None:
        claims, alert_rows, planned = self.claims()
        rebuilt, renamed = rebuild(claims, alert_rows)
        assert renamed == {}
        assert sorted((m.message_id, m.channel, m.topic) for m in rebuilt) == sorted(
            (m.message_id, m.channel, m.topic) for m in planned)
        by_id = {m.message_id: m for m in rebuilt}
        digest = next(m for m in planned if len(m.occurrence_keys) == 8)
        assert by_id[digest.message_id].title == digest.title
        assert by_id[digest.message_id].body.count("[FIRING] Disk on node-") == 7
        single = next(m for m in planned if m.channel == "sms")
        assert by_id[single.message_id].body == single.body

    def test_a_message_named_by_claims_is_listed_once(self) -> None:
        claims, _, planned = self.claims()
        named = named_messages(claims)
        assert len(named) == len(planned) == len({n.message_id for n in named})
        assert sorted(len(n.row_ids) for n in named) == [1, 1, 8]

    def test_already_completed_entries_are_not_sent_again(self) -> None:
        claims, alert_rows, _ = self.claims()
        done = completed(claims, set())
        assert rebuild(done, alert_rows) == ([], {})

    def test_completion_marks_each_message_and_keeps_the_whole_row(self) -> None:
        claims, _, planned = self.claims()
        sent_now = next(m for m in planned if m.channel == "sms")
        done = completed(claims, {sent_now.message_id})
        assert all(row["claim"] is None and "$createdAt" not in row for row in done)
        assert all(row[column] == claim[column] for row, claim in zip(done, claims, strict=True)
                   for column in ("fingerprint", "status", "startsAt", "at", "kind"))
        results = {c["messageId"]: c["result"] for row in done for c in json.loads(row["channels"])}
        assert results.pop(sent_now.message_id) == SENT
        assert set(results.values()) == {ALREADY_SENT}

    def test_ids_are_the_claims_not_recomputed(self) -> None:
        """Rebuilt from rows, a message keeps the ID its claim names even though its keys are row IDs."""
        claims, alert_rows, _ = self.claims()
        messages, _ = rebuild(claims, alert_rows)
        for message in messages:
            assert message.message_id != message_id(message.channel, message.topic, message.occurrence_keys)

    def test_a_partial_message_goes_out_under_an_id_of_its_own(self) -> None:
        """Five of the eight claims of the monitoring digest (the delivery died between two bulk creates): the
        digest of those five goes out under a new ID, the same on every run; the complete singles keep theirs;
        completion names the ID used."""
        claims, alert_rows, planned = self.claims()
        digest = next(m for m in planned if len(m.occurrence_keys) == 8)
        some = [row for row in claims if row["severity"] == "critical"] + \
            [row for row in claims if row["severity"] == "warning"][:4]
        messages, renamed = rebuild(some, alert_rows)
        assert list(renamed) == [digest.message_id] and renamed[digest.message_id] != digest.message_id
        assert rebuild(some, alert_rows)[1] == renamed
        by_id = {m.message_id: m for m in messages}
        assert by_id[renamed[digest.message_id]].title == "[ALERTS] 5 firing (monitoring-alerts)"
        singles = {m.message_id for m in planned if len(m.occurrence_keys) == 1}
        assert singles <= set(by_id)
        done = completed(some, set(by_id), renamed)
        named = {c["messageId"] for row in done for c in json.loads(row["channels"])}
        assert digest.message_id not in named and renamed[digest.message_id] in named

    def test_rows_written_before_the_count_was_recorded_are_taken_as_whole(self) -> None:
        claims, alert_rows, _ = self.claims()
        older = [{**row, "channels": json.dumps([{k: v for k, v in c.items() if k != "alerts"}
                                                 for c in json.loads(row["channels"])])} for row in claims[:3]]
        assert all(not named.partial for named in named_messages(older))
        assert rebuild(older, alert_rows)[1] == {}
