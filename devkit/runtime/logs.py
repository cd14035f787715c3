"""One execution's logs and errors, formatted the way Open Runtimes' logger formats them.

Each `log`/`error` call becomes one entry: lists, tuples and dicts are compact JSON, anything else `str()`,
joined with spaces and cut at 8000 characters. Output the function wrote to stdout/stderr arrives through
`add_native` at the end of the execution, after a hint, as on the runtime.
"""

from __future__ import annotations

import json
from typing import Any

MAX_ENTRY_CHARS = 8000
TRUNCATED_SUFFIX = "... Log truncated due to size limit (8000 characters)"
NATIVE_LOGS_HINT = "Native logs detected. Use context.log() or context.error() for better experience."


def format_entry(messages: tuple[Any, ...]) -> str:
    """Render the arguments of one `context.log`/`context.error` call."""
    parts = [
        json.dumps(message, separators=(",", ":")) if isinstance(message, list | dict | tuple) else str(message)
        for message in messages
    ]
    text = " ".join(parts)
    if len(text) > MAX_ENTRY_CHARS:
        text = text[:MAX_ENTRY_CHARS] + TRUNCATED_SUFFIX
    return text


class ExecutionLog:
    """Collects the entries of one execution, kept apart as `logs` and `errors`."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.errors: list[str] = []

    def log(self, *messages: Any) -> None:
        self.logs.append(format_entry(messages))

    def error(self, *messages: Any) -> None:
        self.errors.append(format_entry(messages))

    def add_native(self, captured: str) -> None:
        """Record what the function printed; nothing when it printed nothing."""
        if captured:
            self.logs.append(NATIVE_LOGS_HINT)
            self.logs.append(format_entry((captured.rstrip("\n"),)))
