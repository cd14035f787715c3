"""What the benchmark delivers, and what the function should make of it.

Every phase delivers one group of `size` distinct alerts, as one large Alertmanager group would: every
tenth alert is `critical` (paged by push and SMS on the critical topic, and by push on the monitoring
topic), the others are `warning` (push on the monitoring topic). Phases, in order, on one project:

  first    every alert fires for the first time
  again    the same body again, a group_interval (5 min) later, as Alertmanager re-sends it: nothing new
  resolve  every alert resolved, another group_interval later

The function's clock runs ahead by each phase's `offset_seconds` (the dev host's clock offset header), so a
phase finds the rows as they would be that much later: a re-delivery comes after CLAIM_TIMEOUT (2 min), as
Alertmanager's do unless it is retrying.

Expected figures come from the issue's rules, not from the code under test: at most ceil(N/100) reads and
ceil(N/100) writes of the alerts table; messages only for changes of state, and more than 5 announcements
to the same topic and channel in one delivery become one digest.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from devkit import payloads

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
RESOLVED_AT = T0 + timedelta(minutes=5)
CRITICAL_EVERY = 10
DIGEST_THRESHOLD = 5
ROWS_PER_CALL = 100
CRITICAL_TOPIC = "critical-alerts"
MONITORING_TOPIC = "monitoring-alerts"


# Alertmanager's default group_interval: the soonest it sends a group again, unless retrying a failed send.
GROUP_INTERVAL_SECONDS = 300


class Phase(StrEnum):
    FIRST = "first"
    AGAIN = "again"
    RESOLVE = "resolve"

    @property
    def offset_seconds(self) -> int:
        """How long after the first delivery Alertmanager sends this phase."""
        return PHASES.index(self) * GROUP_INTERVAL_SECONDS


PHASES: tuple[Phase, ...] = (Phase.FIRST, Phase.AGAIN, Phase.RESOLVE)


def firing_alerts(size: int, series: int = 0) -> list[dict[str, Any]]:
    """`size` distinct firing alerts; alert 0, 10, 20, ... are critical. Each `series` has other fingerprints."""
    prefix = f"s{series}-" if series else ""
    alerts: list[dict[str, Any]] = []
    for index in range(size):
        critical = index % CRITICAL_EVERY == 0
        alerts.append(payloads.alert(
            "HostDown" if critical else "HostHighLoad",
            severity="critical" if critical else "warning",
            instance=f"{prefix}node-{index:05d}:9100",
            starts_at=T0,
        ))
    return alerts


def alerts_for(phase: Phase, size: int, series: int = 0) -> list[dict[str, Any]]:
    alerts = firing_alerts(size, series)
    if phase is Phase.RESOLVE:
        return [payloads.resolved(alert, RESOLVED_AT) for alert in alerts]
    return alerts


def body(alerts: Sequence[Mapping[str, Any]]) -> bytes:
    return json.dumps(payloads.payload(alerts)).encode("utf-8")


def phase_body(phase: Phase, size: int, series: int = 0) -> bytes:
    return body(alerts_for(phase, size, series))


def _targets(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The default routes (`src/routing.py`), restated: critical pages push + SMS, everything goes to monitoring."""
    found = []
    if alert["labels"].get("severity") in ("critical", "emergency"):
        found += [(CRITICAL_TOPIC, "push"), (CRITICAL_TOPIC, "sms")]
    found.append((MONITORING_TOPIC, "push"))
    return found


def expected_messages(phase: Phase, size: int, *, digests: bool = True) -> dict[str, int]:
    """Messages by channel the phase should send (`digests=False`: one per announcement, the baseline's way)."""
    if phase is Phase.AGAIN:
        return {}
    per_target: Counter[tuple[str, str]] = Counter()
    for alert in firing_alerts(size):
        per_target.update(_targets(alert))
    by_channel: Counter[str] = Counter()
    for (_topic, channel), count in per_target.items():
        by_channel[channel] += 1 if digests and count > DIGEST_THRESHOLD else count
    return dict(by_channel)


def storage_budget(size: int) -> int:
    """The most reads, and the most writes, of the alerts table one delivery of `size` alerts may make."""
    return math.ceil(size / ROWS_PER_CALL)


def history_budget(phase: Phase, size: int) -> int:
    """Bulk creates of history rows (`alert_events`, one per change of state): none for a re-delivery."""
    return 0 if phase is Phase.AGAIN else math.ceil(size / ROWS_PER_CALL)
