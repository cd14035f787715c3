"""Upserts: single (PUT /rows/{rowId}) and bulk (PUT /rows), change detection and their errors."""

from __future__ import annotations

from typing import Any

import pytest
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, raises


def full_row(row_id: str, number: int, **changes: Any) -> dict[str, Any]:
    """A row giving every column of the `alerts` table, as the server stores it."""
    return {
        "$id": row_id, "fingerprint": f"fp-{number}", "status": "firing", "severity": None, "count": number,
        "active": None, "startsAt": "2025-01-02T03:04:05.000+00:00", "labels": None, "link": None, **changes,
    }


def test_single_upsert_answers_200_when_creating_and_updating(target: Target, database: str, alerts: str) -> None:
    path = f"/tablesdb/{database}/tables/{alerts}/rows/r1"
    created = target.raw("PUT", path, {"data": {"fingerprint": "fp", "status": "firing"}})
    assert created.status_code == 200
    assert (created.json()["$id"], created.json()["$sequence"]) == ("r1", "1")
    updated = target.raw("PUT", path, {"data": {"fingerprint": "fp", "status": "resolved"}})
    assert updated.status_code == 200
    assert (updated.json()["status"], updated.json()["$sequence"]) == ("resolved", "1")


def test_single_upsert_without_changes_keeps_updated_at(tables: TablesDB, database: str, alerts: str) -> None:
    data = {key: value for key, value in full_row("r1", 1).items() if key != "$id"}
    created = tables.upsert_row(database, alerts, "r1", data)
    again = tables.upsert_row(database, alerts, "r1", data)
    assert again.updatedat == created.updatedat
    assert again.data == created.data


def test_single_upsert_keeps_optional_columns_it_does_not_mention(
    tables: TablesDB, database: str, alerts: str
) -> None:
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing", "severity": "page"})
    row = tables.upsert_row(database, alerts, "r1", {"fingerprint": "fp", "status": "resolved"})
    assert (row.data["status"], row.data["severity"]) == ("resolved", "page")


def test_upsert_must_include_required_columns_even_when_updating(
    tables: TablesDB, database: str, alerts: str
) -> None:
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing"})
    error = raises(lambda: tables.upsert_row(database, alerts, "r1", {"status": "resolved"}),
                   400, "row_invalid_structure")
    assert error.message == 'Invalid document structure: Missing required attribute "fingerprint"'


@pytest.mark.parametrize(
    ("row_id", "data", "code", "error_type"),
    [
        ("unique()", {"fingerprint": "fp", "status": "firing"}, 400, "general_argument_invalid"),
        ("r1", {}, 400, "row_missing_payload"),
        ("r1", {"fingerprint": "fp", "status": "unknown"}, 400, "row_invalid_structure"),
    ],
    ids=["unique-placeholder", "empty", "invalid"],
)
def test_single_upsert_errors(
    tables: TablesDB, database: str, alerts: str, row_id: str, data: dict[str, Any], code: int, error_type: str
) -> None:
    raises(lambda: tables.upsert_row(database, alerts, row_id, data), code, error_type)


def test_single_upsert_hitting_a_unique_index_is_409(tables: TablesDB, database: str, alerts: str) -> None:
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing"})
    raises(lambda: tables.upsert_row(database, alerts, "r2", {"fingerprint": "fp", "status": "firing"}),
           409, "row_unique_constraint_violation")


def test_bulk_upsert_answers_200_with_created_and_updated_rows(target: Target, database: str, alerts: str) -> None:
    path = f"/tablesdb/{database}/tables/{alerts}/rows"
    first = target.raw("PUT", path, {"rows": [full_row(f"r{i}", i) for i in range(3)]})
    assert first.status_code == 200
    assert first.json()["total"] == 3
    second = target.raw("PUT", path, {"rows": [full_row("r0", 0, status="resolved"), full_row("r3", 3)]})
    assert second.status_code == 200
    body = second.json()
    assert (body["total"], [(row["$id"], row["status"]) for row in body["rows"]]) == (
        2, [("r0", "resolved"), ("r3", "firing")],
    )


def test_bulk_upsert_leaves_unchanged_rows_out(tables: TablesDB, database: str, alerts: str) -> None:
    rows = [full_row(f"r{i}", i) for i in range(100)]
    assert tables.upsert_rows(database, alerts, rows).total == 100
    before = {row.id: row.updatedat for row in tables.list_rows(database, alerts, [Query.limit(100)]).rows}
    rows[7] = full_row("r7", 7, status="resolved")
    result = tables.upsert_rows(database, alerts, rows)
    assert (result.total, [row.id for row in result.rows]) == (1, ["r7"])
    after = {row.id: row.updatedat for row in tables.list_rows(database, alerts, [Query.limit(100)]).rows}
    assert {row_id for row_id in after if after[row_id] != before[row_id]} <= {"r7"}
    assert tables.upsert_rows(database, alerts, rows).total == 0


@pytest.mark.parametrize(
    ("change", "counted"),
    [
        ({"startsAt": "2025-01-02T03:04:05Z"}, True),  # same instant, other text: the server sees a change
        ({"count": "1"}, False),  # loose comparison: "1" equals 1 (and the row is not rewritten)
        ({}, False),
    ],
    ids=["datetime-text", "loose-number", "identical"],
)
def test_bulk_upsert_change_detection_compares_raw_values_loosely(
    tables: TablesDB, database: str, alerts: str, change: dict[str, Any], counted: bool
) -> None:
    tables.upsert_rows(database, alerts, [full_row("r1", 1)])
    assert tables.upsert_rows(database, alerts, [full_row("r1", 1, **change)]).total == int(counted)


def test_bulk_upsert_with_a_partial_row_counts_as_a_change(tables: TablesDB, database: str, alerts: str) -> None:
    tables.upsert_rows(database, alerts, [full_row("r1", 1)])
    partial = {"$id": "r1", "fingerprint": "fp-1", "status": "firing"}
    result = tables.upsert_rows(database, alerts, [partial])
    assert result.total == 1
    assert result.rows[0].data["count"] == 1  # optional columns it did not mention are kept


def test_bulk_upsert_with_a_repeated_id_is_409_row_already_exists(
    tables: TablesDB, database: str, alerts: str
) -> None:
    error = raises(lambda: tables.upsert_rows(database, alerts, [full_row("r1", 1), full_row("r1", 2)]),
                   409, "row_already_exists")
    assert "'multiple'" in error.message
    assert tables.list_rows(database, alerts).total == 0


def test_bulk_upsert_is_all_or_nothing(tables: TablesDB, database: str, alerts: str) -> None:
    rows = [full_row("r1", 1), full_row("r2", 2, status="bogus")]
    raises(lambda: tables.upsert_rows(database, alerts, rows), 400, "row_invalid_structure")
    assert tables.list_rows(database, alerts).total == 0


def test_bulk_upsert_of_more_than_100_rows_is_general_argument_invalid(
    tables: TablesDB, database: str, alerts: str
) -> None:
    raises(lambda: tables.upsert_rows(database, alerts, [full_row(f"r{i}", i) for i in range(101)]),
           400, "general_argument_invalid")


def test_bulk_upsert_rows_without_an_id_are_created(tables: TablesDB, database: str, alerts: str) -> None:
    result = tables.upsert_rows(database, alerts, [{"fingerprint": "fp", "status": "firing"}])
    assert (result.total, len(result.rows[0].id)) == (1, 20)


def test_bulk_upsert_keeps_permissions_of_existing_rows(tables: TablesDB, database: str, alerts: str) -> None:
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing"}, permissions=['read("any")'])
    row = tables.upsert_rows(database, alerts, [{"$id": "r1", "fingerprint": "fp", "status": "resolved"}]).rows[0]
    assert row.permissions == ['read("any")']


def test_bulk_upsert_of_a_new_id_differing_only_in_case_is_row_already_exists(
    tables: TablesDB, database: str, alerts: str
) -> None:
    tables.create_row(database, alerts, "Alert1", {"fingerprint": "fp-a", "status": "firing"})
    raises(lambda: tables.upsert_rows(database, alerts, [{"$id": "alert1", "fingerprint": "fp-b",
                                                          "status": "firing"}]),
           409, "row_already_exists")
