"""Indexes: 202 `processing` then `available`, the index validator, uniqueness and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, new_id, raises, value_of


@pytest.fixture
def table(make_table: Callable[..., str]) -> str:
    return make_table(columns=[
        {"key": "name", "type": "varchar", "size": 255},
        {"key": "code", "type": "varchar", "size": 600},
        {"key": "count", "type": "integer"},
        {"key": "notes", "type": "text"},
        {"key": "tags", "type": "varchar", "size": 20, "array": True},
    ])


def test_index_is_202_processing_then_available(
    target: Target, database: str, table: str, wait_index: Callable[[str, str], Any]
) -> None:
    response = target.raw("POST", f"/tablesdb/{database}/tables/{table}/indexes",
                          {"key": "by_name", "type": "key", "columns": ["name"], "orders": ["ASC"]})
    assert response.status_code == 202
    body = response.json()
    assert (body["key"], body["type"], body["status"], body["columns"], body["lengths"], body["orders"]) == (
        "by_name", "key", "processing", ["name"], [None], ["ASC"],
    )
    available = wait_index(table, "by_name")
    assert (value_of(available.status), available.error) == ("available", "")


def test_indexes_are_listed_and_fetched(tables: TablesDB, database: str, table: str) -> None:
    tables.create_index(database, table, "by_name", "key", ["name"])
    tables.create_index(database, table, "by_count", "unique", ["count", "$createdAt"])
    listed = tables.list_indexes(database, table)
    assert (listed.total, [index.key for index in listed.indexes]) == (2, ["by_name", "by_count"])
    fetched = tables.get_index(database, table, "by_count")
    assert (fetched.type, fetched.columns) == ("unique", ["count", "$createdAt"])


@pytest.mark.parametrize(
    ("columns", "lengths", "code", "error_type", "message"),
    [
        (["missing"], None, 400, "column_unknown",
         "The column 'missing' required for the index could not be found. Please confirm all your columns are in "
         "the available state."),
        (["name", "code"], None, 400, "column_index_invalid", "Index length is longer than the maximum: 768"),
        (["notes"], None, 400, "column_index_invalid", "Index length is longer than the maximum: 768"),
        (["notes"], [255], None, None, None),
        (["count"], [10], 400, "column_index_invalid", 'Cannot set a length on "integer" attributes'),
        (["tags"], None, 400, "index_invalid", "Creating indexes on array attributes is not currently supported."),
        (["name", "name"], None, 400, "column_index_invalid", "Duplicate attributes provided"),
    ],
    ids=["unknown-column", "too-long", "text-without-length", "text-with-length", "length-on-integer", "array",
         "duplicate-column"],
)
def test_index_validator(
    tables: TablesDB, database: str, table: str, columns: list[str], lengths: list[int] | None,
    code: int | None, error_type: str | None, message: str | None,
) -> None:
    def create() -> Any:
        return tables.create_index(database, table, "idx", "key", columns, lengths=lengths)

    if code is None:
        assert create().key == "idx"
        return
    assert error_type is not None
    error = raises(create, code, error_type)
    assert error.message == message


def test_same_columns_twice_is_column_index_invalid(tables: TablesDB, database: str, table: str) -> None:
    tables.create_index(database, table, "first", "key", ["name"])
    error = raises(lambda: tables.create_index(database, table, "second", "unique", ["name"]),
                   400, "column_index_invalid")
    assert error.message == "There is already an index with the same attributes and orders"


def test_duplicate_index_key_is_409_column_index_already_exists(tables: TablesDB, database: str, table: str) -> None:
    tables.create_index(database, table, "idx", "key", ["name"])
    raises(lambda: tables.create_index(database, table, "idx", "key", ["count"]), 409, "column_index_already_exists")


def test_missing_index_is_404_column_index_not_found(tables: TablesDB, database: str, table: str) -> None:
    raises(lambda: tables.get_index(database, table, "nothing"), 404, "column_index_not_found")


def test_unique_index_rejects_a_second_row_with_the_same_value(
    tables: TablesDB, database: str, table: str, wait_index: Callable[[str, str], Any]
) -> None:
    tables.create_index(database, table, "unique_name", "unique", ["name"])
    wait_index(table, "unique_name")
    tables.create_row(database, table, new_id("r"), {"name": "a"})
    error = raises(lambda: tables.create_row(database, table, new_id("r"), {"name": "a"}),
                   409, "row_unique_constraint_violation")
    assert error.message == "Row violates a unique column constraint. Try again with different value(s)."
    # Nulls never collide.
    tables.create_row(database, table, new_id("r"), {"count": 1})
    tables.create_row(database, table, new_id("r"), {"count": 2})


def test_unique_index_over_existing_duplicates_fails_in_the_worker(
    tables: TablesDB, database: str, table: str, wait_index: Callable[[str, str], Any]
) -> None:
    for _ in range(2):
        tables.create_row(database, table, new_id("r"), {"name": "same"})
    tables.create_index(database, table, "unique_name", "unique", ["name"])
    finished = wait_index(table, "unique_name")
    assert value_of(finished.status) == "failed"
    assert finished.error


@pytest.mark.parametrize("outcome", ["stuck", "failed"])
def test_control_hook_makes_the_next_index_stuck_or_failed(
    target: Target, tables: TablesDB, database: str, table: str, wait_index: Callable[[str, str], Any],
    outcome: Literal["stuck", "failed"],
) -> None:
    target.require_control().fail_schema("index", "idx", outcome, error="worker crashed")
    tables.create_index(database, table, "idx", "key", ["name"])
    tables.create_index(database, table, "other", "key", ["count"])
    wait_index(table, "other")
    index = tables.get_index(database, table, "idx")
    expected = ("processing", "") if outcome == "stuck" else ("failed", "worker crashed")
    assert (value_of(index.status), index.error) == expected


def test_more_than_58_indexes_is_column_index_limit_exceeded(tables: TablesDB, database: str) -> None:
    table_id = new_id("tb")
    columns = [{"key": f"c{i}", "type": "integer"} for i in range(59)]
    indexes = [{"key": f"i{i}", "type": "key", "attributes": [f"c{i}"]} for i in range(58)]
    tables.create_table(database, table_id, "Indexed", columns=columns, indexes=indexes)
    raises(lambda: tables.create_index(database, table_id, "i58", "key", ["c58"]), 400, "column_index_limit_exceeded")
