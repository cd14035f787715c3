"""The `/v1` routes: which service method answers each path, and with which success status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devkit.appwrite_version import SERVER_VERSION

from .auth import Caller
from .params import Params
from .schema import COLUMN_KINDS
from .services import Services

Handler = Callable[[Services, Caller, dict[str, str], Params], dict[str, Any]]

_TABLES = "/tablesdb/{databaseId}/tables"
_TABLE = _TABLES + "/{tableId}"
_TRANSACTIONS = "/tablesdb/transactions"
_TRANSACTION = _TRANSACTIONS + "/{transactionId}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # after /v1, in aiohttp's template syntax (also the key of the call counts)
    status: int
    handler: Handler


def _routes() -> list[Route]:
    routes = [
        # Before `/tablesdb/{databaseId}`, which would otherwise take "transactions" as a database ID.
        Route("POST", _TRANSACTIONS, 201, lambda s, c, m, p: s.transactions.create(c, p)),
        Route("GET", _TRANSACTIONS, 200, lambda s, c, m, p: s.transactions.list(c, p)),
        Route("GET", _TRANSACTION, 200, lambda s, c, m, p: s.transactions.get(c, m["transactionId"])),
        Route("PATCH", _TRANSACTION, 200, lambda s, c, m, p: s.transactions.update(c, m["transactionId"], p)),
        Route("DELETE", _TRANSACTION, 204, lambda s, c, m, p: s.transactions.delete(c, m["transactionId"])),
        Route("POST", _TRANSACTION + "/operations", 201,
              lambda s, c, m, p: s.transactions.create_operations(c, m["transactionId"], p)),
        Route("POST", "/tablesdb", 201, lambda s, c, m, p: s.databases.create_database(c, p)),
        Route("GET", "/tablesdb", 200, lambda s, c, m, p: s.databases.list_databases(c, p)),
        Route("GET", "/tablesdb/{databaseId}", 200, lambda s, c, m, p: s.databases.get_database(c, m["databaseId"])),
        Route("DELETE", "/tablesdb/{databaseId}", 204,
              lambda s, c, m, p: s.databases.delete_database(c, m["databaseId"])),
        Route("POST", _TABLES, 201, lambda s, c, m, p: s.databases.create_table(c, m["databaseId"], p)),
        Route("GET", _TABLES, 200, lambda s, c, m, p: s.databases.list_tables(c, m["databaseId"], p)),
        Route("GET", _TABLE, 200, lambda s, c, m, p: s.databases.get_table(c, m["databaseId"], m["tableId"])),
        Route("DELETE", _TABLE, 204, lambda s, c, m, p: s.databases.delete_table(c, m["databaseId"], m["tableId"])),
        Route("DELETE", _TABLE + "/columns/{key}", 204,
              lambda s, c, m, p: s.schema.delete_column(c, m["databaseId"], m["tableId"], m["key"])),
        Route("DELETE", _TABLE + "/indexes/{key}", 204,
              lambda s, c, m, p: s.schema.delete_index(c, m["databaseId"], m["tableId"], m["key"])),
        Route("DELETE", _TABLE + "/rows/{rowId}", 204,
              lambda s, c, m, p: s.rows.delete(c, m["databaseId"], m["tableId"], m["rowId"], p)),
        Route("GET", _TABLE + "/columns", 200,
              lambda s, c, m, p: s.schema.list_columns(c, m["databaseId"], m["tableId"], p)),
        Route("GET", _TABLE + "/columns/{key}", 200,
              lambda s, c, m, p: s.schema.get_column(c, m["databaseId"], m["tableId"], m["key"])),
        Route("POST", _TABLE + "/indexes", 202,
              lambda s, c, m, p: s.schema.create_index(c, m["databaseId"], m["tableId"], p)),
        Route("GET", _TABLE + "/indexes", 200,
              lambda s, c, m, p: s.schema.list_indexes(c, m["databaseId"], m["tableId"], p)),
        Route("GET", _TABLE + "/indexes/{key}", 200,
              lambda s, c, m, p: s.schema.get_index(c, m["databaseId"], m["tableId"], m["key"])),
        Route("POST", _TABLE + "/rows", 201, lambda s, c, m, p: s.rows.create(c, m["databaseId"], m["tableId"], p)),
        Route("PUT", _TABLE + "/rows", 200,
              lambda s, c, m, p: s.rows.upsert_many(c, m["databaseId"], m["tableId"], p)),
        Route("GET", _TABLE + "/rows", 200, lambda s, c, m, p: s.rows.list_rows(c, m["databaseId"], m["tableId"], p)),
        Route("GET", _TABLE + "/rows/{rowId}", 200,
              lambda s, c, m, p: s.rows.get(c, m["databaseId"], m["tableId"], m["rowId"], p)),
        Route("PATCH", _TABLE + "/rows/{rowId}", 200,
              lambda s, c, m, p: s.rows.update(c, m["databaseId"], m["tableId"], m["rowId"], p)),
        Route("PUT", _TABLE + "/rows/{rowId}", 200,
              lambda s, c, m, p: s.rows.upsert(c, m["databaseId"], m["tableId"], m["rowId"], p)),
        Route("GET", "/health/version", 200, lambda s, c, m, p: {"version": SERVER_VERSION}),
        Route("POST", "/messaging/topics", 201, lambda s, c, m, p: s.messaging.create_topic(c, p)),
        Route("GET", "/messaging/topics", 200, lambda s, c, m, p: s.messaging.list_topics(c, p)),
        Route("GET", "/messaging/topics/{topicId}", 200,
              lambda s, c, m, p: s.messaging.get_topic(c, m["topicId"])),
        Route("DELETE", "/messaging/topics/{topicId}", 204,
              lambda s, c, m, p: s.messaging.delete_topic(c, m["topicId"])),
        Route("GET", "/messaging/messages", 200, lambda s, c, m, p: s.messaging.list_messages(c, p)),
        Route("GET", "/messaging/messages/{messageId}", 200,
              lambda s, c, m, p: s.messaging.get_message(c, m["messageId"])),
    ]
    for provider in ("push", "sms", "email"):
        routes.append(Route("POST", f"/messaging/messages/{provider}", 201, _message_creator(provider)))
    for kind in COLUMN_KINDS:
        routes.append(Route("POST", f"{_TABLE}/columns/{kind}", 202, _column_creator(kind)))
    return routes


def _message_creator(provider: str) -> Handler:
    return lambda s, c, m, p: s.messaging.create_message(c, provider, p)


def _column_creator(kind: str) -> Handler:
    return lambda s, c, m, p: s.schema.create_column(c, m["databaseId"], m["tableId"], kind, p)


ROUTES = _routes()
