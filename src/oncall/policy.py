"""The on-call policy (escalation, flapping, SMS budget), set by the function's variables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

CRITICAL_SEVERITIES = frozenset({"critical", "emergency"})


@dataclass(frozen=True)
class Policy:
    """The on-call rules' settings: escalation, flapping and the SMS budget (0 turns a rule off)."""

    escalate_after: timedelta = timedelta(minutes=15)
    escalate_max: int = 3
    flap_count: int = 4
    flap_window: timedelta = timedelta(minutes=30)
    sms_budget_per_hour: int = 20

    @property
    def escalation_horizon(self) -> timedelta:
        """How old a page can be and still be escalated: its last level's time plus an hour of slack."""
        return self.escalate_after * (self.escalate_max + 1) + timedelta(hours=1)


def is_critical(severity: str) -> bool:
    return severity.strip().lower() in CRITICAL_SEVERITIES
