"""The function served with a metrics token (the `host` fixture of the modules that import `metrics_host`), and
helpers to read the alert history the way a person would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env
from tests.harness import Appwrite, deliver

METRICS_TOKEN = "test-metrics-token-fedcba9876543210"
EVENTS = "alert_events"


@pytest.fixture(scope="session", name="host")
def metrics_host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function with /metrics enabled, on two worker processes (as on a 2-CPU spec)."""
    env = function_env(emulator, METRICS_TOKEN=METRICS_TOKEN)
    with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key, workers=2, echo=False) as served:
        yield served


def events(appwrite: Appwrite, table: str = EVENTS) -> list[dict[str, Any]]:
    """Every history row, in the order Appwrite created them, with `channels` decoded."""
    return [{**row, "channels": json.loads(row["channels"] or "[]")} for row in appwrite.rows(table).values()]


def kinds(appwrite: Appwrite) -> list[tuple[str, str]]:
    return [(event["kind"], event["reason"]) for event in events(appwrite)]


def ok(host: FunctionHost, *alerts: dict[str, Any], receiver: str = "alert-processor") -> dict[str, Any]:
    reply = deliver(host.url, p.payload(list(alerts), receiver=receiver))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def scrape(host: FunctionHost, token: str | None = METRICS_TOKEN, path: str = "/metrics") -> requests.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(host.url + path, headers=headers, timeout=30)
