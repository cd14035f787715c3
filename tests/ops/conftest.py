"""One emulator per module for the bootstrap tests, wiped before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.emulator import Emulator
from tests.ops.support import Project


@pytest.fixture(scope="module")
def emulator_for_module() -> Iterator[Emulator]:
    emulator = Emulator(processing_seconds=0.05)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def project(emulator_for_module: Emulator, capsys: pytest.CaptureFixture[str]) -> Project:
    emulator_for_module.control.reset()
    return Project(emulator_for_module, capsys)
