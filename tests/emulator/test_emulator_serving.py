"""How the emulator is served: the script, a data file, concurrent clients and speed."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from appwrite.client import Client
from appwrite.exception import AppwriteException
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from devkit.emulator import DEFAULT_API_KEY, Emulator
from tests.emulator.support import Target, poll

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "emulator.py"


@pytest.fixture
def local(target: Target) -> None:
    target.require_control()


@pytest.fixture
def served(tmp_path: Path, local: None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The script, started from an unrelated directory on a free port."""
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0", "--api-key", "standard_custom"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    yield process, line
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_script_prints_one_ready_line_and_stops_on_sigterm(served: tuple[subprocess.Popen[str], str]) -> None:
    process, line = served
    assert "http://127.0.0.1:" in line
    assert "/v1" in line
    assert "standard_custom" in line
    endpoint = next(word for word in line.split() if word.startswith("http://"))
    tables = TablesDB(Client().set_endpoint(endpoint).set_project("p").set_key("standard_custom"))
    assert tables.list().total == 0
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stdout is not None
    assert process.stdout.read() == ""  # exactly one line


def test_script_names_the_default_key_as_the_local_default(tmp_path: Path, local: None) -> None:
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--port", "0"], cwd=tmp_path,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert DEFAULT_API_KEY in line
        assert "default" in line
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_data_file_survives_a_restart(tmp_path: Path, local: None) -> None:
    data = str(tmp_path / "emulator.sqlite3")
    with Emulator(data_path=data) as first:
        tables = TablesDB(_client(first))
        tables.create("kept", "Kept")
        tables.create_table("kept", "alerts", "Alerts", columns=[{"key": "n", "type": "integer"}])
        tables.create_row("kept", "alerts", "r1", {"n": 1})
    with Emulator(data_path=data) as second:
        tables = TablesDB(_client(second))
        assert tables.get_row("kept", "alerts", "r1").data == {"n": 1}
        assert tables.create_row("kept", "alerts", "r2", {"n": 2}).sequence == "2"


def _client(emulator: Emulator) -> Client:
    return Client().set_endpoint(emulator.endpoint).set_project("p").set_key(emulator.api_key)


def test_concurrent_bulk_upserts_are_all_applied(tables: TablesDB, database: str, alerts: str, local: None) -> None:
    def upsert(worker: int) -> int:
        rows = [{"$id": f"w{worker}-{i}", "fingerprint": f"fp-{worker}-{i}", "status": "firing"} for i in range(50)]
        return int(tables.upsert_rows(database, alerts, rows).total)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(upsert, range(16))) == 800
    assert tables.list_rows(database, alerts, [Query.limit(1)]).total == 800


def test_concurrent_creates_of_one_id_succeed_once(tables: TablesDB, database: str, alerts: str, local: None) -> None:
    def create(attempt: int) -> str:
        try:
            tables.create_row(database, alerts, "contended", {"fingerprint": f"fp-{attempt}", "status": "firing"})
        except Exception as error:
            return str(getattr(error, "type", error))
        return "created"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(create, range(8)))
    assert outcomes == ["created"] + ["row_already_exists"] * 7


def test_bulk_upsert_and_lookup_by_id_of_100_rows_are_fast_in_a_5000_row_table(
    tables: TablesDB, database: str, alerts: str, local: None
) -> None:
    for start in range(0, 5000, 100):
        tables.upsert_rows(database, alerts, [
            {"$id": f"row-{n}", "fingerprint": f"fp-{n}", "status": "firing", "count": n}
            for n in range(start, start + 100)
        ])
    wanted = [f"row-{n}" for n in range(2000, 2100)]
    timings = []
    for round_number in range(5):
        started = time.perf_counter()
        tables.upsert_rows(database, alerts, [
            {"$id": row_id, "fingerprint": f"fp-{row_id}", "status": "resolved", "count": round_number}
            for row_id in wanted
        ])
        found = tables.list_rows(database, alerts, [Query.equal("$id", wanted), Query.limit(100)])
        timings.append(time.perf_counter() - started)
        assert found.total == 100
    # Generous bound for a loaded machine; a quadratic or unindexed path takes far longer.
    assert sorted(timings)[len(timings) // 2] < 0.25
    started = time.perf_counter()
    assert tables.list_rows(database, alerts, [Query.equal("status", "resolved")]).total == 100
    assert time.perf_counter() - started < 0.25



def test_the_access_log_has_one_line_per_request_without_secrets(local: None) -> None:
    """With access_log, each request is one line of method, path, status and milliseconds; no key, no body."""
    log = io.StringIO()
    with Emulator(processing_seconds=0.0, access_log=log) as emulator:
        tables = TablesDB(Client().set_endpoint(emulator.endpoint).set_project("p").set_key(emulator.api_key))
        tables.create("logged", "Secret name")
        with pytest.raises(AppwriteException):
            tables.get("missing")
        lines = poll(lambda: log.getvalue().splitlines(), lambda found: len(found) == 2)
    assert [line.split()[1:4] for line in lines] == [
        ["POST", "/v1/tablesdb", "201"], ["GET", "/v1/tablesdb/missing", "404"],
    ]
    assert all(re.fullmatch(r"\S+Z \S+ \S+ \d{3} \d+\.\dms", line) for line in lines)
    assert emulator.api_key not in log.getvalue() and "Secret name" not in log.getvalue()


def test_the_access_log_is_off_by_default(local: None, capfd: pytest.CaptureFixture[str]) -> None:
    """Without access_log nothing is written per request."""
    with Emulator(processing_seconds=0.0) as emulator:
        TablesDB(Client().set_endpoint(emulator.endpoint).set_project("p").set_key(emulator.api_key)).list()
    assert "/v1/tablesdb" not in capfd.readouterr().err
