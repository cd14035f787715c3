"""Fixtures shared by the suites that run the function: one emulator per session, a freshly
bootstrapped project per test, and a runtime host serving the function from the repository root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from ops.provision import apply_schema
from tests.harness import PROJECT_ID, TOKEN, Appwrite

REPO_ROOT = Path(__file__).resolve().parent.parent
# Variables the function reads; stripped so a developer's shell cannot change what tests see.
_FUNCTION_VARIABLES = ("WEBHOOK_TOKEN", "ALERT_ROUTES", "APPWRITE_API_KEY", "ALERTS_DATABASE_ID", "ALERTS_TABLE_ID",
                       "EVENTS_TABLE_ID", "SMS_LOG_TABLE_ID", "CRITICAL_TOPIC_ID", "MONITORING_TOPIC_ID",
                       "TIME_BUDGET_SECONDS", "MAX_BODY_BYTES", "METRICS_TOKEN", "METRICS_SEVERITIES",
                       "ACK_SIGNING_KEY", "PUBLIC_URL", "ESCALATE_AFTER", "ESCALATE_MAX", "FLAP_COUNT", "FLAP_WINDOW",
                       "SMS_BUDGET_PER_HOUR")


@pytest.fixture(autouse=True, scope="session")
def _clean_environment() -> None:
    for name in _FUNCTION_VARIABLES:
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(processing_seconds=0.01) as emu:
        yield emu


@pytest.fixture
def appwrite(emulator: Emulator) -> Appwrite:
    """A fresh project with the schema bootstrapped, and an SDK view to inspect it."""
    emulator.control.reset()
    assert apply_schema(emulator.endpoint, PROJECT_ID, emulator.api_key)
    emulator.control.reset_calls()
    return Appwrite(emulator)


def function_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    return {
        "APPWRITE_FUNCTION_API_ENDPOINT": emulator.endpoint,
        "APPWRITE_FUNCTION_PROJECT_ID": PROJECT_ID,
        "WEBHOOK_TOKEN": TOKEN,
        **extra,
    }


@pytest.fixture(scope="session")
def host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function served like Appwrite serves it, with two worker processes (as on a 2-CPU spec)."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, workers=2) as served:
        yield served
