"""`python scripts/bootstrap_schema.py` against the Appwrite emulator, inspected through the official SDK."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from appwrite.enums.tables_db_index_type import TablesDBIndexType
from appwrite.query import Query

from devkit.emulator.hooks import FaultMode, SchemaKind
from ops.provision import apply_schema
from src.core.schema import EnumColumn, VarcharColumn, load_schema
from tests.ops.support import PROJECT, SCRIPT_PATH, Project

SCHEMA = load_schema()
TABLE = SCHEMA.table("alerts")
RESOURCE_COUNT = 1 + sum(1 + len(t.columns) + len(t.indexes) for t in SCHEMA.tables) + len(SCHEMA.topics)
READ_SCOPES = ["databases.read", "tables.read", "columns.read", "indexes.read", "topics.read"]


def columns_of(project: Project, database: str = "monitoring", table: str = "alerts") -> dict[str, dict[str, Any]]:
    listed = project.tables.list_columns(database, table, queries=[Query.limit(100)])
    return {c.key: c.to_dict() for c in listed.columns}


def indexes_of(project: Project, database: str = "monitoring", table: str = "alerts") -> dict[str, dict[str, Any]]:
    return {i.key: i.to_dict() for i in project.tables.list_indexes(database, table).indexes}


def assert_as_declared(project: Project, database: str = "monitoring", table: str = "alerts") -> None:
    columns = columns_of(project, database, table)
    assert list(columns) == [c.key for c in TABLE.columns]
    for declared in TABLE.columns:
        actual = columns[declared.key]
        assert actual["status"] == "available"
        assert (actual["required"], actual["array"]) == (declared.required, declared.array)
        if isinstance(declared, EnumColumn):
            assert (actual["type"], actual["format"], actual["elements"]) == ("string", "enum", list(declared.elements))
        else:
            assert actual["type"] == declared.type
        if isinstance(declared, VarcharColumn):
            assert actual["size"] == declared.size
    indexes = indexes_of(project, database, table)
    assert {k: (i["type"], i["columns"], i["status"]) for k, i in indexes.items()} == {
        i.key: (i.type, list(i.columns), "available") for i in TABLE.indexes
    }


def test_fresh_project_is_bootstrapped_in_one_run_exactly_as_declared(project: Project) -> None:
    run = project.bootstrap()
    assert run.code == 0, run.err
    assert len(run.lines("created")) == RESOURCE_COUNT
    assert "created column alerts.fingerprint varchar(64), required" in run.lines("created")
    assert "Done: created" in run.out
    assert "waiting for 17 columns of table alerts" in run.err
    assert "Traceback" not in run.err
    assert project.tables.get("monitoring").name == "Monitoring"
    assert project.tables.get_table("monitoring", "alerts").rowsecurity is False
    assert_as_declared(project)
    for topic in SCHEMA.topics:
        found = project.messaging.get_topic(topic.id)
        assert (found.name, found.subscribe) == (topic.name, list(topic.subscribe))


def test_second_run_changes_nothing_and_makes_no_write_call(project: Project) -> None:
    assert project.bootstrap().code == 0
    project.control.reset_calls()
    run = project.bootstrap()
    assert (run.code, project.writes()) == (0, {})
    assert len(run.lines("exists")) == RESOURCE_COUNT
    assert "Everything is up to date; nothing to do." in run.out


@pytest.mark.parametrize("mode", ["status", "drop_before", "drop_after"])
@pytest.mark.parametrize(
    ("path", "step"),
    [
        (r"/tables/alerts/columns/enum$", "creating column alerts.status"),
        (r"/tables/alerts/indexes$", "creating index alerts.fingerprint_unique"),
        (r"/messaging/topics$", "creating topic critical-alerts"),
    ],
    ids=["column", "index", "topic"],
)
def test_run_interrupted_halfway_is_completed_by_the_next(
    project: Project, mode: FaultMode, path: str, step: str
) -> None:
    project.control.add_fault(path, method="POST", count=1, mode=mode, status=503)
    first = project.bootstrap()
    assert first.code == 2
    [message] = first.err.strip().splitlines()[-1:]
    assert message.startswith("error: ") and step in message and "run again" in message
    assert "Traceback" not in first.err
    second = project.bootstrap()
    assert second.code == 0, second.out + second.err
    assert "exists table alerts" in second.lines("exists")
    assert len(second.lines("created")) + len(second.lines("exists")) == RESOURCE_COUNT
    assert_as_declared(project)


def _hand_made_table(project: Project) -> None:
    project.tables.create("monitoring", "Monitoring")
    project.tables.create_table("monitoring", "alerts", "Alerts")


def _column(make: Callable[[Project], Any], key: str) -> Callable[[Project], None]:
    def setup(project: Project) -> None:
        _hand_made_table(project)
        make(project)
        project.wait_available(lambda: project.tables.list_columns("monitoring", "alerts").columns, key)

    return setup


def _varchar(key: str, size: int, *, required: bool) -> Callable[[Project], None]:
    return _column(lambda p: p.tables.create_varchar_column("monitoring", "alerts", key, size, required), key)


def _index(index_type: TablesDBIndexType, columns: list[str]) -> Callable[[Project], None]:
    def setup(project: Project) -> None:
        _hand_made_table(project)
        for key in ("status", "severity"):
            declared = TABLE.column(key)
            if isinstance(declared, EnumColumn):
                project.tables.create_enum_column("monitoring", "alerts", key, list(declared.elements), True)
            else:
                project.tables.create_varchar_column("monitoring", "alerts", key, 32, False)
            project.wait_available(lambda: project.tables.list_columns("monitoring", "alerts").columns, key)
        project.tables.create_index("monitoring", "alerts", "status_key", index_type, columns)
        project.wait_available(lambda: project.tables.list_indexes("monitoring", "alerts").indexes, "status_key")

    return setup


DRIFT_CASES = {
    "column-size": (
        _column(
            lambda p: p.tables.create_varchar_column("monitoring", "alerts", "fingerprint", 32, True), "fingerprint"
        ),
        "drift column alerts.fingerprint size: schema 64, Appwrite 32",
    ),
    "column-type": (
        _column(lambda p: p.tables.create_text_column("monitoring", "alerts", "summary", False), "summary"),
        "drift column alerts.summary type: schema varchar(1024), Appwrite text",
    ),
    "column-required": (
        _varchar("severity", 32, required=True),
        "drift column alerts.severity required: schema no, Appwrite yes",
    ),
    "column-array": (
        _column(lambda p: p.tables.create_text_column("monitoring", "alerts", "labels", False, array=True), "labels"),
        "drift column alerts.labels array: schema no, Appwrite yes",
    ),
    "enum-elements": (
        _column(lambda p: p.tables.create_enum_column("monitoring", "alerts", "status", ["firing"], True), "status"),
        "drift column alerts.status elements: schema (firing|resolved), Appwrite (firing)",
    ),
    "index-columns": (
        _index(TablesDBIndexType.KEY, ["status", "severity"]),
        "drift index alerts.status_key columns: schema (status), Appwrite (status, severity)",
    ),
    "index-type": (
        _index(TablesDBIndexType.UNIQUE, ["status"]),
        "drift index alerts.status_key type: schema key, Appwrite unique",
    ),
}


@pytest.mark.parametrize("case", DRIFT_CASES.values(), ids=DRIFT_CASES.keys())
def test_drift_is_reported_and_left_untouched(project: Project, case: tuple[Callable[[Project], None], str]) -> None:
    setup, expected = case
    setup(project)
    before = (columns_of(project), indexes_of(project))
    project.control.reset_calls()
    run = project.bootstrap()
    assert run.code == 1
    assert run.lines("drift") == [expected]
    assert "The function may still work" in run.out
    assert not any(route.startswith(("DELETE", "PATCH", "PUT")) for route in project.writes())
    after_columns, after_indexes = columns_of(project), indexes_of(project)
    assert {k: after_columns[k] for k in before[0]} == before[0]
    assert {k: after_indexes[k] for k in before[1]} == before[1]
    # Everything else was still created.
    assert set(after_columns) == {c.key for c in TABLE.columns}


def test_columns_and_indexes_not_in_the_schema_are_reported_as_extra(project: Project) -> None:
    assert project.bootstrap().code == 0
    project.tables.create_text_column("monitoring", "alerts", "note", False)
    project.wait_available(lambda: project.tables.list_columns("monitoring", "alerts").columns, "note")
    project.tables.create_index("monitoring", "alerts", "note_key", TablesDBIndexType.KEY, ["alertname"])
    project.wait_available(lambda: project.tables.list_indexes("monitoring", "alerts").indexes, "note_key")
    run = project.bootstrap()
    assert run.code == 0
    assert run.lines("extra") == [
        "extra column alerts.note text; not in the schema",
        "extra index alerts.note_key key on (alertname); not in the schema",
    ]


@pytest.mark.parametrize(("args", "code", "action"), [(["--dry-run"], 0, "would create"), (["--check"], 1, "missing")])
def test_dry_run_and_check_write_nothing(project: Project, args: list[str], code: int, action: str) -> None:
    run = project.bootstrap(*args)
    assert run.code == code
    assert len(run.lines(action)) == RESOURCE_COUNT
    assert project.writes() == {}
    assert project.control.calls()  # it did look


def test_check_passes_once_everything_is_in_place_with_read_scopes_only(project: Project) -> None:
    assert project.bootstrap().code == 0
    project.control.add_key("reader", READ_SCOPES)
    project.control.reset_calls()
    run = project.bootstrap("--check", env=project.env(APPWRITE_API_KEY="reader"))
    assert (run.code, project.writes()) == (0, {})
    assert len(run.lines("exists")) == RESOURCE_COUNT


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("env", "scopes", "words"),
    [
        ({"APPWRITE_ENDPOINT": ""}, None, "missing setting: endpoint (--endpoint or APPWRITE_ENDPOINT)"),
        ({"APPWRITE_API_KEY": ""}, None, "missing setting: API key (--key or APPWRITE_API_KEY)"),
        ({"APPWRITE_ENDPOINT": "http://127.0.0.1:{port}/v1"}, None, "cannot reach Appwrite at http://127.0.0.1:"),
        ({"APPWRITE_API_KEY": "standard_wrong-key"}, None, "Appwrite refused the API key for project"),
        ({"APPWRITE_API_KEY": "limited"}, READ_SCOPES, "lacks a scope for creating database monitoring"),
        ({"APPWRITE_API_KEY": "limited"}, ["topics.read"], "lacks a scope for reading database monitoring"),
        ({"ALERTS_TABLE_ID": "bad id"}, None, "ALERTS_TABLE_ID='bad id' is not a valid Appwrite ID"),
    ],
    ids=["no-endpoint", "no-key", "unreachable", "wrong-key", "read-only-key", "key-without-scopes", "bad-id"],
)
def test_connection_and_permission_problems_are_one_line_errors_with_exit_2(
    project: Project, env: dict[str, str], scopes: list[str] | None, words: str
) -> None:
    if scopes is not None:
        project.control.add_key(env["APPWRITE_API_KEY"], scopes)
    settings = {k: v.format(port=_closed_port()) for k, v in env.items()}
    run = project.bootstrap(env=project.env(**settings))
    assert run.code == 2
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and words in errors[0], run.err
    assert "Traceback" not in run.err
    assert project.emulator.api_key not in run.out + run.err
    if "scope" in words:
        assert "databases.read, databases.write, tables.read, tables.write, columns.read" in errors[0]


def test_column_stuck_in_processing_is_reported_at_the_timeout(project: Project) -> None:
    project.control.fail_schema(kind="column", key="severity", outcome="stuck", error="")
    run = project.bootstrap("--timeout", "0.3")
    assert run.code == 1
    assert run.lines("processing") == [
        "processing column alerts.severity still processing after 0.3 s; Appwrite goes on in the background, run again"
    ]
    assert run.lines("missing") == ["missing index alerts.severity_key not created: column severity is not available"]
    assert "created index alerts.status_key key on (status)" in run.lines("created")
    assert "larger --timeout" in run.out
    assert "waiting for 17 columns of table alerts to become available (up to 0.3 s)" in run.err
    assert re.search(r"16/17 columns of table alerts done after [0-9.]+ s", run.err)


@pytest.mark.parametrize(
    ("kind", "key", "line"),
    [
        ("column", "severity", "failed column alerts.severity Appwrite could not create it: disk full;"),
        ("index", "status_key", "failed index alerts.status_key Appwrite could not create it: disk full;"),
    ],
    ids=["column", "index"],
)
def test_column_or_index_that_fails_is_reported_with_appwrites_error(
    project: Project, kind: SchemaKind, key: str, line: str
) -> None:
    project.control.fail_schema(kind=kind, key=key, outcome="failed", error="disk full")
    run = project.bootstrap()
    assert run.code == 1
    [failed] = run.lines("failed")
    assert failed.startswith(line)
    assert "delete the failed resource" in run.out


def test_json_output_lists_every_resource_and_a_summary(project: Project) -> None:
    run = project.bootstrap("--json")
    assert run.code == 0
    document = run.json()
    assert [(r["resource"], r["id"], r["action"]) for r in document["results"]] == [
        ("database", "monitoring", "created"),
        *[
            resource
            for table in SCHEMA.tables
            for resource in [
                ("table", table.id, "created"),
                *[("column", f"{table.id}.{c.key}", "created") for c in table.columns],
                *[("index", f"{table.id}.{i.key}", "created") for i in table.indexes],
            ]
        ],
        *[("topic", t.id, "created") for t in SCHEMA.topics],
    ]
    assert document["summary"] == {
        "mode": "apply",
        "ok": True,
        "exit_code": 0,
        "counts": {"created": RESOURCE_COUNT},
        "message": f"Done: created {RESOURCE_COUNT} resources; everything is in place.",
        "warnings": [],
    }


def test_json_output_of_an_error_carries_it_in_the_summary(project: Project) -> None:
    run = project.bootstrap("--json", "--check", env=project.env(APPWRITE_API_KEY="standard_wrong-key"))
    assert run.code == 2
    summary = run.json()["summary"]
    assert (summary["ok"], summary["exit_code"]) == (False, 2)
    assert "Appwrite refused the API key" in summary["error"]


def test_renamed_resources_follow_the_functions_variables(project: Project) -> None:
    renames = {
        "ALERTS_DATABASE_ID": "ops",
        "ALERTS_TABLE_ID": "events",
        "CRITICAL_TOPIC_ID": "pager",
        "MONITORING_TOPIC_ID": "feed",
    }
    run = project.bootstrap(env=project.env(**renames))
    assert run.code == 0, run.err
    assert_as_declared(project, "ops", "events")
    assert [project.messaging.get_topic(t).name for t in ("pager", "feed")] == ["Critical alerts", "Monitoring alerts"]


def test_apply_schema_bootstraps_quietly_and_reports_success(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply_schema(project.emulator.endpoint, PROJECT, project.emulator.api_key)
    assert apply_schema(project.emulator.endpoint, PROJECT, project.emulator.api_key)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert_as_declared(project)


def test_apply_schema_is_false_with_a_one_line_error_when_appwrite_cannot_be_reached(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert not apply_schema(f"http://127.0.0.1:{_closed_port()}/v1", PROJECT, "secret-key")
    err = capsys.readouterr().err
    assert err.startswith("bootstrap: error: cannot reach Appwrite") and err.count("\n") == 1
    assert "secret-key" not in err


def test_script_runs_as_a_subprocess_from_any_directory(project: Project, tmp_path: Any) -> None:
    assert project.bootstrap().code == 0
    env = {**os.environ, **project.env()}
    done = subprocess.run(
        [sys.executable, str(SCRIPT_PATH), "--check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Everything is up to date" in done.stdout
    shown = subprocess.run(
        [sys.executable, str(SCRIPT_PATH), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "collection" in shown.stdout and "attributes" in shown.stdout and "topics.write" in shown.stdout
