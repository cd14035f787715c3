"""SQLite storage shared by every resource: one connection, one lock, explicit transactions.

Rows keep their user columns as one JSON document (`rows.data`) next to indexed system fields, so
lookups by `$id` and bulk writes stay index-driven, and filters use SQLite's JSON functions.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS databases (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tables (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    database_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    row_security INTEGER NOT NULL,
    permissions TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    next_seq INTEGER NOT NULL DEFAULT 1,
    schema_version INTEGER NOT NULL DEFAULT 0,
    UNIQUE (database_id, id)
);
CREATE TABLE IF NOT EXISTS columns (
    table_pk INTEGER NOT NULL,
    key TEXT NOT NULL,
    position INTEGER NOT NULL,
    spec TEXT NOT NULL,
    ready_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    outcome_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (table_pk, key)
);
CREATE TABLE IF NOT EXISTS indexes (
    table_pk INTEGER NOT NULL,
    key TEXT NOT NULL,
    position INTEGER NOT NULL,
    spec TEXT NOT NULL,
    ready_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    outcome_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (table_pk, key)
);
CREATE TABLE IF NOT EXISTS rows (
    table_pk INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    permissions TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (table_pk, seq)
);
-- Row IDs are unique case-insensitively, like the server's `_uid` index (utf8_ci_ai collation).
CREATE UNIQUE INDEX IF NOT EXISTS rows_uid ON rows (table_pk, id COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS rows_id ON rows (table_pk, id);
CREATE INDEX IF NOT EXISTS rows_created ON rows (table_pk, created);
CREATE INDEX IF NOT EXISTS rows_updated ON rows (table_pk, updated);
-- One entry per row and available unique index whose indexed values are all non-null.
CREATE TABLE IF NOT EXISTS unique_values (
    table_pk INTEGER NOT NULL,
    index_key TEXT NOT NULL,
    value TEXT NOT NULL,
    row_seq INTEGER NOT NULL,
    PRIMARY KEY (table_pk, index_key, value)
);
CREATE INDEX IF NOT EXISTS unique_values_row ON unique_values (table_pk, row_seq);
CREATE TABLE IF NOT EXISTS topics (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    subscribe TEXT NOT NULL,
    email_total INTEGER NOT NULL DEFAULT 0,
    sms_total INTEGER NOT NULL DEFAULT 0,
    push_total INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    provider_type TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    due_at REAL NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL,
    operations INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL,
    expires TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
-- Staged operations in order; `staged_at` is the request time the commit checks for conflicts against.
CREATE TABLE IF NOT EXISTS transaction_operations (
    transaction_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    action TEXT NOT NULL,
    database_id TEXT NOT NULL,
    table_id TEXT NOT NULL,
    row_id TEXT,
    data TEXT NOT NULL,
    staged_at TEXT NOT NULL,
    PRIMARY KEY (transaction_id, position)
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_DATA_TABLES = (
    "databases",
    "tables",
    "columns",
    "indexes",
    "rows",
    "unique_values",
    "topics",
    "messages",
    "transactions",
    "transaction_operations",
    "counters",
)


class Connection(sqlite3.Connection):
    """The connection, carrying a cache of parsed table schemas keyed by table and schema version."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema_cache: dict[int, tuple[int, Any]] = {}
        self._versions = itertools.count(time.time_ns())

    def new_version(self) -> int:
        """A schema version never handed out before, even across rolled-back transactions."""
        return next(self._versions)


class Store:
    """The SQLite database; every access, reads included, goes through `transaction()`."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._connection = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30.0, factory=Connection
        )
        self._connection.row_factory = sqlite3.Row
        if path:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """An atomic unit of work: committed on success, rolled back on any exception.

        Nested calls join the outer unit, so a commit of staged operations can reuse the row endpoints.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._connection
                finally:
                    self._depth -= 1
                return
            self._connection.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            self._connection.execute("COMMIT")

    @contextmanager
    def scratch(self) -> Iterator[Connection]:
        """A unit of work that is always rolled back: reads of a state that is never kept."""
        with self._lock:
            if self._depth:
                raise RuntimeError("a scratch unit cannot run inside another unit of work")
            self._connection.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._connection
            finally:
                self._depth = 0
                self._connection.execute("ROLLBACK")

    def next_value(self, connection: Connection, name: str) -> int:
        """A monotonically increasing counter (internal sequences of databases, topics, ...)."""
        row = connection.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    def wipe(self) -> None:
        with self.transaction() as connection:
            for table in _DATA_TABLES:
                connection.execute(f"DELETE FROM {table}")
            connection.execute("DELETE FROM sqlite_sequence")
            connection.schema_cache.clear()

    def close(self) -> None:
        with self._lock:
            self._connection.close()
