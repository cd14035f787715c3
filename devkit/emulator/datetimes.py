"""Datetime parsing and formatting the way Appwrite's datetime columns behave.

Input: a non-empty string PHP's `new DateTime()` understands and that contains a 4-digit year. This
emulator accepts the forms Alertmanager and the SDK produce: ISO-8601/RFC 3339 dates and date-times
(`T` or space separator, optional seconds and any number of fractional digits, offset `Z`, `±HH:MM`,
`±HHMM`, `±HH`, `UTC`/`GMT`, or none meaning UTC) and RFC 2822 dates. Values are converted to UTC and
truncated to milliseconds; output is always `YYYY-MM-DDTHH:MM:SS.mmm+00:00`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

DESCRIPTION = "Value must be valid date between -4713-01-01 00:00:00 and 9999-12-31 23:59:59."

_ISO = re.compile(
    r"\s*(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[Tt ]\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"\s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*"
)
_FOUR_DIGIT_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# The stored form; parsed by the fast path.
_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00")


def parse(value: object) -> datetime | None:
    """The UTC instant `value` denotes, or None when Appwrite would reject it."""
    if not isinstance(value, str):
        return None
    return _parse_text(value)


# Parsing is pure and rows repeat the same few datetimes (a row's `$createdAt`, a batch's shared
# timestamps), so recent answers are kept; datetimes are immutable, so sharing them is safe.
@lru_cache(maxsize=4096)
def _parse_text(value: str) -> datetime | None:
    if _CANONICAL.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    if value == "" or _FOUR_DIGIT_YEAR.search(value) is None:
        return None
    try:
        parsed = _parse_iso(value) or _parse_rfc2822(value)
        if parsed is None:
            return None
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_iso(value: str) -> datetime | None:
    match = _ISO.fullmatch(value)
    if match is None:
        return None
    fraction = (match["f"] or "0")[:6].ljust(6, "0")
    naive = datetime(
        int(match["y"]),
        int(match["mo"]),
        int(match["d"]),
        int(match["h"] or 0),
        int(match["mi"] or 0),
        int(match["s"] or 0),
        int(fraction),
    )
    return naive.replace(tzinfo=_zone(match["tz"]))


def _zone(text: str | None) -> timezone:
    if text is None or text in ("Z", "z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _parse_rfc2822(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_utc(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}+00:00"
    )


def normalize(value: object) -> str | None:
    """The stored (and returned) form of a datetime value, or None if invalid."""
    if not isinstance(value, str):
        return None
    return _normalize_text(value)


@lru_cache(maxsize=4096)
def _normalize_text(value: str) -> str | None:
    parsed = _parse_text(value)
    if parsed is None:
        return None
    # The stored form is kept as sent once its calendar validity is known.
    return value if _CANONICAL.fullmatch(value) else format_utc(parsed)


def now() -> str:
    return format_utc(datetime.now(UTC))


def from_timestamp(seconds: float) -> str:
    return format_utc(datetime.fromtimestamp(seconds, UTC))
