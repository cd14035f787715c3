"""The on-call variables, validated with the rest of the configuration: defaults, accepted values, and one
error naming every bad value (never the signing key itself)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from src.errors import ConfigurationError
from src.oncall.policy import Policy
from src.settings import load_settings

ENV = {
    "WEBHOOK_TOKEN": "t" * 32,
    "APPWRITE_FUNCTION_API_ENDPOINT": "http://127.0.0.1:9/v1",
    "APPWRITE_FUNCTION_PROJECT_ID": "proj",
}


def test_defaults_are_the_documented_ones() -> None:
    """No variables: no links, escalation after 15 min up to 3 times, flapping at 4 changes in 30 min, 20 SMS
    per topic and hour, the SMS log in table sms_log."""
    settings = load_settings(ENV)
    assert (settings.ack_signing_key, settings.public_url, settings.sms_table_id) == ("", "", "sms_log")
    assert settings.policy == Policy(timedelta(minutes=15), 3, 4, timedelta(minutes=30), 20)


def test_every_variable_is_read() -> None:
    """Each on-call variable sets what it names; minutes may be fractional; 0 turns a rule off."""
    settings = load_settings({**ENV, "ACK_SIGNING_KEY": "k" * 40, "PUBLIC_URL": "https://alerts.example.com/",
                              "ESCALATE_AFTER": "7.5", "ESCALATE_MAX": "0", "FLAP_COUNT": "0", "FLAP_WINDOW": "60",
                              "SMS_BUDGET_PER_HOUR": "0", "SMS_LOG_TABLE_ID": "texts"})
    assert (settings.ack_signing_key, settings.public_url, settings.sms_table_id) == (
        "k" * 40, "https://alerts.example.com", "texts")
    assert settings.policy == Policy(timedelta(minutes=7.5), 0, 0, timedelta(minutes=60), 0)


def test_every_bad_value_is_reported_in_one_error_without_the_key() -> None:
    """Eight bad on-call values (and a bad token) give one ConfigurationError naming each; the short signing
    key is not echoed."""
    env = {**ENV, "WEBHOOK_TOKEN": "short", "ACK_SIGNING_KEY": "too-short-secret", "PUBLIC_URL": "alerts.example.com",
           "ESCALATE_AFTER": "soon", "ESCALATE_MAX": "11", "FLAP_COUNT": "1", "FLAP_WINDOW": "0",
           "SMS_BUDGET_PER_HOUR": "-5", "SMS_LOG_TABLE_ID": "alert_events"}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env)
    problems = caught.value.problems
    for name in ("WEBHOOK_TOKEN", "ACK_SIGNING_KEY", "PUBLIC_URL", "ESCALATE_AFTER", "ESCALATE_MAX", "FLAP_COUNT",
                 "FLAP_WINDOW", "SMS_BUDGET_PER_HOUR", "SMS_LOG_TABLE_ID"):
        assert sum(name in problem for problem in problems) >= 1, name
    assert "too-short-secret" not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://alerts.example.com", "https://alerts.example.com/?x=1", "https://", "/ack"])
def test_public_url_must_be_a_plain_http_address(url: str) -> None:
    """PUBLIC_URL is the function's own http(s) address: no other scheme, query, or missing host."""
    with pytest.raises(ConfigurationError, match="PUBLIC_URL"):
        load_settings({**ENV, "PUBLIC_URL": url})


def test_the_signing_key_must_not_be_a_token() -> None:
    """Whoever holds the webhook token must not also be able to sign acknowledge links."""
    with pytest.raises(ConfigurationError, match="ACK_SIGNING_KEY must differ"):
        load_settings({**ENV, "WEBHOOK_TOKEN": "w" * 40, "ACK_SIGNING_KEY": "w" * 40})


def test_settings_repr_shows_no_signing_key() -> None:
    """Printing the settings says whether links are on, never the key."""
    text = repr(load_settings({**ENV, "ACK_SIGNING_KEY": "s3cr3t" * 8}))
    assert "ack_links=True" in text and "s3cr3t" not in text
