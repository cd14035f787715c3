"""Signed acknowledge links: `GET /ack?fp=<fingerprint>&s=<startsAt>&exp=<unix time>&sig=<signature>`.

The signature is the credential. `sig` is base64url (27 characters, short enough for an SMS) of 20 bytes:
a 4-byte tag of the firing episode the link was made for (see `episode_tag`), then HMAC-SHA256 keyed with
`ACK_SIGNING_KEY` over a fixed purpose string, the fingerprint, the occurrence's `startsAt` (Unix
milliseconds, Appwrite's precision), the expiry (Unix seconds) and that tag, truncated to 128 bits. The tag
tells a link for the current firing from one sent before the alert resolved and fired again with the same
`startsAt`; it is covered by the HMAC, so it cannot be changed either. A link is valid until `exp`
(`LINK_TTL` after it was made). Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode

from ..formats import to_millis
from ..ids import is_appwrite_id

ACK_PATH = "/ack"
LINK_TTL = timedelta(hours=24)
SIGNATURE_BYTES = 16
TAG_BYTES = 4
_PURPOSE = "alert-processor/ack/v1"
_DIGITS = re.compile(r"^[0-9]{1,15}$")
_PARAMS = ("fp", "s", "exp", "sig")


class LinkProblem(StrEnum):
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class AckLink:
    """A verified link: which occurrence it names, until when, and the tag of its firing episode."""

    fingerprint: str
    starts_at: datetime
    expires: int
    tag: bytes

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC) - LINK_TTL


def episode_tag(episode: str) -> bytes:
    """4 bytes naming a firing episode (its event ID): enough to tell apart the few firings of one occurrence."""
    return hashlib.sha256(episode.encode("utf-8", "replace")).digest()[:TAG_BYTES]


def millis(moment: datetime) -> int:
    moment = to_millis(moment)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1000, UTC).replace(microsecond=value % 1000 * 1000)


def _mac(key: str, fingerprint: str, starts_ms: int, expires: int, tag: bytes) -> bytes:
    material = f"{_PURPOSE}\n{fingerprint}\n{starts_ms}\n{expires}\n{tag.hex()}".encode()
    return hmac.new(key.encode("utf-8"), material, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def signature(key: str, fingerprint: str, starts_ms: int, expires: int, tag: bytes) -> str:
    return base64.urlsafe_b64encode(tag + _mac(key, fingerprint, starts_ms, expires, tag)).decode("ascii").rstrip("=")


def _decode(sig: str) -> bytes | None:
    if len(sig) != 27 or not re.fullmatch(r"[A-Za-z0-9_-]+", sig):
        return None
    try:
        raw = base64.urlsafe_b64decode(sig + "=")
    except ValueError:
        return None
    return raw if len(raw) == TAG_BYTES + SIGNATURE_BYTES else None


def expiry_for(issued: datetime) -> int:
    """Whole seconds, rounded up, so the issue time read back from a link is never before the real one."""
    return math.ceil((issued + LINK_TTL).timestamp())


def base_url(public_url: str, scheme: str, host: str) -> str:
    """Where links point: `PUBLIC_URL` when set, else the scheme and host of the request being handled."""
    if public_url:
        return public_url.rstrip("/")
    return f"{scheme or 'https'}://{host}" if host else ""


def make_link(base: str, key: str, fingerprint: str, starts_at: datetime, issued: datetime, episode: str) -> str:
    """The link acknowledging the firing `episode` (an event ID) of the occurrence (fingerprint, startsAt)."""
    starts_ms = millis(starts_at)
    expires = expiry_for(issued)
    query = urlencode({"fp": fingerprint, "s": starts_ms, "exp": expires,
                       "sig": signature(key, fingerprint, starts_ms, expires, episode_tag(episode))})
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
    if not (is_appwrite_id(fingerprint) and _DIGITS.match(starts) and _DIGITS.match(expires)):
        return LinkProblem.MALFORMED
    raw = _decode(sig)
    if raw is None:
        return LinkProblem.FORGED
    tag, mac = raw[:TAG_BYTES], raw[TAG_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, fingerprint, int(starts), int(expires), tag)):
        return LinkProblem.FORGED
    if now.timestamp() >= int(expires):
        return LinkProblem.EXPIRED
    return AckLink(fingerprint, from_millis(int(starts)), int(expires), tag)


def page(heading: str, lines: list[str]) -> str:
    """The small HTML page an acknowledge link answers with; every value is escaped."""
    import html  # with its table of entities: only an acknowledge link needs it

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
