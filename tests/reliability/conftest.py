"""Fixtures of the reliability suite: a host with several workers serving every message kind, a host with a
short time budget, a project shared by the tests of a module, control runs, and the function in-process."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from appwrite.exception import AppwriteException

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from ops.provision import apply_schema
from tests.conftest import REPO_ROOT
from tests.harness import PROJECT_ID, Appwrite, deliver
from tests.reliability.support import ALERTS, EVENTS, InProcess, Outcome, env, fingerprints, new_tag, post_in_order

# The short budget of `slow_host` (TIME_BUDGET_SECONDS accepts 1 s at least).
SHORT_BUDGET_SECONDS = 1.0

Bodies = Callable[[str], Sequence[dict[str, Any]]]
Control = Callable[[Bodies], Outcome]


def _warm(host: FunctionHost) -> None:
    # A GET imports the function in a worker without calling Appwrite, so timings exclude the cold start.
    for _ in range(2 * len(host.pids)):
        assert deliver(host.url, b"", method="GET", token=None).status_code == 200


@pytest.fixture(scope="session")
def host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function with the default 8 s budget, served by four worker processes."""
    with FunctionHost(REPO_ROOT, env=env(emulator), api_key=emulator.api_key, workers=4, echo=False) as served:
        _warm(served)
        yield served


@pytest.fixture(scope="session")
def slow_host(emulator: Emulator) -> Iterator[FunctionHost]:
    """One worker with a 1 s time budget, under a runtime that would give up after 5 s."""
    variables = env(emulator, TIME_BUDGET_SECONDS=str(SHORT_BUDGET_SECONDS))
    with FunctionHost(REPO_ROOT, env=variables, api_key=emulator.api_key, workers=1, timeout_seconds=5,
                      echo=False) as served:
        _warm(served)
        yield served


def _bootstrap(emulator: Emulator) -> None:
    emulator.control.reset()
    assert apply_schema(emulator.endpoint, PROJECT_ID, emulator.api_key)


@pytest.fixture(scope="module")
def _module_project(emulator: Emulator) -> None:
    """A freshly bootstrapped project for each module, so listings stay short."""
    _bootstrap(emulator)


@pytest.fixture
def project(emulator: Emulator, _module_project: None) -> Appwrite:
    """The module's project (bootstrapped again if a test wiped it), without faults, latency or call counts.

    Tests keep apart by tag, not by wiping the project: see `support`."""
    view = Appwrite(emulator)
    try:
        for table in (ALERTS, EVENTS):
            view.tables.get_table("monitoring", table)
    except AppwriteException:
        _bootstrap(emulator)
    emulator.control.clear_faults()
    emulator.control.set_latency(0)
    emulator.control.reset_calls()
    return view


@pytest.fixture(scope="session")
def _control_cache() -> dict[str, Outcome]:
    return {}


@pytest.fixture
def control(host: FunctionHost, project: Appwrite, _control_cache: dict[str, Outcome]) -> Control:
    """What `bodies(tag)`, posted one after the other without any fault, leaves behind (see `Outcome`); computed
    once per function `bodies` under a tag of its own, then cached."""

    def outcome(bodies: Bodies) -> Outcome:
        key = f"{bodies.__module__}.{bodies.__qualname__}"
        if key not in _control_cache:
            tag = new_tag()
            sent = bodies(tag)
            post_in_order(host.url, sent)
            _control_cache[key] = Outcome.of(project, tag, fingerprints(sent))
            project.control.reset_calls()
        return _control_cache[key]

    return outcome


@pytest.fixture(autouse=True)
def _socket_default_timeout() -> Iterator[None]:
    """Put back the process's default socket timeout after each test, in case the function changed it while
    running in-process (its store once set it for every delivery), so later tests are unaffected."""
    before = socket.getdefaulttimeout()
    yield
    socket.setdefaulttimeout(before)


@pytest.fixture
def inprocess(emulator: Emulator, project: Appwrite) -> InProcess:
    """The function's `handle` in this process, retrying without back-off pauses."""
    return InProcess(env(emulator, APPWRITE_API_KEY=emulator.api_key), pause=False)
