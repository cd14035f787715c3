"""Capture of what a function prints to stdout/stderr during an execution ("native logs").

Open Runtimes swaps `sys.stdout`/`sys.stderr` for a buffer while `main` runs. A worker here may run several
async executions at once, so instead both streams are replaced once, for the worker's life, by a stream that
writes into the buffer of the execution running in the current context (a `ContextVar`), and to the real
stream when no execution is running (the worker's own messages).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TextIO, cast

_current_buffer: ContextVar[io.StringIO | None] = ContextVar("devkit_runtime_native_logs", default=None)


class _RoutedStream:
    """A text stream that writes to the current execution's buffer, or else to `fallback`.

    Anything it does not define (`buffer`, `errors`, `newlines`, ...) is the fallback stream's.
    """

    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fallback, name)

    def write(self, text: str) -> int:
        buffer = _current_buffer.get()
        if buffer is not None:
            return buffer.write(text)
        return self._fallback.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _current_buffer.get() is None:
            self._fallback.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return _current_buffer.get() is None and self._fallback.isatty()


def install() -> None:
    """Route `sys.stdout` and `sys.stderr` through the capture; idempotent."""
    if not isinstance(sys.stdout, _RoutedStream):
        # The router quacks like a TextIO (and delegates the rest) without inheriting from it.
        sys.stdout = cast(TextIO, _RoutedStream(sys.__stdout__ or sys.stdout))
    if not isinstance(sys.stderr, _RoutedStream):
        sys.stderr = cast(TextIO, _RoutedStream(sys.__stderr__ or sys.stderr))


@contextlib.contextmanager
def capturing() -> Iterator[io.StringIO]:
    """Send the current context's stdout/stderr writes to a fresh buffer until the block ends.

    Tasks started inside the block inherit the buffer, because they copy the context when created.
    """
    buffer = io.StringIO()
    token = _current_buffer.set(buffer)
    try:
        yield buffer
    finally:
        _current_buffer.reset(token)
