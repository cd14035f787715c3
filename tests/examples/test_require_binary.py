"""require_binary: a missing checker fails the run under CI and is skipped, with the package to install,
elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples.conftest import require_binary


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.parametrize(
    ("binary", "package"),
    [
        ("amtool", "prometheus-alertmanager"),
        ("prometheus-alertmanager", "prometheus-alertmanager"),
        ("promtool", "prometheus"),
    ],
)
def test_missing_binary_fails_under_ci(
    empty_path: None, monkeypatch: pytest.MonkeyPatch, binary: str, package: str
) -> None:
    """With CI=true a missing binary is a failure that names it and its package."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"{binary} is missing.*{package}"):
        require_binary(binary)


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_binary_is_skipped_outside_ci(
    empty_path: None, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    """Without CI (unset, empty or false) a missing binary skips, saying which package to install."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install prometheus\b"):
        require_binary("promtool")


def test_present_binary_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executable found on PATH is returned as its path."""
    tool = tmp_path / "amtool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    assert require_binary("amtool") == str(tool)
