"""Unique-index enforcement: one `unique_values` entry per row and available unique index.

As in SQL, a row whose indexed values include a null takes no entry, so nulls never collide.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from .errors import ApiError
from .indexes import Index
from .store import Connection


def row_view(row_id: str, created: str, updated: str, data: dict[str, Any]) -> dict[str, Any]:
    """The values an index can read: user columns plus `$id`, `$createdAt`, `$updatedAt`."""
    return {**data, "$id": row_id, "$createdAt": created, "$updatedAt": updated}


def entry(index: Index, view: dict[str, Any]) -> str | None:
    values = [view.get(name) for name in index.columns]
    if any(value is None for value in values):
        return None
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def build(connection: Connection, table_pk: int, index: Index) -> bool:
    """Index every existing row; False (and nothing kept) if existing rows already collide."""
    rows = connection.execute(
        "SELECT seq, id, created, updated, data FROM rows WHERE table_pk = ?", (table_pk,)
    ).fetchall()
    try:
        for seq, row_id, created, updated, data in rows:
            value = entry(index, row_view(row_id, created, updated, json.loads(data)))
            if value is not None:
                connection.execute(
                    "INSERT INTO unique_values (table_pk, index_key, value, row_seq) VALUES (?, ?, ?, ?)",
                    (table_pk, index.key, value, seq),
                )
    except sqlite3.IntegrityError:
        connection.execute(
            "DELETE FROM unique_values WHERE table_pk = ? AND index_key = ?", (table_pk, index.key)
        )
        return False
    return True


def release(connection: Connection, table_pk: int, seqs: Iterable[int]) -> None:
    listed = list(seqs)
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        connection.execute(
            f"DELETE FROM unique_values WHERE table_pk = ? AND row_seq IN ({','.join('?' * len(chunk))})",
            (table_pk, *chunk),
        )


def claim(
    connection: Connection,
    table_pk: int,
    indexes: list[Index],
    rows: Iterable[tuple[int, dict[str, Any]]],
) -> None:
    """Record each (seq, view)'s values; 409 `row_unique_constraint_violation` if any is already held."""
    unique = [index for index in indexes if index.type == "unique" and index.status == "available"]
    entries = []
    for seq, view in rows:
        for index in unique:
            value = entry(index, view)
            if value is not None:
                entries.append((table_pk, index.key, value, seq))
    try:
        connection.executemany(
            "INSERT INTO unique_values (table_pk, index_key, value, row_seq) VALUES (?, ?, ?, ?)", entries
        )
    except sqlite3.IntegrityError as error:
        raise ApiError("row_unique_constraint_violation") from error
