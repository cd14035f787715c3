"""Rows: create (single and bulk), get, update; the row model, value validation and write errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from appwrite.exception import AppwriteException
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, new_id, raises

VALID = {"fingerprint": "fp-1", "status": "firing"}


def test_create_row_answers_201_with_the_row_model(target: Target, database: str, alerts: str) -> None:
    response = target.raw("POST", f"/tablesdb/{database}/tables/{alerts}/rows", {"rowId": "r1", "data": VALID})
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("$id", "$sequence", "$tableId", "$databaseId", "$permissions")} == {
        "$id": "r1", "$sequence": "1", "$tableId": alerts, "$databaseId": database, "$permissions": [],
    }
    assert body["$createdAt"] == body["$updatedAt"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00", body["$createdAt"])
    # Every column is present; the ones not given are null.
    assert {key: value for key, value in body.items() if not key.startswith("$")} == {
        "fingerprint": "fp-1", "status": "firing", "severity": None, "count": None, "active": None,
        "startsAt": None, "labels": None, "link": None,
    }


def test_row_round_trips_through_the_sdk_models(tables: TablesDB, database: str, alerts: str) -> None:
    created = tables.create_row(database, alerts, "r1", {**VALID, "count": 3, "active": True})
    fetched = tables.get_row(database, alerts, "r1")
    assert (fetched.id, fetched.sequence, fetched.tableid, fetched.databaseid) == ("r1", "1", alerts, database)
    assert fetched.createdat == created.createdat
    assert fetched.data["count"] == 3
    assert fetched.data["active"] is True
    second = tables.create_row(database, alerts, "r2", {**VALID, "fingerprint": "fp-2"})
    assert second.sequence == "2"


def test_unique_placeholder_gets_a_20_character_server_id(tables: TablesDB, database: str, alerts: str) -> None:
    created = tables.create_row(database, alerts, "unique()", VALID)
    assert len(created.id) == 20
    assert all(character in "0123456789abcdef" for character in created.id)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2025-01-02", "2025-01-02T00:00:00.000+00:00"),
        ("2025-01-02T03:04:05Z", "2025-01-02T03:04:05.000+00:00"),
        ("2025-01-02 03:04:05", "2025-01-02T03:04:05.000+00:00"),
        ("2025-01-02T03:04:05.123+02:00", "2025-01-02T01:04:05.123+00:00"),
        ("2025-01-02T03:04:05.123456789Z", "2025-01-02T03:04:05.123+00:00"),
        ("2025-01-02T03:04:05.9999-05:30", "2025-01-02T08:34:05.999+00:00"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000+00:00"),
    ],
)
def test_datetimes_are_stored_in_utc_at_millisecond_precision(
    tables: TablesDB, database: str, alerts: str, given: str, stored: str
) -> None:
    row = tables.create_row(database, alerts, new_id("r"), {**VALID, "startsAt": given})
    assert row.data["startsAt"] == stored


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"startsAt": "yesterday"}, 'Attribute "startsAt" has invalid type. Value must be valid date'),
        ({"startsAt": ""}, 'Attribute "startsAt" has invalid type. Value must be valid date'),
        ({"startsAt": 1735787045}, 'Attribute "startsAt" has invalid type. Value must be valid date'),
        ({"count": 1.0}, 'Attribute "count" has invalid type. Value must be a valid signed 32-bit integer'),
        ({"count": "1"}, 'Attribute "count" has invalid type. Value must be a valid signed 32-bit integer'),
        ({"count": True}, 'Attribute "count" has invalid type. Value must be a valid signed 32-bit integer'),
        ({"count": 2**31}, 'Attribute "count" has invalid type. Value must be a valid signed 32-bit integer'),
        ({"active": 1}, 'Attribute "active" has invalid type. Value must be a valid boolean'),
        ({"active": "true"}, 'Attribute "active" has invalid type. Value must be a valid boolean'),
        ({"status": "silenced"}, 'Attribute "status" has invalid format. Value must be one of (firing, resolved)'),
        ({"severity": "x" * 33},
         'Attribute "severity" has invalid type. Value must be a valid string and no longer than 32 chars'),
        ({"severity": 5}, 'Attribute "severity" has invalid type. Value must be a valid string'),
        ({"labels": "é" * 32768},
         'Attribute "labels" has invalid type. Value must be a valid string no longer than 65535 bytes'),
        ({"link": "not a url"}, 'Attribute "link" has invalid format. Value must be a valid URL'),
        ({"unknown": 1}, 'Unknown attribute: "unknown"'),
        ({"fingerprint": None}, 'Missing required attribute "fingerprint"'),
        ({"$sequence": 5, "$foo": 1}, 'Unknown attribute: "$foo"'),
    ],
)
def test_invalid_values_are_row_invalid_structure(
    tables: TablesDB, database: str, alerts: str, data: dict[str, Any], message: str
) -> None:
    error = raises(lambda: tables.create_row(database, alerts, new_id("r"), {**VALID, **data}),
                   400, "row_invalid_structure")
    assert error.message.startswith(f"Invalid document structure: {message}"), error.message


@pytest.mark.parametrize(
    "data",
    [
        {"severity": "é" * 32},  # varchar counts characters, not bytes
        {"labels": "é" * 32767 + "a"},  # text counts UTF-8 bytes: exactly 65535
        {"count": 2**31 - 1},
        {"count": -(2**31 - 1)},
        {"link": "https://alertmanager.example/#/alerts?x=1"},
    ],
)
def test_values_at_the_limits_are_accepted(tables: TablesDB, database: str, alerts: str, data: dict[str, Any]) -> None:
    row = tables.create_row(database, alerts, new_id("r"), {**VALID, **data})
    assert {key: row.data[key] for key in data} == data


def test_integer_column_range_is_a_format_error(
    tables: TablesDB, database: str, make_table: Callable[..., str]
) -> None:
    table_id = make_table(columns=[{"key": "n", "type": "integer", "min": 0, "max": 10}])
    error = raises(lambda: tables.create_row(database, table_id, new_id("r"), {"n": 11}), 400, "row_invalid_structure")
    assert error.message == (
        'Invalid document structure: Attribute "n" has invalid format. Value must be a valid range between 0 and 10'
    )


@pytest.mark.parametrize("data", [{"name": "x"}, {"name": "x", "state": None}], ids=["absent", "null"])
def test_column_defaults_fill_absent_and_null_values(
    tables: TablesDB, database: str, make_table: Callable[..., str], data: dict[str, Any]
) -> None:
    table_id = make_table(columns=[
        {"key": "name", "type": "varchar", "size": 10},
        {"key": "state", "type": "varchar", "size": 10, "default": "new"},
    ])
    assert tables.create_row(database, table_id, new_id("r"), data).data == {"name": "x", "state": "new"}


def test_duplicate_row_id_is_409_row_already_exists(tables: TablesDB, database: str, alerts: str) -> None:
    tables.create_row(database, alerts, "r1", VALID)
    error = raises(lambda: tables.create_row(database, alerts, "r1", {**VALID, "fingerprint": "other"}),
                   409, "row_already_exists")
    assert error.message == (
        "Row with the requested ID 'r1' already exists. Try again with a different ID or use ID.unique() to "
        "generate a unique ID."
    )


def test_unique_index_violation_is_409_row_unique_constraint_violation(
    tables: TablesDB, database: str, alerts: str
) -> None:
    tables.create_row(database, alerts, "r1", VALID)
    raises(lambda: tables.create_row(database, alerts, "r2", VALID), 409, "row_unique_constraint_violation")


@pytest.mark.parametrize(
    ("body", "code", "error_type", "message"),
    [
        ({}, 400, "row_missing_data", "The row data is missing. Try again with row data populated."),
        ({"rowId": "r1", "data": {}}, 400, "row_missing_data",
         "The row data is missing. Try again with row data populated."),
        ({"data": VALID}, 400, "row_missing_data", "Row ID is required when creating a single row."),
        ({"rowId": "r1", "data": VALID, "rows": [VALID]}, 400, "general_bad_request",
         "You can only send one of the following parameters: data, rows"),
        ({"rowId": "r1", "rows": [VALID]}, 400, "general_bad_request",
         'Param "rowId" is not allowed when creating multiple rows, set "$id" on each instead.'),
    ],
)
def test_create_row_payload_errors(
    target: Target, database: str, alerts: str, body: dict[str, Any], code: int, error_type: str, message: str
) -> None:
    response = target.raw("POST", f"/tablesdb/{database}/tables/{alerts}/rows", body)
    assert response.status_code == code
    assert (response.json()["type"], response.json()["message"]) == (error_type, message)


def test_rows_of_missing_tables_and_databases_are_404(tables: TablesDB, database: str) -> None:
    raises(lambda: tables.create_row(database, new_id("tb"), "r1", VALID), 404, "table_not_found")
    raises(lambda: tables.create_row(new_id("db"), new_id("tb"), "r1", VALID), 404, "database_not_found")


def test_missing_row_is_404_row_not_found(tables: TablesDB, database: str, alerts: str) -> None:
    error = raises(lambda: tables.get_row(database, alerts, "nope"), 404, "row_not_found")
    assert error.message == "Row with the requested ID 'nope' could not be found."


def test_bulk_create_answers_201_with_every_row(target: Target, database: str, alerts: str) -> None:
    rows = [{"$id": f"r{i}", **VALID, "fingerprint": f"fp-{i}"} for i in range(3)]
    response = target.raw("POST", f"/tablesdb/{database}/tables/{alerts}/rows", {"rows": rows})
    assert response.status_code == 201
    body = response.json()
    assert body["total"] == 3
    assert [(row["$id"], row["$sequence"]) for row in body["rows"]] == [("r0", "1"), ("r1", "2"), ("r2", "3")]


def test_bulk_create_gives_rows_without_an_id_a_server_id(tables: TablesDB, database: str, alerts: str) -> None:
    created = tables.create_rows(database, alerts, [VALID])
    assert len(created.rows[0].id) == 20


@pytest.mark.parametrize(
    ("bad", "error_type"),
    [
        ({"$id": "r9", "fingerprint": "fp-9", "status": "nope"}, "row_invalid_structure"),
        ({"$id": "r0", "fingerprint": "fp-9", "status": "firing"}, "row_already_exists"),
        ({"$id": "r9", "fingerprint": "fp-0", "status": "firing"}, "row_unique_constraint_violation"),
        ({"$id": "_bad", "fingerprint": "fp-9", "status": "firing"}, "general_bad_request"),
    ],
    ids=["invalid", "duplicate-id", "unique", "bad-id"],
)
def test_bulk_create_is_all_or_nothing(
    tables: TablesDB, database: str, alerts: str, bad: dict[str, Any], error_type: str
) -> None:
    rows = [{"$id": f"r{i}", "fingerprint": f"fp-{i}", "status": "firing"} for i in range(3)]
    with pytest.raises(AppwriteException) as caught:
        tables.create_rows(database, alerts, [*rows, bad])
    assert caught.value.type == error_type
    assert tables.list_rows(database, alerts).total == 0


def test_bulk_create_of_more_than_100_rows_is_general_argument_invalid(
    tables: TablesDB, database: str, alerts: str
) -> None:
    rows = [{"fingerprint": f"fp-{i}", "status": "firing"} for i in range(101)]
    error = raises(lambda: tables.create_rows(database, alerts, rows), 400, "general_argument_invalid")
    assert error.message.startswith("Invalid `rows` param: Value must a valid array no longer than 100 items")


def test_api_key_may_set_the_row_timestamps(tables: TablesDB, database: str, alerts: str) -> None:
    row = tables.create_rows(database, alerts, [{
        **VALID, "$createdAt": "2024-05-06T07:08:09Z", "$updatedAt": "2024-05-07T07:08:09Z", "$sequence": 99,
    }]).rows[0]
    assert (row.createdat, row.updatedat, row.sequence) == (
        "2024-05-06T07:08:09.000+00:00", "2024-05-07T07:08:09.000+00:00", "1",
    )


def test_update_changes_only_the_given_columns(tables: TablesDB, database: str, alerts: str) -> None:
    created = tables.create_row(database, alerts, "r1", {**VALID, "severity": "warning"})
    updated = tables.update_row(database, alerts, "r1", {"status": "resolved"})
    assert (updated.data["status"], updated.data["severity"], updated.data["fingerprint"]) == (
        "resolved", "warning", "fp-1",
    )
    assert updated.createdat == created.createdat
    assert updated.updatedat >= created.updatedat


def test_update_without_changes_keeps_updated_at(tables: TablesDB, database: str, alerts: str) -> None:
    created = tables.create_row(database, alerts, "r1", VALID)
    assert tables.update_row(database, alerts, "r1", {"status": "firing"}).updatedat == created.updatedat


@pytest.mark.parametrize(
    ("call", "code", "error_type"),
    [
        (lambda t, d, tb: t.update_row(d, tb, "r1"), 400, "row_missing_payload"),
        (lambda t, d, tb: t.update_row(d, tb, "nope", {"status": "resolved"}), 404, "row_not_found"),
        (lambda t, d, tb: t.update_row(d, tb, "r1", {"status": "nope"}), 400, "row_invalid_structure"),
        (lambda t, d, tb: t.update_row(d, tb, "r1", {"fingerprint": None}), 400, "row_invalid_structure"),
        (lambda t, d, tb: t.update_row(d, tb, "r1", {"fingerprint": "fp-2"}), 409, "row_unique_constraint_violation"),
    ],
    ids=["no-payload", "missing", "invalid", "required-null", "unique"],
)
def test_update_errors(
    tables: TablesDB, database: str, alerts: str, call: Callable[..., Any], code: int, error_type: str
) -> None:
    tables.create_row(database, alerts, "r1", VALID)
    tables.create_row(database, alerts, "r2", {**VALID, "fingerprint": "fp-2"})
    raises(lambda: call(tables, database, alerts), code, error_type)


def test_row_permissions_outside_read_update_delete_write_are_general_argument_invalid(
    tables: TablesDB, database: str, alerts: str
) -> None:
    raises(lambda: tables.create_row(database, alerts, "r1", VALID, permissions=['create("any")']),
           400, "general_argument_invalid")


def test_row_permissions_are_kept_and_write_expands(tables: TablesDB, database: str, alerts: str) -> None:
    row = tables.create_row(database, alerts, "r1", VALID, permissions=['read("any")', 'write("users")'])
    assert row.permissions == ['read("any")', 'update("users")', 'delete("users")']
    assert tables.update_row(database, alerts, "r1", {"status": "resolved"}).permissions == row.permissions


def test_get_row_select_returns_the_selected_columns_only(tables: TablesDB, database: str, alerts: str) -> None:
    tables.create_row(database, alerts, "r1", VALID)
    row = tables.get_row(database, alerts, "r1", queries=[Query.select(["status"])])
    assert row.data == {"status": "firing"}
    assert row.id == "r1"
    raises(lambda: tables.get_row(database, alerts, "r1", queries=[Query.equal("status", "firing")]),
           400, "general_query_invalid")


def test_datetime_default_is_stored_in_utc(tables: TablesDB, database: str, make_table: Callable[..., str]) -> None:
    table_id = make_table(columns=[
        {"key": "name", "type": "varchar", "size": 10},
        {"key": "seen", "type": "datetime", "default": "2025-01-02T03:04:05+01:00"},
    ])
    assert tables.create_row(database, table_id, new_id("r"), {"name": "x"}).data["seen"] == (
        "2025-01-02T02:04:05.000+00:00"
    )
