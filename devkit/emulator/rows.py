"""Row endpoints: create (single and bulk), get, update, upsert (single and bulk) and list.

The write paths follow utopia-php/database: structure validation of every row before anything is
written, one transaction per call (so bulk create is all-or-nothing), `row_already_exists` for a
taken `$id`, `row_unique_constraint_violation` for a unique index, and the upsert's change detection
(unchanged rows are neither written nor reported).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import catalog, datetimes, ids, permissions, uniques
from .auth import Caller
from .catalog import TableInfo, load_table
from .errors import ApiError
from .indexes import Index
from .params import (
    CUSTOM_ID,
    LIST_QUERIES,
    UID,
    ArrayList,
    JSONObject,
    Nullable,
    Params,
    Permissions,
    Range,
    aggregate_permissions,
    check_path,
)
from .phpcompare import loose_equal, strict_equal
from .queries import Attribute, Query, QueryError, Validator, parse_all
from .rowsql import Sql, Translator, cursor_condition, effective_orders, expression, order_by
from .store import Connection, Store

if TYPE_CHECKING:
    from .transactions import Transactions

COUNT_LIMIT = 5000
DEFAULT_LIMIT = 25
BATCH_LIMIT = 100
ROW_PERMISSIONS = Permissions(("read", "update", "delete", "write"))
_ALWAYS_READONLY = ("$sequence", "$databaseId", "$tableId", "$collection", "$collectionId", "$tenant")
_PRIVILEGED_ONLY = ("$createdAt", "$updatedAt")
_INTERNAL = ("$id", "$sequence", "$collection", "$tenant", "$permissions", "$createdAt", "$updatedAt")
_SCOPE_READ = ("rows.read", "documents.read")
_SCOPE_WRITE = ("rows.write", "documents.write")
# One encoder each, built once: `json.dumps` with options builds a new encoder on every call.
_encode_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_list = json.JSONEncoder().encode  # json.dumps' defaults, as the permissions column is written
_EMPTY_LIST_TEXT = "[]"
# The store's index for an equality filter on a system attribute (`$sequence` is the primary key).
_SYSTEM_LOOKUPS = {"$id": "rows_id", "$createdAt": "rows_created", "$updatedAt": "rows_updated"}
# Types whose equal values always encode to the same JSON (not float: 0.0 == -0.0; not bool/int: 1 == True).
_PLAIN = (str, int, bool, type(None))


@dataclass
class StoredRow:
    seq: int
    id: str
    created: str
    updated: str
    permissions: list[str]
    data: dict[str, Any]


def _object(value: Any) -> dict[str, Any]:
    """A JSON object parameter (the server also accepts one encoded as a string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}



def _strip_readonly(document: dict[str, Any], caller: Caller) -> dict[str, Any]:
    removable = _ALWAYS_READONLY if caller.is_key else _ALWAYS_READONLY + _PRIVILEGED_ONLY
    return {key: value for key, value in document.items() if key not in removable}


def _unique_entries(indexes: list[Index], row: StoredRow) -> list[str | None]:
    view = uniques.row_view(row.id, row.created, row.updated, row.data)
    return [uniques.entry(index, view) for index in indexes]


def _indexed_value(row: StoredRow, name: str) -> Any:
    if name == "$id":
        return row.id
    if name == "$createdAt":
        return row.created
    if name == "$updatedAt":
        return row.updated
    return row.data.get(name)


def _same_unique_entries(indexes: list[Index], row: StoredRow, previous: StoredRow) -> bool:
    """Whether both rows take the same unique entries; values of one plain type that are equal need no encoding."""
    for index in indexes:
        for name in index.columns:
            new, old = _indexed_value(row, name), _indexed_value(previous, name)
            if type(new) is not type(old) or type(new) not in _PLAIN or new != old:
                return _unique_entries(indexes, row) == _unique_entries(indexes, previous)
    return True


def _encode_permissions(permissions: list[str]) -> str:
    return _encode_list(permissions) if permissions else _EMPTY_LIST_TEXT


def _permissions(text: str) -> list[str]:
    if text == _EMPTY_LIST_TEXT:
        return []
    permissions: list[str] = json.loads(text)
    return permissions


def _user_items(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in _INTERNAL}


class Rows:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.transactions: Transactions | None = None  # set once both exist; they call each other

    # -- used by transactions -------------------------------------------------------------------

    def table_for(self, connection: Connection, caller: Caller, database_id: str, table_id: str) -> TableInfo:
        return self._table(connection, caller, database_id, table_id)

    def exists(self, connection: Connection, table: TableInfo, row_id: str) -> bool:
        return bool(self._fetch(connection, table, [row_id]))

    def updated_times(self, connection: Connection, table: TableInfo, row_ids: list[str]) -> dict[str, str]:
        return {row.id: row.updated for row in self._fetch(connection, table, row_ids).values()}

    def _staging(self) -> Transactions:
        assert self.transactions is not None
        return self.transactions

    @staticmethod
    def _mock(table: TableInfo, row_id: str, document: dict[str, Any]) -> dict[str, Any]:
        """What a staged single-row write answers: the sent row, not yet written."""
        return {
            "$id": row_id, "$sequence": "", "$createdAt": "", "$updatedAt": "", "$permissions": [],
            **document, "$databaseId": table.database_id, "$tableId": table.id,
        }

    # -- shared helpers -------------------------------------------------------------------------

    @staticmethod
    def _table(connection: Connection, caller: Caller, database_id: str, table_id: str) -> TableInfo:
        table = load_table(connection, database_id, table_id)
        if not caller.is_key and not table.database_enabled:
            raise ApiError("database_not_found", None, database_id)
        if not caller.is_key and not table.enabled:
            raise ApiError("table_not_found", None, table_id)
        return table

    @staticmethod
    def _fetch(connection: Connection, table: TableInfo, row_ids: list[str]) -> dict[str, StoredRow]:
        found: dict[str, StoredRow] = {}
        unique_ids = list(dict.fromkeys(row_ids))
        for start in range(0, len(unique_ids), 500):
            chunk = unique_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in connection.execute(
                f"SELECT seq, id, created, updated, permissions, data FROM rows "
                f"WHERE table_pk = ? AND id IN ({marks})",
                (table.pk, *chunk),
            ):
                found[row[1]] = StoredRow(
                    int(row[0]), row[1], row[2], row[3], _permissions(row[4]), json.loads(row[5])
                )
        return found

    @staticmethod
    def _decoded(table: TableInfo, row: StoredRow) -> dict[str, Any]:
        """The row's user attributes as the server decodes them: every available column present."""
        data = row.data
        return {key: data.get(key, [] if array else None) for key, array in table.shown}

    @staticmethod
    def render(table: TableInfo, row: StoredRow, selections: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "$id": row.id,
            "$sequence": str(row.seq),
            "$createdAt": row.created,
            "$updatedAt": row.updated,
            "$permissions": list(row.permissions),
        }
        everything = not selections or "*" in selections
        data = row.data
        for key, array in table.shown:
            if everything or (selections is not None and key in selections):
                body[key] = data.get(key, [] if array else None)
        body["$databaseId"] = table.database_id
        body["$tableId"] = table.id
        return body

    @staticmethod
    def _structure_problem(table: TableInfo, document: dict[str, Any]) -> str | None:
        """Structure validation of a full row document ($-keys plus user columns)."""
        columns = table.available_columns()
        for key in table.required_keys:
            if document.get(key) is None:
                return f'Missing required attribute "{key}"'
        # One pass; the messages keep their precedence: unknown attribute, then timestamps, then values.
        problem = None
        for key, value in document.items():
            target = columns.get(key)
            if target is None:
                if key not in _INTERNAL:
                    return f'Unknown attribute: "{key}"'
            elif problem is None:
                problem = target.check(value)
        for key in ("$createdAt", "$updatedAt"):
            if key in document and datetimes.parse(document[key]) is None:
                return f'Attribute "{key}" has invalid type. {datetimes.DESCRIPTION}'
        return problem

    def _validate(self, table: TableInfo, document: dict[str, Any]) -> None:
        problem = self._structure_problem(table, document)
        if problem is not None:
            raise ApiError("row_invalid_structure", f"Invalid document structure: {problem}")

    @staticmethod
    def _stored_data(table: TableInfo, document: dict[str, Any]) -> dict[str, Any]:
        columns = table.available_columns()
        converted = table.datetime_keys
        return {
            key: columns[key].store(value) if key in converted else value
            for key, value in document.items()
            if key in columns and value is not None
        }

    @staticmethod
    def _apply_defaults(table: TableInfo, document: dict[str, Any]) -> None:
        for key, default in table.defaults:
            if document.get(key) is None:
                document[key] = default

    @staticmethod
    def _timestamp(document: dict[str, Any], key: str, fallback: str) -> str:
        given = document.get(key)
        if given is None:
            return fallback
        return datetimes.normalize(given) or fallback

    def _allocate(self, connection: Connection, table: TableInfo, count: int) -> int:
        row = connection.execute(
            "UPDATE tables SET next_seq = next_seq + ? WHERE pk = ? RETURNING next_seq", (count, table.pk)
        ).fetchone()
        return int(row[0]) - count

    def _insert(
        self, connection: Connection, table: TableInfo, rows: list[StoredRow], duplicate_id: str
    ) -> None:
        try:
            connection.executemany(
                "INSERT INTO rows (table_pk, seq, id, created, updated, permissions, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (table.pk, row.seq, row.id, row.created, row.updated, _encode_permissions(row.permissions),
                     _encode_compact(row.data))
                    for row in rows
                ],
            )
        except sqlite3.IntegrityError as error:
            raise ApiError("row_already_exists", None, duplicate_id) from error
        self._claim(connection, table, rows)

    @staticmethod
    def _claim(connection: Connection, table: TableInfo, rows: list[StoredRow]) -> None:
        if any(index.type == "unique" for index in table.indexes):
            views = ((row.seq, uniques.row_view(row.id, row.created, row.updated, row.data)) for row in rows)
            uniques.claim(connection, table.pk, table.indexes, views)

    def _rewrite(
        self,
        connection: Connection,
        table: TableInfo,
        rows: list[StoredRow],
        previous: dict[int, StoredRow] | None = None,
    ) -> None:
        """Write changed rows; unique entries are redone only for rows whose indexed values moved."""
        connection.executemany(
            "UPDATE rows SET created = ?, updated = ?, permissions = ?, data = ? WHERE table_pk = ? AND seq = ?",
            [
                (row.created, row.updated, _encode_permissions(row.permissions), _encode_compact(row.data),
                 table.pk, row.seq)
                for row in rows
            ],
        )
        unique = table.unique_indexes
        if not unique:
            return
        if previous is not None:
            rows = [row for row in rows if not _same_unique_entries(unique, row, previous[row.seq])]
        if rows:
            uniques.release(connection, table.pk, [row.seq for row in rows])
            self._claim(connection, table, rows)

    @staticmethod
    def _transaction_id(params: Params) -> str | None:
        transaction_id: str | None = params.optional("transactionId", Nullable(UID))
        return transaction_id

    # -- create ---------------------------------------------------------------------------------

    def create(self, caller: Caller, database_id: str, table_id: str, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(databaseId=database_id)
        row_id = params.optional("rowId", CUSTOM_ID)
        check_path(tableId=table_id)
        data = _object(params.optional("data", JSONObject(), {}))
        given_permissions = params.optional("permissions", Nullable(ROW_PERMISSIONS))
        documents = params.optional("rows", ArrayList(JSONObject(), BATCH_LIMIT), [])
        transaction_id = self._transaction_id(params)
        if not data and not documents:
            raise ApiError("row_missing_data")
        if data and documents:
            raise ApiError("general_bad_request", "You can only send one of the following parameters: data, rows")
        if data and not row_id:
            raise ApiError("row_missing_data", "Row ID is required when creating a single row.")
        if documents and row_id:
            raise ApiError(
                "general_bad_request",
                'Param "rowId" is not allowed when creating multiple rows, set "$id" on each instead.',
            )
        if documents and given_permissions:
            raise ApiError(
                "general_bad_request",
                'Param "permissions" is disallowed when creating multiple rows, set "$permissions" on each instead',
            )
        bulk = bool(documents)
        if bulk and not caller.is_key:
            raise ApiError("general_unauthorized_scope")
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            if transaction_id is not None:
                if bulk:
                    self._staging().stage(connection, transaction_id, "bulkCreate", database_id, table_id, None,
                                          documents)
                    return {"total": len(documents), "rows": []}
                staged = {**data, **({"$permissions": given_permissions} if given_permissions is not None else {})}
                self._staging().stage(connection, transaction_id, "create", database_id, table_id, row_id, staged)
                return self._mock(table, str(row_id), staged)
            prepared = [
                self._prepare_new(caller, table, _object(item) if bulk else data, bulk, row_id, given_permissions)
                for item in (documents if bulk else [data])
            ]
            created = self._create_rows(connection, table, prepared, "" if bulk else str(row_id))
            rendered = [self.render(table, row) for row in created]
        return {"total": len(rendered), "rows": rendered} if bulk else rendered[0]

    def _prepare_new(
        self,
        caller: Caller,
        table: TableInfo,
        document: dict[str, Any],
        bulk: bool,
        row_id: str | None,
        given_permissions: list[str] | None,
    ) -> dict[str, Any]:
        document = dict(document)
        if bulk:
            source_id = document.get("$id") or ids.unique_id()
            if not ids.is_custom_id(source_id):
                raise ApiError("general_bad_request", ids.KEY_DESCRIPTION)
            row_permissions = document.get("$permissions")
            if row_permissions and not ROW_PERMISSIONS.valid(row_permissions):
                raise ApiError("general_bad_request", ROW_PERMISSIONS.description)
        else:
            source_id = row_id
            row_permissions = given_permissions
        document["$id"] = ids.resolve_custom_id(str(source_id))
        document = _strip_readonly(document, caller)
        resolved = aggregate_permissions(row_permissions) or []
        permissions.check_grantable(caller, resolved)
        document["$permissions"] = resolved
        permissions.require(caller, "create", table.permissions)
        return document

    def _create_rows(
        self, connection: Connection, table: TableInfo, documents: list[dict[str, Any]], duplicate_id: str
    ) -> list[StoredRow]:
        now = datetimes.now()
        pending = []
        for document in documents:
            created = self._timestamp(document, "$createdAt", now)
            updated = self._timestamp(document, "$updatedAt", now)
            self._apply_defaults(table, document)
            self._validate(table, document)
            pending.append((document, created, updated))
        first = self._allocate(connection, table, len(pending))
        rows = [
            StoredRow(first + offset, document["$id"], created, updated, list(document["$permissions"]),
                      self._stored_data(table, document))
            for offset, (document, created, updated) in enumerate(pending)
        ]
        self._insert(connection, table, rows, duplicate_id)
        return rows

    # -- get ------------------------------------------------------------------------------------

    def get(
        self, caller: Caller, database_id: str, table_id: str, row_id: str, params: Params
    ) -> dict[str, Any]:
        caller.require(_SCOPE_READ)
        check_path(databaseId=database_id, tableId=table_id, rowId=row_id)
        texts = params.optional("queries", LIST_QUERIES, [])
        transaction_id = self._transaction_id(params)
        if transaction_id is not None:
            plain = params.without("transactionId")
            return self._staging().read_through(
                caller, transaction_id, lambda: self.get(caller, database_id, table_id, row_id, plain)
            )
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            queries = self._parse(texts)
            selections = self._validated_selections(table, queries)
            row = self._fetch(connection, table, [row_id]).get(row_id)
            if row is None or self._unreadable(caller, table, row):
                raise ApiError("row_not_found", None, row_id)
            return self.render(table, row, selections)

    @staticmethod
    def _unreadable(caller: Caller, table: TableInfo, row: StoredRow) -> bool:
        granted = permissions.roles_for(table.permissions, "read")
        if table.row_security:
            granted += permissions.roles_for(row.permissions, "read")
        return permissions.denial(caller, "read", granted) is not None

    @staticmethod
    def _parse(texts: list[str]) -> list[Query]:
        try:
            return parse_all(texts)
        except QueryError as error:
            raise ApiError("general_query_invalid", error.message) from error

    def _validated_selections(self, table: TableInfo, queries: list[Query]) -> list[str] | None:
        for query in queries:
            if query.method != "select":
                raise ApiError("general_query_invalid", f"Invalid query method: {query.method}")
        try:
            plan = Validator(self._attributes(table)).validate(queries)
        except QueryError as error:
            raise ApiError("general_query_invalid", error.message) from error
        return plan.selections or None

    @staticmethod
    def _attributes(table: TableInfo) -> list[Attribute]:
        attributes = [
            Attribute(column.key, column.type, column.array, column.format)
            for column in table.columns
            if column.status == "available"
        ]
        return [
            *attributes,
            Attribute("$id", "string"),
            Attribute("$sequence", "id"),
            Attribute("$createdAt", "datetime"),
            Attribute("$updatedAt", "datetime"),
        ]

    # -- update (PATCH) -------------------------------------------------------------------------

    def update(
        self, caller: Caller, database_id: str, table_id: str, row_id: str, params: Params
    ) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(databaseId=database_id, tableId=table_id, rowId=row_id)
        data = _object(params.optional("data", JSONObject(), {}))
        given_permissions = params.optional("permissions", Nullable(ROW_PERMISSIONS))
        transaction_id = self._transaction_id(params)
        if not data and given_permissions is None:
            raise ApiError("row_missing_payload")
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            old = self._fetch(connection, table, [row_id]).get(row_id)
            if transaction_id is not None:
                staged = {**data, **({"$permissions": given_permissions} if given_permissions is not None else {})}
                self._staging().stage(connection, transaction_id, "update", database_id, table_id, row_id, staged)
                current = self.render(table, old) if old is not None else {}
                return {**self._mock(table, row_id, current), **staged}
            if old is None:
                raise ApiError("row_not_found", None, row_id)
            resolved = aggregate_permissions(given_permissions)
            if resolved is not None:
                permissions.check_grantable(caller, resolved)
            changes = _strip_readonly({**data, "$id": row_id}, caller)
            new_permissions = resolved if resolved is not None else old.permissions
            stored = self._decoded(table, old)
            merged = {**stored, **_user_items(changes)}
            # utopia-php/database compares strictly here (an update), loosely in upserts.
            changed = not strict_equal(new_permissions, old.permissions) or any(
                not strict_equal(value, stored.get(key)) for key, value in _user_items(changes).items()
            )
            action = "update" if changed else "read"
            row_grants = old.permissions if table.row_security else []
            permissions.require(caller, action, table.permissions, row_grants, default_message=True)
            created = self._timestamp(changes, "$createdAt", old.created)
            updated = self._timestamp(changes, "$updatedAt", datetimes.now()) if changed else old.updated
            self._validate(table, {**merged, "$id": row_id, "$permissions": new_permissions,
                                   "$createdAt": changes.get("$createdAt", created),
                                   "$updatedAt": changes.get("$updatedAt", updated)})
            row = StoredRow(old.seq, old.id, created, updated, list(new_permissions), self._stored_data(table, merged))
            self._rewrite(connection, table, [row], {old.seq: old})
            return self.render(table, row)

    # -- delete ---------------------------------------------------------------------------------

    def delete(
        self, caller: Caller, database_id: str, table_id: str, row_id: str, params: Params
    ) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(databaseId=database_id, tableId=table_id, rowId=row_id)
        transaction_id = self._transaction_id(params)
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            old = self._fetch(connection, table, [row_id]).get(row_id)
            if transaction_id is not None:
                self._staging().stage(connection, transaction_id, "delete", database_id, table_id, row_id, {})
                return {}
            if old is None or (not caller.is_key and self._unreadable(caller, table, old)):
                raise ApiError("row_not_found", None, row_id)
            row_grants = old.permissions if table.row_security else []
            permissions.require(caller, "delete", table.permissions, row_grants, default_message=True)
            connection.execute("DELETE FROM rows WHERE table_pk = ? AND seq = ?", (table.pk, old.seq))
            uniques.release(connection, table.pk, [old.seq])
        return {}

    # -- upsert ---------------------------------------------------------------------------------

    def upsert(
        self, caller: Caller, database_id: str, table_id: str, row_id: str, params: Params
    ) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(databaseId=database_id, tableId=table_id, rowId=row_id)
        data = _object(params.optional("data", JSONObject(), {}))
        given_permissions = params.optional("permissions", Nullable(ROW_PERMISSIONS))
        transaction_id = self._transaction_id(params)
        if not data and given_permissions is None:
            raise ApiError("row_missing_payload")
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            if transaction_id is not None:
                staged = {**data, **({"$permissions": given_permissions} if given_permissions is not None else {})}
                self._staging().stage(connection, transaction_id, "upsert", database_id, table_id, row_id, staged)
                return self._mock(table, row_id, staged)
            resolved = aggregate_permissions(given_permissions)
            if resolved is None:
                existing = self._fetch(connection, table, [row_id]).get(row_id)
                resolved = existing.permissions if existing is not None else []
            permissions.check_grantable(caller, resolved)
            document = _strip_readonly({**data, "$id": row_id, "$permissions": resolved}, caller)
            written = self._upsert_rows(connection, caller, table, [document], row_id)
            if written:
                return self.render(table, written[0])
            current = self._fetch(connection, table, [row_id])[row_id]
            return self.render(table, current)

    def upsert_many(self, caller: Caller, database_id: str, table_id: str, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(databaseId=database_id, tableId=table_id)
        documents = params.required("rows", ArrayList(JSONObject(), BATCH_LIMIT))
        transaction_id = self._transaction_id(params)
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            if transaction_id is not None:
                staged = [_strip_readonly(_object(item), caller) for item in documents]
                self._staging().stage(connection, transaction_id, "bulkUpsert", database_id, table_id, None, staged)
                return {"total": len(staged), "rows": []}
            prepared = []
            for item in documents:
                document = _strip_readonly(_object(item), caller)
                if "$id" in document and not ids.is_key(document["$id"]):
                    raise ApiError("general_bad_request", ids.KEY_DESCRIPTION)
                prepared.append(document)
            written = self._upsert_rows(connection, caller, table, prepared, "multiple")
            rendered = [self.render(table, row) for row in written]
        return {"total": len(rendered), "rows": rendered}

    def _upsert_rows(
        self,
        connection: Connection,
        caller: Caller,
        table: TableInfo,
        documents: list[dict[str, Any]],
        duplicate_id: str,
    ) -> list[StoredRow]:
        """utopia-php/database upsertDocuments: skip unchanged rows, merge, validate, then write."""
        existing = self._fetch(connection, table, [str(d["$id"]) for d in documents if d.get("$id")])
        now = datetimes.now()
        creates: list[tuple[dict[str, Any], str, str, list[str]]] = []
        updates: list[StoredRow] = []
        seen: list[str] = []
        for document in documents:
            row_id = str(document.get("$id") or ids.unique_id())
            old = existing.get(row_id)
            old_attributes = self._decoded(table, old) if old is not None else {}
            given = _user_items(document)
            if not self._upsert_changes(document, given, old, old_attributes):
                continue
            if old is None:
                permissions.require(caller, "create", table.permissions, default_message=True)
            else:
                row_grants = old.permissions if table.row_security else []
                permissions.require(caller, "update", table.permissions, row_grants, default_message=True)
            updated = self._timestamp(document, "$updatedAt", now)
            created = self._timestamp(document, "$createdAt", old.created if old is not None else now)
            merged = dict(given)
            for key, default in table.optional_defaults:
                if key not in merged:
                    merged[key] = old_attributes.get(key) if old is not None else default
            row_permissions = document.get("$permissions")
            if row_permissions is None or (old is not None and sorted(row_permissions) == sorted(old.permissions)):
                row_permissions = old.permissions if old is not None else []
            self._apply_defaults(table, merged)
            self._validate(table, {**merged, "$id": row_id, "$permissions": row_permissions,
                                   "$createdAt": document.get("$createdAt", created),
                                   "$updatedAt": document.get("$updatedAt", updated)})
            seen.append(row_id)
            stored = self._stored_data(table, merged)
            if old is None:
                creates.append(({**merged, "$id": row_id}, created, updated, list(row_permissions)))
            else:
                updates.append(StoredRow(old.seq, old.id, created, updated, list(row_permissions), stored))
        if len(seen) != len(set(seen)):
            raise ApiError("row_already_exists", None, duplicate_id)
        written: dict[str, StoredRow] = {}
        if updates:
            self._rewrite(connection, table, updates, {row.seq: row for row in existing.values()})
            written.update((row.id, row) for row in updates)
        if creates:
            first = self._allocate(connection, table, len(creates))
            new_rows = [
                StoredRow(first + offset, document["$id"], created, updated, row_permissions,
                          self._stored_data(table, document))
                for offset, (document, created, updated, row_permissions) in enumerate(creates)
            ]
            self._insert(connection, table, new_rows, duplicate_id)
            written.update((row.id, row) for row in new_rows)
        return [written[row_id] for row_id in seen]

    @staticmethod
    def _upsert_changes(
        document: dict[str, Any],
        given: dict[str, Any],
        old: StoredRow | None,
        old_attributes: dict[str, Any],
    ) -> bool:
        """The server's `$hasChanges`: loose comparison of what was sent against the stored row."""
        if "$permissions" in document:
            old_permissions = sorted(old.permissions) if old is not None else []
            if sorted(document["$permissions"] or []) != old_permissions:
                return True
        if any(not loose_equal(old_attributes.get(key), value) for key, value in given.items()):
            return True
        return any(key not in given for key in old_attributes)

    # -- list -----------------------------------------------------------------------------------

    def list_rows(self, caller: Caller, database_id: str, table_id: str, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_READ)
        check_path(databaseId=database_id, tableId=table_id)
        texts = params.optional("queries", LIST_QUERIES, [])
        transaction_id = self._transaction_id(params)
        if transaction_id is not None:
            plain = params.without("transactionId")
            return self._staging().read_through(
                caller, transaction_id, lambda: self.list_rows(caller, database_id, table_id, plain)
            )
        include_total = params.flag("total", True, loose=True)
        params.optional("ttl", Range(0, 86400), 0)
        with self.store.transaction() as connection:
            table = self._table(connection, caller, database_id, table_id)
            queries = self._parse(texts)
            cursor_query = next((q for q in queries if q.method in ("cursorAfter", "cursorBefore")), None)
            if cursor_query is not None:
                self._check_cursor(connection, table, cursor_query)
            fulltext = frozenset(
                index.columns[0] for index in table.available_indexes()
                if index.type == "fulltext" and len(index.columns) == 1
            )
            try:
                plan = Validator(self._attributes(table), fulltext=fulltext).validate(queries)
            except QueryError as error:
                raise ApiError("general_query_invalid", error.message) from error
            read_roles = permissions.roles_for(table.permissions, "read")
            row_filtered = permissions.denial(caller, "read", read_roles) is not None
            if row_filtered and not table.row_security:
                raise ApiError("user_unauthorized")
            translator = Translator(table.available_columns())
            filters = Sql(["table_pk = ?"], [table.pk])
            translator.filters(plan.filters, filters)
            if row_filtered:
                roles = ",".join(f"'read(\"{role}\")'" for role in caller.roles)
                filters.where.append(f"EXISTS (SELECT 1 FROM json_each(permissions) WHERE value IN ({roles}))")
            total = 0
            if include_total:
                total = connection.execute(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM rows WHERE {filters.clause()} LIMIT {COUNT_LIMIT})",
                    filters.params,
                ).fetchone()[0]
            orders = effective_orders(plan)
            page = Sql(list(filters.where), list(filters.params))
            if plan.cursor is not None:
                cursor_values = self._cursor_values(connection, table, plan.cursor, orders)
                cursor_condition(orders, cursor_values, before=plan.cursor_before, sql=page)
            limit = plan.limit if plan.limit is not None else DEFAULT_LIMIT
            offset = plan.offset or 0
            found = connection.execute(
                f"SELECT seq, id, created, updated, permissions, data FROM rows {self._seek(connection, table, plan)}"
                f"WHERE {page.clause()} "
                f"ORDER BY {order_by(orders, reverse=plan.cursor_before)} LIMIT ? OFFSET ?",
                [*page.params, min(limit, 2**62), offset],
            ).fetchall()
            rows = [
                StoredRow(int(r[0]), r[1], r[2], r[3], _permissions(r[4]), json.loads(r[5])) for r in found
            ]
            if plan.cursor_before:
                rows.reverse()
            selections = plan.selections or None
            return {"total": total, "rows": [self.render(table, row, selections) for row in rows]}

    @staticmethod
    def _seek(connection: Connection, table: TableInfo, plan: Any) -> str:
        """`INDEXED BY` the lookup index of an equality filter on an indexed column, else nothing.

        Without statistics SQLite prefers walking rows in `$sequence` order to seeking a few values,
        which reads the whole table; a database would use the index, and so does this.
        """
        indexed = {name for index in table.available_indexes() if index.type in ("key", "unique")
                   for name in index.columns if not name.startswith("$")}
        for query in plan.filters:
            if query.method == "equal" and query.attribute in _SYSTEM_LOOKUPS:
                # The server's internal `_uid`, `_created_at` and `_updated_at` indexes.
                return f"INDEXED BY {_SYSTEM_LOOKUPS[query.attribute]} "
            if query.method == "equal" and query.attribute in indexed:
                covering = next(index for index in table.available_indexes() if query.attribute in index.columns)
                catalog.ensure_lookup(connection, covering)
                return f'INDEXED BY "rows_lookup_{query.attribute}" '
        return ""

    def _check_cursor(self, connection: Connection, table: TableInfo, query: Query) -> None:
        if not ids.is_uid(query.value):
            raise ApiError("general_query_invalid", f"Invalid cursor: {ids.UID_DESCRIPTION}")
        if not self._fetch(connection, table, [str(query.value)]):
            raise ApiError("general_cursor_not_found", f"Row '{query.value}' for the 'cursor' value not found.")

    @staticmethod
    def _cursor_values(
        connection: Connection, table: TableInfo, cursor: str, orders: list[tuple[str, str]]
    ) -> dict[str, Any]:
        named = [attribute for attribute, direction in orders if direction != "RANDOM"]
        selected = ", ".join(expression(attribute) for attribute in named) or "1"
        values = connection.execute(
            f"SELECT {selected} FROM rows WHERE table_pk = ? AND id = ?", (table.pk, cursor)
        ).fetchone()
        result = dict(zip(named, values, strict=False))
        for attribute in named:
            if result[attribute] is None:
                raise ApiError(
                    "database_query_order_null",
                    f"The order column '{attribute}' had a null value. Cursor pagination requires all rows "
                    "order column values are non-null.",
                )
        return result

