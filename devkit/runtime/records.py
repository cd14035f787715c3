"""The record of one execution: a JSON line in the host's log file and a readable block on stdout.

Several worker processes append to the same file, so each record is written with one `write` under an
exclusive `flock`. Records hold what the function logged, never the request body or its headers.
"""

from __future__ import annotations

import fcntl
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DISPLAY_CHARS_PER_ENTRY = 1000  # on the terminal only; the JSON line keeps every character


@dataclass(frozen=True)
class ExecutionRecord:
    """What one execution did; field names are the keys of the JSON line."""

    executionId: str
    method: str
    path: str
    trigger: str
    statusCode: int
    durationMs: float
    logs: list[str]
    errors: list[str]
    pid: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)


def append_record(log_file: Path, record: ExecutionRecord) -> None:
    """Append the record as one line, safely against other processes appending at the same time."""
    line = (record.to_json() + "\n").encode("utf-8")
    with open(log_file, "ab") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            stream.write(line)
            stream.flush()
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def read_records(log_file: Path) -> list[dict[str, Any]]:
    """Every record in the file, oldest first (an absent file has none)."""
    if not log_file.exists():
        return []
    with open(log_file, "rb") as stream:
        fcntl.flock(stream, fcntl.LOCK_SH)
        try:
            content = stream.read().decode("utf-8")
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _shortened(entry: str) -> str:
    if len(entry) <= DISPLAY_CHARS_PER_ENTRY:
        return entry
    return f"{entry[:DISPLAY_CHARS_PER_ENTRY]}... ({len(entry) - DISPLAY_CHARS_PER_ENTRY} more characters)"


def _indented(marker: str, entries: list[str]) -> list[str]:
    return [f"    {marker} {line}" for entry in entries for line in (_shortened(entry).splitlines() or [""])]


def format_record(record: ExecutionRecord) -> str:
    """A few readable lines for a terminal: a summary, then each log (`|`) and error (`!`) line.

    Long entries are shortened here; the JSON line keeps them whole.
    """
    clock = time.strftime("%H:%M:%S")
    summary = (
        f"{clock} {record.method} {record.path} -> {record.statusCode} "
        f"({record.durationMs:.0f} ms, {record.trigger}, execution {record.executionId}, pid {record.pid})"
    )
    return "\n".join([summary, *_indented("|", record.logs), *_indented("!", record.errors)]) + "\n"
