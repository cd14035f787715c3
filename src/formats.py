"""The wire formats every layer shares: Appwrite's datetimes (millisecond precision, `+00:00`) and text cut
to a limit in characters or UTF-8 bytes, marked with an ellipsis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_CUT_MARK = "…"


def to_millis(moment: datetime) -> datetime:
    """Appwrite keeps datetimes at millisecond precision; compare and store at that precision only."""
    if moment.tzinfo is UTC and not moment.microsecond % 1000:
        return moment  # already there (the payload's times are in UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# The times a delivery formats repeat (an alert's start in its row, history row and claim; `now` in every row), and
# equal aware datetimes are the same instant, so the same text: remember the last few thousand, and likewise the
# stored times parsed.
_FORMATTED: dict[datetime, str] = {}
_FORMATTED_MAX = 4096


def format_datetime(moment: datetime) -> str:
    """The form Appwrite returns (`2026-11-27T03:08:36.956+00:00`), so stored and sent values compare equal."""
    text = _FORMATTED.get(moment)
    if text is None:
        text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
        if moment.tzinfo is not None:  # a naive time means the machine's zone, which may change
            if len(_FORMATTED) >= _FORMATTED_MAX:
                _FORMATTED.clear()
            _FORMATTED[moment] = text
    return text


_PARSED: dict[str, datetime] = {}


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = _PARSED.get(value)
    if parsed is None:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = to_millis(parsed)
        if len(_PARSED) >= _FORMATTED_MAX:
            _PARSED.clear()
        _PARSED[value] = parsed
    return parsed


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
