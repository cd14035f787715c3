"""`./dev serve` (scripts/serve.py) and a non-local Appwrite: refused unless `--remote`, and always named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

SERVE = REPO_ROOT / "scripts" / "serve.py"
_CONNECTION_VARIABLES = ("APPWRITE_ENDPOINT", "APPWRITE_PROJECT_ID", "APPWRITE_API_KEY", "WEBHOOK_TOKEN")


def run_serve(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in _CONNECTION_VARIABLES}
    env.update(extra_env)
    return subprocess.run([sys.executable, str(SERVE), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)


def test_exported_remote_endpoint_is_refused_without_remote(tmp_path: Path) -> None:
    """An exported APPWRITE_ENDPOINT of a real server is refused (exit 1) and named, so no test alert pages anyone."""
    result = run_serve(tmp_path, APPWRITE_ENDPOINT="https://appwrite.example.com/v1",
                       APPWRITE_PROJECT_ID="production", APPWRITE_API_KEY="real-key")
    assert result.returncode == 1
    assert "https://appwrite.example.com/v1" in result.stderr and "--remote" in result.stderr
    assert "real-key" not in result.stderr + result.stdout


def test_remote_flag_allows_it_and_the_first_line_names_it(tmp_path: Path) -> None:
    """With --remote the configured server is used, and the first line printed names it as remote."""
    process = subprocess.Popen(
        [sys.executable, str(SERVE), "--remote", "--port", "0"], cwd=tmp_path, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**{k: v for k, v in os.environ.items() if k not in _CONNECTION_VARIABLES},
             "APPWRITE_ENDPOINT": "https://appwrite.example.com/v1", "APPWRITE_PROJECT_ID": "production",
             "APPWRITE_API_KEY": "real-key"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
    finally:
        process.kill()
        process.wait()
    assert first.startswith("Appwrite: https://appwrite.example.com/v1  project production  (REMOTE")


def test_local_emulator_is_named_too(tmp_path: Path) -> None:
    """Without an endpoint the first line names the local emulator that was started."""
    process = subprocess.Popen(
        [sys.executable, str(SERVE), "--memory", "--port", "0"], cwd=tmp_path, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={k: v for k, v in os.environ.items() if k not in _CONNECTION_VARIABLES},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
    finally:
        process.kill()
        process.wait()
    assert first.startswith("Appwrite: http://127.0.0.1:") and "(local emulator)" in first
