"""The binaries that check the examples: amtool and prometheus-alertmanager (package
prometheus-alertmanager), promtool (package prometheus)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Debian package that ships each binary.
PACKAGES = {
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "promtool": "prometheus",
}


def require_binary(name: str) -> str:
    """The path of binary `name`; when it is missing, fail under CI (CI set) and skip elsewhere."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{name} is missing: CI must install the Debian package {package}", pytrace=False)
    pytest.skip(f"{name} is not installed (apt-get install {package})")


@pytest.fixture(scope="session")
def amtool() -> str:
    return require_binary("amtool")


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_binary("promtool")


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    return require_binary("prometheus-alertmanager")
