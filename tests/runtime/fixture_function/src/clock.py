"""The fixture's wall clock, in the one place the dev host shifts (`x-devkit-clock-offset-seconds`)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
