"""Fixtures for the end-to-end tests: the function served by the runtime host on the session's emulator, and
Alertmanager processes that post to it and are always stopped when their test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env
from tests.e2e.alertmanager import Alertmanager, write_token
from tests.examples.conftest import require_binary
from tests.harness import TOKEN

StartAlertmanager = Callable[..., Alertmanager]


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    """prometheus-alertmanager's path: missing, the tests fail under CI and are skipped elsewhere."""
    return require_binary("prometheus-alertmanager")


@pytest.fixture(scope="module")
def host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function, served as Appwrite serves it, with two worker processes."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, workers=2) as served:
        yield served


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "alert-processor.token"
    write_token(path, TOKEN)
    return path


@pytest.fixture
def start_alertmanager(alertmanager_binary: str, host: FunctionHost, token_file: Path,
                       tmp_path: Path) -> Iterator[StartAlertmanager]:
    """Starts an Alertmanager whose webhook posts to `host`; every one started is stopped at teardown."""
    started: list[Alertmanager] = []

    def start(**options: Any) -> Alertmanager:
        workdir = tmp_path / f"alertmanager-{len(started)}"
        workdir.mkdir()
        manager = Alertmanager(alertmanager_binary, workdir, webhook_url=host.url + "/", token_file=token_file,
                               **options)
        started.append(manager)
        manager.start()
        return manager

    try:
        yield start
    finally:
        for manager in started:
            manager.stop()
