from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.bench.proxy import CountingRelay
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env


@pytest.fixture(scope="session")
def host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function served by one worker process; call counts do not depend on the number of workers."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, workers=1,
                      echo=False) as served:
        yield served


@pytest.fixture(scope="session")
def relay(emulator: Emulator) -> Iterator[CountingRelay]:
    """A relay in front of the emulator that sees each call's concrete path (so its table)."""
    with CountingRelay(emulator.endpoint) as running:
        yield running


@pytest.fixture(scope="session")
def relayed_host(emulator: Emulator, relay: CountingRelay) -> Iterator[FunctionHost]:
    """The function, one worker, talking to Appwrite through `relay`."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator, APPWRITE_FUNCTION_API_ENDPOINT=relay.endpoint),
                      api_key=emulator.api_key, workers=1, echo=False) as served:
        yield served
