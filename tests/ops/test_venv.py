"""The operator scripts run as the README writes them, from a fresh shell without the venv activated."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("alert_history.py", "bootstrap_schema.py", "list_alerts.py", "send_test_alert.py")
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


def _fresh_shell(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEM_PYTHON is not None, "no python3 in /usr/bin:/bin"
    return subprocess.run([SYSTEM_PYTHON, *args], cwd=REPO_ROOT, env={"PATH": "/usr/bin:/bin", **extra_env},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_works_from_a_fresh_shell(script: str) -> None:
    """`python3 scripts/<x>.py --help` with a bare PATH prints the usage and exits 0, finding ./.venv itself."""
    done = _fresh_shell(f"scripts/{script}", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
    assert "ModuleNotFoundError" not in done.stderr


def test_alert_history_from_another_directory(tmp_path: Path) -> None:
    """The history script works when called by absolute path from any directory."""
    assert SYSTEM_PYTHON is not None
    done = subprocess.run([SYSTEM_PYTHON, str(REPO_ROOT / "scripts" / "alert_history.py"), "--help"], cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "--since" in done.stdout


def test_missing_venv_gives_a_clear_hint(tmp_path: Path) -> None:
    """Without a virtualenv and without the SDK the script exits 2 with one line naming the ./dev fix."""
    # -S: no site-packages, so this interpreter surely lacks the SDK
    done = _fresh_shell("-S", "scripts/alert_history.py", "--help", VENV=str(tmp_path / "no-venv"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "./dev" in done.stderr and "no-venv" in done.stderr
