"""Cold start (issue 6): importing the entrypoint, as the runtime does, makes no network call."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from devkit.bench import coldstart
from devkit.emulator import Emulator
from devkit.runtime.loader import prepare_sandbox
from tests.conftest import REPO_ROOT, function_env
from tests.harness import Appwrite


def test_importing_the_entrypoint_resolves_connects_and_sends_nothing() -> None:
    """In a fresh interpreter with an audit hook, importing `function.src.main` makes no lookup, connect or send."""
    assert coldstart.network_during_import(REPO_ROOT) == ()


def test_importing_the_entrypoint_makes_no_appwrite_call(emulator: Emulator, appwrite: Appwrite) -> None:
    """Importing `function.src.main` with the emulator as its endpoint leaves the emulator's call count at 0."""
    with tempfile.TemporaryDirectory() as scratch:
        prepare_sandbox(Path(scratch), REPO_ROOT)
        env = {"PATH": os.environ.get("PATH", ""), **function_env(emulator)}
        code = f"import sys; sys.path.insert(0, {scratch!r}); import function.src.main"
        subprocess.run([sys.executable, "-I", "-c", code], cwd=scratch, env=env, check=True, timeout=60)
    assert appwrite.control.calls() == {}


def test_importing_the_entrypoint_leaves_what_a_webhook_does_not_need_unloaded() -> None:
    """The schema models, the /health judgement, the acknowledge links and the scheduled run's rules load on
    first use, not with the entrypoint (issue 20: a cold start serves a delivery first)."""
    deferred = {"core.schema", "core.readiness_checks", "endpoints.health", "oncall.links", "oncall.announce",
                "oncall.heartbeat", "oncall.delivery_status", "oncall.sms_summary", "oncall.stable"}
    with tempfile.TemporaryDirectory() as scratch:
        prepare_sandbox(Path(scratch), REPO_ROOT)
        code = (f"import sys; sys.path.insert(0, {scratch!r}); import function.src.main; "
                "print(' '.join(name.removeprefix('function.src.') for name in sys.modules))")
        env = {"PATH": os.environ.get("PATH", ""), **coldstart.function_variables()}
        done = subprocess.run([sys.executable, "-I", "-c", code], cwd=scratch, env=env, check=True, timeout=60,
                              capture_output=True, text=True)
    assert deferred.isdisjoint(done.stdout.split())
