"""Deleting tables, columns, indexes, rows and topics: 204, the `deleting` status and the not-found errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appwrite.exception import AppwriteException
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, new_id, poll, raises, value_of


def _gone(read: Callable[[], Any]) -> bool:
    try:
        read()
    except AppwriteException as error:
        return error.code == 404
    return False


def test_deleting_an_index_answers_204_then_the_index_is_gone(
    target: Target, tables: TablesDB, database: str, alerts: str
) -> None:
    """A deleted index answers 204, shows `deleting` or is gone, and ends as 404 column_index_not_found."""
    answer = target.raw("DELETE", f"/tablesdb/{database}/tables/{alerts}/indexes/fingerprint_unique")
    assert answer.status_code == 204
    index = next((item for item in tables.get_table(database, alerts).indexes if item.key == "fingerprint_unique"),
                 None)
    assert index is None or value_of(index.status) == "deleting"
    poll(lambda: _gone(lambda: tables.get_index(database, alerts, "fingerprint_unique")), bool)
    raises(lambda: tables.get_index(database, alerts, "fingerprint_unique"), 404, "column_index_not_found")


def test_a_deleted_unique_index_no_longer_refuses_duplicates(tables: TablesDB, database: str, alerts: str) -> None:
    """Once a unique index is gone, two rows may share its value."""
    tables.create_row(database, alerts, "a", {"fingerprint": "same", "status": "firing"})
    tables.delete_index(database, alerts, "fingerprint_unique")
    poll(lambda: _gone(lambda: tables.get_index(database, alerts, "fingerprint_unique")), bool)
    tables.create_row(database, alerts, "b", {"fingerprint": "same", "status": "firing"})
    assert tables.list_rows(database, alerts).total == 2


def test_deleting_a_missing_index_is_404_column_index_not_found(tables: TablesDB, database: str, alerts: str) -> None:
    """An unknown index key is 404 column_index_not_found."""
    raises(lambda: tables.delete_index(database, alerts, "nope"), 404, "column_index_not_found")


def test_deleting_a_column_answers_204_and_its_values_leave_the_rows(
    target: Target, tables: TablesDB, database: str, alerts: str
) -> None:
    """A deleted column is `deleting`, then gone from the table and from its rows' data."""
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing", "severity": "page"})
    answer = target.raw("DELETE", f"/tablesdb/{database}/tables/{alerts}/columns/severity")
    assert answer.status_code == 204
    column = next((item for item in tables.get_table(database, alerts).columns if item.key == "severity"), None)
    assert column is None or value_of(column.status) == "deleting"
    poll(lambda: _gone(lambda: tables.get_column(database, alerts, "severity")), bool)
    raises(lambda: tables.get_column(database, alerts, "severity"), 404, "column_not_found")
    assert "severity" not in tables.get_row(database, alerts, "r1").data


def test_deleting_an_indexed_column_is_409_column_index_dependency(
    tables: TablesDB, database: str, alerts: str
) -> None:
    """A column an index uses cannot be deleted until the index is."""
    error = raises(lambda: tables.delete_column(database, alerts, "fingerprint"), 409, "column_index_dependency")
    assert "fingerprint" in error.message


def test_deleting_a_missing_column_is_404_column_not_found(tables: TablesDB, database: str, alerts: str) -> None:
    """An unknown column key is 404 column_not_found."""
    raises(lambda: tables.delete_column(database, alerts, "nope"), 404, "column_not_found")


def test_deleting_a_table_answers_204_and_it_is_gone_at_once(
    target: Target, tables: TablesDB, database: str, alerts: str
) -> None:
    """A deleted table is 404 table_not_found straight away, rows included."""
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing"})
    assert target.raw("DELETE", f"/tablesdb/{database}/tables/{alerts}").status_code == 204
    raises(lambda: tables.get_table(database, alerts), 404, "table_not_found")
    raises(lambda: tables.list_rows(database, alerts), 404, "table_not_found")
    raises(lambda: tables.delete_table(database, alerts), 404, "table_not_found")


def test_deleting_a_row_answers_204_and_frees_its_id_and_unique_values(
    target: Target, tables: TablesDB, database: str, alerts: str
) -> None:
    """A deleted row is gone; its ID and its unique fingerprint can be used again."""
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "firing"})
    assert target.raw("DELETE", f"/tablesdb/{database}/tables/{alerts}/rows/r1").status_code == 204
    raises(lambda: tables.get_row(database, alerts, "r1"), 404, "row_not_found")
    raises(lambda: tables.delete_row(database, alerts, "r1"), 404, "row_not_found")
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp", "status": "resolved"})
    assert tables.get_row(database, alerts, "r1").data["status"] == "resolved"


def test_deleting_a_database_removes_its_tables(tables: TablesDB) -> None:
    """A deleted database is 404 database_not_found, and so are reads of its tables."""
    database_id = new_id("db")
    tables.create(database_id, "Doomed")
    tables.create_table(database_id, "t", "T")
    tables.delete(database_id)
    raises(lambda: tables.get(database_id), 404, "database_not_found")
    raises(lambda: tables.get_table(database_id, "t"), 404, "database_not_found")
