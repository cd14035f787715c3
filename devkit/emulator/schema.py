"""Column and index endpoints: create (202, `processing`), get and list.

Each creation schedules its simulated database worker: `available` after the configured processing
time, unless a control hook made it `stuck` (never finishes) or `failed` (with an error).
"""

from __future__ import annotations

import time
from typing import Any

from . import catalog, datetimes
from .auth import Caller
from .columns import (
    ENUM_SIZE,
    MAX_ROW_BYTES,
    MAX_USER_COLUMNS,
    TEXT_SIZES,
    URL_SIZE,
    VARCHAR_MAX,
    Column,
    is_url,
    row_width,
)
from .errors import ApiError
from .hooks import Hooks
from .indexes import INDEX_TYPES, MAX_USER_INDEXES, Index, lookup, problem
from .listing import list_items
from .params import (
    ARRAY_PARAMS_LIMIT,
    INDEX_COLUMN_KEY,
    KEY,
    PHP_INT_MAX,
    PHP_INT_MIN,
    ArrayList,
    Boolean,
    Datetime,
    Integer,
    Nullable,
    Params,
    Predicate,
    Range,
    Text,
    WhiteList,
    check_path,
)
from .queries import Attribute
from .store import Store

COLUMN_KINDS = ("varchar", "text", "mediumtext", "longtext", "integer", "boolean", "datetime", "enum", "url")
_COLUMN_WRITE = ("tables.write", "collections.write", "columns.write", "attributes.write")
_COLUMN_READ = ("tables.read", "collections.read", "columns.read", "attributes.read")
_INDEX_WRITE = ("tables.write", "collections.write", "indexes.write")
_INDEX_READ = ("tables.read", "collections.read", "indexes.read")
_URL = Predicate(is_url, "Value must be a valid URL")



class Schema:
    def __init__(self, store: Store, hooks: Hooks) -> None:
        self.store = store
        self.hooks = hooks

    # -- columns --------------------------------------------------------------------------------

    def create_column(
        self, caller: Caller, database_id: str, table_id: str, kind: str, params: Params
    ) -> dict[str, Any]:
        caller.require(_COLUMN_WRITE)
        check_path(databaseId=database_id, tableId=table_id)
        column = self._column_from_params(kind, params)
        now = datetimes.now()
        column.created = column.updated = now
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
            if column.required and column.default is not None:
                raise ApiError("column_default_unsupported", "Cannot set default value for required column")
            if column.array and column.default is not None:
                raise ApiError("column_default_unsupported", "Cannot set default value for array columns")
            if any(existing.key.lower() == column.key.lower() for existing in table.columns):
                raise ApiError("column_already_exists", None, column.key)
            if len(table.columns) + 1 > MAX_USER_COLUMNS or row_width([*table.columns, column]) >= MAX_ROW_BYTES:
                raise ApiError("column_limit_exceeded", None, table_id)
            ready_at, outcome, error = self._schedule("column", column.key)
            catalog.insert_column(connection, table.pk, column, ready_at=ready_at, outcome=outcome, error=error)
            return column.response()

    def _schedule(self, kind: str, key: str) -> tuple[float, str, str]:
        failure = self.hooks.take_schema_failure("column" if kind == "column" else "index", key)
        ready_at = time.time() + self.hooks.processing_seconds
        if failure is None:
            return ready_at, "available", ""
        return ready_at, failure.outcome, failure.error

    @staticmethod
    def _column_from_params(kind: str, params: Params) -> Column:
        key = params.required("key", KEY)
        size = params.required("size", Range(1, VARCHAR_MAX)) if kind == "varchar" else 0
        elements = params.required("elements", ArrayList(Text(ENUM_SIZE), ARRAY_PARAMS_LIMIT)) if kind == "enum" else []
        required = params.required("required", Boolean())
        low = high = None
        if kind == "integer":
            low = params.optional("min", Nullable(Integer()))
            high = params.optional("max", Nullable(Integer()))
        default = params.optional("default", _default_validator(kind))
        array = params.flag("array", False)
        encrypt = params.flag("encrypt", False) if kind in ("varchar", *TEXT_SIZES) else False
        column = Column(key=key, type=kind, required=required, array=array, default=default, encrypt=encrypt)
        if kind == "varchar":
            column.size = int(size)
            if encrypt and column.size < 150:
                raise ApiError(
                    "general_bad_request",
                    "Size too small. Encrypted strings require a minimum size of 150 characters.",
                )
            if default is not None and len(default) > column.size:
                raise ApiError("column_value_invalid", Text(column.size, 0).description)
        elif kind in TEXT_SIZES:
            column.size = TEXT_SIZES[kind]
        elif kind == "integer":
            column.min = PHP_INT_MIN if low is None else low
            column.max = PHP_INT_MAX if high is None else high
            if column.min > column.max:
                raise ApiError("column_value_invalid", "Minimum value must be lesser than maximum value")
            range_check = Range(column.min, column.max)
            if default is not None and not range_check.valid(default):
                raise ApiError("column_value_invalid", range_check.description)
            column.size = 8 if column.max > 2_147_483_647 else 4
            column.format = "intRange"
        elif kind == "enum":
            column.type, column.format, column.size, column.elements = "string", "enum", ENUM_SIZE, list(elements)
            if default is not None and default not in column.elements:
                raise ApiError("column_value_invalid", "Default value not found in elements")
        elif kind == "url":
            column.type, column.format, column.size = "string", "url", URL_SIZE
        return column

    def get_column(self, caller: Caller, database_id: str, table_id: str, key: str) -> dict[str, Any]:
        caller.require(_COLUMN_READ)
        check_path(databaseId=database_id, tableId=table_id)
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
        column = next((column for column in table.columns if column.key == key), None)
        if column is None:
            raise ApiError("column_not_found", None, key)
        return column.response()

    def delete_column(self, caller: Caller, database_id: str, table_id: str, key: str) -> dict[str, Any]:
        """204; an available column turns `deleting` and is gone once its worker has run."""
        caller.require(_COLUMN_WRITE)
        check_path(databaseId=database_id, tableId=table_id, key=key)
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
            if not any(column.key == key for column in table.columns):
                raise ApiError("column_not_found", None, key)
            if any(key in index.columns for index in table.indexes):
                raise ApiError("column_index_dependency", None, key)
            catalog.mark_deleting(connection, table.pk, "columns", key, time.time() + self.hooks.processing_seconds)
        return {}

    def list_columns(self, caller: Caller, database_id: str, table_id: str, params: Params) -> dict[str, Any]:
        caller.require(_COLUMN_READ)
        check_path(databaseId=database_id, tableId=table_id)
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
        items = [{**column.response(), "$id": column.key, "$sequence": position}
                 for position, column in enumerate(table.columns)]
        attributes = [Attribute("key", "string"), Attribute("type", "string"), Attribute("size", "integer"),
                      Attribute("required", "boolean"), Attribute("array", "boolean"),
                      Attribute("status", "string"), Attribute("error", "string")]
        page, total = list_items(params, items, attributes, "Column")
        for item in page:
            item.pop("$id", None)
            item.pop("$sequence", None)
        return {"total": total, "columns": page}

    # -- indexes --------------------------------------------------------------------------------

    def create_index(self, caller: Caller, database_id: str, table_id: str, params: Params) -> dict[str, Any]:
        caller.require(_INDEX_WRITE)
        check_path(databaseId=database_id, tableId=table_id)
        key = params.required("key", KEY)
        kind = params.required("type", WhiteList(INDEX_TYPES))
        names = params.required("columns", ArrayList(INDEX_COLUMN_KEY, ARRAY_PARAMS_LIMIT))
        orders = params.optional("orders", ArrayList(WhiteList(["ASC", "DESC"], strict=False), ARRAY_PARAMS_LIMIT), [])
        lengths = params.optional("lengths", ArrayList(Nullable(Integer()), ARRAY_PARAMS_LIMIT), [])
        now = datetimes.now()
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
            if len(table.indexes) >= MAX_USER_INDEXES:
                raise ApiError("column_index_limit_exceeded", None, table_id)
            resolved_lengths: list[int | None] = list(lengths)
            for position, name in enumerate(names):
                column = lookup(table.columns, name)
                if column is None:
                    raise ApiError("column_unknown", None, name)
                if column.status != "available":
                    raise ApiError("column_not_available", None, column.key)
                while len(resolved_lengths) <= position:
                    resolved_lengths.append(None)
                resolved_lengths[position] = resolved_lengths[position] or None
                if column.array:
                    raise ApiError("index_invalid", "Creating indexes on array attributes is not currently supported.")
            index = Index(
                key=key, type=kind, columns=list(names), lengths=resolved_lengths, orders=list(orders),
                created=now, updated=now, internal_id=f"{table.database_seq}_{table.pk}_{key}",
            )
            available = [column for column in table.columns if column.status == "available"]
            reason = problem(index, available, table.indexes)
            if reason is not None:
                raise ApiError("column_index_invalid", reason)
            if any(existing.key == key for existing in table.indexes):
                raise ApiError("column_index_already_exists", None, key)
            ready_at, outcome, error = self._schedule("index", key)
            catalog.insert_index(connection, table.pk, index, ready_at=ready_at, outcome=outcome, error=error)
            return index.response()

    def get_index(self, caller: Caller, database_id: str, table_id: str, key: str) -> dict[str, Any]:
        caller.require(_INDEX_READ)
        check_path(databaseId=database_id, tableId=table_id)
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
        index = next((index for index in table.indexes if index.key == key), None)
        if index is None:
            raise ApiError("column_index_not_found", None, key)
        return index.response()

    def delete_index(self, caller: Caller, database_id: str, table_id: str, key: str) -> dict[str, Any]:
        """204; an available index turns `deleting` and is gone once its worker has run."""
        caller.require(_INDEX_WRITE)
        check_path(databaseId=database_id, tableId=table_id, key=key)
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
            if not any(index.key == key for index in table.indexes):
                raise ApiError("column_index_not_found", None, key)
            catalog.mark_deleting(connection, table.pk, "indexes", key, time.time() + self.hooks.processing_seconds)
        return {}

    def list_indexes(self, caller: Caller, database_id: str, table_id: str, params: Params) -> dict[str, Any]:
        caller.require(_INDEX_READ)
        check_path(databaseId=database_id, tableId=table_id)
        with self.store.transaction() as connection:
            table = catalog.load_table(connection, database_id, table_id)
        items = [{**index.response(), "$sequence": position, "attributes": index.columns}
                 for position, index in enumerate(table.indexes)]
        attributes = [Attribute("key", "string"), Attribute("type", "string"), Attribute("status", "string"),
                      Attribute("attributes", "string", array=True), Attribute("error", "string")]
        page, total = list_items(params, items, attributes, "Index")
        for item in page:
            item.pop("$sequence", None)
            item.pop("attributes", None)
        return {"total": total, "indexes": page}


def _default_validator(kind: str) -> Nullable:
    if kind == "integer":
        return Nullable(Integer())
    if kind == "boolean":
        return Nullable(Boolean())
    if kind == "datetime":
        return Nullable(Datetime())
    if kind == "url":
        return Nullable(_URL)
    if kind == "enum":
        return Nullable(Text(0))
    return Nullable(Text(0, 0))

