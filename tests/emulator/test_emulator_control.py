"""The control hooks: faults, latency, call counts, reset, and the Emulator object itself."""

from __future__ import annotations

import time

import pytest
from appwrite.client import Client
from appwrite.exception import AppwriteException
from appwrite.services.tables_db import TablesDB

from devkit.emulator import DEFAULT_API_KEY, Emulator, EmulatorControl
from devkit.emulator.control import EmulatorControlError
from tests.emulator.support import Target, new_id, poll, raises, value_of


@pytest.fixture
def control(target: Target) -> EmulatorControl:
    return target.require_control()


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(500, "general_unknown"), (502, "general_unknown"), (503, "general_unknown"),
     (429, "general_rate_limit_exceeded"), (408, "database_timeout")],
)
def test_status_fault_answers_an_appwrite_shaped_error(
    control: EmulatorControl, tables: TablesDB, database: str, status: int, error_type: str
) -> None:
    control.add_fault(r"^/tablesdb/[^/]+$", status=status)
    error = raises(lambda: tables.get(database), status, error_type)
    assert error.message
    assert tables.get(database).id == database  # used up after one request


def test_rate_limit_fault_sends_retry_after(control: EmulatorControl, target: Target, database: str) -> None:
    control.add_fault(r"^/tablesdb/", status=429, retry_after=7)
    response = target.raw("GET", f"/tablesdb/{database}")
    assert (response.status_code, response.headers.get("Retry-After")) == (429, "7")
    assert response.json()["type"] == "general_rate_limit_exceeded"


def test_fault_matches_method_and_counts_down(control: EmulatorControl, tables: TablesDB, database: str) -> None:
    control.add_fault(r"^/tablesdb$", method="POST", count=2)
    assert tables.list().total >= 1  # GET is not matched
    for _ in range(2):
        raises(lambda: tables.create(new_id("db"), "D"), 503, "general_unknown")
    assert tables.create(new_id("db"), "D").name == "D"


def test_drop_before_closes_the_connection_without_doing_the_work(
    control: EmulatorControl, tables: TablesDB, database: str, alerts: str
) -> None:
    control.add_fault(r"/rows$", method="PUT", mode="drop_before")
    with pytest.raises(AppwriteException) as caught:
        tables.upsert_rows(database, alerts, [{"$id": "r1", "fingerprint": "fp", "status": "firing"}])
    assert caught.value.code == 0
    assert tables.list_rows(database, alerts).total == 0


def test_drop_after_commits_the_work_then_closes_the_connection(
    control: EmulatorControl, tables: TablesDB, database: str, alerts: str
) -> None:
    control.add_fault(r"/rows$", method="PUT", mode="drop_after")
    with pytest.raises(AppwriteException) as caught:
        tables.upsert_rows(database, alerts, [{"$id": "r1", "fingerprint": "fp", "status": "firing"}])
    assert caught.value.code == 0
    assert [row.id for row in tables.list_rows(database, alerts).rows] == ["r1"]


def test_delay_fault_and_latency_slow_requests_down(control: EmulatorControl, tables: TablesDB) -> None:
    control.add_fault(r"^/tablesdb$", mode="delay", delay_seconds=0.3)
    started = time.monotonic()
    tables.list()
    assert time.monotonic() - started >= 0.3
    control.set_latency(150)
    started = time.monotonic()
    tables.list()
    tables.list()
    assert time.monotonic() - started >= 0.3
    control.set_latency(0)


def test_clear_faults_disarms_them(control: EmulatorControl, tables: TablesDB) -> None:
    control.add_fault(".*", count=5)
    control.clear_faults()
    assert tables.list().total == 0


def test_calls_are_counted_by_route_template(
    control: EmulatorControl, tables: TablesDB, database: str, alerts: str
) -> None:
    control.reset_calls()
    tables.upsert_rows(database, alerts, [{"$id": "r1", "fingerprint": "fp", "status": "firing"}])
    tables.list_rows(database, alerts)
    tables.list_rows(database, alerts)
    tables.get_row(database, alerts, "r1")
    assert control.calls() == {
        "PUT /tablesdb/{databaseId}/tables/{tableId}/rows": 1,
        "GET /tablesdb/{databaseId}/tables/{tableId}/rows": 2,
        "GET /tablesdb/{databaseId}/tables/{tableId}/rows/{rowId}": 1,
    }
    control.reset_calls()
    assert control.calls() == {}


def test_reset_wipes_data_keys_and_faults(control: EmulatorControl, target: Target, tables: TablesDB) -> None:
    tables.create(new_id("db"), "D")
    control.add_key("standard_extra", ["databases.read"])
    control.add_fault(r"^/nothing$")
    control.set_latency(5)
    control.reset()
    assert tables.list().total == 0
    raises(lambda: target.tables("standard_extra").list(), 401, "general_unauthorized_scope")
    assert control.calls() == {"GET /tablesdb": 2}


def test_control_rejects_malformed_requests(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError):
        control.add_fault("(unclosed")
    with pytest.raises(EmulatorControlError):
        control.add_subscribers(new_id("no-such-topic"), "push", 1)


def test_emulator_object_serves_on_loopback_and_stops() -> None:
    with Emulator(processing_seconds=0.0) as emulator:
        assert emulator.endpoint == f"http://127.0.0.1:{emulator.port}/v1"
        assert emulator.api_key == DEFAULT_API_KEY
        assert emulator.control.health()
        endpoint = emulator.endpoint
    with pytest.raises(EmulatorControlError, match="could not reach"):
        EmulatorControl(endpoint, timeout=1).health()


def test_emulator_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator().start(host="0.0.0.0")


def test_columns_stay_processing_for_the_configured_time(target: Target) -> None:
    target.require_control()
    with Emulator(processing_seconds=0.5) as emulator:
        tables = TablesDB(Client().set_endpoint(emulator.endpoint).set_project("p").set_key(emulator.api_key))
        tables.create("d", "D")
        tables.create_table("d", "t", "T")
        started = time.monotonic()
        tables.create_boolean_column("d", "t", "flag", False)
        assert value_of(tables.get_column("d", "t", "flag").status) == "processing"
        poll(lambda: tables.get_column("d", "t", "flag"), lambda column: value_of(column.status) == "available")
        assert time.monotonic() - started >= 0.5
