"""Appwrite calls as the emulator counts them (`"METHOD /route/{template}": count`), named by SDK method.

Reads and writes are calls on rows of the alerts table (`list_rows`, `get_row` / `create_row`, `upsert_rows`,
...); history writes are rows created in the `alert_events` table; messages are `create_push`, `create_sms`,
`create_email`. Anything else keeps its route as its name.

The emulator counts by route template, so a route does not say which table it touched. Each implementation
uses distinct routes per table, which `ROLES` records: the function looks alerts up with `list_rows`, writes
them with `upsert_rows` and creates history rows with `create_rows`; the baseline uses `get_row`,
`create_row` and `update_row` on the alerts table only. `tests/performance` checks the function's split
table by table through a relay that sees the concrete paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    READ = "read"
    WRITE = "write"
    HISTORY = "history"
    MESSAGE = "message"
    OTHER = "other"


@dataclass(frozen=True)
class CallKind:
    name: str
    category: Category


# (method, whether the path names one row) -> what a call on table rows is, when nothing more is known.
_ROW_COLLECTION = {"GET": "list_rows", "POST": "create_rows", "PUT": "upsert_rows", "PATCH": "update_rows",
                   "DELETE": "delete_rows"}
_ROW_ITEM = {"GET": "get_row", "PUT": "upsert_row", "PATCH": "update_row", "DELETE": "delete_row"}
_SHORT = {Category.READ: "r", Category.WRITE: "w", Category.HISTORY: "h"}
_CHANNEL_SHORT = {"create_push": "p", "create_sms": "s", "create_email": "e"}

RowRoles = Mapping[tuple[str, bool], CallKind]
# What each implementation's row routes are (see the module docstring).
OURS_ROLES: RowRoles = {("POST", False): CallKind("create_rows", Category.HISTORY)}
BASELINE_ROLES: RowRoles = {("POST", False): CallKind("create_row", Category.WRITE)}


def classify(route: str, roles: RowRoles | None = None) -> CallKind:
    """`"PUT /v1/tablesdb/{databaseId}/tables/{tableId}/rows"` -> `upsert_rows`, a write."""
    method, _, path = route.strip().partition(" ")
    method = method.upper()
    parts = [part for part in path.split("?")[0].split("/") if part]
    if "rows" in parts:
        item = parts.index("rows") < len(parts) - 1
        if roles and (method, item) in roles:
            return roles[(method, item)]
        table = _ROW_ITEM if item else _ROW_COLLECTION
        if method in table:
            return CallKind(table[method], Category.READ if method == "GET" else Category.WRITE)
    if method == "POST" and len(parts) >= 2 and parts[-2] == "messages" and "messaging" in parts:
        return CallKind(f"create_{parts[-1]}", Category.MESSAGE)
    return CallKind(route, Category.OTHER)


@dataclass(frozen=True)
class CallCounts:
    """One delivery's Appwrite calls, by SDK method name."""

    by_kind: dict[str, int]
    categories: dict[str, Category]

    @classmethod
    def from_routes(cls, routes: Mapping[str, int], roles: RowRoles | None = None) -> CallCounts:
        by_kind: dict[str, int] = {}
        categories: dict[str, Category] = {}
        for route, count in routes.items():
            kind = classify(route, roles)
            by_kind[kind.name] = by_kind.get(kind.name, 0) + count
            categories[kind.name] = kind.category
        return cls(dict(sorted(by_kind.items())), categories)

    def total(self, category: Category | None = None) -> int:
        return sum(n for kind, n in self.by_kind.items() if category is None or self.categories[kind] is category)

    @property
    def reads(self) -> int:
        """Reads of the alerts table."""
        return self.total(Category.READ)

    @property
    def writes(self) -> int:
        """Writes of the alerts table."""
        return self.total(Category.WRITE)

    @property
    def history_writes(self) -> int:
        return self.total(Category.HISTORY)

    def messages(self) -> dict[str, int]:
        """Messages by channel (`push`, `sms`, `email`)."""
        return {kind.removeprefix("create_"): n for kind, n in self.by_kind.items()
                if self.categories[kind] is Category.MESSAGE}

    def short(self) -> str:
        """`1r 1w 1h 2p 1s`: reads, writes, history writes, then push / SMS / email messages, then the rest."""
        parts = []
        for category in (Category.READ, Category.WRITE, Category.HISTORY):
            if self.total(category):
                parts.append(f"{self.total(category)}{_SHORT[category]}")
        for kind, letter in _CHANNEL_SHORT.items():
            if self.by_kind.get(kind):
                parts.append(f"{self.by_kind[kind]}{letter}")
        if self.total(Category.OTHER):
            parts.append(f"{self.total(Category.OTHER)}?")
        return " ".join(parts) or "0"
