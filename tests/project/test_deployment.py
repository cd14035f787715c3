"""What `appwrite push functions` and Appwrite's build will see: appwrite.json, requirements, imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = json.loads((REPO / "appwrite.json").read_text())
FUNCTION = CONFIG["functions"][0]

# The keys Appwrite CLI 12 keeps for a function entry (`KeysFunction` in its lib/config.js); `push` also
# reads `ignore` from the raw entry to choose which files to upload.
CLI_FUNCTION_KEYS = {"path", "$id", "execute", "name", "enabled", "logging", "runtime", "specification", "scopes",
                     "events", "schedule", "timeout", "entrypoint", "commands", "vars", "ignore"}
# Scopes Appwrite accepts for a project key or function (a subset: the ones this project could need).
KNOWN_SCOPES = {"rows.read", "rows.write", "messages.read", "messages.write", "topics.read", "topics.write",
                "databases.read", "tables.read", "columns.read", "indexes.read"}


def test_function_entry_uses_only_keys_the_cli_accepts() -> None:
    """Every key of the function entry is one the current CLI pushes."""
    assert set(FUNCTION) <= CLI_FUNCTION_KEYS


def test_function_runs_on_python_312_from_src_main() -> None:
    """Runtime, entrypoint and build command match what Appwrite needs to run main(context)."""
    assert FUNCTION["runtime"] == "python-3.12"
    assert FUNCTION["entrypoint"] == "src/main.py"
    assert (REPO / FUNCTION["path"] / FUNCTION["entrypoint"]).is_file()
    assert "pip install" in FUNCTION["commands"] and "requirements.txt" in FUNCTION["commands"]


def test_public_execute_and_least_scopes() -> None:
    """Anyone may call it (the Bearer token guards it) and it holds only the scopes it uses."""
    assert FUNCTION["execute"] == ["any"]
    assert set(FUNCTION["scopes"]) <= KNOWN_SCOPES
    assert {"rows.read", "rows.write", "messages.write"} <= set(FUNCTION["scopes"])
    assert not any(scope.endswith(".delete") or scope.startswith("users") for scope in FUNCTION["scopes"])


def test_timeout_leaves_room_for_the_time_budget() -> None:
    """The function timeout is longer than the default delivery budget, and logging is on."""
    from src.settings import DEFAULT_TIME_BUDGET_SECONDS

    assert FUNCTION["timeout"] > DEFAULT_TIME_BUDGET_SECONDS and FUNCTION["logging"] is True


def test_deployment_is_an_allowlist_of_what_the_function_reads() -> None:
    """The upload list drops everything first, then brings back only src/, schema/ and requirements.txt
    (tests/deploy checks the archive the real CLI builds from it)."""
    ignore = FUNCTION["ignore"]
    assert ignore[0] == "*"
    assert {line for line in ignore if line.startswith("!")} == {"!src/", "!src/**", "!schema/", "!schema/**",
                                                                  "!requirements.txt"}


def test_no_secret_in_the_config() -> None:
    """appwrite.json carries no token, key or variable values."""
    # The ignore patterns name secret files (`*token*`, `secrets/`) to keep them out; they hold no value.
    text = json.dumps({**CONFIG, "functions": [{k: v for k, v in FUNCTION.items() if k != "ignore"}]}).lower()
    assert "vars" not in FUNCTION and "token" not in text and "secret" not in text and "standard_" not in text


def test_runtime_requirements_are_pinned() -> None:
    """requirements.txt pins the SDK 27 line and pydantic 2, and nothing dev-only."""
    lines = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert all(re.fullmatch(r"[a-z-]+==[0-9.]+", line) for line in lines)
    names = {line.split("==")[0]: line.split("==")[1] for line in lines}
    assert names["appwrite"].startswith("27.") and names["pydantic"].startswith("2.")
    assert not {"pytest", "aiohttp", "hypothesis"} & set(names)
