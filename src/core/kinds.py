"""One vocabulary for what happens to an alert: the `kind` column of its history rows.

A delivery decides one of the first six for each alert it carries (`lifecycle.decide`); every kind but
`repeat` is recorded. The on-call rules record the next four, the dead-man's switch the
last three.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    FIRED = "fired"
    REFIRED = "refired"
    RESOLVED = "resolved"
    RESOLVED_UNSEEN = "resolved-unseen"
    STALE = "stale-ignored"
    REPEAT = "repeat"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    FLAPPING = "flapping"
    STABLE = "stable"
    # The dead-man's switch (`oncall.heartbeat`): armed, the heartbeat overdue (paged), and back (recovered).
    HEARTBEAT_ARMED = "heartbeat-armed"
    HEARTBEAT_MISSED = "heartbeat-missed"
    HEARTBEAT_BACK = "heartbeat-back"
    # Following a message to its delivery (`oncall.delivery_status`); a fallback message's own row.
    DELIVERY = "delivery"
    FALLBACK = "fallback"


# What a delivery can decide, and of those what the history records.
DECIDED_KINDS = (Kind.FIRED, Kind.REFIRED, Kind.RESOLVED, Kind.RESOLVED_UNSEEN, Kind.STALE, Kind.REPEAT)
RECORDED_KINDS = tuple(kind for kind in DECIDED_KINDS if kind is not Kind.REPEAT)
ONCALL_KINDS = (Kind.ACKNOWLEDGED, Kind.ESCALATED, Kind.FLAPPING, Kind.STABLE)
HEARTBEAT_KINDS = (Kind.HEARTBEAT_ARMED, Kind.HEARTBEAT_MISSED, Kind.HEARTBEAT_BACK)
# Changes people hear about; those that flip the status (firing <-> resolved) count towards flapping.
ANNOUNCING = frozenset({Kind.FIRED, Kind.REFIRED, Kind.RESOLVED})
# The changes that start a firing episode (a page), and those that end one or start another.
PAGES = (Kind.FIRED, Kind.REFIRED)
EPISODE_CHANGES = ANNOUNCING | {Kind.RESOLVED_UNSEEN}
# The kinds whose history rows name messages to follow to their delivery.
FOLLOWED_KINDS = (Kind.FIRED, Kind.REFIRED, Kind.RESOLVED, Kind.ESCALATED, Kind.FLAPPING, Kind.STABLE)
