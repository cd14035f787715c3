"""Appwrite calls as the emulator counts them (`"METHOD /route/{template}": count`), named by SDK method.

Reads and writes are calls on rows of the alerts table (`list_rows`, `get_row` / `create_row`, `upsert_rows`,
...); history writes are rows created in the `alert_events` table (over 100 at once, through a TablesDB
transaction: `create_transaction`, `create_operations`, `update_transaction`); messages are `create_push`, `create_sms`,
`create_email`. Anything else keeps its route as its name.

The benchmark reads the emulator's counts by concrete table (`calls_by_table`): calls on the alerts table
are reads and writes, rows created in `alert_events` are history writes (the claims), and every other table
call (history reads, the claims' completions, the SMS log) is a side call. `ROLES` still names the routes of
each implementation on the alerts table: the baseline creates rows one by one there (`create_row`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    READ = "read"
    WRITE = "write"
    HISTORY = "history"
    SIDE = "side"  # any call on another table: history and claims reads, completions, the SMS log
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
_SHORT = {Category.READ: "r", Category.WRITE: "w", Category.HISTORY: "h", Category.SIDE: "t"}
ALERTS_TABLE = "alerts"
HISTORY_TABLE = "alert_events"
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
        table_id = parts[parts.index("rows") - 1]
        if table_id not in (ALERTS_TABLE, "{tableId}"):
            name = (_ROW_ITEM if item else _ROW_COLLECTION).get(method, method)
            category = Category.HISTORY if (table_id, method, item) == (HISTORY_TABLE, "POST", False) else Category.SIDE
            return CallKind(f"{name} {table_id}", category)
        if roles and (method, item) in roles:
            return roles[(method, item)]
        table = _ROW_ITEM if item else _ROW_COLLECTION
        if method in table:
            return CallKind(table[method], Category.READ if method == "GET" else Category.WRITE)
    if "transactions" in parts:
        return _transaction_call(method, parts)
    if method == "POST" and len(parts) >= 2 and parts[-2] == "messages" and "messaging" in parts:
        return CallKind(f"create_{parts[-1]}", Category.MESSAGE)
    if method == "GET" and parts[-2:] == ["messaging", "messages"]:
        return CallKind("list_messages", Category.READ)  # which of the messages claims name went out
    return CallKind(route, Category.OTHER)


def _transaction_call(method: str, parts: list[str]) -> CallKind:
    """The claims' transaction (more than 100 history rows): staging and committing them are history writes,
    reading one back (a lost commit answer) a side call."""
    after = parts[parts.index("transactions") + 1:]
    if method == "POST":
        name = "create_operations" if after[-1:] == ["operations"] else "create_transaction"
    else:
        name = {"PATCH": "update_transaction", "GET": "get_transaction" if after else "list_transactions",
                "DELETE": "delete_transaction"}.get(method, method)
    return CallKind(name, Category.HISTORY if method in ("POST", "PATCH") else Category.SIDE)


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
        """`1r 1w 1h 1t 2p 1s`: alerts reads and writes, history writes, other tables' calls, then push / SMS /
        email messages, then the rest."""
        parts = []
        for category in (Category.READ, Category.WRITE, Category.HISTORY, Category.SIDE):
            if self.total(category):
                parts.append(f"{self.total(category)}{_SHORT[category]}")
        for kind, letter in _CHANNEL_SHORT.items():
            if self.by_kind.get(kind):
                parts.append(f"{self.by_kind[kind]}{letter}")
        if self.total(Category.OTHER):
            parts.append(f"{self.total(Category.OTHER)}?")
        return " ".join(parts) or "0"
