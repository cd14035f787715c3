from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env


@pytest.fixture(scope="session")
def host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function served by one worker process; call counts do not depend on the number of workers."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, workers=1,
                      echo=False) as served:
        yield served
