"""TablesDB transactions: create, stage operations, commit, roll back, expire, and reads through them.

Staging only records the operation (with the request time); nothing is written until the commit,
which replays every operation in order through the row endpoints inside one SQLite transaction. A
row written by someone else after its operation was staged makes the commit fail with 409
`transaction_conflict`, as utopia-php/database's request-timestamp check does; the transaction is
then `failed`. Rolling back also leaves it `failed` (the server has no `rolled_back` state in use).
Reads given a `transactionId` see the staged operations applied to a throwaway copy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import datetimes, ids
from .auth import Caller
from .errors import ApiError, argument_invalid
from .listing import list_items
from .params import ArrayList, JSONObject, Params, Range, check_path
from .queries import Attribute
from .store import Connection, Store

if TYPE_CHECKING:
    from .rows import Rows

TTL_MIN, TTL_MAX, TTL_DEFAULT = 60, 3600, 300
MAX_OPERATIONS = 100  # APP_LIMIT_DATABASE_TRANSACTION: staged operations per transaction
ACTIONS = ("create", "update", "upsert", "delete", "increment", "decrement",
           "bulkCreate", "bulkUpdate", "bulkUpsert", "bulkDelete")  # fmt: skip
_NEEDS_ROW_ID = ("create", "update", "upsert", "delete", "increment", "decrement")
# Actions this emulator can replay; the others are refused when staged.
_REPLAYABLE = ("create", "update", "upsert", "delete", "bulkCreate", "bulkUpsert")
_SCOPE_READ = ("rows.read", "documents.read")
_SCOPE_WRITE = ("rows.write", "documents.write")
_NOT_PENDING = "Invalid or non\u2011pending transaction"


def _now() -> float:
    """The clock expiry is judged by (a seam for tests)."""
    return time.time()


def transaction_response(row: Any) -> dict[str, Any]:
    return {
        "$id": row["id"],
        "$createdAt": row["created"],
        "$updatedAt": row["updated"],
        "status": row["status"],
        "operations": int(row["operations"]),
        "expiresAt": row["expires"],
    }


def _operation_problem(operation: Any) -> str | None:
    """The server's Operation validator (TablesDB flavour)."""
    if not isinstance(operation, dict):
        return "Value must be an array"
    for key in ("databaseId", "action", "tableId"):
        if key not in operation:
            return f"Missing required key: {key}"
        if not isinstance(operation[key], str) or operation[key].strip() == "":
            return f"Key '{key}' must be a non\u2011empty string"
    action = operation["action"]
    if action not in ACTIONS:
        return "Key 'action' must be one of: " + ", ".join(ACTIONS)
    if action in _NEEDS_ROW_ID and "rowId" not in operation:
        return f"Key 'rowId' is required for action '{action}'"
    if "rowId" in operation and (not isinstance(operation["rowId"], str) or operation["rowId"].strip() == ""):
        return "Key 'rowId' must be a non-empty string"
    if action != "delete" and "data" not in operation:
        return "Missing required key: data"
    if "data" in operation and not isinstance(operation["data"], (dict, list)):
        return "Key 'data' must be an array"
    return None


class Transactions:
    def __init__(self, store: Store, rows: Rows) -> None:
        self.store = store
        self.rows = rows

    # -- lifecycle ------------------------------------------------------------------------------

    def create(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        ttl = params.optional("ttl", Range(TTL_MIN, TTL_MAX), TTL_DEFAULT)
        now = datetimes.now()
        expires_at = _now() + int(ttl)
        with self.store.transaction() as connection:
            transaction_id = ids.unique_id()
            seq = self.store.next_value(connection, "transactions")
            connection.execute(
                "INSERT INTO transactions (id, seq, status, operations, expires_at, expires, created, updated) "
                "VALUES (?, ?, 'pending', 0, ?, ?, ?, ?)",
                (transaction_id, seq, expires_at, datetimes.from_timestamp(expires_at), now, now),
            )
            return transaction_response(self._row(connection, transaction_id))

    def get(self, caller: Caller, transaction_id: str) -> dict[str, Any]:
        caller.require(_SCOPE_READ)
        check_path(transactionId=transaction_id)
        with self.store.transaction() as connection:
            return transaction_response(self._row(connection, transaction_id))

    def list(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_READ)
        with self.store.transaction() as connection:
            rows = list(connection.execute("SELECT * FROM transactions ORDER BY seq"))
        items = [{**transaction_response(row), "$sequence": row["seq"]} for row in rows]
        attributes = [Attribute("status", "string"), Attribute("operations", "integer"),
                      Attribute("expiresAt", "datetime")]
        page, total = list_items(params, items, attributes, "Transaction")
        for item in page:
            item.pop("$sequence", None)
        return {"total": total, "transactions": page}

    def delete(self, caller: Caller, transaction_id: str) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(transactionId=transaction_id)
        with self.store.transaction() as connection:
            self._row(connection, transaction_id)
            connection.execute("DELETE FROM transaction_operations WHERE transaction_id = ?", (transaction_id,))
            connection.execute("DELETE FROM transactions WHERE id = ?", (transaction_id,))
        return {}

    def update(self, caller: Caller, transaction_id: str, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(transactionId=transaction_id)
        commit = params.flag("commit", False)
        rollback = params.flag("rollback", False)
        if not commit and not rollback:
            raise ApiError("general_bad_request", "Either commit or rollback must be true")
        if commit and rollback:
            raise ApiError("general_bad_request", "Cannot commit and rollback at the same time")
        with self.store.transaction() as connection:
            row = self._row(connection, transaction_id)
            if row["status"] != "pending":
                raise ApiError("transaction_not_ready")
            if _now() > float(row["expires_at"]):
                raise ApiError("transaction_expired")
            if rollback:
                return self._set_status(connection, transaction_id, "failed")
        try:
            with self.store.transaction() as connection:
                self._replay(connection, caller, transaction_id, strict=True)
                return self._set_status(connection, transaction_id, "committed")
        except ApiError as error:
            with self.store.transaction() as connection:
                self._set_status(connection, transaction_id, "failed")
            raise _commit_error(error) from error

    # -- staging --------------------------------------------------------------------------------

    def create_operations(self, caller: Caller, transaction_id: str, params: Params) -> dict[str, Any]:
        caller.require(_SCOPE_WRITE)
        check_path(transactionId=transaction_id)
        operations = params.optional("operations", ArrayList(JSONObject(), MAX_OPERATIONS * 10), [])
        for operation in operations:
            problem = _operation_problem(operation)
            if problem is not None:
                raise argument_invalid("operations", f"Value must a valid array and {problem}")
        if not operations:
            raise ApiError("general_bad_request", "Operations array cannot be empty")
        with self.store.transaction() as connection:
            row = self._row(connection, transaction_id)
            if row["status"] != "pending":
                raise ApiError("general_bad_request", _NOT_PENDING)
            if _now() > float(row["expires_at"]):
                raise ApiError("transaction_expired")
            self._check_room(row, len(operations))
            if not caller.is_key:
                raise ApiError("user_unauthorized")
            created: set[tuple[str, str, str]] = set()
            for operation in operations:
                action = operation["action"]
                if action not in _REPLAYABLE:
                    raise ApiError("general_bad_request", f"Action '{action}' is not supported by the local emulator")
                database_id, table_id = operation["databaseId"], operation["tableId"]
                table = self.rows.table_for(connection, caller, database_id, table_id)
                row_id = operation.get("rowId")
                staged_create = (database_id, table_id, row_id) in created
                if action in ("update", "delete") and not staged_create and not self.rows.exists(
                    connection, table, str(row_id)
                ):
                    raise ApiError("document_not_found", None, row_id)
                if action == "create" and row_id:
                    created.add((database_id, table_id, str(row_id)))
                self._append(connection, transaction_id, action, database_id, table_id, row_id,
                             operation.get("data", {}))
            connection.execute(
                "UPDATE transactions SET operations = operations + ?, updated = ? WHERE id = ?",
                (len(operations), datetimes.now(), transaction_id),
            )
            return transaction_response(self._row(connection, transaction_id))

    def stage(
        self,
        connection: Connection,
        transaction_id: str,
        action: str,
        database_id: str,
        table_id: str,
        row_id: str | None,
        data: Any,
    ) -> None:
        """One row-endpoint call given a `transactionId`: recorded as one operation, nothing written."""
        row = connection.execute("SELECT * FROM transactions WHERE id = ?", (transaction_id,)).fetchone()
        if action in ("bulkUpsert",):
            if row is None or row["status"] != "pending":
                raise ApiError("general_bad_request", _NOT_PENDING)
        else:
            if row is None:
                raise ApiError("transaction_not_found", None, transaction_id)
            if row["status"] != "pending":
                raise ApiError("transaction_not_ready")
            if _now() > float(row["expires_at"]):
                raise ApiError("transaction_expired")
        self._check_room(row, 1, singular=True)
        self._append(connection, transaction_id, action, database_id, table_id, row_id, data)
        connection.execute(
            "UPDATE transactions SET operations = operations + 1, updated = ? WHERE id = ?",
            (datetimes.now(), transaction_id),
        )

    def read_through(self, caller: Caller, transaction_id: str, read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`read()` as the transaction sees it: staged operations applied to a copy that is discarded."""
        check_path(transactionId=transaction_id)
        with self.store.scratch() as connection:
            self._row(connection, transaction_id)
            self._replay(connection, caller, transaction_id, strict=False)
            return read()

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _row(connection: Connection, transaction_id: str) -> Any:
        row = connection.execute("SELECT * FROM transactions WHERE id = ?", (transaction_id,)).fetchone()
        if row is None:
            raise ApiError("transaction_not_found", None, transaction_id)
        return row

    @staticmethod
    def _check_room(row: Any, adding: int, singular: bool = False) -> None:
        existing = int(row["operations"])
        if existing + adding > MAX_OPERATIONS:
            raise ApiError(
                "transaction_limit_exceeded",
                f"Transaction already has {existing} operations, adding {'1' if singular else adding} would "
                f"exceed the maximum of {MAX_OPERATIONS}",
            )

    @staticmethod
    def _append(
        connection: Connection,
        transaction_id: str,
        action: str,
        database_id: str,
        table_id: str,
        row_id: str | None,
        data: Any,
    ) -> None:
        position = connection.execute(
            "SELECT COUNT(*) FROM transaction_operations WHERE transaction_id = ?", (transaction_id,)
        ).fetchone()[0]
        connection.execute(
            "INSERT INTO transaction_operations "
            "(transaction_id, position, action, database_id, table_id, row_id, data, staged_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (transaction_id, position, action, database_id, table_id, row_id,
             json.dumps(data, ensure_ascii=False), datetimes.now()),
        )

    def _set_status(self, connection: Connection, transaction_id: str, status: str) -> dict[str, Any]:
        connection.execute(
            "UPDATE transactions SET status = ?, updated = ? WHERE id = ?", (status, datetimes.now(), transaction_id)
        )
        return transaction_response(self._row(connection, transaction_id))

    def _replay(self, connection: Connection, caller: Caller, transaction_id: str, *, strict: bool) -> None:
        """Apply the staged operations in order; `strict` (the commit) fails on the first problem."""
        touched: set[tuple[str, str, str]] = set()
        operations = connection.execute(
            "SELECT action, database_id, table_id, row_id, data, staged_at FROM transaction_operations "
            "WHERE transaction_id = ? ORDER BY position",
            (transaction_id,),
        ).fetchall()
        for action, database_id, table_id, row_id, data, staged_at in operations:
            if strict:
                self._apply(connection, caller, touched, action, database_id, table_id, row_id,
                            json.loads(data), staged_at)
                continue
            connection.execute("SAVEPOINT staged_operation")
            try:
                self._apply(connection, caller, touched, action, database_id, table_id, row_id,
                            json.loads(data), None)
            except ApiError:
                connection.execute("ROLLBACK TO staged_operation")
            connection.execute("RELEASE staged_operation")

    def _apply(
        self,
        connection: Connection,
        caller: Caller,
        touched: set[tuple[str, str, str]],
        action: str,
        database_id: str,
        table_id: str,
        row_id: str | None,
        data: Any,
        staged_at: str | None,
    ) -> None:
        if action in ("bulkCreate", "bulkUpsert"):
            targets = [str(item["$id"]) for item in data if isinstance(item, dict) and item.get("$id")]
        else:
            targets = [str(row_id)] if row_id else []
        if staged_at is not None:
            table = self.rows.table_for(connection, caller, database_id, table_id)
            for target, updated in self.rows.updated_times(connection, table, targets).items():
                if (database_id, table_id, target) not in touched and updated > staged_at:
                    raise ApiError("transaction_conflict")
        rows = self.rows
        if action == "create":
            body = dict(data)
            permissions = body.pop("$permissions", None)
            rows.create(caller, database_id, table_id, Params({"rowId": row_id, "data": body,
                                                               "permissions": permissions}))
        elif action == "bulkCreate":
            rows.create(caller, database_id, table_id, Params({"rows": data}))
        elif action == "update":
            body = dict(data)
            permissions = body.pop("$permissions", None)
            rows.update(caller, database_id, table_id, str(row_id),
                        Params({"data": body, "permissions": permissions}))
        elif action == "upsert":
            body = dict(data)
            permissions = body.pop("$permissions", None)
            rows.upsert(caller, database_id, table_id, str(row_id),
                        Params({"data": body, "permissions": permissions}))
        elif action == "bulkUpsert":
            rows.upsert_many(caller, database_id, table_id, Params({"rows": data}))
        elif action == "delete":
            rows.delete(caller, database_id, table_id, str(row_id), Params({}))
        touched.update((database_id, table_id, target) for target in targets)


def _commit_error(error: ApiError) -> ApiError:
    """How the commit reports a failed operation (Transactions/Update.php)."""
    if error.type in ("transaction_conflict", "row_already_exists", "row_unique_constraint_violation"):
        return ApiError("transaction_conflict")
    if error.type == "row_not_found":
        return ApiError("document_not_found", None, error.message.split("'")[1] if "'" in error.message else "")
    if error.type == "row_invalid_structure":
        return ApiError("document_invalid_structure", error.message)
    if error.type == "general_query_invalid":
        return error
    return ApiError("transaction_failed", error.message)

