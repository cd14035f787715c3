"""Authentication, scopes, guests, the error body and ID rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from appwrite.client import Client
from appwrite.services.tables_db import TablesDB

from devkit.emulator import Emulator
from tests.emulator.support import Target, new_id, raises

VALID = {"fingerprint": "fp-1", "status": "firing"}


def test_error_body_is_message_code_type_version(target: Target, tables: TablesDB) -> None:
    reported = target.raw("GET", "/health/version").json()["version"]
    error = raises(lambda: tables.get(new_id("missing")), 404, "database_not_found")
    assert isinstance(error.response, str)
    body = json.loads(error.response)
    assert sorted(body) == ["code", "message", "type", "version"]
    assert (body["code"], body["type"], body["version"]) == (404, "database_not_found", reported)
    assert body["message"] == error.message


def test_unknown_route_is_404_general_route_not_found(target: Target) -> None:
    response = target.raw("GET", "/tablesdb/x/nothing/here")
    assert response.status_code == 404
    assert response.json()["type"] == "general_route_not_found"
    assert response.headers["Content-Type"].startswith("application/json")


def test_key_without_project_header_is_403_project_id_missing(target: Target) -> None:
    tables = TablesDB(Client().set_endpoint(target.endpoint).set_key(target.api_key))
    error = raises(lambda: tables.list(), 403, "project_id_missing")
    assert error.message == (
        "When using project API key, make sure to pass x-appwrite-project header with your project ID."
    )


def test_an_unknown_project_is_404_project_not_found(target: Target) -> None:
    """A project ID the server does not have is refused before the key is looked at."""
    for key in (target.api_key, "standard_unknown"):
        client = target.client(key=key, project=new_id("missing-project"))
        error = raises(lambda client=client: TablesDB(client).list(), 404, "project_not_found")
        assert error.message.startswith("Project with the requested ID could not be found.")


def test_an_emulator_without_a_project_id_accepts_any_project() -> None:
    """Emulator() without project_id serves whatever project the caller names."""
    with Emulator(processing_seconds=0.0) as emulator:
        client = Client().set_endpoint(emulator.endpoint).set_project(new_id("any")).set_key(emulator.api_key)
        assert TablesDB(client).list().total == 0


def test_key_missing_a_scope_is_401_general_unauthorized_scope(target: Target, database: str) -> None:
    control = target.require_control()
    control.add_key("standard_rows-only", ["rows.read", "rows.write"])
    limited = target.tables("standard_rows-only")
    error = raises(lambda: limited.create_table(database, new_id("tb"), "T"), 401, "general_unauthorized_scope")
    host = target.endpoint.split("//")[1].split(":")[0]
    assert error.message == (
        f"app.{target.project}@service.{host} (role: applications) missing scopes "
        '(["tables.write","collections.write"])'
    )


def test_key_with_a_scope_may_use_its_endpoints(target: Target, database: str, alerts: str) -> None:
    target.require_control().add_key("standard_rows-only", ["rows.read", "rows.write"])
    limited = target.tables("standard_rows-only")
    limited.create_row(database, alerts, "r1", VALID)
    assert limited.list_rows(database, alerts).total == 1


@pytest.mark.parametrize(
    ("call", "scopes"),
    [
        (lambda t, d, tb: t.list(), '["databases.read"]'),
        (lambda t, d, tb: t.create(new_id("db"), "D"), '["databases.write"]'),
        (lambda t, d, tb: t.get_table(d, tb), '["tables.read","collections.read"]'),
        (lambda t, d, tb: t.create_boolean_column(d, tb, "b", False),
         '["tables.write","collections.write","columns.write","attributes.write"]'),
        (lambda t, d, tb: t.list_indexes(d, tb), '["tables.read","collections.read","indexes.read"]'),
    ],
)
def test_unknown_key_is_a_guest_refused_on_admin_endpoints(
    target: Target, database: str, alerts: str, call: Callable[..., Any], scopes: str
) -> None:
    guest = target.tables("standard_not-a-known-key")
    error = raises(lambda: call(guest, database, alerts), 401, "general_unauthorized_scope")
    assert error.message == f"User (role: guests) missing scopes ({scopes})"


@pytest.mark.parametrize(
    ("call", "code", "error_type"),
    [
        (lambda t, d, tb: t.get_row(d, tb, "r1"), 404, "row_not_found"),
        (lambda t, d, tb: t.list_rows(d, tb), 401, "user_unauthorized"),
        (lambda t, d, tb: t.create_row(d, tb, "r2", {"fingerprint": "fp-2", "status": "firing"}), 401,
         "user_unauthorized"),
        (lambda t, d, tb: t.update_row(d, tb, "r1", {"status": "resolved"}), 401, "user_unauthorized"),
        (lambda t, d, tb: t.create_rows(d, tb, [{"fingerprint": "fp-2", "status": "firing"}]), 401,
         "general_unauthorized_scope"),
    ],
    ids=["get", "list", "create", "update", "bulk-create"],
)
def test_guests_on_row_endpoints_meet_permissions(
    target: Target, tables: TablesDB, database: str, alerts: str, call: Callable[..., Any], code: int,
    error_type: str,
) -> None:
    tables.create_row(database, alerts, "r1", VALID)
    guest = target.tables("standard_not-a-known-key")
    raises(lambda: call(guest, database, alerts), code, error_type)


def test_guests_read_rows_of_a_table_readable_by_any(target: Target, tables: TablesDB, database: str) -> None:
    table_id = new_id("tb")
    tables.create_table(database, table_id, "Public", permissions=['read("any")'],
                        columns=[{"key": "name", "type": "varchar", "size": 10}])
    tables.create_row(database, table_id, "r1", {"name": "a"})
    guest = target.tables("standard_not-a-known-key")
    assert [row.id for row in guest.list_rows(database, table_id).rows] == ["r1"]
    assert guest.get_row(database, table_id, "r1").data == {"name": "a"}


VALID_IDS = ["a", "A.b-c_d", "x" * 36, "0leading-digit"]
INVALID_IDS = ["x" * 37, "_leading", ".leading", "-leading", "$id", "has space", "slash/no", "émoji"]


@pytest.mark.parametrize("row_id", VALID_IDS)
def test_valid_custom_ids_are_accepted(tables: TablesDB, database: str, alerts: str, row_id: str) -> None:
    assert tables.create_row(database, alerts, row_id, VALID).id == row_id


@pytest.mark.parametrize("row_id", INVALID_IDS)
def test_invalid_custom_ids_are_general_argument_invalid(
    tables: TablesDB, database: str, alerts: str, row_id: str
) -> None:
    error = raises(lambda: tables.create_row(database, alerts, row_id, VALID), 400, "general_argument_invalid")
    assert error.message.startswith("Invalid `rowId` param: Parameter must contain at most 36 chars.")


@pytest.mark.parametrize("database_id", ["x" * 37, "_db"])
def test_invalid_database_ids_are_rejected(tables: TablesDB, database_id: str) -> None:
    raises(lambda: tables.create(database_id, "D"), 400, "general_argument_invalid")


def test_unique_placeholder_makes_server_side_ids_for_databases_and_tables(tables: TablesDB, target: Target) -> None:
    created = tables.create("unique()", "Generated")
    target.created_databases.append(created.id)
    assert len(created.id) == 20
    assert len(tables.create_table(created.id, "unique()", "T").id) == 20


def test_uid_path_parameters_reject_the_unique_placeholder(tables: TablesDB, database: str, alerts: str) -> None:
    error = raises(lambda: tables.get_row(database, alerts, "unique()"), 400, "general_argument_invalid")
    assert error.message.startswith("Invalid `rowId` param: UID must contain at most 36 chars.")

