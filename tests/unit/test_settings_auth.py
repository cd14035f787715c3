"""Configuration read once from a mapping, and the Bearer check."""

from __future__ import annotations

import pytest

from src.endpoints.auth import bearer_token, is_authorized
from src.errors import ConfigurationError
from src.settings import load_settings

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


def test_rotation_accepts_each_listed_token() -> None:
    """Comma-separated tokens are all accepted, so old and new overlap during rotation."""
    old, new = "o" * 20, "n" * 20
    settings = load_settings({**ENV, "WEBHOOK_TOKEN": f"{old}, {new}"})
    for token in (old, new):
        assert is_authorized({"authorization": f"Bearer {token}"}, settings.webhook_tokens)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer \udcff"],
)
def test_wrong_or_missing_token_is_refused(header: str) -> None:
    """Anything but the exact token is refused."""
    assert not is_authorized({"authorization": header} if header else {}, (TOKEN,))


def test_scheme_is_case_insensitive() -> None:
    """`bearer` and `Bearer` are the same scheme."""
    assert bearer_token({"authorization": f"bearer {TOKEN}"}) == TOKEN
