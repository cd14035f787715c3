"""Helpers for the bootstrap tests: run the CLI in-process against the emulator and look at the result."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from appwrite.client import Client
from appwrite.services.messaging import Messaging
from appwrite.services.tables_db import TablesDB

from devkit.emulator import Emulator
from scripts.bootstrap_schema import main

PROJECT = "bootstrap-test"
SCRIPT_PATH = Path(__file__).resolve().parents[2] / "scripts" / "bootstrap_schema.py"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def lines(self, action: str) -> list[str]:
        """The output lines reporting `action`, without the padding."""
        return [" ".join(line.split()) for line in self.out.splitlines() if line.startswith(action + " ")]

    def json(self) -> Any:
        return json.loads(self.out)


class Project:
    """The emulator, a way to run the bootstrap against it, and an SDK view to inspect the result."""

    def __init__(self, emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
        self.emulator = emulator
        self.control = emulator.control
        self._capsys = capsys
        client = Client().set_endpoint(emulator.endpoint).set_project(PROJECT).set_key(emulator.api_key)
        self.tables = TablesDB(client)
        self.messaging = Messaging(client)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "APPWRITE_ENDPOINT": self.emulator.endpoint,
            "APPWRITE_PROJECT_ID": PROJECT,
            "APPWRITE_API_KEY": self.emulator.api_key,
            **extra,
        }

    def bootstrap(self, *args: str, env: dict[str, str] | None = None) -> Run:
        """Run the CLI in-process, as `python scripts/bootstrap_schema.py ARGS` would."""
        self._capsys.readouterr()
        code = main(list(args), self.env() if env is None else env)
        captured = self._capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def writes(self) -> dict[str, int]:
        """The calls since the last reset that were not reads."""
        return {route: n for route, n in self.control.calls().items() if not route.startswith("GET ")}

    def wait_available(self, list_all: Callable[[], list[Any]], key: str) -> None:
        """Wait for a column or index made by hand to leave `processing`."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(
                item.key == key and str(getattr(item.status, "value", item.status)) != "processing"
                for item in list_all()
            ):
                return
            time.sleep(0.02)
        raise AssertionError(f"{key} still processing")
