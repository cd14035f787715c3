"""Any other `GET`: the health check. It says whether the function's variables are valid, naming each
problem (never a value)."""

from __future__ import annotations

from ..errors import ConfigurationError
from .http import Reply

SERVICE_NAME = "alert-processor"


def health(problem: ConfigurationError | None) -> Reply:
    if problem is not None:
        return Reply(500, {"status": "misconfigured", "service": SERVICE_NAME, "problems": list(problem.problems)})
    return Reply(200, {"status": "ok", "service": SERVICE_NAME})
