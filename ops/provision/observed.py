"""What Appwrite has, as small frozen records: the SDK's models (as `to_dict()` gives them) turned into plain
data the planner compares with the schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActualColumn:
    key: str
    kind: str  # varchar, text, enum, datetime, integer, boolean, string, ...
    required: bool
    array: bool
    status: str
    error: str = ""
    size: int | None = None
    elements: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class ActualIndex:
    key: str
    type: str
    columns: tuple[str, ...]
    orders: tuple[str, ...]  # "" where Appwrite stored no order (ascending)
    status: str
    error: str = ""


@dataclass(frozen=True)
class ActualTable:
    row_security: bool
    permissions: tuple[str, ...]
    columns: Mapping[str, ActualColumn]
    indexes: Mapping[str, ActualIndex]


@dataclass(frozen=True)
class ActualTopic:
    subscribe: tuple[str, ...]
    # Subscribers by channel (Appwrite's emailTotal, smsTotal, pushTotal); None: not read.
    subscribers: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Observed:
    database: bool
    tables: Mapping[str, ActualTable] = field(default_factory=dict)  # an absent ID: no such table
    topics: Mapping[str, ActualTopic] = field(default_factory=dict)


def column_record(data: Mapping[str, Any]) -> ActualColumn:
    """A column as the SDK model's `to_dict()` gives it, as a plain record."""
    # The SDK parses every column into one union member and fills in the fields the server did not
    # send (a varchar comes back with format 'enum' and no elements), so rely on type and elements.
    kind = str(data.get("type", ""))
    elements = tuple(str(e) for e in data.get("elements") or ())
    if kind == "string" and data.get("format") == "enum" and elements:
        kind = "enum"
    return ActualColumn(
        key=str(data.get("key", "")),
        kind=kind,
        required=bool(data.get("required", False)),
        array=bool(data.get("array") or False),
        status=_status(data.get("status")),
        error=str(data.get("error") or ""),
        size=_int_or_none(data.get("size")),
        elements=elements if kind == "enum" else (),
        min=_int_or_none(data.get("min")),
        max=_int_or_none(data.get("max")),
    )


def index_record(data: Mapping[str, Any]) -> ActualIndex:
    """An index as the SDK model's `to_dict()` gives it, as a plain record."""
    return ActualIndex(
        key=str(data.get("key", "")),
        type=str(data.get("type", "")),
        columns=tuple(str(c) for c in data.get("columns") or ()),
        orders=tuple(str(o) if o else "" for o in data.get("orders") or ()),
        status=_status(data.get("status")),
        error=str(data.get("error") or ""),
    )


def _status(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
