"""Index definitions, their response model and the database's index validator rules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .columns import Column

MAX_INDEX_LENGTH = 768
MAX_USER_INDEXES = 58
INDEX_TYPES = ("key", "fulltext", "unique", "spatial")
_STRING_TYPES = ("string", "varchar", "text", "mediumtext", "longtext")
# Internal attributes an index may name, with their stored type and size.
_INTERNAL = {
    "$id": Column("$id", "string", size=255, required=True, status="available"),
    "$createdAt": Column("$createdAt", "datetime", status="available"),
    "$updatedAt": Column("$updatedAt", "datetime", status="available"),
}


@dataclass
class Index:
    key: str
    type: str
    columns: list[str]
    lengths: list[int | None] = field(default_factory=list)
    orders: list[str | None] = field(default_factory=list)
    status: str = "processing"
    error: str = ""
    created: str = ""
    updated: str = ""
    internal_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Index:
        return cls(**data)

    def response(self) -> dict[str, Any]:
        return {
            "$id": self.internal_id,
            "$createdAt": self.created,
            "$updatedAt": self.updated,
            "key": self.key,
            "type": self.type,
            "status": self.status,
            "error": self.error,
            "columns": list(self.columns),
            "lengths": list(self.lengths),
            "orders": list(self.orders),
        }


def lookup(columns: list[Column], key: str) -> Column | None:
    if key in _INTERNAL:
        return _INTERNAL[key]
    return next((column for column in columns if column.key == key), None)


def problem(index: Index, columns: list[Column], existing: list[Index]) -> str | None:
    """Why utopia-php/database's Index validator rejects `index`, or None."""
    if not index.columns:
        return "No attributes provided for index"
    resolved: list[Column] = []
    for name in index.columns:
        column = lookup(columns, name)
        if column is None:
            return f'Invalid index attribute "{name}" not found'
        resolved.append(column)
    if len({name.lower() for name in index.columns}) != len(index.columns):
        return "Duplicate attributes provided"
    if index.type == "fulltext":
        for column in resolved:
            if column.type not in _STRING_TYPES:
                return f'Attribute "{column.key}" cannot be part of a fulltext index, must be of type string'
    if index.type == "spatial":
        column = resolved[0]
        return (
            "Spatial index can only be created on spatial attributes (point, linestring, polygon). "
            f'Attribute "{column.key}" is of type "{column.type}"'
        )
    for position, column in enumerate(resolved):
        length = index.lengths[position] if position < len(index.lengths) else None
        if column.type not in _STRING_TYPES and length:
            return f'Cannot set a length on "{column.type}" attributes'
    length_problem = _length_problem(index, resolved)
    if length_problem is not None:
        return length_problem
    if index.type in ("key", "unique"):
        for other in existing:
            same_columns = set(other.columns) == set(index.columns)
            same_orders = set(_orders(other)) == set(_orders(index))
            if other.type in ("key", "unique") and same_columns and same_orders:
                return "There is already an index with the same attributes and orders"
    return None


def _orders(index: Index) -> list[str]:
    return [order.upper() for order in index.orders if order]


def _length_problem(index: Index, resolved: list[Column]) -> str | None:
    if index.type == "fulltext":
        return None
    if len(index.lengths) > len(index.columns):
        return "Invalid index lengths. Count of lengths must be equal or less than the number of attributes."
    total = 0
    for position, column in enumerate(resolved):
        given = index.lengths[position] if position < len(index.lengths) else None
        if column.type in _STRING_TYPES:
            size = column.size
            length = given if given else size
        else:
            size = length = 1
        if length < 0:
            return f"Negative index length provided for {column.key}"
        if length > size:
            return f'Index length {length} is larger than the size for {column.key}: {size}"'
        total += length
    if total > MAX_INDEX_LENGTH:
        return f"Index length is longer than the maximum: {MAX_INDEX_LENGTH}"
    return None
