"""Signed acknowledge links: `GET /ack?fp=<fingerprint>&s=<startsAt>&exp=<unix time>&sig=<signature>`.

The signature is the credential: HMAC-SHA256 over a fixed purpose string, the fingerprint, the occurrence's
`startsAt` (Unix milliseconds, Appwrite's precision) and the expiry (Unix seconds), keyed with
`ACK_SIGNING_KEY`, truncated to 128 bits and written in base64url (22 characters) so that a link still
fits an SMS. A link is valid until `exp`; it was issued exactly `LINK_TTL` before, which tells an old link
(issued before a resolve and a re-fire of the same `startsAt`) from a current one. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode

from .rows import cut_chars, to_millis

ACK_PATH = "/ack"
LINK_TTL = timedelta(hours=24)
SIGNATURE_BYTES = 16
_PURPOSE = "alert-processor/ack/v1"
_FINGERPRINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,35}$")
_DIGITS = re.compile(r"^[0-9]{1,15}$")
_PARAMS = ("fp", "s", "exp", "sig")
# The shortest SMS text worth sending next to a link; below it the SMS goes out without the link.
SMS_MIN_TEXT = 20


class LinkProblem(StrEnum):
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class AckLink:
    """A verified link: which occurrence it names, and when it was issued."""

    fingerprint: str
    starts_at: datetime
    expires: int

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC) - LINK_TTL


def millis(moment: datetime) -> int:
    moment = to_millis(moment)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1000, UTC).replace(microsecond=value % 1000 * 1000)


def signature(key: str, fingerprint: str, starts_ms: int, expires: int) -> str:
    material = f"{_PURPOSE}\n{fingerprint}\n{starts_ms}\n{expires}".encode()
    digest = hmac.new(key.encode("utf-8"), material, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def expiry_for(issued: datetime) -> int:
    """Whole seconds, rounded up, so the issue time read back from a link is never before the real one."""
    return math.ceil((issued + LINK_TTL).timestamp())


def base_url(public_url: str, scheme: str, host: str) -> str:
    """Where links point: `PUBLIC_URL` when set, else the scheme and host of the request being handled."""
    if public_url:
        return public_url.rstrip("/")
    return f"{scheme or 'https'}://{host}" if host else ""


def make_link(base: str, key: str, fingerprint: str, starts_at: datetime, issued: datetime) -> str:
    starts_ms = millis(starts_at)
    expires = expiry_for(issued)
    query = urlencode({"fp": fingerprint, "s": starts_ms, "exp": expires,
                       "sig": signature(key, fingerprint, starts_ms, expires)})
    return f"{base}{ACK_PATH}?{query}"


def verify_link(query_string: str, key: str, now: datetime) -> AckLink | LinkProblem:
    """The link's occurrence, or why it is refused. The signature is checked before the expiry (so an
    expired link is reported as expired only when it is genuine) and compared in constant time."""
    values: dict[str, str] = {}
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, max_num_fields=20)
    except ValueError:
        return LinkProblem.MALFORMED
    for name, value in pairs:
        if name in _PARAMS:
            if name in values:
                return LinkProblem.MALFORMED
            values[name] = value
    if set(values) != set(_PARAMS):
        return LinkProblem.MALFORMED
    fingerprint, starts, expires, sig = (values[name] for name in _PARAMS)
    if not (_FINGERPRINT.match(fingerprint) and _DIGITS.match(starts) and _DIGITS.match(expires)):
        return LinkProblem.MALFORMED
    expected = signature(key, fingerprint, int(starts), int(expires))
    if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode("ascii")):
        return LinkProblem.FORGED
    if now.timestamp() >= int(expires):
        return LinkProblem.EXPIRED
    return AckLink(fingerprint, from_millis(int(starts)), int(expires))


def sms_with_link(text: str, link: str, limit: int) -> str:
    """One SMS line ending with the link, cut to `limit` characters; without the link when it leaves too
    little room for the text."""
    text = " ".join(text.split())
    suffix = f" Ack: {link}"
    if not link or limit - len(suffix) < SMS_MIN_TEXT:
        return cut_chars(text, limit)
    return cut_chars(text, limit - len(suffix)) + suffix


def page(heading: str, lines: list[str]) -> str:
    """The small HTML page an acknowledge link answers with; every value is escaped."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(heading)}</title></head>"
        "<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em\">"
        f"<h1>{html.escape(heading)}</h1>{paragraphs}</body></html>\n"
    )


# Sent with every /ack answer: nothing cached (each answer reflects the state now), no script, no framing, and
# the link (its signature) never leaves in a Referer.
PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
