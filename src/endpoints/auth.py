"""Bearer-token check for the webhook: the only gate in front of the function (it is deployed with
`execute: any`). Constant-time comparison against every configured token, so rotation can overlap.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (header names are lower-cased)."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def refusal(headers: Mapping[str, str], tokens: Iterable[str]) -> str | None:
    """Why the request's credentials are refused, in words safe to log (never what was presented); None
    when a configured token was presented."""
    header = headers.get("authorization", "").strip()
    if not header:
        return "no Authorization header"
    scheme, _, _ = header.partition(" ")
    if scheme.lower() != "bearer":
        # The scheme itself is not logged: a caller who forgot "Bearer " sent the token in its place.
        return "the Authorization scheme is not Bearer"
    presented = bearer_token(headers)
    if presented is None:
        return "the Bearer token is empty"
    candidate = presented.encode("utf-8", "surrogatepass")
    # Compare with every token, without stopping at the first match, so timing reveals nothing.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(candidate, token.encode("utf-8", "surrogatepass"))
    return None if matched else "unknown Bearer token"


def is_authorized(headers: Mapping[str, str], tokens: Iterable[str]) -> bool:
    return refusal(headers, tokens) is None


REDACTED = b"[redacted]"


def redact(body: bytes, secrets: Iterable[str]) -> bytes:
    """The body with every configured secret blanked out, as sent or as JSON escapes it, so a token a
    caller copies into a label or annotation is never stored, sent on or logged."""
    for secret in secrets:
        for form in {secret.encode("utf-8", "surrogatepass"), json.dumps(secret)[1:-1].encode("ascii")}:
            if form in body:
                body = body.replace(form, REDACTED)
    return body
