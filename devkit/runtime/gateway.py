"""What Appwrite adds to a request before the runtime sees it: execution IDs and `x-appwrite-*` headers.

For a request through the function's domain Appwrite forwards every header the caller sent and then sets
its own `x-appwrite-*` ones, so a caller cannot pose as another trigger or user. Here any caller header
with that prefix is dropped before the injected set is applied. A scheduled execution is `POST /` with an
empty body and only Appwrite's headers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from enum import StrEnum

from devkit.runtime.runtime import Invocation

APPWRITE_HEADER_PREFIX = "x-appwrite-"


class Trigger(StrEnum):
    """Values of `x-appwrite-trigger` the host produces."""

    HTTP = "http"
    SCHEDULE = "schedule"


def new_execution_id() -> str:
    """A 20-character ID shaped like Appwrite's `ID::unique()`: time in hex, then random padding."""
    now = time.time()
    seconds, micros = int(now), int((now % 1) * 1_000_000)
    return f"{seconds:08x}{micros:05x}{os.urandom(4).hex()[:7]}"


def http_invocation(
    *,
    method: str,
    path: str,
    query_string: str,
    caller_headers: Iterable[tuple[str, str]],
    body: bytes,
    api_key: str,
    execution_id: str,
    client_ip: str,
) -> Invocation:
    """A caller's request as Appwrite passes it on: caller headers, minus their `x-appwrite-*`, plus ours."""
    headers: dict[str, str] = {}
    for name, value in caller_headers:
        # First value wins for a repeated header, as with `dict(request.headers)` in the runtime.
        if not name.lower().startswith(APPWRITE_HEADER_PREFIX) and name not in headers:
            headers[name] = value
    headers.update(
        {
            "x-appwrite-key": api_key,
            "x-appwrite-trigger": Trigger.HTTP.value,
            "x-appwrite-user-id": "",
            "x-appwrite-user-jwt": "",
            "x-appwrite-country-code": "",
            "x-appwrite-continent-code": "",
            "x-appwrite-continent-eu": "false",
            "x-appwrite-execution-id": execution_id,
            "x-appwrite-client-ip": client_ip,
        }
    )
    return Invocation(method=method, path=path, query_string=query_string, headers=headers, body=body)


def scheduled_invocation(*, host: str, api_key: str, execution_id: str) -> Invocation:
    """A cron-triggered execution: `POST /`, no body, no `Authorization`, trigger `schedule`."""
    headers = {
        "host": host,
        "x-appwrite-key": api_key,
        "x-appwrite-trigger": Trigger.SCHEDULE.value,
        "x-appwrite-event": "",
        "x-appwrite-user-id": "",
        "x-appwrite-user-jwt": "",
        "x-appwrite-execution-id": execution_id,
    }
    return Invocation(method="POST", path="/", query_string="", headers=headers, body=b"")
