"""Databases and tables: create, get, list, inline schema and their errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, new_id, raises, value_of

DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$"


def test_create_database_answers_201_with_a_tablesdb_database(target: Target) -> None:
    database_id = new_id("db")
    response = target.raw("POST", "/tablesdb", {"databaseId": database_id, "name": "Monitoring"})
    target.created_databases.append(database_id)
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("$id", "name", "enabled", "type", "status")} == {
        "$id": database_id, "name": "Monitoring", "enabled": True, "type": "tablesdb", "status": "ready",
    }


def test_database_round_trips_through_the_sdk(tables: TablesDB, database: str) -> None:
    fetched = tables.get(database)
    assert (fetched.id, fetched.name, value_of(fetched.type), fetched.enabled) == (
        database, "Contract tests", "tablesdb", True,
    )
    assert fetched.createdat == fetched.updatedat
    assert re.match(DATETIME_PATTERN, fetched.createdat), fetched.createdat
    listed = tables.list(queries=[Query.equal("$id", database)])
    assert [item.id for item in listed.databases] == [database]
    assert listed.total == 1


def test_duplicate_database_is_409_database_already_exists(tables: TablesDB, database: str) -> None:
    error = raises(lambda: tables.create(database, "Again"), 409, "database_already_exists")
    assert f"'{database}'" in error.message


def test_missing_database_is_404_database_not_found(tables: TablesDB) -> None:
    missing = new_id("missing")
    error = raises(lambda: tables.get(missing), 404, "database_not_found")
    assert error.message == f"Database with the requested ID '{missing}' could not be found."


def test_create_table_answers_201_with_the_table_model(target: Target, database: str) -> None:
    table_id = new_id("tb")
    response = target.raw("POST", f"/tablesdb/{database}/tables", {"tableId": table_id, "name": "Alerts"})
    assert response.status_code == 201
    body = response.json()
    assert body["$id"] == table_id
    assert body["databaseId"] == database
    assert (body["$permissions"], body["enabled"], body["rowSecurity"]) == ([], True, False)
    assert (body["columns"], body["indexes"]) == ([], [])
    assert (body["bytesMax"], body["bytesUsed"]) == (65535, 1067)


def test_inline_columns_and_indexes_are_available_at_once(tables: TablesDB, database: str) -> None:
    table_id = new_id("tb")
    created = tables.create_table(
        database, table_id, "Alerts",
        columns=[
            {"key": "fingerprint", "type": "varchar", "size": 64, "required": True},
            {"key": "status", "type": "enum", "elements": ["firing", "resolved"], "required": True},
            {"key": "labels", "type": "text"},
        ],
        indexes=[{"key": "fp", "type": "unique", "attributes": ["fingerprint"]}],
    )
    assert [(column.key, value_of(column.status)) for column in created.columns] == [
        ("fingerprint", "available"), ("status", "available"), ("labels", "available"),
    ]
    assert [(index.key, index.type, value_of(index.status), index.columns) for index in created.indexes] == [
        ("fp", "unique", "available", ["fingerprint"]),
    ]
    # varchar(64) = 4*64+1, enum = 1021, text = 20 on top of the 1067 base.
    assert created.bytesused == 1067 + 257 + 1021 + 20
    assert tables.get_table(database, table_id).columns[1].elements == ["firing", "resolved"]


@pytest.mark.parametrize(
    ("columns", "indexes", "error_type", "fragment"),
    [
        ([{"type": "varchar", "size": 5}], [], "general_argument_invalid", "missing required field 'key'"),
        ([{"key": "a", "type": "varchar"}], [], "general_argument_invalid", "Invalid or missing size"),
        ([{"key": "a", "type": "nope"}], [], "general_argument_invalid", "Invalid type for attribute 'a'"),
        ([{"key": "a", "type": "enum"}], [], "general_argument_invalid", "must have 'elements' array"),
        ([{"key": "a", "type": "text", "required": True, "default": "x"}], [], "general_argument_invalid",
         "cannot have a default value when required is true"),
        ([{"key": "a", "type": "text"}], [{"key": "i", "type": "key"}], "general_argument_invalid",
         "Index at position 0 is missing required field 'attributes' (must be an array)"),
        ([{"key": "a", "type": "text"}], [{"key": "i", "type": "key", "attributes": ["a"]}],
         "column_index_invalid", "Index length is longer than the maximum: 768"),
        ([{"key": "a", "type": "varchar", "size": 8, "array": True}],
         [{"key": "i", "type": "key", "attributes": ["a"]}], "index_invalid", "array attributes"),
    ],
)
def test_invalid_inline_schema_is_rejected_and_creates_no_table(
    tables: TablesDB, database: str, columns: list[dict[str, object]], indexes: list[dict[str, object]],
    error_type: str, fragment: str,
) -> None:
    table_id = new_id("tb")
    error = raises(lambda: tables.create_table(database, table_id, "T", columns=columns, indexes=indexes),
                   400, error_type)
    assert fragment in error.message
    raises(lambda: tables.get_table(database, table_id), 404, "table_not_found")


def test_inline_row_wider_than_65535_bytes_is_table_limit_exceeded(tables: TablesDB, database: str) -> None:
    columns = [{"key": f"c{i}", "type": "varchar", "size": 8000} for i in range(3)]
    raises(lambda: tables.create_table(database, new_id("tb"), "Wide", columns=columns), 400, "table_limit_exceeded")


def test_duplicate_table_is_409_table_already_exists(
    tables: TablesDB, database: str, make_table: Callable[..., str]
) -> None:
    table_id = make_table()
    raises(lambda: tables.create_table(database, table_id, "Again"), 409, "table_already_exists")


def test_table_in_a_missing_database_is_404_database_not_found(tables: TablesDB) -> None:
    raises(lambda: tables.create_table(new_id("missing"), new_id("tb"), "T"), 404, "database_not_found")
    raises(lambda: tables.get_table(new_id("missing"), new_id("tb")), 404, "database_not_found")


def test_missing_table_is_404_table_not_found(tables: TablesDB, database: str) -> None:
    missing = new_id("tb")
    error = raises(lambda: tables.get_table(database, missing), 404, "table_not_found")
    assert error.message == f"Table with the requested ID '{missing}' could not be found."


def test_list_tables_filters_and_counts(tables: TablesDB, database: str, make_table: Callable[..., str]) -> None:
    first, second = make_table(), make_table()
    listed = tables.list_tables(database)
    assert [table.id for table in listed.tables] == [first, second]
    assert listed.total == 2
    only = tables.list_tables(database, queries=[Query.equal("$id", second)])
    assert [table.id for table in only.tables] == [second]
    assert tables.list_tables(database, total=False).total == 0


def test_list_queries_on_unknown_attributes_are_general_argument_invalid(tables: TablesDB, database: str) -> None:
    error = raises(lambda: tables.list_tables(database, queries=[Query.equal("colour", "red")]),
                   400, "general_argument_invalid")
    assert error.message == "Invalid `queries` param: Invalid query: Attribute not found in schema: colour"


def test_deleted_database_is_gone_with_its_tables(
    target: Target, tables: TablesDB, database: str, make_table: Callable[..., str]
) -> None:
    table_id = make_table()
    response = target.raw("DELETE", f"/tablesdb/{database}")
    assert response.status_code == 204
    target.created_databases.remove(database)
    raises(lambda: tables.get(database), 404, "database_not_found")
    tables.create(database, "Reused")
    target.created_databases.append(database)
    raises(lambda: tables.get_table(database, table_id), 404, "table_not_found")
