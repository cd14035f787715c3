"""The function's own error hierarchy; every failure the request handler maps to a status code.

    AlertProcessorError
    +-- ConfigurationError        a function variable is missing or malformed (500, fix the deployment)
    +-- AppwriteError             Appwrite refused or failed a call (raised only by `store`)
        +-- TransientAppwriteError     worth retrying: 5xx, 429, 408, timeouts, connection errors (503)
        +-- PermanentAppwriteError     retrying cannot help: key, scope, missing table (500)

`store` is the only module that sees the SDK's `AppwriteException`; it converts each one here, chained
with `from exc`, so nothing else depends on the SDK's error shape.
"""

from __future__ import annotations


class AlertProcessorError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(AlertProcessorError):
    """One or more function variables are invalid; `problems` lists each, without secret values."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid configuration: " + "; ".join(problems))


class AppwriteError(AlertProcessorError):
    """An Appwrite call failed. `code` is the HTTP status (0 when no answer arrived)."""

    def __init__(self, message: str, *, code: int = 0, type: str | None = None) -> None:
        self.code = code
        self.type = type
        super().__init__(message)


class TransientAppwriteError(AppwriteError):
    """Appwrite is unreachable, overloaded or slow; the whole delivery can safely be retried."""



class PermanentAppwriteError(AppwriteError):
    """Appwrite refused the call in a way a retry will not fix; the message says what to change."""
