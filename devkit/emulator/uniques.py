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
    connection.executemany(
        "DELETE FROM unique_values WHERE table_pk = ? AND row_seq = ?", [(table_pk, seq) for seq in seqs]
    )


def claim(
    connection: Connection,
    table_pk: int,
    indexes: list[Index],
    seq: int,
    view: dict[str, Any],
) -> None:
    """Record the row's values; 409 `row_unique_constraint_violation` if another row holds them."""
    for index in indexes:
        if index.type != "unique" or index.status != "available":
            continue
        value = entry(index, view)
        if value is None:
            continue
        try:
            connection.execute(
                "INSERT INTO unique_values (table_pk, index_key, value, row_seq) VALUES (?, ?, ?, ?)",
                (table_pk, index.key, value, seq),
            )
        except sqlite3.IntegrityError as error:
            raise ApiError("row_unique_constraint_violation") from error
