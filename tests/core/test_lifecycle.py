"""The decision table: what a delivered state changes and announces, given the stored row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from src.core.kinds import Kind
from src.core.lifecycle import Decision, Delivered, decide
from src.core.rows import StoredAlert

T0 = datetime(2026, 11, 27, 3, 0, 0, 123000, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
END = T0 + timedelta(minutes=2)


def stored(status: str, starts: datetime, told: str, ends: datetime | None = None) -> StoredAlert:
    return StoredAlert(status=status, starts_at=starts, ends_at=ends, notified_status=told, values={})  # type: ignore[arg-type]


def delivered(status: str, starts: datetime = T0, ends: datetime | None = None) -> Delivered:
    return Delivered(fingerprint="abc123", status=status, starts_at=starts, ends_at=ends)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "alert", "kind", "told"),
    [
        (None, delivered("firing"), Kind.FIRED, "firing"),
        (None, delivered("resolved", ends=END), Kind.RESOLVED_UNSEEN, ""),
        (stored("firing", T0, "firing"), delivered("firing"), Kind.REPEAT, "firing"),
        (stored("firing", T0, "firing"), delivered("resolved", ends=END), Kind.RESOLVED, "resolved"),
        (stored("resolved", T0, "resolved", END), delivered("resolved", ends=END), Kind.REPEAT, "resolved"),
        (stored("resolved", T0, "resolved", END), delivered("firing"), Kind.REFIRED, "firing"),
        (stored("resolved", T0, "resolved", END), delivered("firing", T1), Kind.FIRED, "firing"),
        (stored("firing", T0, "firing"), delivered("firing", T1), Kind.FIRED, "firing"),
        (stored("firing", T1, "firing"), delivered("firing", T0), Kind.STALE, "firing"),
        (stored("firing", T1, "firing"), delivered("resolved", T0, END), Kind.STALE, "firing"),
        (stored("resolved", T0, "", END), delivered("resolved", ends=END), Kind.REPEAT, ""),
        (stored("resolved", T0, "", END), delivered("firing"), Kind.FIRED, "firing"),
        (stored("firing", T0, "firing"), delivered("resolved", T1, END), Kind.RESOLVED_UNSEEN, ""),
    ],
)
def test_decision_table(before: StoredAlert | None, alert: Delivered, kind: Kind, told: str) -> None:
    """Each stored/delivered pair leads to the documented kind and leaves the documented told-state."""
    decision = decide(before, alert)
    assert (decision.kind, decision.notified_status) == (kind, told)
    assert decision.announces == (kind in {Kind.FIRED, Kind.REFIRED, Kind.RESOLVED})
    assert (decision.occurrence_key is not None) == decision.announces


def test_stale_delivery_writes_nothing() -> None:
    """A delivery older than the stored occurrence leaves the row untouched."""
    assert not decide(stored("firing", T1, "firing"), delivered("firing", T0)).writes


def test_repeat_keeps_row_fresh() -> None:
    """A plain re-delivery still refreshes the row (lastReceivedAt)."""
    assert decide(stored("firing", T0, "firing"), delivered("firing")).writes


def keys(*decisions: Decision) -> list[str | None]:
    return [d.occurrence_key for d in decisions]


def test_same_change_seen_by_two_copies_has_one_key() -> None:
    """Two executions reading the same row derive the same occurrence key for the same change."""
    row = stored("resolved", T0, "resolved", END)
    assert decide(row, delivered("firing")).occurrence_key == decide(row, delivered("firing")).occurrence_key


def test_every_announcement_of_a_story_has_its_own_key() -> None:
    """Fire, resolve, re-fire with the same startsAt, resolve again, fire anew: five distinct keys."""
    end2 = END + timedelta(minutes=10)
    story = [
        decide(None, delivered("firing")),
        decide(stored("firing", T0, "firing"), delivered("resolved", ends=END)),
        decide(stored("resolved", T0, "resolved", END), delivered("firing")),
        decide(stored("firing", T0, "firing"), delivered("resolved", ends=end2)),
        decide(stored("resolved", T0, "resolved", end2), delivered("firing", T1)),
    ]
    assert all(d.announces for d in story)
    assert len(set(keys(*story))) == 5


def test_key_ignores_sub_millisecond_noise() -> None:
    """Key material is at Appwrite's millisecond precision, so ns-precision copies agree."""
    a = decide(None, delivered("firing", T0))
    b = decide(None, delivered("firing", T0 + timedelta(microseconds=400)))
    assert a.occurrence_key == b.occurrence_key
