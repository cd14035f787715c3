"""TablesDB transactions: lifecycle, staging through the row routes and createOperations, commit, rollback,
reads inside a transaction, expiry, the operation limit and the conflict when a staged row changed."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB
from pytest_mock import MockerFixture

from tests.emulator.support import Target, poll, raises

FIRING = {"fingerprint": "fp-1", "status": "firing"}


def _ids(tables: TablesDB, database: str, table: str, transaction_id: str | None = None) -> list[str]:
    listed = tables.list_rows(database, table, [Query.limit(100)], transaction_id=transaction_id)
    return sorted(row.id for row in listed.rows)


def test_a_new_transaction_is_pending_with_no_operations_and_expires_after_its_ttl(
    target: Target, tables: TablesDB
) -> None:
    """create_transaction answers 201 with status pending, 0 operations and expiresAt ttl seconds ahead."""
    answer = target.raw("POST", "/tablesdb/transactions", {"ttl": 120})
    assert answer.status_code == 201
    body = answer.json()
    assert (body["status"], body["operations"]) == ("pending", 0)
    lifetime = datetime.fromisoformat(body["expiresAt"]) - datetime.fromisoformat(body["$createdAt"])
    assert 119 <= lifetime.total_seconds() <= 121
    assert tables.get_transaction(body["$id"]).status == "pending"
    assert body["$id"] in [item.id for item in tables.list_transactions().transactions]


@pytest.mark.parametrize("ttl", [59, 3601])
def test_a_ttl_outside_60_to_3600_seconds_is_general_argument_invalid(tables: TablesDB, ttl: int) -> None:
    """The ttl must lie between 60 and 3600 seconds."""
    raises(lambda: tables.create_transaction(ttl=ttl), 400, "general_argument_invalid")


def test_staged_row_writes_are_invisible_until_the_commit(tables: TablesDB, database: str, alerts: str) -> None:
    """Rows written with a transaction ID appear only inside it until committed, then for everyone."""
    tables.create_row(database, alerts, "old", {"fingerprint": "fp-old", "status": "firing"})
    transaction = tables.create_transaction()
    staged = tables.create_row(database, alerts, "new", FIRING, transaction_id=transaction.id)
    assert staged.id == "new"
    tables.upsert_rows(database, alerts, [{"$id": "bulk", "fingerprint": "fp-2", "status": "firing"}],
                       transaction_id=transaction.id)
    tables.update_row(database, alerts, "old", {"status": "resolved"}, transaction_id=transaction.id)
    tables.delete_row(database, alerts, "old", transaction_id=transaction.id)
    assert _ids(tables, database, alerts) == ["old"]
    assert tables.get_row(database, alerts, "old").data["status"] == "firing"
    assert _ids(tables, database, alerts, transaction.id) == ["bulk", "new"]
    assert tables.get_row(database, alerts, "new", transaction_id=transaction.id).data["status"] == "firing"
    assert tables.get_transaction(transaction.id).operations == 4
    committed = tables.update_transaction(transaction.id, commit=True)
    assert committed.status == "committed"
    assert _ids(tables, database, alerts) == ["bulk", "new"]


def test_operations_staged_in_one_call_commit_in_order(tables: TablesDB, database: str, alerts: str) -> None:
    """create_operations stages several operations; the commit applies them in the order given."""
    transaction = tables.create_transaction()
    staged = tables.create_operations(transaction.id, [
        {"action": "create", "databaseId": database, "tableId": alerts, "rowId": "r1", "data": FIRING},
        {"action": "update", "databaseId": database, "tableId": alerts, "rowId": "r1",
         "data": {"status": "resolved"}},
        {"action": "bulkUpsert", "databaseId": database, "tableId": alerts,
         "data": [{"$id": "r2", "fingerprint": "fp-2", "status": "firing"}]},
    ])
    assert staged.operations == 3
    tables.update_transaction(transaction.id, commit=True)
    assert tables.get_row(database, alerts, "r1").data["status"] == "resolved"
    assert _ids(tables, database, alerts) == ["r1", "r2"]


def test_a_rollback_writes_nothing_and_leaves_the_transaction_failed(
    tables: TablesDB, database: str, alerts: str
) -> None:
    """Rolling back discards the staged rows; the transaction reads as failed and cannot be committed."""
    transaction = tables.create_transaction()
    tables.create_row(database, alerts, "r1", FIRING, transaction_id=transaction.id)
    assert tables.update_transaction(transaction.id, rollback=True).status == "failed"
    assert _ids(tables, database, alerts) == []
    raises(lambda: tables.update_transaction(transaction.id, commit=True), 400, "transaction_not_ready")


def test_a_row_changed_after_staging_makes_the_commit_409_transaction_conflict(
    tables: TablesDB, database: str, alerts: str
) -> None:
    """A staged update of a row someone else wrote meanwhile fails the whole commit with a conflict."""
    tables.create_row(database, alerts, "r1", FIRING)
    transaction = tables.create_transaction()
    tables.create_row(database, alerts, "r2", {"fingerprint": "fp-2", "status": "firing"},
                      transaction_id=transaction.id)
    tables.update_row(database, alerts, "r1", {"count": 1}, transaction_id=transaction.id)
    staged_at = tables.get_transaction(transaction.id).updatedat
    counts = itertools.count(2)
    # Timestamps have millisecond precision: write until the outside change is strictly later.
    outside = poll(lambda: tables.update_row(database, alerts, "r1", {"count": next(counts)}),
                   lambda row: datetime.fromisoformat(row.updatedat) > datetime.fromisoformat(staged_at))
    raises(lambda: tables.update_transaction(transaction.id, commit=True), 409, "transaction_conflict")
    assert tables.get_transaction(transaction.id).status == "failed"
    assert tables.get_row(database, alerts, "r1").data["count"] == outside.data["count"]
    assert _ids(tables, database, alerts) == ["r1"]


def test_a_commit_is_all_or_nothing(tables: TablesDB, database: str, alerts: str) -> None:
    """One invalid staged row fails the commit and none of the other staged rows is written."""
    transaction = tables.create_transaction()
    tables.create_row(database, alerts, "good", FIRING, transaction_id=transaction.id)
    tables.create_row(database, alerts, "bad", {"fingerprint": "fp-2", "status": "exploded"},
                      transaction_id=transaction.id)
    raises(lambda: tables.update_transaction(transaction.id, commit=True), 400, "document_invalid_structure")
    assert _ids(tables, database, alerts) == []


def test_staging_a_create_of_an_existing_row_conflicts_at_commit(tables: TablesDB, database: str, alerts: str) -> None:
    """A staged create whose ID was taken before the commit is 409 transaction_conflict."""
    transaction = tables.create_transaction()
    tables.create_row(database, alerts, "r1", FIRING, transaction_id=transaction.id)
    tables.create_row(database, alerts, "r1", {"fingerprint": "fp-other", "status": "firing"})
    raises(lambda: tables.update_transaction(transaction.id, commit=True), 409, "transaction_conflict")


def test_more_than_100_operations_is_400_transaction_limit_exceeded(
    tables: TablesDB, database: str, alerts: str
) -> None:
    """A transaction holds at most 100 operations; a bulk call counts as one."""
    transaction = tables.create_transaction()
    operations = [{"action": "create", "databaseId": database, "tableId": alerts, "rowId": f"r{number}",
                   "data": {"fingerprint": f"fp-{number}", "status": "firing"}} for number in range(99)]
    tables.create_operations(transaction.id, operations)
    rows = [{"$id": f"b{number}", "fingerprint": f"fb-{number}", "status": "firing"} for number in range(100)]
    assert tables.upsert_rows(database, alerts, rows, transaction_id=transaction.id).total == 100
    raises(lambda: tables.create_row(database, alerts, "one-more", FIRING, transaction_id=transaction.id),
           400, "transaction_limit_exceeded")
    tables.update_transaction(transaction.id, commit=True)
    assert tables.list_rows(database, alerts, [Query.limit(1)]).total == 199


def test_an_expired_transaction_is_410_transaction_expired(
    target: Target, tables: TablesDB, database: str, alerts: str, mocker: MockerFixture
) -> None:
    """Past its ttl a transaction refuses more operations and the commit with 410 transaction_expired."""
    target.require_control()
    transaction = tables.create_transaction(ttl=60)
    tables.create_row(database, alerts, "r1", FIRING, transaction_id=transaction.id)
    clock = mocker.patch("devkit.emulator.transactions._now")
    clock.return_value = datetime.fromisoformat(transaction.expiresat).timestamp() + 1
    raises(lambda: tables.create_row(database, alerts, "r2", FIRING, transaction_id=transaction.id),
           410, "transaction_expired")
    raises(lambda: tables.update_transaction(transaction.id, commit=True), 410, "transaction_expired")
    assert _ids(tables, database, alerts) == []


def test_commit_needs_exactly_one_of_commit_and_rollback(tables: TablesDB) -> None:
    """Neither or both of commit and rollback is 400 general_bad_request."""
    transaction = tables.create_transaction()
    raises(lambda: tables.update_transaction(transaction.id), 400, "general_bad_request")
    raises(lambda: tables.update_transaction(transaction.id, commit=True, rollback=True), 400, "general_bad_request")


def test_a_deleted_transaction_is_404_transaction_not_found(target: Target, tables: TablesDB) -> None:
    """Deleting a transaction answers 204; afterwards it is 404 transaction_not_found."""
    transaction = tables.create_transaction()
    assert target.raw("DELETE", f"/tablesdb/transactions/{transaction.id}").status_code == 204
    raises(lambda: tables.get_transaction(transaction.id), 404, "transaction_not_found")


def test_an_unknown_transaction_id_on_a_row_write_is_404_transaction_not_found(
    tables: TablesDB, database: str, alerts: str
) -> None:
    """A row write naming a transaction that does not exist is 404 transaction_not_found."""
    raises(lambda: tables.create_row(database, alerts, "r1", FIRING, transaction_id="missing"),
           404, "transaction_not_found")
