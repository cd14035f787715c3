from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env


@pytest.fixture(scope="session")
def host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function served like Appwrite serves it, with two worker processes (as on a 2-CPU spec)."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, workers=2) as served:
        yield served
