"""The emulator's cron: when a function's `schedule` fires, and which schedules the Functions API refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devkit.emulator.cron import CronError, matches

# Friday 4 December 2026, 13:30 UTC.
FRIDAY = datetime(2026, 12, 4, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "fires"),
    [
        ("* * * * *", True),
        ("30 13 * * *", True),
        ("31 13 * * *", False),
        ("*/15 * * * *", True),
        ("*/7 * * * *", False),
        ("0-29 * * * *", False),
        ("0,30 9-17 * * 1-5", True),
        ("30 13 * * 0,6", False),
        ("30 13 1 * 5", True),  # both day fields restricted: either one matching is enough
        ("30 13 4 12 *", True),
        ("30 13 4 11 *", False),
    ],
)
def test_schedule_fires_in_matching_minutes(expression: str, fires: bool) -> None:
    """A schedule fires in a minute exactly when cron would run it then."""
    assert matches(expression, FRIDAY) is fires


@pytest.mark.parametrize("expression", ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "a * * * *"])
def test_malformed_schedule_is_an_error(expression: str) -> None:
    """A schedule that is not five valid cron fields is rejected."""
    with pytest.raises(CronError):
        matches(expression, FRIDAY)
