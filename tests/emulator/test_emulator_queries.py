"""Listing rows with queries: filters, ordering, pagination, selection, totals and query errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, raises

SEVERITIES = ["critical", "warning", None, "info", "warning"]


@pytest.fixture
def seeded(tables: TablesDB, database: str, alerts: str) -> str:
    """Five rows r0..r4 (sequence order) with counts 0..4 and the severities above."""
    rows = [
        {"$id": f"r{i}", "fingerprint": f"fp-{i}", "status": "firing" if i % 2 == 0 else "resolved",
         "severity": SEVERITIES[i], "count": i, "startsAt": f"2025-01-0{i + 1}T00:00:00Z"}
        for i in range(5)
    ]
    tables.create_rows(database, alerts, rows)
    return alerts


def ids_of(tables: TablesDB, database: str, table: str, queries: list[str]) -> list[str]:
    return [row.id for row in tables.list_rows(database, table, queries).rows]


@pytest.mark.parametrize(
    ("queries", "expected"),
    [
        ([Query.equal("$id", ["r3", "r1", "missing"])], ["r1", "r3"]),
        ([Query.equal("severity", ["warning", "info"])], ["r1", "r3", "r4"]),
        ([Query.equal("status", "firing")], ["r0", "r2", "r4"]),
        ([Query.not_equal("severity", "warning")], ["r0", "r3"]),
        ([Query.less_than("count", 2)], ["r0", "r1"]),
        ([Query.less_than_equal("count", 2)], ["r0", "r1", "r2"]),
        ([Query.greater_than("count", 2)], ["r3", "r4"]),
        ([Query.greater_than_equal("count", 2)], ["r2", "r3", "r4"]),
        ([Query.greater_than("startsAt", "2025-01-03T00:00:00+00:00")], ["r3", "r4"]),
        ([Query.less_than_equal("startsAt", "2025-01-02T01:00:00+01:00")], ["r0", "r1"]),
        ([Query.is_null("severity")], ["r2"]),
        ([Query.is_not_null("severity"), Query.equal("status", "resolved")], ["r1", "r3"]),
        ([Query.between("count", 1, 3)], ["r1", "r2", "r3"]),
        ([Query.starts_with("fingerprint", "fp-3")], ["r3"]),
        ([Query.ends_with("fingerprint", "-4")], ["r4"]),
        ([Query.contains("severity", "arn")], ["r1", "r4"]),
        ([Query.or_queries([Query.equal("count", 0), Query.equal("count", 4)])], ["r0", "r4"]),
        ([Query.equal("$sequence", "2")], ["r1"]),
    ],
)
def test_filters(tables: TablesDB, database: str, seeded: str, queries: list[str], expected: list[str]) -> None:
    assert ids_of(tables, database, seeded, queries) == expected


@pytest.mark.parametrize(
    ("queries", "expected"),
    [
        ([Query.order_desc("$sequence")], ["r4", "r3", "r2", "r1", "r0"]),
        ([Query.order_desc("$createdAt")], ["r4", "r3", "r2", "r1", "r0"]),
        ([Query.order_asc("$updatedAt")], ["r0", "r1", "r2", "r3", "r4"]),
        ([Query.order_desc("count")], ["r4", "r3", "r2", "r1", "r0"]),
        ([Query.order_asc("severity")], ["r0", "r3", "r1", "r4", "r2"]),  # nulls last, ties by sequence
        ([Query.order_desc("severity")], ["r2", "r1", "r4", "r3", "r0"]),  # nulls first
        ([Query.order_asc("status"), Query.order_desc("count")], ["r4", "r2", "r0", "r3", "r1"]),
        ([Query.limit(2)], ["r0", "r1"]),
        ([Query.offset(3)], ["r3", "r4"]),
        ([Query.limit(2), Query.offset(1)], ["r1", "r2"]),
        ([Query.cursor_after("r1")], ["r2", "r3", "r4"]),
        ([Query.cursor_after("r3"), Query.order_desc("count")], ["r2", "r1", "r0"]),
        ([Query.cursor_before("r3"), Query.limit(2)], ["r1", "r2"]),
    ],
)
def test_ordering_and_pagination(
    tables: TablesDB, database: str, seeded: str, queries: list[str], expected: list[str]
) -> None:
    assert ids_of(tables, database, seeded, queries) == expected


def test_total_counts_every_match_not_just_the_page(tables: TablesDB, database: str, seeded: str) -> None:
    page = tables.list_rows(database, seeded, [Query.limit(1), Query.equal("status", "firing")])
    assert (len(page.rows), page.total) == (1, 3)
    assert tables.list_rows(database, seeded, total=False).total == 0


def test_select_returns_only_the_selected_columns(tables: TablesDB, database: str, seeded: str) -> None:
    row = tables.list_rows(database, seeded, [Query.select(["status", "count"]), Query.limit(1)]).rows[0]
    assert row.data == {"status": "firing", "count": 0}
    assert (row.id, row.sequence, row.tableid) == ("r0", "1", seeded)


def test_default_limit_is_25(tables: TablesDB, database: str, alerts: str) -> None:
    tables.create_rows(database, alerts, [{"fingerprint": f"fp-{i}", "status": "firing"} for i in range(30)])
    page = tables.list_rows(database, alerts)
    assert (len(page.rows), page.total) == (25, 30)


@pytest.mark.slow
def test_total_is_capped_at_5000(tables: TablesDB, database: str, make_table: Callable[..., str]) -> None:
    table_id = make_table(columns=[{"key": "n", "type": "integer"}])
    for start in range(0, 5001, 100):
        tables.create_rows(database, table_id, [{"n": n} for n in range(start, min(start + 100, 5001))])
    assert tables.list_rows(database, table_id, [Query.limit(1)]).total == 5000
    assert tables.list_rows(database, table_id, [Query.greater_than_equal("n", 4000)]).total == 1001


def test_equal_on_id_with_100_values_finds_them_all(tables: TablesDB, database: str, alerts: str) -> None:
    rows = [{"$id": f"row-{i:03d}", "fingerprint": f"fp-{i}", "status": "firing"} for i in range(100)]
    tables.create_rows(database, alerts, rows)
    wanted = [row["$id"] for row in rows]
    found = tables.list_rows(database, alerts, [Query.equal("$id", wanted), Query.limit(100)])
    assert (found.total, sorted(row.id for row in found.rows)) == (100, wanted)



def test_equal_on_system_attributes_keeps_order_and_cursors(tables: TablesDB, database: str, seeded: str) -> None:
    """Equality on `$id`/`$createdAt`/`$updatedAt` seeks their index; order, cursor and total are unchanged."""
    wanted = ["r4", "r0", "r2", "r3"]
    assert ids_of(tables, database, seeded, [Query.equal("$id", wanted)]) == ["r0", "r2", "r3", "r4"]
    assert ids_of(tables, database, seeded, [Query.equal("$id", wanted), Query.order_desc("count")]) == [
        "r4", "r3", "r2", "r0"]
    assert ids_of(tables, database, seeded, [Query.equal("$id", wanted), Query.cursor_after("r2")]) == ["r3", "r4"]
    assert ids_of(tables, database, seeded, [Query.equal("$id", wanted), Query.cursor_before("r3"),
                                             Query.limit(1)]) == ["r2"]
    page = tables.list_rows(database, seeded, [Query.equal("$id", wanted), Query.limit(2), Query.offset(1)])
    assert (page.total, [row.id for row in page.rows]) == (4, ["r2", "r3"])
    first = tables.get_row(database, seeded, "r1")
    same_time = [row.id for row in tables.list_rows(database, seeded, [Query.limit(5)]).rows
                 if row.createdat == first.createdat]
    assert ids_of(tables, database, seeded, [Query.equal("$createdAt", first.createdat)]) == same_time
    assert ids_of(tables, database, seeded, [Query.equal("$updatedAt", first.updatedat)]) == [
        row.id for row in tables.list_rows(database, seeded, [Query.limit(5)]).rows if row.updatedat == first.updatedat]

@pytest.mark.parametrize(
    ("queries", "message"),
    [
        (['{"method":"regex","attribute":"status","values":["a"]}'], "Invalid query method: regex"),
        (["not json"], "Invalid query: Syntax error"),
        ([Query.equal("colour", "red")], "Invalid query: Attribute not found in schema: colour"),
        ([Query.equal("$id", [f"r{i}" for i in range(501)])],
         "Invalid query: Query on attribute has greater than 500 values: $id"),
        ([Query.equal("count", "3")], 'Invalid query: Query value is invalid for attribute "count"'),
        ([Query.equal("status", [])], "Invalid query: Equal queries require at least one value."),
        ([Query.order_asc("colour")], "Invalid query: Attribute not found in schema: colour"),
        ([Query.limit(0)], "Invalid query: Invalid limit: Value must be a valid range between 1 and "
                           "9,223,372,036,854,775,807"),
        ([Query.select(["colour"])], "Invalid query: Attribute not found in schema: colour"),
        ([Query.search("status", "fir")], 'Searching by attribute "status" requires a fulltext index.'),
    ],
    ids=["unknown-method", "bad-json", "unknown-column", "501-values", "value-type", "empty-equal", "order",
         "limit", "select", "search-without-index"],
)
def test_invalid_queries_are_general_query_invalid(
    tables: TablesDB, database: str, seeded: str, queries: list[str], message: str
) -> None:
    error = raises(lambda: tables.list_rows(database, seeded, queries), 400, "general_query_invalid")
    assert error.message.startswith(message), error.message


def test_query_arrays_beyond_100_queries_or_4096_characters_are_general_argument_invalid(
    target: Target, tables: TablesDB, database: str, seeded: str
) -> None:
    expected = ("Invalid `queries` param: Value must a valid array no longer than 100 items and Value must be a "
                "valid string and at least 1 chars and no longer than 4096 chars")
    too_many = [Query.equal("count", n) for n in range(101)]
    error = raises(lambda: tables.list_rows(database, seeded, too_many), 400, "general_argument_invalid")
    assert error.message == expected
    too_long = Query.equal("$id", [f"{n:035d}" for n in range(110)])
    assert len(too_long) > 4096
    error = raises(lambda: tables.list_rows(database, seeded, [too_long]), 400, "general_argument_invalid")
    assert error.message == expected


def test_cursor_on_a_missing_row_is_general_cursor_not_found(tables: TablesDB, database: str, seeded: str) -> None:
    error = raises(lambda: tables.list_rows(database, seeded, [Query.cursor_after("gone")]),
                   400, "general_cursor_not_found")
    assert error.message == "Row 'gone' for the 'cursor' value not found."


def test_cursor_with_a_null_order_value_is_database_query_order_null(
    tables: TablesDB, database: str, seeded: str
) -> None:
    raises(lambda: tables.list_rows(database, seeded, [Query.order_asc("severity"), Query.cursor_after("r2")]),
           400, "database_query_order_null")


def test_queries_travel_as_indexed_get_parameters(target: Target, database: str, seeded: str) -> None:
    params: dict[str, Any] = {
        "queries[0]": json.dumps({"method": "equal", "attribute": "status", "values": ["resolved"]}),
        "queries[1]": json.dumps({"method": "limit", "values": [1]}),
        "total": "false",
    }
    response = target.raw("GET", f"/tablesdb/{database}/tables/{seeded}/rows", params=params,
                          headers={"Content-Type": ""})
    assert response.status_code == 200
    assert (response.json()["total"], [row["$id"] for row in response.json()["rows"]]) == (0, ["r1"])


def test_search_uses_a_fulltext_index(
    tables: TablesDB, database: str, make_table: Callable[..., str], wait_index: Callable[[str, str], Any]
) -> None:
    table_id = make_table(columns=[{"key": "summary", "type": "varchar", "size": 200}])
    tables.create_index(database, table_id, "summary_text", "fulltext", ["summary"])
    wait_index(table_id, "summary_text")
    tables.create_rows(database, table_id, [{"$id": "a", "summary": "Disk almost full on db-1"},
                                            {"$id": "b", "summary": "Memory pressure"}])
    assert ids_of(tables, database, table_id, [Query.search("summary", "disk full")]) == ["a"]
