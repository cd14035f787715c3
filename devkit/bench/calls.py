"""Appwrite calls as the emulator counts them (`"METHOD /v1/route/{template}": count`), named by SDK method.

Reads and writes are calls on table rows (`list_rows`, `get_row` / `create_row`, `upsert_rows`, ...);
messages are `create_push`, `create_sms`, `create_email`. Anything else keeps its route as its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    READ = "read"
    WRITE = "write"
    MESSAGE = "message"
    OTHER = "other"


_ROW_COLLECTION = {"GET": "list_rows", "POST": "create_row", "PUT": "upsert_rows", "PATCH": "update_rows",
                   "DELETE": "delete_rows"}
_ROW_ITEM = {"GET": "get_row", "PUT": "upsert_row", "PATCH": "update_row", "DELETE": "delete_row"}
_SHORT = {Category.READ: "r", Category.WRITE: "w"}
_CHANNEL_SHORT = {"create_push": "p", "create_sms": "s", "create_email": "e"}


@dataclass(frozen=True)
class CallKind:
    name: str
    category: Category


def classify(route: str) -> CallKind:
    """`"PUT /v1/tablesdb/{databaseId}/tables/{tableId}/rows"` -> `upsert_rows`, a write."""
    method, _, path = route.strip().partition(" ")
    method = method.upper()
    parts = [part for part in path.split("?")[0].split("/") if part]
    if "rows" in parts:
        item = parts.index("rows") < len(parts) - 1
        table = _ROW_ITEM if item else _ROW_COLLECTION
        if method in table:
            category = Category.READ if method == "GET" else Category.WRITE
            return CallKind(table[method], category)
    if method == "POST" and len(parts) >= 2 and parts[-2] == "messages" and "messaging" in parts:
        return CallKind(f"create_{parts[-1]}", Category.MESSAGE)
    return CallKind(route, Category.OTHER)


@dataclass(frozen=True)
class CallCounts:
    """One delivery's Appwrite calls, by SDK method name."""

    by_kind: dict[str, int]
    categories: dict[str, Category]

    @classmethod
    def from_routes(cls, routes: Mapping[str, int]) -> CallCounts:
        by_kind: dict[str, int] = {}
        categories: dict[str, Category] = {}
        for route, count in routes.items():
            kind = classify(route)
            by_kind[kind.name] = by_kind.get(kind.name, 0) + count
            categories[kind.name] = kind.category
        return cls(dict(sorted(by_kind.items())), categories)

    def total(self, category: Category | None = None) -> int:
        return sum(n for kind, n in self.by_kind.items() if category is None or self.categories[kind] is category)

    @property
    def reads(self) -> int:
        return self.total(Category.READ)

    @property
    def writes(self) -> int:
        return self.total(Category.WRITE)

    def messages(self) -> dict[str, int]:
        """Messages by channel (`push`, `sms`, `email`)."""
        return {kind.removeprefix("create_"): n for kind, n in self.by_kind.items()
                if self.categories[kind] is Category.MESSAGE}

    def short(self) -> str:
        """`1r 1w 2p 1s`: reads, writes, then push / SMS / email messages, then anything else."""
        parts = []
        for category in (Category.READ, Category.WRITE):
            if self.total(category):
                parts.append(f"{self.total(category)}{_SHORT[category]}")
        for kind, letter in _CHANNEL_SHORT.items():
            if self.by_kind.get(kind):
                parts.append(f"{self.by_kind[kind]}{letter}")
        if self.total(Category.OTHER):
            parts.append(f"{self.total(Category.OTHER)}?")
        return " ".join(parts) or "0"
