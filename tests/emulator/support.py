"""Helpers for the emulator contract tests: the target under test, polling and raw HTTP calls.

The suite runs against the local emulator by default, or against a real Appwrite when
APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID and APPWRITE_API_KEY are set (then control hooks are absent).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import requests
from appwrite.client import Client
from appwrite.exception import AppwriteException
from appwrite.services.messaging import Messaging
from appwrite.services.tables_db import TablesDB

from devkit.emulator import EmulatorControl

T = TypeVar("T")
POLL_TIMEOUT = 30.0
NEEDS_CONTROL = "needs the emulator's control hooks (not available against a real Appwrite)"


@dataclass
class Target:
    """Where the SDK points: endpoint, project and a key holding every scope."""

    endpoint: str
    project: str
    api_key: str
    control: EmulatorControl | None
    created_databases: list[str] = field(default_factory=list)
    created_topics: list[str] = field(default_factory=list)

    def client(self, key: str | None = None, project: str | None = None) -> Client:
        client = Client().set_endpoint(self.endpoint)
        client.set_project(self.project if project is None else project)
        if key is not None or self.api_key:
            client.set_key(self.api_key if key is None else key)
        return client

    def tables(self, key: str | None = None) -> TablesDB:
        return TablesDB(self.client(key))

    def messaging(self, key: str | None = None) -> Messaging:
        return Messaging(self.client(key))

    def require_control(self) -> EmulatorControl:
        if self.control is None:
            pytest.skip(NEEDS_CONTROL)
        return self.control

    def raw(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        """A request outside the SDK, to see status codes and headers the SDK hides."""
        sent = {"X-Appwrite-Project": self.project, "X-Appwrite-Key": self.api_key}
        sent.update(headers or {})
        data = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            data = json.dumps(body)
        return requests.request(method, self.endpoint + path, data=data, headers=sent, params=params, timeout=30)


def new_id(prefix: str = "t") -> str:
    """A fresh ID, so tests never collide (also on a shared real Appwrite)."""
    return f"{prefix}{secrets.token_hex(6)}"


def poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float = POLL_TIMEOUT) -> T:
    """Read until `done` holds, or fail after `timeout` seconds with the last value."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached within {timeout}s; last value: {value!r}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def raises(call: Callable[[], Any], code: int, error_type: str) -> AppwriteException:
    """Run `call`, expecting an AppwriteException with this HTTP status and type."""
    with pytest.raises(AppwriteException) as caught:
        call()
    error = caught.value
    assert (error.code, error.type) == (code, error_type), error.message
    return error


def value_of(status: Any) -> Any:
    """An SDK enum member's value (statuses are parsed into enums)."""
    return getattr(status, "value", status)
