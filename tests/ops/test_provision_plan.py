"""The pure planner: the schema compared with records of what Appwrite has, without a server."""

from __future__ import annotations

from dataclasses import replace

import pytest
from appwrite.models.column_index_list import ColumnIndexList
from appwrite.models.column_list import ColumnList

from ops.provision import (
    Action,
    ActualColumn,
    ActualIndex,
    ActualTable,
    ActualTopic,
    Mode,
    Observed,
    Result,
    State,
    column_record,
    exit_code,
    index_record,
    plan,
    preview,
    summarize,
)
from src.core.schema import Column, EnumColumn, Index, IntegerColumn, Schema, VarcharColumn, load_schema, parse_schema

SCHEMA = load_schema()
TABLE = SCHEMA.table("alerts")


def as_appwrite_has_it(column: Column, status: str = "available") -> ActualColumn:
    return ActualColumn(
        key=column.key,
        kind=column.type,
        required=column.required,
        array=column.array,
        status=status,
        size=column.size if isinstance(column, VarcharColumn) else None,
        elements=column.elements if isinstance(column, EnumColumn) else (),
        min=column.min if isinstance(column, IntegerColumn) else None,
        max=column.max if isinstance(column, IntegerColumn) else None,
    )


def index_as_appwrite_has_it(index: Index, status: str = "available") -> ActualIndex:
    return ActualIndex(index.key, index.type, index.columns, (), status)


def in_place(schema: Schema = SCHEMA) -> Observed:
    """Everything the schema declares, exactly as declared."""
    tables = {
        table.id: ActualTable(
            row_security=table.row_security,
            permissions=table.permissions,
            columns={c.key: as_appwrite_has_it(c) for c in table.columns},
            indexes={i.key: index_as_appwrite_has_it(i) for i in table.indexes},
        )
        for table in schema.tables
    }
    topics = {topic.id: ActualTopic(topic.subscribe) for topic in schema.topics}
    return Observed(database=True, tables=tables, topics=topics)


def with_column(observed: Observed, column: ActualColumn) -> Observed:
    table = observed.tables["alerts"]
    columns = {**table.columns, column.key: column}
    return replace(observed, tables={"alerts": replace(table, columns=columns)})


def with_index(observed: Observed, index: ActualIndex) -> Observed:
    table = observed.tables["alerts"]
    indexes = {**table.indexes, index.key: index}
    return replace(observed, tables={"alerts": replace(table, indexes=indexes)})


def step_for(observed: Observed, shown_id: str) -> tuple[State, str]:
    found = [s for s in plan(SCHEMA, observed).steps() if s.id == shown_id]
    assert len(found) == 1, shown_id
    return found[0].state, found[0].detail


def test_fresh_project_plans_every_resource_missing_in_dependency_order() -> None:
    steps = list(plan(SCHEMA, Observed(database=False)).steps())
    events = SCHEMA.table("alert_events")
    sms = SCHEMA.table("sms_log")
    assert [(s.kind.value, s.id) for s in steps] == [
        ("database", "monitoring"),
        ("table", "alerts"),
        *[("column", f"alerts.{c.key}") for c in TABLE.columns],
        *[("index", f"alerts.{i.key}") for i in TABLE.indexes],
        ("table", "alert_events"),
        *[("column", f"alert_events.{c.key}") for c in events.columns],
        *[("index", f"alert_events.{i.key}") for i in events.indexes],
        ("table", "sms_log"),
        *[("column", f"sms_log.{c.key}") for c in sms.columns],
        *[("index", f"sms_log.{i.key}") for i in sms.indexes],
        *[("topic", t.id) for t in SCHEMA.topics],
    ]
    assert {s.state for s in steps} == {State.MISSING}


def test_everything_as_declared_plans_nothing_to_do() -> None:
    assert {s.state for s in plan(SCHEMA, in_place()).steps()} == {State.EXISTS}


def test_table_with_half_its_columns_plans_only_the_rest() -> None:
    observed = in_place()
    table = observed.tables["alerts"]
    kept = {key: c for n, (key, c) in enumerate(table.columns.items()) if n % 2 == 0}
    observed = replace(observed, tables={"alerts": replace(table, columns=kept, indexes={})})
    the_plan = plan(SCHEMA, observed)
    missing = {s.key for s in the_plan.tables[0].columns if s.state is State.MISSING}
    assert missing == {c.key for c in TABLE.columns} - set(kept)
    assert {s.state for s in the_plan.tables[0].indexes} == {State.MISSING}


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (ActualColumn("fingerprint", "varchar", True, False, "available", size=32), "size: schema 64, Appwrite 32"),
        (ActualColumn("fingerprint", "text", True, False, "available"), "type: schema varchar(64), Appwrite text"),
        (
            ActualColumn("fingerprint", "string", True, False, "available", size=64),
            "type: schema varchar(64), Appwrite string(64)",
        ),
        (
            ActualColumn("fingerprint", "varchar", False, False, "available", size=64),
            "required: schema yes, Appwrite no",
        ),
        (ActualColumn("fingerprint", "varchar", True, True, "available", size=64), "array: schema no, Appwrite yes"),
        (
            ActualColumn("status", "enum", True, False, "available", elements=("firing",)),
            "elements: schema (firing|resolved), Appwrite (firing)",
        ),
        (ActualColumn("startsAt", "varchar", True, False, "available", size=30), "type: schema datetime"),
    ],
    ids=["size", "type", "legacy-string", "required", "array", "enum-elements", "datetime-as-varchar"],
)
def test_column_that_differs_is_drift_saying_schema_and_appwrite_values(column: ActualColumn, expected: str) -> None:
    state, detail = step_for(with_column(in_place(), column), f"alerts.{column.key}")
    assert state is State.DRIFT
    assert expected in detail


def test_column_drift_lists_every_difference() -> None:
    column = ActualColumn("summary", "varchar", True, False, "available", size=100)
    assert step_for(with_column(in_place(), column), "alerts.summary") == (
        State.DRIFT,
        "size: schema 1024, Appwrite 100; required: schema no, Appwrite yes",
    )


def test_enum_elements_in_another_order_are_not_drift() -> None:
    column = ActualColumn("status", "enum", True, False, "available", elements=("resolved", "firing"))
    assert step_for(with_column(in_place(), column), "alerts.status") == (State.EXISTS, "")


def test_integer_bounds_are_compared_only_when_declared() -> None:
    text = '{"database": {"id": "d", "name": "D"}, "tables": [{"id": "alerts", "name": "A", "columns": [%s]}]}'
    schema = parse_schema(text % '{"key": "n", "type": "integer", "min": 0}')
    column = schema.table("alerts").column("n")
    assert isinstance(column, IntegerColumn)
    observed = in_place(schema)
    same_min = replace(as_appwrite_has_it(column), min=0, max=2**63 - 1)
    other_min = replace(same_min, min=-5)
    assert plan(schema, with_column(observed, same_min)).tables[0].columns[0].state is State.EXISTS
    drift = plan(schema, with_column(observed, other_min)).tables[0].columns[0]
    assert (drift.state, drift.detail) == (State.DRIFT, "min: schema 0, Appwrite -5")


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (
            ActualIndex("fingerprint_unique", "key", ("fingerprint",), (), "available"),
            "type: schema unique, Appwrite key",
        ),
        (
            ActualIndex("status_key", "key", ("status", "severity"), (), "available"),
            "columns: schema (status), Appwrite (status, severity)",
        ),
        (
            ActualIndex("startsAt_key", "key", ("startsAt",), ("DESC",), "available"),
            "orders: schema [], Appwrite ['DESC']",
        ),
    ],
    ids=["type", "columns", "orders"],
)
def test_index_that_differs_is_drift(index: ActualIndex, expected: str) -> None:
    assert step_for(with_index(in_place(), index), f"alerts.{index.key}") == (State.DRIFT, expected)


@pytest.mark.parametrize("orders", [(), ("",), ("ASC",), ("asc",)], ids=["none", "null", "ASC", "asc"])
def test_unspecified_index_order_matches_ascending(orders: tuple[str, ...]) -> None:
    index = ActualIndex("startsAt_key", "key", ("startsAt",), orders, "available")
    assert step_for(with_index(in_place(), index), "alerts.startsAt_key") == (State.EXISTS, "")


def test_table_and_topic_settings_that_differ_are_drift() -> None:
    observed = in_place()
    table = replace(observed.tables["alerts"], row_security=True, permissions=('read("any")',))
    observed = replace(
        observed, tables={"alerts": table}, topics={**observed.topics, "critical-alerts": ActualTopic(("users",))}
    )
    assert step_for(observed, "alerts") == (
        State.DRIFT,
        'rowSecurity: schema no, Appwrite yes; permissions: schema [], Appwrite [read("any")]',
    )
    assert step_for(observed, "critical-alerts") == (State.DRIFT, "subscribe: schema [], Appwrite [users]")


def test_columns_and_indexes_not_in_the_schema_are_extra() -> None:
    observed = with_column(in_place(), ActualColumn("note", "text", False, False, "available"))
    observed = with_index(observed, ActualIndex("note_key", "key", ("note",), (), "available"))
    assert step_for(observed, "alerts.note") == (State.EXTRA, "text; not in the schema")
    assert step_for(observed, "alerts.note_key") == (State.EXTRA, "key on (note); not in the schema")


@pytest.mark.parametrize(
    ("status", "error", "state", "detail"),
    [
        ("processing", "", State.PROCESSING, "Appwrite is still creating it"),
        ("failed", "disk full", State.FAILED, "Appwrite could not create it: disk full; delete it and run again"),
        ("stuck", "", State.FAILED, "Appwrite reports status 'stuck'"),
    ],
)
def test_column_status_other_than_available_is_reported(status: str, error: str, state: State, detail: str) -> None:
    column = replace(as_appwrite_has_it(TABLE.column("severity"), status), error=error)
    assert step_for(with_column(in_place(), column), "alerts.severity") == (state, detail)


def test_sdk_models_become_records_despite_the_sdk_union_parsing() -> None:
    """The SDK parses every column as one union member; the records keep what the server sent."""
    stamp = {"$createdAt": "", "$updatedAt": "", "status": "available", "error": "", "array": False}
    columns = ColumnList.model_validate(
        {
            "total": 3,
            "columns": [
                {"key": "a", "type": "varchar", "size": 64, "required": True, **stamp},
                {"key": "b", "type": "string", "format": "enum", "elements": ["x", "y"], "size": 255, **stamp},
                {"key": "c", "type": "string", "size": 10, **stamp},
            ],
        }
    )
    records = [column_record(c.to_dict()) for c in columns.columns]
    assert [(r.key, r.kind, r.size, r.elements, r.required) for r in records] == [
        ("a", "varchar", 64, (), True),
        ("b", "enum", 255, ("x", "y"), False),
        ("c", "string", 10, (), False),
    ]
    indexes = ColumnIndexList.model_validate(
        {"total": 1, "indexes": [{"key": "i", "type": "key", "columns": ["a", "b"], "orders": [None, "DESC"]}]}
    )
    assert index_record(indexes.indexes[0].to_dict()).orders == ("", "DESC")


@pytest.mark.parametrize(
    ("actions", "mode", "code"),
    [
        ([Action.CREATED, Action.EXISTS, Action.EXTRA], Mode.APPLY, 0),
        ([Action.EXISTS, Action.DRIFT], Mode.APPLY, 1),
        ([Action.EXISTS, Action.FAILED], Mode.APPLY, 1),
        ([Action.EXISTS, Action.PROCESSING], Mode.APPLY, 1),
        ([Action.EXISTS, Action.MISSING], Mode.CHECK, 1),
        ([Action.EXISTS, Action.EXTRA], Mode.CHECK, 0),
        ([Action.WOULD_CREATE, Action.EXISTS], Mode.DRY_RUN, 0),
        ([Action.WOULD_CREATE, Action.DRIFT], Mode.DRY_RUN, 1),
    ],
)
def test_exit_code_is_1_exactly_when_the_project_is_not_as_declared(
    actions: list[Action], mode: Mode, code: int
) -> None:
    assert exit_code([Result("column", str(n), a) for n, a in enumerate(actions)], mode) == code


def test_preview_says_would_create_in_a_dry_run_and_missing_in_a_check() -> None:
    fresh = plan(SCHEMA, Observed(database=False))
    assert {r.action for r in preview(fresh, Mode.DRY_RUN)} == {Action.WOULD_CREATE}
    assert {r.action for r in preview(fresh, Mode.CHECK)} == {Action.MISSING}


@pytest.mark.parametrize(
    ("action", "words"),
    [
        (Action.DRIFT, "The function may still work"),
        (Action.FAILED, "delete the failed resource"),
        (Action.PROCESSING, "larger --timeout"),
        (Action.EXISTS, "Everything is up to date"),
        (Action.CREATED, "everything is in place"),
    ],
)
def test_summary_says_what_to_do(action: Action, words: str) -> None:
    assert words in summarize([Result("column", "alerts.x", action)], Mode.APPLY)
