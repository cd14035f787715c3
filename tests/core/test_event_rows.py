"""The pure parts of the history and the metrics, without a server: event rows from a plan, the count
queries and the exposition, the timeline text, and the new settings."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from devkit import payloads as p
from ops.history import channels_text, outcome_text, parse_since, timeline
from src.core.events import event_rows
from src.core.kinds import RECORDED_KINDS
from src.core.metrics import message_depths, plan_metrics, render
from src.core.payload import parse_payload
from src.core.plan import plan_delivery
from src.core.rows import RowShaper
from src.core.schema import VarcharColumn, load_schema
from src.errors import ConfigurationError
from src.messages.routing import default_routes, parse_routes
from src.settings import DEFAULT_METRICS_SEVERITIES, load_settings

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
SCHEMA = load_schema()
SHAPER = RowShaper(SCHEMA.table("alerts"))
EVENTS_SHAPER = RowShaper(SCHEMA.table("alert_events"))
ROUTES = default_routes("critical-alerts", "monitoring-alerts")


def rows_for(alerts: list[dict[str, Any]], stored: dict[str, dict[str, Any]] | None = None, *,
             receiver: str = "alert-processor", all_sent: bool = True) -> list[dict[str, Any]]:
    payload = parse_payload(json.dumps(p.payload(alerts, receiver=receiver)).encode())
    plan = plan_delivery(payload, stored or {}, routes=ROUTES, shaper=SHAPER, now=NOW)
    return event_rows(payload, plan, plan.messages if all_sent else (), shaper=EVENTS_SHAPER, now=NOW)


class TestEventRows:
    def test_every_recorded_kind_fits_the_indexed_kind_column(self) -> None:
        """Every decision kind but `repeat` is recorded, and each fits the kind column, which later kinds can
        join without a schema change."""
        column = SCHEMA.table("alert_events").column("kind")
        assert isinstance(column, VarcharColumn)
        assert [kind.value for kind in RECORDED_KINDS] == ["fired", "refired", "resolved", "resolved-unseen",
                                                           "stale-ignored"]
        assert all(len(kind.value) <= column.size for kind in RECORDED_KINDS)
        assert any(index.columns == ("kind", "at") for index in SCHEMA.table("alert_events").indexes)

    def test_row_ids_are_36_hex_characters_and_the_same_for_every_copy(self) -> None:
        """A retry or another receiver derives the same IDs; a different change a different one."""
        alerts = [p.alert("A", starts_at=T0), p.alert("B", starts_at=T0)]
        first = [row["$id"] for row in rows_for(alerts)]
        assert all(re.fullmatch(r"[0-9a-f]{36}", row_id) for row_id in first)
        assert [row["$id"] for row in rows_for(alerts, receiver="team-b")] == first
        assert len(set(first)) == 2
        assert rows_for([p.resolved(alerts[0])])[0]["$id"] not in first

    def test_a_repeat_is_not_recorded(self) -> None:
        """An alert already announced as firing, delivered again: no row."""
        alert = p.alert(starts_at=T0)
        stored = {alert["fingerprint"]: {"status": "firing", "startsAt": "2026-11-27T03:00:00.000+00:00",
                                         "notifiedStatus": "firing"}}
        assert rows_for([alert], stored) == []

    def test_the_same_stale_state_twice_in_a_payload_is_one_row(self) -> None:
        """Two identical stale entries in one delivery would collide in one bulk create: one row."""
        stale = p.alert(starts_at=T0)
        stored = {stale["fingerprint"]: {"status": "firing", "startsAt": "2026-11-27T04:00:00.000+00:00",
                                         "notifiedStatus": "firing"}}
        [row] = rows_for([stale, stale], stored)
        assert (row["kind"], row["reason"], row["channels"]) == ("stale-ignored", "older startsAt than stored", "[]")

    def test_messages_appwrite_already_had_are_marked_already_sent(self) -> None:
        """A message not created by this attempt is listed with result already-sent."""
        [row] = rows_for([p.alert(starts_at=T0)], all_sent=False)
        assert {c["result"] for c in json.loads(row["channels"])} == {"already-sent"}

    def test_a_digest_is_named_in_the_reason_and_counted_on_its_first_change(self) -> None:
        """Six warnings become one digest: each row says so, only the first counts the message."""
        rows = rows_for(p.many(6, starts_at=T0))
        assert {row["reason"] for row in rows} == {"first firing; digest of 6"}
        assert [row["pushMessages"] for row in rows] == [1, 0, 0, 0, 0, 0]

    def test_long_values_are_cut_to_their_columns(self) -> None:
        """An alertname longer than its varchar(255) column is cut, not refused by Appwrite."""
        [row] = rows_for([p.alert("X" * 300, starts_at=T0)])
        assert len(row["alertname"]) == 255 and row["alertname"].endswith("…")


class TestMetrics:
    def test_message_depth_is_the_topics_per_channel(self) -> None:
        """Default routes: push goes to two topics, SMS to one; a channel no route uses still gets one count."""
        assert message_depths(ROUTES) == {"push": 2, "sms": 1, "email": 1}
        routes = parse_routes('[{"name": "a", "topic": "t1", "channels": ["email"]},'
                              ' {"name": "b", "topic": "t2", "channels": ["email", "push"]}]')
        assert message_depths(routes) == {"push": 1, "sms": 1, "email": 2}

    def test_plan_counts_follow_the_documented_formula(self) -> None:
        """severities + 1 + 1 + kinds + sum of depths + 1 (pending claims) + 4 outcomes x (routed channel/topic
        pairs + all) + 4 fallback outcomes counts (the newest event is read besides)."""
        plan = plan_metrics(DEFAULT_METRICS_SEVERITIES, ROUTES, NOW)
        assert len(plan.counts) == 4 + 1 + 1 + 5 + (2 + 1 + 1) + 1 + 4 * (3 + 1) + 4 == 36
        failed_sms = plan.counts[16 + 4 * 2 + 2]
        assert [(f.op, f.column, f.value) for f in failed_sms.filters] == [
            ("equal", "kind", "delivery"), ("equal", "outcome", "failed"),
            ("greaterThanEqual", "at", "2026-11-26T22:00:00.000+00:00"), ("equal", "channel", "sms"),
            ("equal", "topic", "critical-alerts")]
        resolved = plan.counts[5]
        assert [(f.op, f.column, f.value) for f in resolved.filters] == [
            ("equal", "status", "resolved"), ("greaterThanEqual", "endsAt", "2026-11-26T04:00:00.000+00:00")]

    def test_messages_are_the_sum_of_the_threshold_counts_and_other_is_the_rest(self) -> None:
        """Events leading >= 1 and >= 2 push messages add up to the push messages; firing alerts of unlisted
        severities are "other", never negative."""
        plan = plan_metrics(("critical",), ROUTES, NOW)
        # critical, all firing, resolved, 5 kinds, push >= 1, push >= 2, sms >= 1, email >= 1, pending claims
        # then pending, delivered, failed, undelivered for push/critical, push/monitoring, sms/critical, all topics,
        # and for the fallbacks
        outcome_counts = [0, 3, 0, 0, 0, 1, 0, 1, 0, 0, 2, 0, 1, 5, 2, 0, 0, 1, 1, 0]
        text = render(plan, [3, 2, 7, 1, 0, 0, 0, 0, 5, 4, 1, 0, 2, *outcome_counts],
                      NOW - timedelta(milliseconds=1500))
        assert 'alert_processor_alerts_firing{severity="other"} 0\n' in text
        assert 'alert_processor_messages_1h{channel="push"} 9\n' in text
        assert 'alert_processor_messages_1h{channel="sms"} 1\n' in text
        assert "alert_processor_claims_pending 2\n" in text
        assert f"alert_processor_last_event_timestamp_seconds {NOW.timestamp() - 1.5}\n" in text
        assert 'alert_processor_messages_6h{outcome="failed",channel="sms",topic="critical-alerts"} 2\n' in text
        assert 'alert_processor_messages_6h{outcome="delivered",channel="other",topic="other"} 1\n' in text
        assert 'alert_processor_messages_6h{outcome="pending",channel="other",topic="other"} 1\n' in text
        assert 'alert_processor_messages_6h{outcome="failed",channel="other",topic="other"} 0\n' in text
        assert 'alert_processor_fallback_messages_6h{outcome="failed"} 1\n' in text
        assert text.count("# TYPE ") == text.count("# HELP ") == 8
        assert all(line.split()[3] == "gauge" for line in text.splitlines() if line.startswith("# TYPE"))

    def test_render_refuses_a_wrong_number_of_answers(self) -> None:
        """Counts must answer the plan one to one."""
        with pytest.raises(ValueError, match="36 counts planned, 14 given"):
            render(plan_metrics(DEFAULT_METRICS_SEVERITIES, ROUTES, NOW), [0] * 14, None)


class TestTimeline:
    @pytest.mark.parametrize(("text", "expected"), [("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)),
                                                     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)),
                                                     (" 30s ", timedelta(seconds=30))])
    def test_since_durations(self, text: str, expected: timedelta) -> None:
        """--since takes a number and one of s, m, h, d, w."""
        assert parse_since(text) == expected

    @pytest.mark.parametrize("text", ["", "0h", "24", "1y", "-1h", "yesterday"])
    def test_since_rejects_anything_else(self, text: str) -> None:
        """Zero, a missing or unknown unit, or words are refused with the accepted forms named."""
        with pytest.raises(ValueError, match="90m, 24h, 7d or 2w"):
            parse_since(text)

    def test_channels_text(self) -> None:
        """Topic/channel and result per message; '-' when nothing went out."""
        raw = json.dumps([{"topic": "t", "channel": "sms", "messageId": "m", "result": "already-sent"}])
        assert channels_text(raw) == "t/sms already sent"
        assert channels_text("[]") == "-" and channels_text(None) == "-"

    def test_each_outcome_reads_as_a_person_would_say_it(self) -> None:
        """Delivered with its count, failed with Appwrite's error, sent to nobody, and pending until followed."""
        assert outcome_text({"outcome": "delivered", "delivered": 3, "reason": "delivered to 3"}) == "delivered 3"
        assert outcome_text({"outcome": "failed", "reason": "No enabled provider found."}) == (
            "failed: No enabled provider found.")
        assert outcome_text({"outcome": "undelivered", "reason": "no subscriber received it"}) == (
            "sent to nobody (no subscribers)")
        assert outcome_text({"outcome": "pending", "reason": "processing"}) == outcome_text(None) == "pending"

    def test_a_full_page_says_more_may_exist(self) -> None:
        """When the limit is reached the count line says how to see more."""
        event = {"at": "2026-11-27T04:00:00.000+00:00", "kind": "fired", "startsAt": "2026-11-27T03:00:00.000+00:00",
                 "reason": "first firing", "channels": "[]", "alertname": "A"}
        text = timeline([event, event], since=NOW, fingerprint="f", limit=2)
        assert text.endswith("2 changes (the first 2; narrow --since or raise --limit to see more)")


class TestSettings:
    ENV: ClassVar[dict[str, str]] = {"WEBHOOK_TOKEN": "w" * 32, "APPWRITE_FUNCTION_API_ENDPOINT": "http://127.0.0.1:9/v1",
                                     "APPWRITE_FUNCTION_PROJECT_ID": "proj"}

    def test_defaults_leave_metrics_off(self) -> None:
        """Without METRICS_TOKEN the endpoint is off; the events table and severities have defaults."""
        settings = load_settings(self.ENV)
        assert (settings.metrics_tokens, settings.events_table_id) == ((), "alert_events")
        assert settings.metrics_severities == ("emergency", "critical", "warning", "info")

    def test_metrics_settings_are_read_and_normalised(self) -> None:
        """Several metrics tokens (rotation) and severities, lower-cased and de-duplicated; tokens not in repr."""
        settings = load_settings({**self.ENV, "METRICS_TOKEN": "m" * 20 + ", " + "n" * 20,
                                  "METRICS_SEVERITIES": "Page, critical,page", "EVENTS_TABLE_ID": "history"})
        assert settings.metrics_tokens == ("m" * 20, "n" * 20)
        assert (settings.metrics_severities, settings.events_table_id) == (("page", "critical"), "history")
        assert "m" * 20 not in repr(settings)

    @pytest.mark.parametrize(
        ("extra", "words"),
        [
            ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN: each token must be at least 16 characters long"),
            ({"METRICS_TOKEN": "w" * 32}, "METRICS_TOKEN must differ from WEBHOOK_TOKEN"),
            ({"METRICS_SEVERITIES": "critical,other"}, "METRICS_SEVERITIES must be"),
            ({"METRICS_SEVERITIES": "crit ical"}, "METRICS_SEVERITIES must be"),
            ({"EVENTS_TABLE_ID": "alerts"}, "ALERTS_TABLE_ID and EVENTS_TABLE_ID both name table 'alerts'"),
            ({"EVENTS_TABLE_ID": "_events"}, "EVENTS_TABLE_ID must be 1-36 characters"),
        ],
        ids=["short-token", "webhook-token", "other", "space", "same-table", "bad-id"],
    )
    def test_invalid_values_are_configuration_errors_without_secrets(self, extra: dict[str, str],
                                                                       words: str) -> None:
        """Each bad value is named; no token value appears in the message."""
        with pytest.raises(ConfigurationError) as caught:
            load_settings({**self.ENV, **extra})
        message = str(caught.value)
        assert words in message
        assert "w" * 32 not in message and extra.get("METRICS_TOKEN", "\0") not in message
