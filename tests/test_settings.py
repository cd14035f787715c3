"""Settings: read once from the environment, every problem named, secrets never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from src.errors import ConfigurationError
from src.settings import load_settings, read_topic_uses

TOKEN = "t" * 32
ENV = {
    "WEBHOOK_TOKEN": TOKEN,
    "APPWRITE_FUNCTION_API_ENDPOINT": "http://127.0.0.1:9/v1",
    "APPWRITE_FUNCTION_PROJECT_ID": "proj",
}


def test_defaults() -> None:
    """Only the token and Appwrite's own variables are needed; IDs default to the schema's."""
    settings = load_settings(ENV)
    assert (settings.database_id, settings.table_id) == ("monitoring", "alerts")
    assert [r.topic for r in settings.routes] == ["critical-alerts", "monitoring-alerts"]


def test_every_problem_is_reported_at_once_without_secrets() -> None:
    """Several bad variables produce one error listing each, and no secret value."""
    env = {"WEBHOOK_TOKEN": "short-secret", "ALERTS_TABLE_ID": "_bad", "ALERT_ROUTES": "[]",
           "TIME_BUDGET_SECONDS": "soon"}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env)
    text = str(caught.value)
    for name in ("WEBHOOK_TOKEN", "APPWRITE_FUNCTION_API_ENDPOINT", "APPWRITE_FUNCTION_PROJECT_ID",
                 "ALERTS_TABLE_ID", "ALERT_ROUTES", "TIME_BUDGET_SECONDS"):
        assert name in text
    assert "short-secret" not in text


def test_settings_repr_hides_tokens() -> None:
    """Printing settings never shows a token."""
    assert TOKEN not in repr(load_settings(ENV))


def test_topic_uses_name_every_route_of_each_topic() -> None:
    """Each topic the routes send to is listed once, with every route that names it."""
    routes = ('[{"name": "db", "match": {"labels": {"team": "db"}}, "topic": "db-pages", "channels": ["sms"]},'
              ' {"name": "all", "topic": "db-pages", "channels": ["push"]},'
              ' {"name": "web", "topic": "web-pages", "channels": ["email"]}]')
    settings = load_settings({**ENV, "ALERT_ROUTES": routes})
    assert settings.topic_uses() == {"db-pages": ("route db", "route all"), "web-pages": ("route web",)}
    assert load_settings(ENV).topic_uses() == {"critical-alerts": ("route critical",),
                                               "monitoring-alerts": ("route monitoring",)}


def test_operator_tools_read_the_same_topics_without_a_token() -> None:
    """The bootstrap's view of the topics needs no webhook token and matches the function's."""
    routes = '[{"name": "db", "topic": "db-pages", "channels": ["sms"]}]'
    assert read_topic_uses({"ALERT_ROUTES": routes}) == load_settings({**ENV, "ALERT_ROUTES": routes}).topic_uses()
    with pytest.raises(ConfigurationError, match="ALERT_ROUTES"):
        read_topic_uses({"ALERT_ROUTES": '[{"name": "db"}]'})


def test_received_resolution_defaults_to_an_hour_and_is_read_in_minutes() -> None:
    """`lastReceivedAt` is refreshed once an hour unless `RECEIVED_RESOLUTION_MINUTES` says otherwise; 0 is allowed."""
    assert load_settings(ENV).received_resolution == timedelta(hours=1)
    assert load_settings({**ENV, "RECEIVED_RESOLUTION_MINUTES": "15"}).received_resolution == timedelta(minutes=15)
    assert load_settings({**ENV, "RECEIVED_RESOLUTION_MINUTES": "0"}).received_resolution == timedelta(0)


@pytest.mark.parametrize("raw", ["-5", "1441", "1h", "0.5"])
def test_a_bad_received_resolution_is_refused_by_name(raw: str) -> None:
    """A resolution that is not a whole number of minutes from 0 to 1440 is a configuration error naming it."""
    with pytest.raises(ConfigurationError, match="RECEIVED_RESOLUTION_MINUTES"):
        load_settings({**ENV, "RECEIVED_RESOLUTION_MINUTES": raw})
