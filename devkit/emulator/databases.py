"""Database and table endpoints, including a table's inline columns and indexes.

Inline columns and indexes are validated like the server's Attributes/Indexes validators and are
`available` at once (the server builds them synchronously into the new table).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import catalog, datetimes, ids
from .auth import Caller
from .catalog import TableInfo
from .columns import ENUM_SIZE, MAX_ROW_BYTES, TEXT_SIZES, URL_SIZE, Column, is_url, row_width
from .errors import ApiError
from .indexes import INDEX_TYPES, MAX_USER_INDEXES, Index, problem
from .listing import list_items
from .params import (
    ARRAY_PARAMS_LIMIT,
    CUSTOM_ID,
    ArrayList,
    JSONObject,
    Nullable,
    Params,
    Permissions,
    Text,
    aggregate_permissions,
    check_path,
)
from .queries import Attribute
from .store import Store

STRING_MAX = 1_073_741_824
INLINE_TYPES = (
    "string", "varchar", "text", "mediumtext", "longtext", "integer", "bigint", "double", "boolean",
    "datetime", "point", "linestring", "polygon", "email", "enum", "ip", "url",
)  # fmt: skip
# Types this emulator cannot store; the server would accept them inline.
_UNSUPPORTED_INLINE = ("bigint", "double", "point", "linestring", "polygon", "email", "ip")
_FORMAT_SIZES = {"email": 254, "enum": ENUM_SIZE, "ip": 39, "url": URL_SIZE}


def database_response(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "$id": row["id"],
        "name": row["name"],
        "$createdAt": row["created"],
        "$updatedAt": row["updated"],
        "enabled": bool(row["enabled"]),
        "type": "tablesdb",
        "status": "ready",
    }


def table_response(table: TableInfo) -> dict[str, Any]:
    return {
        "$id": table.id,
        "$createdAt": table.created,
        "$updatedAt": table.updated,
        "$permissions": list(table.permissions),
        "databaseId": table.database_id,
        "name": table.name,
        "enabled": table.enabled,
        "rowSecurity": table.row_security,
        "columns": [column.response() for column in table.columns],
        "indexes": [index.response() for index in table.indexes],
        "bytesMax": MAX_ROW_BYTES,
        "bytesUsed": row_width(table.columns),
    }


class Databases:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- databases ------------------------------------------------------------------------------

    def create_database(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(["databases.write"])
        database_id = params.required("databaseId", CUSTOM_ID)
        name = params.required("name", Text(128))
        enabled = params.flag("enabled", True)
        database_id = ids.resolve_custom_id(database_id)
        now = datetimes.now()
        with self.store.transaction() as connection:
            if connection.execute("SELECT 1 FROM databases WHERE id = ?", (database_id,)).fetchone():
                raise ApiError("database_already_exists", None, database_id)
            seq = self.store.next_value(connection, "databases")
            connection.execute(
                "INSERT INTO databases (id, seq, name, enabled, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (database_id, seq, name, int(enabled), now, now),
            )
            return database_response(catalog.database_row(connection, database_id))

    def get_database(self, caller: Caller, database_id: str) -> dict[str, Any]:
        caller.require(["databases.read"])
        check_path(databaseId=database_id)
        with self.store.transaction() as connection:
            return database_response(catalog.database_row(connection, database_id))

    def delete_database(self, caller: Caller, database_id: str) -> dict[str, Any]:
        """Remove the database with its tables, columns, indexes and rows."""
        caller.require(["databases.write"])
        check_path(databaseId=database_id)
        with self.store.transaction() as connection:
            catalog.database_row(connection, database_id)
            pks = [row["pk"] for row in catalog.table_rows(connection, database_id)]
            for table in ("columns", "indexes", "rows", "unique_values"):
                connection.executemany(f"DELETE FROM {table} WHERE table_pk = ?", [(pk,) for pk in pks])
            connection.execute("DELETE FROM tables WHERE database_id = ?", (database_id,))
            connection.execute("DELETE FROM databases WHERE id = ?", (database_id,))
            for pk in pks:
                connection.schema_cache.pop(pk, None)
        return {}

    def list_databases(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(["databases.read"])
        with self.store.transaction() as connection:
            rows = list(connection.execute("SELECT * FROM databases ORDER BY seq"))
        items = [{**database_response(row), "$sequence": row["seq"]} for row in rows]
        page, total = list_items(params, items, [Attribute("name", "string")], "Database", search_fields=("name",))
        for item in page:
            item.pop("$sequence", None)
        return {"total": total, "databases": page}

    # -- tables ---------------------------------------------------------------------------------

    def create_table(self, caller: Caller, database_id: str, params: Params) -> dict[str, Any]:
        caller.require(["tables.write", "collections.write"])
        check_path(databaseId=database_id)
        table_id = params.required("tableId", CUSTOM_ID)
        name = params.required("name", Text(128))
        permissions = params.optional("permissions", Nullable(Permissions()))
        row_security = params.flag("rowSecurity", False, loose=True)
        enabled = params.flag("enabled", True)
        columns = params.optional("columns", ArrayList(JSONObject(), ARRAY_PARAMS_LIMIT), [])
        indexes = params.optional("indexes", ArrayList(JSONObject(), ARRAY_PARAMS_LIMIT), [])
        with self.store.transaction() as connection:
            catalog.database_row(connection, database_id)
            table_id = ids.resolve_custom_id(table_id)
            if connection.execute(
                "SELECT 1 FROM tables WHERE database_id = ? AND id = ?", (database_id, table_id)
            ).fetchone():
                raise ApiError("table_already_exists", None, table_id)
            now = datetimes.now()
            pk = connection.execute(
                "INSERT INTO tables (database_id, id, name, enabled, row_security, permissions, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING pk",
                (database_id, table_id, name, int(enabled), int(row_security),
                 json.dumps(aggregate_permissions(permissions) or []), now, now),
            ).fetchone()[0]
            table = catalog.load_table(connection, database_id, table_id)
            inline_columns = inline_column_specs(columns, now)
            inline_indexes = inline_index_specs(indexes, inline_columns, table, now)
            if row_width(inline_columns) > MAX_ROW_BYTES:
                raise ApiError("table_limit_exceeded", None, table_id)
            for column in inline_columns:
                catalog.insert_column(connection, pk, column, ready_at=0.0, outcome="settled")
            for index in inline_indexes:
                catalog.insert_index(connection, pk, index, ready_at=0.0, outcome="settled")
            return table_response(catalog.load_table(connection, database_id, table_id))

    def get_table(self, caller: Caller, database_id: str, table_id: str) -> dict[str, Any]:
        caller.require(["tables.read", "collections.read"])
        check_path(databaseId=database_id, tableId=table_id)
        with self.store.transaction() as connection:
            return table_response(catalog.load_table(connection, database_id, table_id))

    def delete_table(self, caller: Caller, database_id: str, table_id: str) -> dict[str, Any]:
        """204; the table is gone at once (the server's worker then drops its rows)."""
        caller.require(["tables.write", "collections.write"])
        check_path(databaseId=database_id, tableId=table_id)
        with self.store.transaction() as connection:
            pk = catalog.load_table(connection, database_id, table_id).pk
            for table in ("columns", "indexes", "rows", "unique_values"):
                connection.execute(f"DELETE FROM {table} WHERE table_pk = ?", (pk,))
            connection.execute("DELETE FROM tables WHERE pk = ?", (pk,))
            connection.schema_cache.pop(pk, None)
        return {}

    def list_tables(self, caller: Caller, database_id: str, params: Params) -> dict[str, Any]:
        caller.require(["tables.read", "collections.read"])
        check_path(databaseId=database_id)
        with self.store.transaction() as connection:
            catalog.database_row(connection, database_id)
            tables = [
                catalog.load_table(connection, database_id, row["id"])
                for row in catalog.table_rows(connection, database_id)
            ]
        items = [
            {**table_response(table), "$sequence": table.pk} for table in tables
        ]
        attributes = [Attribute("name", "string"), Attribute("enabled", "boolean"),
                      Attribute("rowSecurity", "boolean")]
        page, total = list_items(params, items, attributes, "Table", search_fields=("$id", "name"))
        for item in page:
            item.pop("$sequence", None)
        return {"total": total, "tables": page}


# -- inline schema --------------------------------------------------------------------------------


def _invalid(message: str) -> ApiError:
    return ApiError("general_argument_invalid", message)


def inline_column_specs(definitions: list[dict[str, Any]], now: str) -> list[Column]:
    """The server's Attributes validator and `buildAttributeDocument`, for inline columns."""
    if len(definitions) > ARRAY_PARAMS_LIMIT:
        raise _invalid(f"Maximum of {ARRAY_PARAMS_LIMIT} attributes allowed")
    columns: list[Column] = []
    for position, definition in enumerate(definitions):
        if not isinstance(definition, dict):
            raise _invalid(f"Attribute at index {position} must be an object")
        if definition.get("key") is None:
            raise _invalid(f"Attribute at index {position} is missing required field 'key'")
        if definition.get("type") is None:
            raise _invalid(f"Attribute at index {position} is missing required field 'type'")
        columns.append(_inline_column(position, definition, columns, now))
    return columns


def _inline_column(position: int, definition: dict[str, Any], previous: list[Column], now: str) -> Column:
    key, kind = definition["key"], definition["type"]
    if not ids.is_key(key):
        raise _invalid(f"Invalid key for attribute at index {position}: {ids.KEY_DESCRIPTION}")
    if any(column.key == key for column in previous):
        raise _invalid(f"Duplicate attribute key: {key}")
    if kind not in INLINE_TYPES:
        raise _invalid(f"Invalid type for attribute '{key}': {kind}")
    if kind in _UNSUPPORTED_INLINE:
        raise _invalid(f"Invalid type for attribute '{key}': {kind} (not supported by the local emulator)")
    stored_type, column_format = ("string", kind) if kind in _FORMAT_SIZES else (kind, "")
    raw_size = definition.get("size")
    if raw_size is not None and (not isinstance(raw_size, int) or isinstance(raw_size, bool)):
        raise _invalid(f"Invalid size for attribute '{key}': must be an integer")
    size = raw_size if isinstance(raw_size, int) else 0
    if stored_type in TEXT_SIZES:
        size = TEXT_SIZES[stored_type]
    elif size < 1:
        size = _FORMAT_SIZES.get(column_format, size)
    if stored_type in ("string", "varchar") and not 1 <= size <= STRING_MAX:
        raise _invalid(
            f"Invalid or missing size for string attribute '{key}'. Size must be between 1 and {STRING_MAX}"
        )
    for flag in ("required", "array", "signed"):
        if definition.get(flag) is not None and not isinstance(definition[flag], bool):
            raise _invalid(f"Invalid '{flag}' value for attribute '{key}': must be a boolean")
    required = bool(definition.get("required", False))
    array = bool(definition.get("array", False))
    default = definition.get("default")
    if required and default is not None:
        raise _invalid(f"Attribute '{key}' cannot have a default value when required is true")
    if array and default is not None:
        raise _invalid(f"Attribute '{key}' cannot have a default value when array is true")
    low, high = definition.get("min"), definition.get("max")
    if low is not None or high is not None:
        if stored_type != "integer":
            raise _invalid(f"Attribute '{key}': min/max can only be used with integer, bigint or float types")
        if low is not None and high is not None and low > high:
            raise _invalid(f"Attribute '{key}': minimum value must be less than or equal to maximum value")
    column = Column(
        key=key, type=stored_type, size=size, required=required, array=array, default=default,
        format=column_format, status="available", created=now, updated=now,
    )
    if low is not None or high is not None:
        column.format = "intRange"
        column.min = int(low) if low is not None else -(2**63)
        column.max = int(high) if high is not None else 2**63 - 1
    if column_format == "enum":
        column.elements = _inline_elements(key, definition.get("elements"))
    _check_inline_default(column)
    return column


def _inline_elements(key: str, elements: Any) -> list[str]:
    if not isinstance(elements, list) or not elements:
        raise _invalid(f"Attribute '{key}' with enum format must have 'elements' array")
    for position, element in enumerate(elements):
        if not isinstance(element, str) or element == "":
            raise _invalid(f"Enum element at index {position} for attribute '{key}' must be a non-empty string")
        if len(element) > ENUM_SIZE:
            raise _invalid(
                f"Enum element at index {position} for attribute '{key}' exceeds maximum length of {ENUM_SIZE} "
                "characters"
            )
    return list(elements)


def _check_inline_default(column: Column) -> None:
    default, key = column.default, column.key
    if default is None:
        return
    if column.is_stringy():
        if not isinstance(default, str):
            raise _invalid(f"Default value for string attribute '{key}' must be a string")
        if column.size and len(default) > column.size:
            raise _invalid(f"Default value for attribute '{key}' exceeds maximum size of {column.size} characters")
        if column.format == "url" and not is_url(default):
            raise _invalid(f"Default value for URL attribute '{key}' must be a valid URL")
        if column.format == "enum" and default not in column.elements:
            raise _invalid(f"Default value for enum attribute '{key}' must be one of the provided elements")
    elif column.type == "integer" and (not isinstance(default, int) or isinstance(default, bool)):
        raise _invalid(f"Default value for integer attribute '{key}' must be an integer")
    elif column.type == "boolean" and not isinstance(default, bool):
        raise _invalid(f"Default value for boolean attribute '{key}' must be a boolean")
    elif column.type == "datetime":
        if not isinstance(default, str):
            raise _invalid(f"Default value for datetime attribute '{key}' must be a string in ISO 8601 format")
        if datetimes.normalize(default) is None:
            raise _invalid(f"Default value for datetime attribute '{key}' must be in valid ISO 8601 format")


def inline_index_specs(
    definitions: list[dict[str, Any]], columns: list[Column], table: TableInfo, now: str
) -> list[Index]:
    """The server's Indexes validator, `buildIndexDocument` and Index validator, for inline indexes."""
    if len(definitions) > MAX_USER_INDEXES:
        raise _invalid(f"Maximum of {MAX_USER_INDEXES} indexes allowed")
    built: list[Index] = []
    for position, definition in enumerate(definitions):
        if not isinstance(definition, dict):
            raise _invalid(f"Index at position {position} must be an object")
        for required_field in ("key", "type"):
            if definition.get(required_field) is None:
                raise _invalid(f"Index at position {position} is missing required field '{required_field}'")
        attributes = definition.get("attributes")
        if not isinstance(attributes, list):
            raise _invalid(f"Index at position {position} is missing required field 'attributes' (must be an array)")
        key, kind = definition["key"], definition["type"]
        if not ids.is_key(key):
            raise _invalid(f"Invalid key for index at position {position}: {ids.KEY_DESCRIPTION}")
        if any(index.key == key for index in built):
            raise _invalid(f"Duplicate index key: {key}")
        if kind not in INDEX_TYPES:
            raise _invalid(f"Invalid type for index '{key}': {kind}")
        if not attributes:
            raise _invalid(f"Index '{key}' must have at least one attribute")
        for attribute_position, attribute in enumerate(attributes):
            if not isinstance(attribute, str):
                raise _invalid(
                    f"Invalid attribute at position {attribute_position} in index '{key}': must be a string"
                )
        orders = definition.get("orders") or []
        lengths = definition.get("lengths") or []
        if orders and len(orders) != len(attributes):
            raise _invalid(
                f"Index '{key}': orders array length ({len(orders)}) must match attributes array length "
                f"({len(attributes)})"
            )
        for order in orders:
            if not isinstance(order, str) or order.upper() not in ("ASC", "DESC"):
                raise _invalid(f"Invalid order '{order}' in index '{key}'. Must be 'ASC' or 'DESC'")
        if lengths and len(lengths) != len(attributes):
            raise _invalid(
                f"Index '{key}': lengths array length ({len(lengths)}) must match attributes array length "
                f"({len(attributes)})"
            )
        index = Index(
            key=key, type=kind, columns=list(attributes),
            lengths=[length or None for length in lengths] or [None] * len(attributes),
            orders=list(orders), status="available", created=now, updated=now,
            internal_id=f"{table.database_seq}_{table.pk}_{key}",
        )
        for name in attributes:
            column = next((c for c in columns if c.key == name), None)
            if column is not None and column.array:
                raise ApiError("index_invalid", "Creating indexes on array attributes is not currently supported.")
        reason = problem(index, columns, built)
        if reason is not None:
            raise ApiError("column_index_invalid", reason)
        built.append(index)
    return built
