"""Appwrite's ID rules (CustomId, Key, UID) and its server-side `unique()` generator.

All three share the Key rule on SQL adapters: a non-empty string of at most 36 characters from
`[A-Za-z0-9._-]` that does not start with `_`, `.` or `-`. CustomId additionally accepts the literal
`unique()`; a Key that allows internal names accepts exactly `$id`, `$createdAt` and `$updatedAt`.
"""

from __future__ import annotations

import re
import secrets
import time

MAX_ID_LENGTH = 36
UNIQUE_PLACEHOLDER = "unique()"
INTERNAL_INDEXABLE = ("$id", "$createdAt", "$updatedAt")

_ALLOWED = re.compile(r"[A-Za-z0-9_.\-]+")

KEY_DESCRIPTION = (
    f"Parameter must contain at most {MAX_ID_LENGTH} chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, "
    "and underscore. Can't start with a special char"
)
# The server's UID text undersells what it accepts (it also allows `.` and `-`); kept verbatim.
UID_DESCRIPTION = (
    f"UID must contain at most {MAX_ID_LENGTH} chars. Valid chars are a-z, A-Z, 0-9, and underscore. "
    "Can't start with a leading underscore"
)


def is_key(value: object, *, allow_internal: bool = False) -> bool:
    if not isinstance(value, str) or value == "":
        return False
    if value[0] in "_.-":
        return False
    if value[0] == "$":
        return allow_internal and value in INTERNAL_INDEXABLE
    return _ALLOWED.fullmatch(value) is not None and len(value) <= MAX_ID_LENGTH


def is_uid(value: object) -> bool:
    return is_key(value)


def is_custom_id(value: object) -> bool:
    return value == UNIQUE_PLACEHOLDER or is_key(value)


def unique_id() -> str:
    """20 hex chars like PHP `uniqid()` (8 for seconds, 5 for microseconds) plus 7 random ones."""
    now = time.time()
    seconds = int(now)
    micros = int((now - seconds) * 1_000_000)
    return f"{seconds:08x}{micros:05x}{secrets.token_hex(4)[:7]}"


def resolve_custom_id(value: str) -> str:
    return unique_id() if value == UNIQUE_PLACEHOLDER else value
