"""The one mapping from the SDK's `AppwriteException` to the errors of `errors.py`, shared by the function's
store and the operator tools: by HTTP status and Appwrite's error `type`, with what to do about it."""

from __future__ import annotations

from appwrite.exception import AppwriteException

from ..errors import AppwriteError, PermanentAppwriteError, TransientAppwriteError

_TRANSIENT_CODES = frozenset({0, 408, 429, 500, 502, 503, 504})
_BOOTSTRAP_HINT = "run `python scripts/bootstrap_schema.py` against this project"
_SCOPES_HINT = "the function needs the scopes rows.read, rows.write and messages.write (see appwrite.json)"


def convert(exc: AppwriteException, action: str) -> AppwriteError:
    """Map one SDK exception to our hierarchy, by HTTP status and Appwrite's error `type`."""
    code = exc.code if isinstance(exc.code, int) else 0
    kind = exc.type if isinstance(exc.type, str) else None
    if code in _TRANSIENT_CODES or code >= 500:
        detail = "no answer (connection failed or timed out)" if code == 0 else f"HTTP {code} {kind or ''}"
        return TransientAppwriteError(f"Appwrite did not {action}: {detail}".strip(), code=code, type=kind)
    if code in (401, 403):
        return PermanentAppwriteError(
            f"Appwrite refused to {action} ({kind}): check the API key; {_SCOPES_HINT}", code=code, type=kind
        )
    if code == 404 and kind in ("database_not_found", "table_not_found"):
        return PermanentAppwriteError(
            f"Appwrite could not {action}: {kind.replace('_', ' ')}; {_BOOTSTRAP_HINT}", code=code, type=kind
        )
    if kind in ("row_invalid_structure", "column_not_available", "general_query_invalid"):
        return PermanentAppwriteError(
            f"Appwrite could not {action} ({kind}: {exc.message}); the table differs from schema/: "
            f"run `python scripts/bootstrap_schema.py --check`", code=code, type=kind
        )
    return PermanentAppwriteError(f"Appwrite could not {action}: {kind} {exc.message}", code=code, type=kind)
