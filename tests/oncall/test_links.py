"""Signed acknowledge links: what is signed, what is refused, and the SMS line that carries one."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from src.messages.render import sms_with_link
from src.oncall.links import (
    LINK_TTL,
    AckLink,
    LinkProblem,
    base_url,
    episode_tag,
    expiry_for,
    make_link,
    millis,
    verify_link,
)

KEY = "k" * 40
FP = "ffdd78bd7f1cd0ed"
STARTS = datetime(2026, 11, 27, 3, 0, 0, 123000, tzinfo=UTC)
ISSUED = datetime(2026, 11, 27, 3, 1, 30, 250000, tzinfo=UTC)
EPISODE = "0f3c9a7e1b2d4c5e6f708192a3b4c5d6e7f8"


def query_of(link: str) -> str:
    return urlsplit(link).query


def params(link: str) -> dict[str, str]:
    return dict(parse_qsl(query_of(link)))


def test_a_link_names_the_occurrence_and_verifies() -> None:
    """A link made for an occurrence verifies to that fingerprint, startsAt and expiry."""
    link = make_link("https://fn.example.com", KEY, FP, STARTS, ISSUED, EPISODE)
    assert link.startswith("https://fn.example.com/ack?fp=ffdd78bd7f1cd0ed&s=")
    verified = verify_link(query_of(link), KEY, ISSUED + timedelta(minutes=5))
    assert verified == AckLink(FP, STARTS, expiry_for(ISSUED), episode_tag(EPISODE))


def test_the_issue_time_read_back_is_never_before_the_real_one() -> None:
    """The expiry is rounded up, so the issue time derived from it is at or just after the real one."""
    verified = verify_link(query_of(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE)), KEY, ISSUED)
    assert isinstance(verified, AckLink)
    assert ISSUED <= verified.issued_at < ISSUED + timedelta(seconds=1)


@pytest.mark.parametrize("name", ["fp", "s", "exp"])
def test_an_altered_value_is_refused(name: str) -> None:
    """Changing the fingerprint, startsAt or expiry of a genuine link breaks its signature."""
    values = params(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE))
    values[name] = "ffdd78bd7f1cd0ee" if name == "fp" else str(int(values[name]) + 1)
    assert verify_link(urlencode(values), KEY, ISSUED) is LinkProblem.FORGED


def test_a_link_signed_with_another_key_is_forged() -> None:
    """Only ACK_SIGNING_KEY makes valid links."""
    link = make_link("https://x", "another-key-" + "z" * 30, FP, STARTS, ISSUED, EPISODE)
    assert verify_link(query_of(link), KEY, ISSUED) is LinkProblem.FORGED


def test_an_expired_link_is_refused_once_its_time_is_up() -> None:
    """A genuine link is valid until exp, then refused as expired."""
    query = query_of(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE))
    assert isinstance(verify_link(query, KEY, ISSUED + LINK_TTL - timedelta(seconds=1)), AckLink)
    assert verify_link(query, KEY, ISSUED + LINK_TTL + timedelta(seconds=1)) is LinkProblem.EXPIRED


def test_an_expired_forgery_is_reported_as_forged() -> None:
    """The signature is checked before the expiry, so nothing is said about a forged link's time."""
    values = params(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE))
    values["sig"] = "A" * 27
    assert verify_link(urlencode(values), KEY, ISSUED + 2 * LINK_TTL) is LinkProblem.FORGED


def test_the_episode_tag_cannot_be_swapped() -> None:
    """The tag naming the firing episode is covered by the signature: replacing it breaks the link."""
    values = params(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE))
    raw = base64.urlsafe_b64decode(values["sig"] + "=")
    values["sig"] = base64.urlsafe_b64encode(episode_tag("another episode") + raw[4:]).decode().rstrip("=")
    assert verify_link(urlencode(values), KEY, ISSUED) is LinkProblem.FORGED


@pytest.mark.parametrize("query", [
    "", "fp=a", "fp=a&s=1&exp=2", "fp=a&s=1&exp=2&sig=x&sig=y", "fp=_bad&s=1&exp=2&sig=" + "A" * 27,
    "fp=a&s=12x&exp=2&sig=" + "A" * 27, "fp=a&s=1&exp=-2&sig=" + "A" * 27,
])
def test_incomplete_or_repeated_parameters_are_malformed(query: str) -> None:
    """Missing, repeated or ill-formed parameters are refused before any signature is computed."""
    assert verify_link(query, KEY, ISSUED) is LinkProblem.MALFORMED


def test_unknown_parameters_added_by_mail_gateways_are_ignored() -> None:
    """Tracking parameters appended to a genuine link do not make it invalid."""
    query = query_of(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE)) + "&utm_source=mail"
    assert isinstance(verify_link(query, KEY, ISSUED), AckLink)


@given(st.binary(max_size=200))
def test_no_input_crashes_the_verifier(raw: bytes) -> None:
    """Whatever arrives as a query string, the answer is a problem or a link, never an exception."""
    assert verify_link(raw.decode("latin-1"), KEY, ISSUED) in set(LinkProblem)


def test_startsat_travels_at_millisecond_precision() -> None:
    """`s` is Unix milliseconds, Appwrite's precision for startsAt."""
    assert params(make_link("https://x", KEY, FP, STARTS, ISSUED, EPISODE))["s"] == str(millis(STARTS))


def test_public_url_wins_over_the_request_host() -> None:
    """Links point at PUBLIC_URL when set, else at the scheme and host of the request."""
    assert base_url("https://alerts.example.com/", "http", "10.0.0.1:3000") == "https://alerts.example.com"
    assert base_url("", "http", "127.0.0.1:3000") == "http://127.0.0.1:3000"


def test_sms_keeps_the_link_within_160_characters() -> None:
    """The SMS text is cut so that text plus link fit one segment; a link too long for it is left out."""
    link = make_link("https://64f1a2b3c4d5e6f7a8b9.fra.appwrite.run", KEY, FP, STARTS, ISSUED, EPISODE)
    sms = sms_with_link("HighCPU on 10.0.0.80:9100 (critical): " + "x" * 200, link, 160)
    assert len(sms) == 160 and sms.endswith(" Ack: " + link) and sms.startswith("HighCPU on 10.0")
    too_long = "https://" + "h" * 150 + "/ack"
    assert sms_with_link("[FIRING] A", too_long, 160) == "[FIRING] A"
