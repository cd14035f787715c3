"""The function's deployment settings from the Appwrite CLI configuration, so the local host matches them.

The CLI reads `appwrite.config.json`, falling back to the legacy `appwrite.json`; here only the copy in the
function directory is read, and the entry whose `path` is that directory gives the function's ID, name,
entrypoint and timeout. Anything missing keeps the defaults
Appwrite uses for a new function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_NAMES = ("appwrite.config.json", "appwrite.json")
DEFAULT_TIMEOUT_SECONDS = 15
DEFAULT_ENTRYPOINT = "src/main.py"


@dataclass(frozen=True)
class FunctionConfig:
    function_id: str
    name: str
    entrypoint: str = DEFAULT_ENTRYPOINT
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


def _matching_entry(functions: list[Any], function_dir: Path) -> dict[str, Any] | None:
    """The entry whose `path` (relative to the configuration file) is the function directory."""
    for entry in functions:
        if isinstance(entry, dict) and (function_dir / str(entry.get("path", "."))).resolve() == function_dir:
            return entry
    return None


def read_function_config(function_dir: Path) -> FunctionConfig:
    """The settings of the function at `function_dir`, or defaults named after the directory.

    Raises `ValueError` when a configuration file exists but is not valid JSON.
    """
    function_dir = function_dir.resolve()
    fallback = FunctionConfig(function_id=function_dir.name, name=function_dir.name)
    for name in CONFIG_NAMES:
        path = function_dir / name
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        functions = document.get("functions", []) if isinstance(document, dict) else []
        entry = _matching_entry(functions if isinstance(functions, list) else [], function_dir)
        if entry is None:
            return fallback
        function_id = str(entry.get("$id") or fallback.function_id)
        return FunctionConfig(
            function_id=function_id,
            name=str(entry.get("name") or function_id),
            entrypoint=str(entry.get("entrypoint") or DEFAULT_ENTRYPOINT),
            timeout_seconds=float(entry.get("timeout") or DEFAULT_TIMEOUT_SECONDS),
        )
    return fallback
