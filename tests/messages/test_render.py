"""Message text and row shaping: limits are respected and content is readable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from src.core.rows import RowShaper
from src.core.schema import load_schema
from src.formats import cut_bytes, format_datetime
from src.messages.render import SMS_MAX_CHARS, Notice, digest, headline, message_id, single

WHEN = datetime(2026, 11, 27, 3, 8, 36, 956954, tzinfo=UTC)


def notice(**overrides: object) -> Notice:
    base: dict[str, object] = dict(
        occurrence_key="k1", status="firing", refired=False, fingerprint="fp", alertname="HighCPU",
        severity="critical", instance="10.0.0.80:9100", summary="CPU above 90% for 10 minutes",
        description="Load is high", link="https://runbooks/cpu", starts_at=WHEN, ends_at=None,
        labels={"alertname": "HighCPU"},
    )
    base.update(overrides)
    return Notice(**base)  # type: ignore[arg-type]


def test_headline_format() -> None:
    """Titles read like `[FIRING] HighCPU on 10.0.0.80:9100 (critical)`."""
    assert headline(notice()) == "[FIRING] HighCPU on 10.0.0.80:9100 (critical)"
    assert headline(notice(status="resolved", instance="")) == "[RESOLVED] HighCPU (critical)"


def test_push_body_has_summary_and_link() -> None:
    """Push bodies carry the summary, the description and the link."""
    message = single(notice(), "push", "critical-alerts")
    assert "CPU above 90%" in message.body and "https://runbooks/cpu" in message.body


@pytest.mark.parametrize("summary", ["short", "x" * 500, "é" * 300])
def test_sms_is_one_segment(summary: str) -> None:
    """An SMS never exceeds 160 characters."""
    assert len(single(notice(summary=summary), "sms", "t").body) <= SMS_MAX_CHARS


def test_digest_lists_and_counts() -> None:
    """A digest names the alerts and counts the ones it does not list."""
    notices = [notice(occurrence_key=f"k{i}", alertname=f"A{i}") for i in range(30)]
    push = digest(notices, "push", "monitoring-alerts")
    assert "30 firing" in push.title and "A0" in push.body and "10 more" in push.body
    assert len(digest(notices, "sms", "t").body) <= SMS_MAX_CHARS


def test_message_ids_are_valid_and_stable() -> None:
    """Message IDs fit Appwrite's 36-character rule and depend only on what is announced."""
    first = message_id("push", "t", ["b", "a"])
    assert first == message_id("push", "t", ["a", "b"]) != message_id("sms", "t", ["a", "b"])
    assert len(first) == 36 and first.isalnum()


def test_datetimes_use_appwrite_precision() -> None:
    """Datetimes are written the way Appwrite returns them: milliseconds, UTC, +00:00."""
    assert format_datetime(WHEN) == "2026-11-27T03:08:36.956+00:00"


def test_text_cut_keeps_valid_utf8() -> None:
    """Cutting by bytes never splits a character."""
    cut = cut_bytes("é" * 40_000, 65_535)
    assert len(cut.encode()) <= 65_535
    cut.encode("utf-8")


def test_long_values_are_cut_to_their_columns() -> None:
    """Every string value fits its declared column."""
    from src.core.payload import Alert

    table = load_schema().table("alerts")
    shaper = RowShaper(table)
    alert = Alert.model_validate({
        "status": "firing", "labels": {"alertname": "A" * 999, "instance": "i" * 999, "big": "x" * 70_000},
        "annotations": {"summary": "s" * 5000, "description": "\ud800" + "d" * 70_000},
        "startsAt": WHEN, "fingerprint": "fp1",
    })
    row = shaper.row(alert, receiver="r" * 999, group_key="g", received_at=WHEN, notified_status="firing")
    for column in table.columns:
        value = row[column.key]
        if column.type == "varchar":
            assert len(value) <= column.size, column.key
        elif column.type == "text":
            assert len(value.encode("utf-8")) <= 65_535, column.key
