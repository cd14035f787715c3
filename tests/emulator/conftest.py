"""Fixtures for the emulator contract tests: one emulator per session, reset before every test.

With APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID and APPWRITE_API_KEY set, the same tests run against a real
Appwrite instead; tests needing control hooks are skipped and every test uses fresh IDs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from appwrite.services.tables_db import TablesDB

from devkit.emulator import Emulator
from tests.emulator.support import Target, new_id, poll, value_of

PROCESSING_SECONDS = 0.02
PROJECT_ID = "contract-tests"
# Read at import: other suites' session fixtures clear APPWRITE_API_KEY before tests run.
_REAL_APPWRITE = tuple(os.environ.get(name, "") for name in
                       ("APPWRITE_ENDPOINT", "APPWRITE_PROJECT_ID", "APPWRITE_API_KEY"))


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    endpoint, project, key = _REAL_APPWRITE
    if endpoint and project and key:
        real = Target(endpoint, project, key, None)
        yield real
        tables, messaging = real.tables(), real.messaging()
        for database_id in real.created_databases:
            tables.delete(database_id)
        for topic_id in real.created_topics:
            messaging.delete_topic(topic_id)
        return
    with Emulator(processing_seconds=PROCESSING_SECONDS, project_id=PROJECT_ID) as emulator:
        yield Target(emulator.endpoint, PROJECT_ID, emulator.api_key, emulator.control)


@pytest.fixture(autouse=True)
def _fresh_state(target: Target) -> None:
    if target.control is not None:
        target.control.reset()


@pytest.fixture
def tables(target: Target) -> TablesDB:
    return target.tables()


@pytest.fixture
def database(target: Target, tables: TablesDB) -> str:
    """A new, empty database."""
    database_id = new_id("db")
    tables.create(database_id, "Contract tests")
    target.created_databases.append(database_id)
    return database_id


ALERT_COLUMNS: list[dict[str, Any]] = [
    {"key": "fingerprint", "type": "varchar", "size": 64, "required": True},
    {"key": "status", "type": "enum", "elements": ["firing", "resolved"], "required": True},
    {"key": "severity", "type": "varchar", "size": 32, "required": False},
    {"key": "count", "type": "integer", "required": False},
    {"key": "active", "type": "boolean", "required": False},
    {"key": "startsAt", "type": "datetime", "required": False},
    {"key": "labels", "type": "text", "required": False},
    {"key": "link", "type": "url", "required": False},
]


@pytest.fixture
def make_table(tables: TablesDB, database: str) -> Callable[..., str]:
    """Create a table (columns and indexes inline, so available at once); returns its ID."""

    def make(
        columns: list[dict[str, Any]] | None = None,
        indexes: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> str:
        table_id = new_id("tb")
        tables.create_table(
            database, table_id, "Table", columns=ALERT_COLUMNS if columns is None else columns,
            indexes=indexes or [], **options,
        )
        return table_id

    return make


@pytest.fixture
def alerts(make_table: Callable[..., str]) -> str:
    """A table with the alert-like columns of ALERT_COLUMNS and a unique index on fingerprint."""
    return make_table(indexes=[{"key": "fingerprint_unique", "type": "unique", "attributes": ["fingerprint"]}])


@pytest.fixture
def wait_column(tables: TablesDB, database: str) -> Callable[[str, str], Any]:
    def wait(table_id: str, key: str) -> Any:
        return poll(lambda: tables.get_column(database, table_id, key),
                    lambda column: value_of(column.status) != "processing")

    return wait


@pytest.fixture
def wait_index(tables: TablesDB, database: str) -> Callable[[str, str], Any]:
    def wait(table_id: str, key: str) -> Any:
        return poll(lambda: tables.get_index(database, table_id, key),
                    lambda index: value_of(index.status) != "processing")

    return wait
