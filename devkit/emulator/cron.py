"""Five-field cron expressions (minute hour day-of-month month day-of-week), as a function's `schedule` holds.

Each field is `*`, a number, a range `a-b`, a list `a,b`, any of those with a step `/n`. As in cron, when both
day fields are restricted a day matching either one matches.
"""

from __future__ import annotations

from datetime import datetime

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


class CronError(ValueError):
    pass


def _field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise CronError(f"bad step in {part!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = int(first), int(last)
        else:
            start = int(base)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise CronError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def matches(expression: str, moment: datetime) -> bool:
    """Whether the schedule fires in `moment`'s minute; raises CronError for a malformed expression."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronError("a schedule has five fields")
    try:
        minute, hour, day, month, weekday = (
            _field(text, low, high) for text, (low, high) in zip(fields, _BOUNDS, strict=True)
        )
    except ValueError as error:
        raise CronError(str(error)) from error
    day_of_week = (moment.weekday() + 1) % 7  # cron counts from Sunday = 0
    day_restricted, weekday_restricted = fields[2] != "*", fields[4] != "*"
    if day_restricted and weekday_restricted:
        day_ok = moment.day in day or day_of_week in weekday
    else:
        day_ok = moment.day in day and day_of_week in weekday
    return moment.minute in minute and moment.hour in hour and moment.month in month and day_ok
