"""The end-to-end tests need prometheus-alertmanager: without it they fail under CI and are skipped elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples.conftest import require_binary


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_alertmanager_fails_under_ci(monkeypatch: pytest.MonkeyPatch, empty_path: None, ci: str) -> None:
    """With CI set, a missing prometheus-alertmanager is a failure naming the package to install."""
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="prometheus-alertmanager"):
        require_binary("prometheus-alertmanager")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_missing_alertmanager_is_skipped_elsewhere(monkeypatch: pytest.MonkeyPatch, empty_path: None,
                                                   ci: str | None) -> None:
    """Without CI, a missing prometheus-alertmanager skips the tests with the install command as the reason."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus-alertmanager"):
        require_binary("prometheus-alertmanager")


def test_installed_alertmanager_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An executable prometheus-alertmanager on PATH is returned, CI or not."""
    binary = tmp_path / "prometheus-alertmanager"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    assert require_binary("prometheus-alertmanager") == str(binary)
