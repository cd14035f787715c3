"""Routing rules as data: the default table and ALERT_ROUTES."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from src.messages.routing import Target, default_routes, parse_routes, route

ROUTES = default_routes("critical-alerts", "monitoring-alerts")
CRIT_PUSH = Target(topic="critical-alerts", channel="push")
CRIT_SMS = Target(topic="critical-alerts", channel="sms")
MON_PUSH = Target(topic="monitoring-alerts", channel="push")


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", (CRIT_PUSH, CRIT_SMS, MON_PUSH)),
        ("emergency", (CRIT_PUSH, CRIT_SMS, MON_PUSH)),
        ("warning", (MON_PUSH,)),
        ("info", (MON_PUSH,)),
        ("none", (MON_PUSH,)),
    ],
)
def test_default_routes_by_severity(severity: str, expected: tuple[Target, ...]) -> None:
    """Critical and emergency page by push and SMS; everything goes to the monitoring topic."""
    assert route(severity, {"alertname": "X"}, ROUTES) == expected


def test_custom_routes_match_labels_and_severity() -> None:
    """A team route matches its label; an email route matches only its severities."""
    routes = parse_routes(
        '[{"name": "mlops", "match": {"labels": {"team": "mlops"}}, "topic": "mlops-alerts", "channels": ["push"]},'
        ' {"name": "warn-mail", "match": {"severity": ["Warning"]}, "topic": "ops-mail", "channels": ["email"]}]'
    )
    assert route("warning", {"team": "mlops"}, routes) == (
        Target(topic="mlops-alerts", channel="push"), Target(topic="ops-mail", channel="email"))
    assert route("critical", {"team": "db"}, routes) == ()


def test_duplicate_targets_collapse() -> None:
    """Two routes naming the same topic and channel produce one target."""
    routes = parse_routes('[{"name": "a", "topic": "t", "channels": ["push"]},'
                          ' {"name": "b", "topic": "t", "channels": ["push", "sms"]}]')
    assert route("none", {}, routes) == (Target(topic="t", channel="push"), Target(topic="t", channel="sms"))


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '[{"name": "x", "topic": "t", "channels": ["fax"]}]',
        '[{"name": "x", "topic": "_bad", "channels": ["push"]}]',
        '[{"name": "x", "topic": "t", "channels": []}]',
        '[{"name": "x", "topic": "t", "channels": ["push"], "extra": 1}]',
        "not json",
    ],
)
def test_invalid_routes_are_rejected(text: str) -> None:
    """Malformed ALERT_ROUTES never half-apply."""
    with pytest.raises(ValidationError):
        parse_routes(text)
