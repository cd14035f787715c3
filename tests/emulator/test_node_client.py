"""The contract checks again, through a second real client: the official Node server SDK (node-appwrite).

tests/emulator/node/contract.mjs runs every check against the same target as the Python contract tests (the
emulator, or a real Appwrite in the suite's real-server mode), so no behaviour is fitted to one SDK's parser.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.emulator.support import Target

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "emulator" / "node" / "contract.mjs"
NODE_SDK = ROOT / "node_modules" / "node-appwrite" / "package.json"
PINNED_NODE_SDK = json.loads((ROOT / "package.json").read_text())["devDependencies"]["node-appwrite"]
# Every check the script runs; a check dropped from it by mistake fails here.
CHECKS = 9


def _node() -> str:
    """The node binary and the pinned node-appwrite; when missing, fail under CI (CI set) and skip elsewhere."""
    node = shutil.which("node")
    missing = "node" if node is None else None if NODE_SDK.exists() else "node_modules/node-appwrite"
    if missing is None and node is not None:
        return node
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{missing} is missing: CI must install Node 20+ and run ./dev (npm ci)", pytrace=False)
    pytest.skip(f"{missing} is missing (install Node 20+, then ./dev installs node_modules)")


def test_node_sdk_passes_every_contract_check(target: Target) -> None:
    """The Node SDK's calls for databases, tables, columns, indexes, rows, messaging, health and errors all pass."""
    node = _node()
    installed = json.loads(NODE_SDK.read_text())["version"]
    assert installed == PINNED_NODE_SDK, f"node_modules holds node-appwrite {installed}; run ./dev to install the pin"
    env = dict(os.environ, APPWRITE_ENDPOINT=target.endpoint, APPWRITE_PROJECT_ID=target.project,
               APPWRITE_API_KEY=target.api_key)
    finished = subprocess.run([node, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    results = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    failed = [f"{result['check']}: {result['error']}" for result in results if not result["ok"]]
    assert not failed, "\n".join(failed)
    assert (finished.returncode, len(results)) == (0, CHECKS), finished.stdout + finished.stderr
