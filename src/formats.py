"""The wire formats every layer shares: Appwrite's datetimes (millisecond precision, `+00:00`) and text cut
to a limit in characters or UTF-8 bytes, marked with an ellipsis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_CUT_MARK = "…"


def to_millis(moment: datetime) -> datetime:
    """Appwrite keeps datetimes at millisecond precision; compare and store at that precision only."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_datetime(moment: datetime) -> str:
    """The form Appwrite returns (`2026-11-27T03:08:36.956+00:00`), so stored and sent values compare equal."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return to_millis(parsed)


def clean_text(text: str) -> str:
    # Lone surrogates (from JSON escapes like "\ud800") cannot be encoded as UTF-8: replace them.
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def cut_chars(text: str, limit: int) -> str:
    text = clean_text(text)
    if len(text) <= limit:
        return text
    return text[: limit - len(_CUT_MARK)] + _CUT_MARK


def cut_bytes(text: str, limit: int) -> str:
    text = clean_text(text)
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(_CUT_MARK.encode("utf-8"))
    return encoded[:room].decode("utf-8", "ignore") + _CUT_MARK
