"""The one mapping from the SDK's `AppwriteException` to the errors of `errors.py`, shared by the function's
store and the operator tools: by HTTP status and Appwrite's error `type`, with what to do about it. Each
message names the cause (the host that did not answer and why, a rejected key, a missing scope, a missing
table), never the key itself."""

from __future__ import annotations

import re

from appwrite.exception import AppwriteException

from ..errors import AppwriteError, PermanentAppwriteError, TransientAppwriteError

_TRANSIENT_CODES = frozenset({0, 408, 429, 500, 502, 503, 504})
# A transaction that expired before its commit wrote nothing: the delivery's retry starts a new one.
_TRANSIENT_TYPES = frozenset({"transaction_expired"})
_BOOTSTRAP_HINT = "run `python scripts/bootstrap_schema.py` against this project"
_SCOPES_HINT = ("the function needs the scopes rows.read, rows.write, messages.write and messages.read "
                "(see appwrite.json)")
# What requests/urllib3 say went wrong, inside their long "HTTPConnectionPool(...): Max retries ..." text.
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_NETWORK_CAUSES = ("Read timed out", "Connect timeout", "timed out", "Name or service not known",
                   "Connection refused", "Connection reset", "Connection aborted", "RemoteDisconnected",
                   "SSLError", "CERTIFICATE_VERIFY_FAILED")


def network_reason(message: str) -> str:
    """The short cause of a failed connection ("Connection refused", "timed out"), from the SDK's text."""
    found = _ERRNO.search(message)
    if found:
        return found.group(1).strip()
    cause = next((cause for cause in _NETWORK_CAUSES if cause in message), "")
    return cause or (message[:200] if message else "no answer")


def convert(exc: AppwriteException, action: str, *, host: str = "") -> AppwriteError:
    """Map one SDK exception to our hierarchy, by HTTP status and Appwrite's error `type`; `host` (the
    endpoint's host and port) is named when no answer came."""
    code = exc.code if isinstance(exc.code, int) else 0
    kind = exc.type if isinstance(exc.type, str) else None
    text = "" if exc.message is None else str(exc.message)  # the SDK passes a connection error as is
    if code == 0:
        where = host or "Appwrite"
        return TransientAppwriteError(f"Appwrite did not {action}: no answer from {where} ({network_reason(text)})",
                                      code=code, type=kind)
    if code in _TRANSIENT_CODES or code >= 500 or kind in _TRANSIENT_TYPES:
        return TransientAppwriteError(f"Appwrite did not {action}: HTTP {code} {kind or ''}".strip(),
                                      code=code, type=kind)
    # Appwrite takes an unknown key for no key: the caller is a guest, which its message names.
    if code in (401, 403) and kind == "general_unauthorized_scope" and "role: guests" not in text:
        return PermanentAppwriteError(
            f"Appwrite refused to {action}: the API key lacks a scope ({text}); {_SCOPES_HINT}", code=code, type=kind)
    if code in (401, 403):
        return PermanentAppwriteError(
            f"Appwrite refused to {action} ({kind}): the API key was rejected (unknown, expired, or of another "
            f"project: Appwrite took the caller for a guest); check the key; {_SCOPES_HINT}", code=code, type=kind)
    if code == 404 and kind in ("database_not_found", "table_not_found"):
        return PermanentAppwriteError(
            f"Appwrite could not {action}: {kind.replace('_', ' ')}; {_BOOTSTRAP_HINT}", code=code, type=kind
        )
    if kind in ("row_invalid_structure", "column_not_available", "general_query_invalid"):
        return PermanentAppwriteError(
            f"Appwrite could not {action} ({kind}: {text}); the table differs from schema/: "
            f"run `python scripts/bootstrap_schema.py --check`", code=code, type=kind
        )
    return PermanentAppwriteError(f"Appwrite could not {action}: {kind} {text}", code=code, type=kind)
