"""Which Appwrite the emulator answers as, and the server's answers for an older `X-Appwrite-Response-Format`.

The server (app/controllers/general.php) chains one response filter per format step below its own; of
those steps only the 1.9.0 one touches a model our routes return (rows: `$sequence` was an integer before
1.9.0). A format newer than the server's earns an `X-Appwrite-Warning` header. docs/contract.md lists
the steps and which are emulated.
"""

from __future__ import annotations

import re
from typing import Any

from devkit.appwrite_version import SERVER_VERSION

_SERVER = tuple(int(part) for part in SERVER_VERSION.split("."))
_SEQUENCE_AS_STRING_SINCE = (1, 9, 0)


def parse_version(text: str) -> tuple[int, ...] | None:
    """`1.9.5` -> (1, 9, 5); None for anything that is not dotted numbers (the server then skips filters)."""
    if not re.fullmatch(r"\d+(\.\d+)*", text.strip()):
        return None
    return tuple(int(part) for part in text.strip().split("."))


def warning_for(requested: str) -> str | None:
    """The server's warning when the SDK is built for a newer Appwrite than this one."""
    wanted = parse_version(requested)
    if wanted is None or wanted <= _SERVER:
        return None
    return (
        f"The current SDK is built for Appwrite {requested}. However, the current Appwrite server version is "
        f"{SERVER_VERSION}. Please downgrade your SDK to match the Appwrite version: https://appwrite.io/docs/sdks"
    )


def for_format(body: dict[str, Any], requested: str) -> dict[str, Any]:
    """`body` as a server answers a client asking for response format `requested` (empty: the newest)."""
    wanted = parse_version(requested) if requested else None
    if wanted is None or wanted >= _SEQUENCE_AS_STRING_SINCE:
        return body
    return _integer_sequences(body)


def _integer_sequences(value: dict[str, Any]) -> dict[str, Any]:
    converted = {key: _converted(item) for key, item in value.items()}
    if "$sequence" in converted:
        sequence = converted["$sequence"]
        converted["$sequence"] = int(sequence) if str(sequence).isdigit() else 0
    return converted


def _converted(value: Any) -> Any:
    if isinstance(value, list):
        return [_converted(item) for item in value]
    return _integer_sequences(value) if isinstance(value, dict) else value
