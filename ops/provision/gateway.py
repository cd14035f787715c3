"""The SDK gateway: every Appwrite call the bootstrap makes (official SDK), returning plain records and raising
this package's errors; and `observe()`, which reads what Appwrite has of the declared resources."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from typing import Any

from appwrite.client import Client
from appwrite.enums.order_by import OrderBy
from appwrite.enums.tables_db_index_type import TablesDBIndexType
from appwrite.exception import AppwriteException
from appwrite.query import Query
from appwrite.services.messaging import Messaging
from appwrite.services.tables_db import TablesDB

from src.core.schema import (
    BooleanColumn,
    Column,
    Database,
    DatetimeColumn,
    EnumColumn,
    Index,
    IntegerColumn,
    Schema,
    Table,
    TextColumn,
    Topic,
    VarcharColumn,
)
from src.errors import PermanentAppwriteError

from .errors import NotFound, Rejected, classify
from .observed import ActualColumn, ActualIndex, ActualTable, ActualTopic, Observed, column_record, index_record
from .settings import Settings

_PAGE = 100


class Gateway:
    """The SDK calls the bootstrap makes, returning plain records and raising this package's errors."""

    def __init__(self, settings: Settings) -> None:
        client = Client()
        client.set_endpoint(settings.endpoint)
        client.set_project(settings.project_id)
        client.set_key(settings.api_key)
        self._settings = settings
        self._tables = TablesDB(client)
        self._messaging = Messaging(client)
        self.warnings: list[str] = []

    # -- reads

    def database_exists(self, database_id: str) -> bool:
        try:
            self._read(f"reading database {database_id}", self._tables.get, database_id)
        except NotFound:
            return False
        return True

    def table(self, database_id: str, table_id: str) -> ActualTable | None:
        try:
            found = self._read(f"reading table {table_id}", self._tables.get_table, database_id, table_id)
        except NotFound:
            return None
        data = found.to_dict()
        return ActualTable(
            row_security=bool(data.get("rowSecurity", False)),
            permissions=tuple(str(p) for p in data.get("$permissions") or ()),
            columns={c.key: c for c in self.columns(database_id, table_id)},
            indexes={i.key: i for i in self.indexes(database_id, table_id)},
        )

    def columns(self, database_id: str, table_id: str) -> list[ActualColumn]:
        listing = self._tables.list_columns
        found = self._list(f"listing the columns of {table_id}", listing, "columns", database_id, table_id)
        return [column_record(column) for column in found]

    def indexes(self, database_id: str, table_id: str) -> list[ActualIndex]:
        listing = self._tables.list_indexes
        found = self._list(f"listing the indexes of {table_id}", listing, "indexes", database_id, table_id)
        return [index_record(index) for index in found]

    def topic(self, topic_id: str) -> ActualTopic | None:
        try:
            found = self._read(f"reading topic {topic_id}", self._messaging.get_topic, topic_id)
        except NotFound:
            return None
        data = found.to_dict()
        return ActualTopic(
            subscribe=tuple(str(role) for role in data.get("subscribe") or ()),
            subscribers={channel: int(data.get(f"{channel}Total") or 0) for channel in ("email", "sms", "push")},
        )

    def _list(self, doing: str, method: Callable[..., Any], field: str, *args: str) -> list[dict[str, Any]]:
        """Every item of a paged listing, as the SDK models' dicts."""
        items: list[dict[str, Any]] = []
        while True:
            page = self._read(doing, method, *args, queries=[Query.limit(_PAGE), Query.offset(len(items))])
            found = [item.to_dict() for item in getattr(page, field)]
            items.extend(found)
            if len(found) < _PAGE:
                return items

    def _read(self, doing: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A read: not found is NotFound, any other refusal stops the run."""
        try:
            return self._call(doing, method, *args, **kwargs)
        except NotFound:
            raise
        except Rejected as exc:
            raise PermanentAppwriteError(f"Appwrite refused {doing}: {exc}") from None

    # -- writes

    def create_database(self, database: Database) -> None:
        self._call(f"creating database {database.id}", self._tables.create, database.id, database.name)

    def create_table(self, database_id: str, table: Table) -> None:
        self._call(
            f"creating table {table.id}",
            self._tables.create_table,
            database_id,
            table.id,
            table.name,
            permissions=list(table.permissions),
            row_security=table.row_security,
        )

    def create_column(self, database_id: str, table_id: str, column: Column) -> None:
        doing = f"creating column {table_id}.{column.key}"
        common: dict[str, Any] = {"required": column.required, "array": column.array}
        t = self._tables
        match column:
            case VarcharColumn():
                self._call(
                    doing, t.create_varchar_column, database_id, table_id, column.key, size=column.size, **common
                )
            case TextColumn():
                self._call(doing, t.create_text_column, database_id, table_id, column.key, **common)
            case DatetimeColumn():
                self._call(doing, t.create_datetime_column, database_id, table_id, column.key, **common)
            case EnumColumn():
                elements = list(column.elements)
                self._call(doing, t.create_enum_column, database_id, table_id, column.key, elements=elements, **common)
            case IntegerColumn():
                bounds = {"min": column.min, "max": column.max}
                self._call(doing, t.create_integer_column, database_id, table_id, column.key, **bounds, **common)
            case BooleanColumn():
                self._call(doing, t.create_boolean_column, database_id, table_id, column.key, **common)

    def create_index(self, database_id: str, table_id: str, index: Index) -> None:
        orders = [OrderBy(order.lower()) for order in index.orders] or None
        self._call(
            f"creating index {table_id}.{index.key}",
            self._tables.create_index,
            database_id,
            table_id,
            index.key,
            TablesDBIndexType(index.type),
            list(index.columns),
            orders=orders,
        )

    def create_topic(self, topic: Topic) -> None:
        self._call(
            f"creating topic {topic.id}", self._messaging.create_topic, topic.id, topic.name, list(topic.subscribe)
        )

    def _call(self, doing: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # The SDK prints Appwrite's X-Appwrite-Warning header to stderr on every response (a version
        # note, the same each time); keep each distinct warning once instead of flooding the output.
        captured = io.StringIO()
        try:
            with contextlib.redirect_stderr(captured):
                return method(*args, **kwargs)
        except AppwriteException as exc:
            raise classify(exc, doing, self._settings) from None
        finally:
            self._keep_warnings(captured.getvalue())

    def _keep_warnings(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith("Warning: "):
                warning = line.removeprefix("Warning: ").strip()
                if warning not in self.warnings:
                    self.warnings.append(warning)
            elif line.strip():
                print(line, file=sys.stderr)


def observe(gateway: Gateway, schema: Schema) -> Observed:
    """Read what Appwrite has of the declared resources (reads only)."""
    database = schema.database.id
    exists = gateway.database_exists(database)
    tables: dict[str, ActualTable] = {}
    if exists:
        for table in schema.tables:
            actual = gateway.table(database, table.id)
            if actual is not None:
                tables[table.id] = actual
    topics: dict[str, ActualTopic] = {}
    for topic in schema.topics:
        found = gateway.topic(topic.id)
        if found is not None:
            topics[topic.id] = found
    return Observed(database=exists, tables=tables, topics=topics)
