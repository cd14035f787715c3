"""Loading databases and tables with their columns and indexes, and the columns' lifecycle.

Columns and indexes created through their endpoints start `processing`; each records when its
simulated worker finishes (`ready_at`) and how (`outcome`). Any read of a table first *settles*
what is due, so `processing` -> `available`/`failed` happens lazily but at the right moment, and a
`stuck` outcome never settles.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import datetimes, uniques
from .columns import Column
from .errors import ApiError
from .indexes import Index
from .rowsql import expression
from .store import Connection


@dataclass
class TableInfo:
    pk: int
    database_id: str
    database_seq: int
    database_enabled: bool
    id: str
    name: str
    enabled: bool
    row_security: bool
    permissions: list[str]
    created: str
    updated: str
    columns: list[Column] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)

    @cached_property
    def available_by_key(self) -> dict[str, Column]:
        return {column.key: column for column in self.columns if column.status == "available"}

    def available_columns(self) -> dict[str, Column]:
        return self.available_by_key

    @cached_property
    def shown(self) -> list[tuple[str, bool]]:
        """(key, array) of every available column, in order: what a row answer lists."""
        return [(column.key, column.array) for column in self.columns if column.status == "available"]

    @cached_property
    def required_keys(self) -> list[str]:
        return [column.key for column in self.columns if column.status == "available" and column.required]

    @cached_property
    def optional_defaults(self) -> list[tuple[str, Any]]:
        """(key, default) of every available column that is not required, in order."""
        return [(column.key, column.default) for column in self.columns
                if column.status == "available" and not column.required]

    @cached_property
    def defaults(self) -> list[tuple[str, Any]]:
        """(key, default) of every available column with a default, in order."""
        return [(column.key, column.default) for column in self.columns
                if column.status == "available" and column.default is not None]

    @cached_property
    def datetime_keys(self) -> frozenset[str]:
        """Available columns whose stored form differs from the sent one (datetimes are normalised)."""
        return frozenset(column.key for column in self.columns
                         if column.status == "available" and column.type == "datetime")

    @cached_property
    def unique_indexes(self) -> list[Index]:
        return [index for index in self.indexes if index.type == "unique" and index.status == "available"]

    def available_indexes(self) -> list[Index]:
        return [index for index in self.indexes if index.status == "available"]


def database_row(connection: Connection, database_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = connection.execute("SELECT * FROM databases WHERE id = ?", (database_id,)).fetchone()
    if row is None:
        raise ApiError("database_not_found", None, database_id)
    return row


def load_table(connection: Connection, database_id: str, table_id: str) -> TableInfo:
    """The table with settled columns and indexes; 404 for a missing database or table."""
    database = database_row(connection, database_id)
    row = connection.execute(
        "SELECT * FROM tables WHERE database_id = ? AND id = ?", (database_id, table_id)
    ).fetchone()
    if row is None:
        raise ApiError("table_not_found", None, table_id)
    pk = int(row["pk"])
    if settle(connection, pk):
        row = connection.execute("SELECT * FROM tables WHERE pk = ?", (pk,)).fetchone()
    table = TableInfo(
        pk=int(row["pk"]),
        database_id=database_id,
        database_seq=int(database["seq"]),
        database_enabled=bool(database["enabled"]),
        id=row["id"],
        name=row["name"],
        enabled=bool(row["enabled"]),
        row_security=bool(row["row_security"]),
        permissions=json.loads(row["permissions"]),
        created=row["created"],
        updated=row["updated"],
    )
    version = int(row["schema_version"])
    cached = connection.schema_cache.get(pk)
    if cached is None or cached[0] != version:
        columns = [
            Column.from_json(json.loads(spec))
            for (spec,) in connection.execute("SELECT spec FROM columns WHERE table_pk = ? ORDER BY position", (pk,))
        ]
        indexes = [
            Index.from_json(json.loads(spec))
            for (spec,) in connection.execute("SELECT spec FROM indexes WHERE table_pk = ? ORDER BY position", (pk,))
        ]
        cached = (version, (columns, indexes))
        connection.schema_cache[pk] = cached
    # Callers only read these; the lists are copied so the cache cannot be reshaped by accident.
    table.columns, table.indexes = list(cached[1][0]), list(cached[1][1])
    return table


def _change(
    connection: Connection, table_pk: int, edit: Callable[[list[Column], list[Index]], None]
) -> None:
    """Give the table a new schema version, applying `edit` to a current cached copy (else dropping it)."""
    current = connection.execute("SELECT schema_version FROM tables WHERE pk = ?", (table_pk,)).fetchone()[0]
    version = connection.new_version()
    connection.execute("UPDATE tables SET schema_version = ? WHERE pk = ?", (version, table_pk))
    cached = connection.schema_cache.get(table_pk)
    if cached is None or cached[0] != current:
        connection.schema_cache.pop(table_pk, None)
        return
    columns, indexes = list(cached[1][0]), list(cached[1][1])
    edit(columns, indexes)
    connection.schema_cache[table_pk] = (version, (columns, indexes))


def _replace(items: list[Any], replacements: dict[str, Any]) -> None:
    for position, item in enumerate(items):
        if item.key in replacements:
            items[position] = replacements[item.key]


def table_rows(connection: Connection, database_id: str) -> list[sqlite3.Row]:
    return list(connection.execute("SELECT * FROM tables WHERE database_id = ? ORDER BY pk", (database_id,)))


def settle(connection: Connection, table_pk: int) -> bool:
    """Finish every column and index whose simulated worker is due; True if any did."""
    now = time.time()
    due_columns = connection.execute(
        "SELECT key, spec, ready_at, outcome, outcome_error FROM columns "
        "WHERE table_pk = ? AND outcome IN ('available', 'failed') AND ready_at <= ?",
        (table_pk, now),
    ).fetchall()
    settled_columns: dict[str, Column] = {}
    settled_indexes: dict[str, Index] = {}
    for key, spec, ready_at, outcome, error in due_columns:
        column = Column.from_json(json.loads(spec))
        settled_columns[key] = column
        column.status, column.error = outcome, error
        column.updated = datetimes.from_timestamp(ready_at)
        connection.execute(
            "UPDATE columns SET spec = ?, outcome = 'settled' WHERE table_pk = ? AND key = ?",
            (json.dumps(column.to_json()), table_pk, key),
        )
    due_indexes = connection.execute(
        "SELECT key, spec, ready_at, outcome, outcome_error FROM indexes "
        "WHERE table_pk = ? AND outcome IN ('available', 'failed') AND ready_at <= ?",
        (table_pk, now),
    ).fetchall()
    for key, spec, ready_at, outcome, error in due_indexes:
        index = Index.from_json(json.loads(spec))
        settled_indexes[key] = index
        index.status, index.error = outcome, error
        if outcome == "available" and index.type == "unique" and not uniques.build(connection, table_pk, index):
            # Existing rows already violate it: the worker's CREATE UNIQUE INDEX fails.
            index.status, index.error = "failed", "Unique index violation"
        index.updated = datetimes.from_timestamp(ready_at)
        ensure_lookup(connection, index)
        connection.execute(
            "UPDATE indexes SET spec = ?, outcome = 'settled' WHERE table_pk = ? AND key = ?",
            (json.dumps(index.to_json()), table_pk, key),
        )
    removed_columns = _remove_due(connection, table_pk, "columns", now)
    removed_indexes = _remove_due(connection, table_pk, "indexes", now)
    for key in removed_columns:
        # The worker drops the column, so a later column of the same key starts empty.
        connection.execute(
            "UPDATE rows SET data = json_remove(data, ?) WHERE table_pk = ?", (f'$."{key}"', table_pk)
        )
    for key in removed_indexes:
        connection.execute("DELETE FROM unique_values WHERE table_pk = ? AND index_key = ?", (table_pk, key))
    if not (settled_columns or settled_indexes or removed_columns or removed_indexes):
        return False

    def edit(columns: list[Column], indexes: list[Index]) -> None:
        _replace(columns, settled_columns)
        _replace(indexes, settled_indexes)
        columns[:] = [column for column in columns if column.key not in removed_columns]
        indexes[:] = [index for index in indexes if index.key not in removed_indexes]

    _change(connection, table_pk, edit)
    return True


def ensure_lookup(connection: Connection, index: Index) -> None:
    """A SQLite expression index for each user column of an available index, so filters on it seek.

    One per column key, shared by every table (keyed by `table_pk` first); the expression is exactly
    the one rowsql filters with, which is what lets SQLite's planner use it.
    """
    if index.status != "available" or index.type not in ("key", "unique"):
        return
    for name in index.columns:
        if name.startswith("$"):
            continue
        connection.execute(
            f'CREATE INDEX IF NOT EXISTS "rows_lookup_{name}" ON rows (table_pk, {expression(name)})'
        )


def _remove_due(connection: Connection, table_pk: int, kind: str, now: float) -> set[str]:
    """Drop the columns or indexes whose simulated delete worker is due; their keys."""
    keys = {
        key for (key,) in connection.execute(
            f"SELECT key FROM {kind} WHERE table_pk = ? AND outcome = 'deleted' AND ready_at <= ?", (table_pk, now)
        )
    }
    if keys:
        connection.execute(f"DELETE FROM {kind} WHERE table_pk = ? AND outcome = 'deleted' AND ready_at <= ?",
                           (table_pk, now))
    return keys


def mark_deleting(connection: Connection, table_pk: int, kind: str, key: str, ready_at: float) -> None:
    """Schedule the delete worker: an available column or index shows `deleting` until it is gone."""
    spec = connection.execute(f"SELECT spec FROM {kind} WHERE table_pk = ? AND key = ?", (table_pk, key)).fetchone()[0]
    decoded = json.loads(spec)
    item: Column | Index = Column.from_json(decoded) if kind == "columns" else Index.from_json(decoded)
    if item.status == "available":
        item.status = "deleting"
    connection.execute(
        f"UPDATE {kind} SET spec = ?, ready_at = ?, outcome = 'deleted' WHERE table_pk = ? AND key = ?",
        (json.dumps(item.to_json()), ready_at, table_pk, key),
    )

    def edit(columns: list[Column], indexes: list[Index]) -> None:
        if isinstance(item, Column):
            _replace(columns, {key: item})
        else:
            _replace(indexes, {key: item})

    _change(connection, table_pk, edit)


def insert_column(
    connection: Connection,
    table_pk: int,
    column: Column,
    *,
    ready_at: float,
    outcome: str,
    error: str = "",
) -> None:
    position = connection.execute("SELECT COUNT(*) FROM columns WHERE table_pk = ?", (table_pk,)).fetchone()[0]
    connection.execute(
        "INSERT INTO columns (table_pk, key, position, spec, ready_at, outcome, outcome_error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (table_pk, column.key, position, json.dumps(column.to_json()), ready_at, outcome, error),
    )
    _change(connection, table_pk, lambda columns, indexes: columns.append(column))


def insert_index(
    connection: Connection,
    table_pk: int,
    index: Index,
    *,
    ready_at: float,
    outcome: str,
    error: str = "",
) -> None:
    position = connection.execute("SELECT COUNT(*) FROM indexes WHERE table_pk = ?", (table_pk,)).fetchone()[0]
    connection.execute(
        "INSERT INTO indexes (table_pk, key, position, spec, ready_at, outcome, outcome_error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (table_pk, index.key, position, json.dumps(index.to_json()), ready_at, outcome, error),
    )
    if outcome == "settled":
        ensure_lookup(connection, index)
    _change(connection, table_pk, lambda columns, indexes: indexes.append(index))
