"""The Bearer check: exact tokens only, several during a rotation."""

from __future__ import annotations

import pytest

from src.endpoints.auth import bearer_token, is_authorized
from src.settings import load_settings

TOKEN = "t" * 32
ENV = {
    "WEBHOOK_TOKEN": TOKEN,
    "APPWRITE_FUNCTION_API_ENDPOINT": "http://127.0.0.1:9/v1",
    "APPWRITE_FUNCTION_PROJECT_ID": "proj",
}


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
