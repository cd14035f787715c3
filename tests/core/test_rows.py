"""Row values of the alerts table: labels encoded as the stored JSON, every text cut to fit its column."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from src.core.payload import parse_payload
from src.core.rows import alerts_shaper, encode_labels
from src.formats import format_datetime, parse_datetime


class TestEncodeLabels:
    @given(st.dictionaries(st.text(), st.text(), max_size=8))
    def test_matches_json_dumps_sorted_and_unescaped(self, labels: dict[str, str]) -> None:
        """The text is exactly `json.dumps(sort_keys=True, ensure_ascii=False)`: stored rows still compare equal."""
        assert encode_labels(labels) == json.dumps(labels, sort_keys=True, ensure_ascii=False)

    def test_escapes_quotes_backslashes_and_control_characters(self) -> None:
        """What JSON must escape is escaped; other characters (surrogates included) are kept as they are."""
        labels = {"b": 'say "hi"\\\n\t\x01', "a": "é\ud800"}
        assert json.loads(encode_labels(labels)) == labels


class TestRow:
    def _alert_row(self, labels: dict[str, str], **alert: str) -> dict[str, object]:
        body = {"version": "4", "receiver": "r", "status": "firing", "alerts": [{
            "status": "firing", "labels": labels, "startsAt": "2026-11-27T03:08:36.956954384Z",
            "fingerprint": "a1b2c3d4e5f60718", **alert}]}
        payload = parse_payload(json.dumps(body).encode())
        return alerts_shaper().row(payload.alerts[0], receiver="r", group_key="g",
                                   received_at=datetime(2026, 11, 27, 3, 9, tzinfo=UTC), notified_status="firing")

    def test_short_ascii_values_are_kept(self) -> None:
        """The common case: every value as delivered, labels as sorted JSON."""
        row = self._alert_row({"alertname": "HighCPU", "instance": "db-1"})
        assert row["alertname"] == "HighCPU" and row["instance"] == "db-1"
        assert row["labels"] == '{"alertname": "HighCPU", "instance": "db-1"}'

    def test_a_long_or_odd_value_is_cut_to_its_column_alone(self) -> None:
        """One value too long for its column is cut with an ellipsis; the rest, non-ASCII included, is kept."""
        row = self._alert_row({"alertname": "x" * 1000, "instance": "dö-1"}, generatorURL="http://p/")
        assert str(row["alertname"]).endswith("…") and len(str(row["alertname"])) < 1000
        assert row["instance"] == "dö-1"
        assert row["generatorURL"] == "http://p/"


class TestDatetimes:
    def test_the_same_instant_in_any_zone_formats_alike(self) -> None:
        """Formatting is by instant: a remembered text serves equal times given in another zone."""
        moment = datetime(2026, 11, 27, 3, 8, 36, 956_954, tzinfo=UTC)
        elsewhere = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
        assert format_datetime(moment) == format_datetime(elsewhere) == "2026-11-27T03:08:36.956+00:00"

    def test_parsing_is_at_millisecond_precision_in_utc(self) -> None:
        """A stored time parses to UTC milliseconds, the same each time it is asked for."""
        parsed = parse_datetime("2026-11-27T08:38:36.956999+05:30")
        assert parsed == datetime(2026, 11, 27, 3, 8, 36, 956_000, tzinfo=UTC)
        assert parse_datetime("2026-11-27T08:38:36.956999+05:30") == parsed
        assert parse_datetime("") is None and parse_datetime(None) is None


class TestShapers:
    def test_the_webhook_shapers_cut_as_the_validated_schema_says(self) -> None:
        """The column sizes read straight from the schema file are those of the validated schema models."""
        from src.core.rows import RowShaper, events_shaper
        from src.core.schema import load_schema

        for shaper, table in ((alerts_shaper(), "alerts"), (events_shaper(), "alert_events")):
            validated = RowShaper(load_schema().table(table))
            assert shaper._limits == validated._limits and shaper._limits
