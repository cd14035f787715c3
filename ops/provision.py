"""Prepare an Appwrite project for the function from the declarative schema: plan, apply, check.

Three layers, so that every decision can be tested without a server:

* `observe()` reads what Appwrite has (database, tables, columns, indexes, topics) through the official
  SDK and turns the SDK's models into the small frozen records below;
* `plan()` compares those records with the schema and returns one `Step` per resource: missing, exists,
  drift (saying what differs), failed, processing, or extra. It is pure;
* `apply_plan()` creates what is missing, in dependency order (database, table, columns, indexes,
  topics), waiting for Appwrite's asynchronous column and index builds.

Nothing here updates, deletes or recreates a resource: a difference is reported and left to a person.
`apply_schema()` is the entry point the other parts use; `scripts/bootstrap_schema.py` is the CLI.
Current Appwrite says TablesDB, tables, columns and rows; older documentation says databases,
collections, attributes and documents for the same things.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
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
    load_schema,
)
from src.delivery.sdk_errors import convert
from src.errors import AppwriteError, ConfigurationError, PermanentAppwriteError
from src.ids import ID_RULE, is_appwrite_id
from src.settings import (  # the function's own variable names and defaults, so renamed resources match
    DEFAULT_CRITICAL_TOPIC_ID,
    DEFAULT_EVENTS_TABLE_ID,
    DEFAULT_MONITORING_TOPIC_ID,
    DEFAULT_SMS_TABLE_ID,
    DEFAULT_TABLE_ID,
    ENV_CRITICAL_TOPIC_ID,
    ENV_DATABASE_ID,
    ENV_EVENTS_TABLE_ID,
    ENV_MONITORING_TOPIC_ID,
    ENV_SMS_TABLE_ID,
    ENV_TABLE_ID,
    read_topic_channels,
)

# ---------------------------------------------------------------------------------------------------
# Settings, validated once at the edge
# ---------------------------------------------------------------------------------------------------

ENV_ENDPOINT = "APPWRITE_ENDPOINT"
ENV_PROJECT = "APPWRITE_PROJECT_ID"
ENV_KEY = "APPWRITE_API_KEY"
DEFAULT_TIMEOUT = 60.0

REQUIRED_SCOPES = (
    "databases.read",
    "databases.write",
    "tables.read",
    "tables.write",
    "columns.read",
    "columns.write",
    "indexes.read",
    "indexes.write",
    "topics.read",
    "topics.write",
)

# Columns every table has; an index may name them without declaring them.
SYSTEM_COLUMNS = frozenset({"$id", "$createdAt", "$updatedAt"})


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and how to fix it."""


@dataclass(frozen=True)
class ResourceIds:
    """The IDs the resources get; each can be renamed through the variable the function also reads."""

    database: str
    table: str = DEFAULT_TABLE_ID
    critical_topic: str = DEFAULT_CRITICAL_TOPIC_ID
    monitoring_topic: str = DEFAULT_MONITORING_TOPIC_ID
    events: str = DEFAULT_EVENTS_TABLE_ID
    sms: str = DEFAULT_SMS_TABLE_ID


@dataclass(frozen=True)
class Settings:
    endpoint: str
    project_id: str
    api_key: str = field(repr=False)
    ids: ResourceIds
    timeout: float = DEFAULT_TIMEOUT


def load_settings(
    schema: Schema,
    env: Mapping[str, str],
    *,
    endpoint: str | None = None,
    project: str | None = None,
    key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Settings:
    """Settings from flags (when given) or the environment; raises ConfigError naming what is wrong."""
    connection = {
        "endpoint": (endpoint or env.get(ENV_ENDPOINT, ""), f"--endpoint or {ENV_ENDPOINT}"),
        "project": (project or env.get(ENV_PROJECT, ""), f"--project or {ENV_PROJECT}"),
        "API key": (key or env.get(ENV_KEY, ""), f"--key or {ENV_KEY}"),
    }
    missing = [f"{name} ({source})" for name, (value, source) in connection.items() if not value.strip()]
    if missing:
        raise ConfigError(
            f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)}; "
            "pass the flag or set the environment variable"
        )
    url = connection["endpoint"][0].strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"endpoint {url!r} is not an http(s) URL; pass --endpoint or set {ENV_ENDPOINT} "
            "to the API address, e.g. https://cloud.appwrite.io/v1"
        )
    if not timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    ids = ResourceIds(
        database=_resource_id(env, ENV_DATABASE_ID, schema.database.id),
        table=_resource_id(env, ENV_TABLE_ID, DEFAULT_TABLE_ID),
        critical_topic=_resource_id(env, ENV_CRITICAL_TOPIC_ID, DEFAULT_CRITICAL_TOPIC_ID),
        monitoring_topic=_resource_id(env, ENV_MONITORING_TOPIC_ID, DEFAULT_MONITORING_TOPIC_ID),
        events=_resource_id(env, ENV_EVENTS_TABLE_ID, DEFAULT_EVENTS_TABLE_ID),
        sms=_resource_id(env, ENV_SMS_TABLE_ID, DEFAULT_SMS_TABLE_ID),
    )
    tables = ((ENV_TABLE_ID, ids.table), (ENV_EVENTS_TABLE_ID, ids.events), (ENV_SMS_TABLE_ID, ids.sms))
    for index, (name, table_id) in enumerate(tables):
        for other, other_id in tables[index + 1:]:
            if table_id == other_id:
                raise ConfigError(f"{name} and {other} both name table {table_id!r}; give the two tables different IDs")
    if ids.critical_topic == ids.monitoring_topic:
        raise ConfigError(
            f"{ENV_CRITICAL_TOPIC_ID} and {ENV_MONITORING_TOPIC_ID} both name topic {ids.critical_topic!r}; "
            "give the two topics different IDs"
        )
    project_id = connection["project"][0].strip()
    if not is_appwrite_id(project_id):
        raise ConfigError(f"project ID {project_id!r} is not a valid Appwrite ID ({ID_RULE})")
    return Settings(url, project_id, connection["API key"][0].strip(), ids, timeout)


def _resource_id(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not is_appwrite_id(value):
        raise ConfigError(f"{name}={value!r} is not a valid Appwrite ID ({ID_RULE})")
    return value


# Every topic the function sends to: {topic: {what names it: the channels it sends there}}.
TopicNeeds = Mapping[str, Mapping[str, tuple[str, ...]]]


def read_topic_needs(env: Mapping[str, str], *, routes: str | None = None, fallback: str | None = None) -> TopicNeeds:
    """The topics the function's ALERT_ROUTES, HEARTBEAT_* and ALERT_FALLBACK name (`routes` and `fallback`, when
    given, stand for the two JSON variables); raises ConfigError listing every problem."""
    variables = dict(env)
    if routes is not None:
        variables["ALERT_ROUTES"] = routes
    if fallback is not None:
        variables["ALERT_FALLBACK"] = fallback
    try:
        needs = read_topic_channels(variables)
    except ConfigurationError as exc:
        raise ConfigError("; ".join(exc.problems)) from None
    invalid = [topic for topic in needs if not is_appwrite_id(topic)]
    if invalid:
        raise ConfigError(f"topic {invalid[0]!r} (named by {_named_by(needs[invalid[0]])}) is not a valid Appwrite "
                          f"ID ({ID_RULE})")
    return needs


def add_topics(schema: Schema, needs: TopicNeeds) -> Schema:
    """The schema with every needed topic it does not declare added, named after its ID, no subscribe roles."""
    declared = {topic.id for topic in schema.topics}
    extra = tuple(Topic(id=topic, name=topic) for topic in needs if topic not in declared)
    return schema.model_copy(update={"topics": schema.topics + extra}) if extra else schema


def _named_by(users: Mapping[str, tuple[str, ...]]) -> str:
    return ", ".join(users)


def rename_resources(schema: Schema, ids: ResourceIds) -> Schema:
    """The schema with the database, the tables and the two topics given the configured IDs."""
    tables = {DEFAULT_TABLE_ID: ids.table, DEFAULT_EVENTS_TABLE_ID: ids.events, DEFAULT_SMS_TABLE_ID: ids.sms}
    topics = {DEFAULT_CRITICAL_TOPIC_ID: ids.critical_topic, DEFAULT_MONITORING_TOPIC_ID: ids.monitoring_topic}
    return schema.model_copy(
        update={
            "database": schema.database.model_copy(update={"id": ids.database}),
            "tables": tuple(t.model_copy(update={"id": tables.get(t.id, t.id)}) for t in schema.tables),
            "topics": tuple(t.model_copy(update={"id": topics.get(t.id, t.id)}) for t in schema.topics),
        }
    )


# ---------------------------------------------------------------------------------------------------
# What Appwrite has, as plain records
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualColumn:
    key: str
    kind: str  # varchar, text, enum, datetime, integer, boolean, string, ...
    required: bool
    array: bool
    status: str
    error: str = ""
    size: int | None = None
    elements: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class ActualIndex:
    key: str
    type: str
    columns: tuple[str, ...]
    orders: tuple[str, ...]  # "" where Appwrite stored no order (ascending)
    status: str
    error: str = ""


@dataclass(frozen=True)
class ActualTable:
    row_security: bool
    permissions: tuple[str, ...]
    columns: Mapping[str, ActualColumn]
    indexes: Mapping[str, ActualIndex]


@dataclass(frozen=True)
class ActualTopic:
    subscribe: tuple[str, ...]
    # Subscribers by channel (Appwrite's emailTotal, smsTotal, pushTotal); None: not read.
    subscribers: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Observed:
    database: bool
    tables: Mapping[str, ActualTable] = field(default_factory=dict)  # an absent ID: no such table
    topics: Mapping[str, ActualTopic] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------
# The plan: one step per resource
# ---------------------------------------------------------------------------------------------------


class Kind(StrEnum):
    DATABASE = "database"
    TABLE = "table"
    COLUMN = "column"
    INDEX = "index"
    TOPIC = "topic"


class State(StrEnum):
    """What the planner found for a resource."""

    MISSING = "missing"
    EXISTS = "exists"
    PROCESSING = "processing"  # exists, Appwrite is still building it
    DRIFT = "drift"
    FAILED = "failed"
    EXTRA = "extra"  # in Appwrite, not in the schema


@dataclass(frozen=True)
class Step:
    kind: Kind
    id: str  # as shown: "alerts.fingerprint" for a column or an index
    key: str  # the resource's own ID or key
    state: State
    detail: str = ""


@dataclass(frozen=True)
class TablePlan:
    spec: Table
    step: Step
    columns: tuple[Step, ...]
    indexes: tuple[Step, ...]
    column_status: Mapping[str, str]  # what Appwrite reported for each existing column


@dataclass(frozen=True)
class Plan:
    schema: Schema
    database: Step
    tables: tuple[TablePlan, ...]
    topics: tuple[Step, ...]
    # Not wrong enough to fail: a topic a route sends to on a channel none of its subscribers has.
    warnings: tuple[str, ...] = ()

    def steps(self) -> Iterator[Step]:
        yield self.database
        for table in self.tables:
            yield table.step
            yield from table.columns
            yield from table.indexes
        yield from self.topics


def plan(schema: Schema, observed: Observed, needs: TopicNeeds | None = None) -> Plan:
    """Compare the schema with what Appwrite has; pure. `needs` says which topics the function sends to, on
    which channels, and what names each."""
    database = schema.database.id
    needs = needs or {}
    return Plan(
        schema=schema,
        database=Step(Kind.DATABASE, database, database, State.EXISTS if observed.database else State.MISSING),
        tables=tuple(_plan_table(table, observed.tables.get(table.id)) for table in schema.tables),
        topics=tuple(_plan_topic(topic, observed.topics.get(topic.id), needs.get(topic.id, {}))
                     for topic in schema.topics),
        warnings=tuple(
            warning for topic, users in needs.items() for warning in _subscriber_warnings(topic, users,
                                                                                        observed.topics.get(topic))
        ),
    )


def _subscriber_warnings(topic: str, users: Mapping[str, tuple[str, ...]], actual: ActualTopic | None) -> list[str]:
    """One warning per channel sent to an existing topic that has no subscriber of that channel."""
    if actual is None or actual.subscribers is None:
        return []
    channels = dict.fromkeys(channel for sent in users.values() for channel in sent)
    return [
        f"topic {topic!r} has no {channel} subscribers: "
        f"{', '.join(user for user, sent in users.items() if channel in sent)} sends {channel} to it, and nobody "
        "receives it; add a subscriber with a target of that channel"
        for channel in channels
        if actual.subscribers.get(channel, 0) == 0
    ]


def _plan_table(table: Table, actual: ActualTable | None) -> TablePlan:
    if actual is None:
        return TablePlan(
            spec=table,
            step=Step(Kind.TABLE, table.id, table.id, State.MISSING, _describe_table(table)),
            columns=tuple(_plan_column(table.id, c, None) for c in table.columns),
            indexes=tuple(_plan_index(table.id, i, None) for i in table.indexes),
            column_status={},
        )
    differences = table_drift(table, actual)
    declared_columns = {c.key for c in table.columns}
    declared_indexes = {i.key for i in table.indexes}
    extra_columns = [
        Step(Kind.COLUMN, f"{table.id}.{c.key}", c.key, State.EXTRA, f"{describe_actual_column(c)}; not in the schema")
        for c in actual.columns.values()
        if c.key not in declared_columns
    ]
    extra_indexes = [
        Step(Kind.INDEX, f"{table.id}.{i.key}", i.key, State.EXTRA, f"{describe_actual_index(i)}; not in the schema")
        for i in actual.indexes.values()
        if i.key not in declared_indexes
    ]
    return TablePlan(
        spec=table,
        step=Step(Kind.TABLE, table.id, table.id, State.DRIFT if differences else State.EXISTS, "; ".join(differences)),
        columns=tuple(_plan_column(table.id, c, actual.columns.get(c.key)) for c in table.columns)
        + tuple(extra_columns),
        indexes=tuple(_plan_index(table.id, i, actual.indexes.get(i.key)) for i in table.indexes)
        + tuple(extra_indexes),
        column_status={c.key: c.status for c in actual.columns.values()},
    )


def _plan_member(kind: Kind, table_id: str, key: str, wanted: str, status: str | None, error: str,
                 drift: Callable[[], list[str]]) -> Step:
    """A column's or an index's step: `status` is None when Appwrite has none by that key."""
    shown = f"{table_id}.{key}"
    if status is None:
        return Step(kind, shown, key, State.MISSING, wanted)
    unusable = _status_problem(status, error)
    if unusable:
        return Step(kind, shown, key, State.FAILED, unusable)
    differences = drift()
    if differences:
        return Step(kind, shown, key, State.DRIFT, "; ".join(differences))
    if status == "processing":
        return Step(kind, shown, key, State.PROCESSING, "Appwrite is still creating it")
    return Step(kind, shown, key, State.EXISTS)


def _plan_column(table_id: str, column: Column, actual: ActualColumn | None) -> Step:
    return _plan_member(Kind.COLUMN, table_id, column.key, describe_column(column),
                        actual.status if actual else None, actual.error if actual else "",
                        lambda: column_drift(column, actual) if actual else [])


def _plan_index(table_id: str, index: Index, actual: ActualIndex | None) -> Step:
    return _plan_member(Kind.INDEX, table_id, index.key, describe_index(index),
                        actual.status if actual else None, actual.error if actual else "",
                        lambda: index_drift(index, actual) if actual else [])


def _plan_topic(topic: Topic, actual: ActualTopic | None, users: Mapping[str, tuple[str, ...]]) -> Step:
    if actual is None:
        named = f"named by {_named_by(users)}; " if users else ""
        return Step(Kind.TOPIC, topic.id, topic.id, State.MISSING, named + _describe_roles(topic.subscribe))
    if sorted(topic.subscribe) != sorted(actual.subscribe):
        detail = f"subscribe: schema {_roles(topic.subscribe)}, Appwrite {_roles(actual.subscribe)}"
        return Step(Kind.TOPIC, topic.id, topic.id, State.DRIFT, detail)
    return Step(Kind.TOPIC, topic.id, topic.id, State.EXISTS)


def _status_problem(status: str, error: str) -> str:
    """Why a column or index Appwrite lists cannot be used, or '' when it can (or soon will)."""
    if status in ("available", "processing"):
        return ""
    if status == "failed":
        return f"Appwrite could not create it: {error or 'no error given'}; delete it and run again"
    return f"Appwrite reports status {status!r}{f': {error}' if error else ''}"


# -- comparisons --------------------------------------------------------------------------------------


def table_drift(table: Table, actual: ActualTable) -> list[str]:
    differences = []
    if table.row_security != actual.row_security:
        differences.append(
            f"rowSecurity: schema {_yes_no(table.row_security)}, Appwrite {_yes_no(actual.row_security)}"
        )
    if sorted(table.permissions) != sorted(actual.permissions):
        differences.append(f"permissions: schema {_roles(table.permissions)}, Appwrite {_roles(actual.permissions)}")
    return differences


def column_drift(column: Column, actual: ActualColumn) -> list[str]:
    """What differs between a declared column and the one Appwrite has, as 'what: schema X, Appwrite Y'."""
    if column.type != actual.kind:
        return [f"type: schema {_column_type(column)}, Appwrite {_actual_column_type(actual)}"]
    differences = []
    if isinstance(column, VarcharColumn) and column.size != actual.size:
        differences.append(f"size: schema {column.size}, Appwrite {actual.size}")
    if isinstance(column, EnumColumn) and sorted(column.elements) != sorted(actual.elements):
        differences.append(f"elements: schema {_elements(column.elements)}, Appwrite {_elements(actual.elements)}")
    if isinstance(column, IntegerColumn):
        for name, declared, found in (("min", column.min, actual.min), ("max", column.max, actual.max)):
            if declared is not None and declared != found:
                differences.append(f"{name}: schema {declared}, Appwrite {found}")
    if column.required != actual.required:
        differences.append(f"required: schema {_yes_no(column.required)}, Appwrite {_yes_no(actual.required)}")
    if column.array != actual.array:
        differences.append(f"array: schema {_yes_no(column.array)}, Appwrite {_yes_no(actual.array)}")
    return differences


def index_drift(index: Index, actual: ActualIndex) -> list[str]:
    differences = []
    if index.type != actual.type:
        differences.append(f"type: schema {index.type}, Appwrite {actual.type}")
    if index.columns != actual.columns:
        differences.append(f"columns: schema ({', '.join(index.columns)}), Appwrite ({', '.join(actual.columns)})")
    elif _orders(index.orders, len(index.columns)) != _orders(actual.orders, len(actual.columns)):
        differences.append(f"orders: schema {list(index.orders)}, Appwrite {list(actual.orders)}")
    return differences


def _orders(orders: Iterable[str | None], count: int) -> tuple[str, ...]:
    # Appwrite stores an unspecified order as null or leaves the list empty; both mean ascending.
    given = [(order or "ASC").upper() for order in orders]
    return tuple(given + ["ASC"] * (count - len(given)))


# -- descriptions -------------------------------------------------------------------------------------


def describe_column(column: Column) -> str:
    return _column_type(column) + ("[]" if column.array else "") + (", required" if column.required else "")


def describe_actual_column(column: ActualColumn) -> str:
    return _actual_column_type(column) + ("[]" if column.array else "") + (", required" if column.required else "")


def describe_index(index: Index) -> str:
    return f"{index.type} on ({_index_columns(index.columns, index.orders)})"


def describe_actual_index(index: ActualIndex) -> str:
    return f"{index.type} on ({_index_columns(index.columns, index.orders)})"


def _index_columns(columns: Iterable[str], orders: Iterable[str | None]) -> str:
    normalised = _orders(orders, 0)
    return ", ".join(
        f"{c} DESC" if i < len(normalised) and normalised[i] == "DESC" else c for i, c in enumerate(columns)
    )


def _describe_table(table: Table) -> str:
    return f"{len(table.columns)} columns, {len(table.indexes)} indexes"


def _describe_roles(roles: tuple[str, ...]) -> str:
    return f"subscribe: {', '.join(roles)}" if roles else "subscribe: none (only the server can add subscribers)"


def _column_type(column: Column) -> str:
    match column:
        case VarcharColumn():
            return f"varchar({column.size})"
        case EnumColumn():
            return f"enum{_elements(column.elements)}"
        case IntegerColumn() if column.min is not None or column.max is not None:
            return f"integer[{_bound(column.min)}..{_bound(column.max)}]"
        case _:
            return column.type


def _actual_column_type(column: ActualColumn) -> str:
    if column.kind == "enum":
        return f"enum{_elements(column.elements)}"
    if column.size is not None and column.kind in ("varchar", "string", "char"):
        return f"{column.kind}({column.size})"
    return column.kind


def _elements(elements: Iterable[str]) -> str:
    return "(" + "|".join(elements) + ")"


def _bound(value: int | None) -> str:
    return "" if value is None else str(value)


def _roles(roles: Iterable[str]) -> str:
    return "[" + ", ".join(roles) + "]"


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


# ---------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------


class Mode(StrEnum):
    APPLY = "apply"
    CHECK = "check"
    DRY_RUN = "dry-run"


class Action(StrEnum):
    CREATED = "created"
    EXISTS = "exists"
    DRIFT = "drift"
    EXTRA = "extra"
    FAILED = "failed"
    PROCESSING = "processing"
    MISSING = "missing"
    WOULD_CREATE = "would create"


@dataclass(frozen=True)
class Result:
    resource: str
    id: str
    action: Action
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "id": self.id, "action": self.action.value, "detail": self.detail}


def preview(the_plan: Plan, mode: Mode) -> list[Result]:
    """The plan as results, writing nothing: what --check and --dry-run report."""
    return [_as_found(step, mode) for step in the_plan.steps()]


def _as_found(step: Step, mode: Mode = Mode.APPLY) -> Result:
    if step.state is State.MISSING:
        action = Action.WOULD_CREATE if mode is Mode.DRY_RUN else Action.MISSING
    else:
        action = Action(step.state.value)
    return Result(step.kind.value, step.id, action, step.detail)


def exit_code(results: Iterable[Result], mode: Mode) -> int:
    """0 when everything is (or, for a dry run, would be) in place, 1 otherwise."""
    if mode is Mode.DRY_RUN:
        # What a real run will create does not count; what it cannot fix does.
        not_in_place = {Action.DRIFT, Action.FAILED}
    else:
        not_in_place = {Action.DRIFT, Action.FAILED, Action.PROCESSING, Action.MISSING}
    return 1 if any(r.action in not_in_place for r in results) else 0


def summarize(results: list[Result], mode: Mode) -> str:
    """One paragraph for a person: the outcome and, when something is wrong, what to do."""
    counts = count_actions(results)
    problems = []
    if counts.get(Action.FAILED):
        problems.append(
            f"{counts[Action.FAILED]} failed: Appwrite's error is shown on each line; fix the cause, delete "
            "the failed resource in the Appwrite console and run this again."
        )
    if counts.get(Action.PROCESSING):
        problems.append(
            f"{counts[Action.PROCESSING]} still processing: Appwrite goes on building in the background; run "
            "this again (with a larger --timeout if needed) to check and finish."
        )
    if counts.get(Action.DRIFT):
        problems.append(
            f"{counts[Action.DRIFT]} differ from schema/appwrite.schema.json and were left as they are "
            "(nothing is ever changed or deleted). The function may still work, but writes can fail or be "
            "cut short; change the resource in the Appwrite console (or delete it and run this again to "
            "recreate it), or update the schema if the difference is intended."
        )
    if counts.get(Action.MISSING):
        fix = "run `python scripts/bootstrap_schema.py` to create them." if mode is Mode.CHECK else "run this again."
        problems.append(f"{counts[Action.MISSING]} missing: {fix}")
    if problems:
        return "The project is not as declared. " + " ".join(problems)
    if mode is Mode.DRY_RUN and counts.get(Action.WOULD_CREATE):
        return f"Dry run: {counts[Action.WOULD_CREATE]} resources would be created; nothing was written."
    if counts.get(Action.CREATED):
        return f"Done: created {counts[Action.CREATED]} resources; everything is in place."
    return "Everything is up to date; nothing to do."


def count_actions(results: Iterable[Result]) -> Counter[Action]:
    return Counter(result.action for result in results)


def format_result(result: Result, id_width: int = 0) -> str:
    return f"{result.action.value:<12}  {result.resource:<8}  {result.id:<{id_width}}  {result.detail}".rstrip()


def report_json(results: list[Result], mode: Mode, *, error: str = "", warnings: Iterable[str] = ()) -> str:
    """The --json document: the results and a summary (with the warnings, which do not change the exit code)."""
    code = 2 if error else exit_code(results, mode)
    summary: dict[str, Any] = {
        "mode": mode.value,
        "ok": code == 0,
        "exit_code": code,
        "counts": {action.value: n for action, n in count_actions(results).items()},
        "message": error or summarize(results, mode),
        "warnings": list(warnings),
    }
    if error:
        summary["error"] = error
    return json.dumps({"results": [r.to_json() for r in results], "summary": summary}, indent=2)


# ---------------------------------------------------------------------------------------------------
# Talking to Appwrite
# ---------------------------------------------------------------------------------------------------


class Rejected(Exception):
    """Appwrite refused to create one resource (a 4xx answer); reported for that resource alone."""


class _NotFound(Rejected):
    pass


class _AlreadyExists(Rejected):
    pass


_NOT_FOUND_TYPES = frozenset({"database_not_found", "table_not_found", "topic_not_found"})
_PAGE = 100


def classify(exc: AppwriteException, doing: str, settings: Settings) -> Exception:
    """The function's mapping (`convert`) with the operator's message; not found / already exists / other 4xx
    on one resource become `Rejected` so the run can report that resource alone."""
    converted = convert(exc, doing)
    code, kind = converted.code, converted.type or ""
    text = _one_line(str(exc.message))

    def stop(message: str) -> AppwriteError:
        return type(converted)(message, code=code, type=converted.type)

    if code == 0 and isinstance(exc.message, BaseException):
        return stop(
            f"cannot reach Appwrite at {settings.endpoint} while {doing} ({_network_reason(text)}); check "
            f"--endpoint / {ENV_ENDPOINT} and that Appwrite is running, then run again (it is safe to repeat)"
        )
    if code == 0:
        return stop(f"unexpected answer from Appwrite while {doing}: {text[:300]}")
    if code == 401 and kind == "general_unauthorized_scope" and "role: guests" not in text:
        wanted = re.search(r"missing scopes? \((.*?)\)", text)
        needed = f" (this step needs one of {wanted.group(1)})" if wanted else ""
        return stop(
            f"the API key lacks a scope for {doing}{needed}; give the key these scopes: {', '.join(REQUIRED_SCOPES)}"
        )
    if code in (401, 403):
        reason = "it has expired" if kind == "project_key_expired" else "it was not accepted"
        return stop(
            f"Appwrite refused the API key for project {settings.project_id!r} ({reason}: {kind or code}); "
            f"check --key / {ENV_KEY} and that the key belongs to project --project / {ENV_PROJECT}"
        )
    if code == 404 and kind == "project_not_found":
        return stop(
            f"Appwrite has no project {settings.project_id!r} at {settings.endpoint}; check --project / {ENV_PROJECT}"
        )
    if code == 404 and kind in _NOT_FOUND_TYPES:
        return _NotFound(text)
    if code == 404:
        return stop(
            f"{settings.endpoint} answered 404 while {doing} ({kind or text[:100]}); check that --endpoint / "
            f"{ENV_ENDPOINT} is the Appwrite API address, usually ending in /v1"
        )
    if code == 409:
        return _AlreadyExists(text)
    if 400 <= code < 500:
        return Rejected(f"{text} ({kind})" if kind else text)
    return stop(
        f"Appwrite failed while {doing} (HTTP {code}: {text[:200]}); nothing was deleted, run again to finish"
    )


def _network_reason(text: str) -> str:
    errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno:
        return errno.group(1).strip()
    for hint in ("Connection aborted", "RemoteDisconnected", "Read timed out", "CERTIFICATE_VERIFY_FAILED"):
        if hint in text:
            return hint
    return text[:200]


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Gateway:
    """The SDK calls this module makes, returning plain records and raising this module's errors."""

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
        except _NotFound:
            return False
        return True

    def table(self, database_id: str, table_id: str) -> ActualTable | None:
        try:
            found = self._read(f"reading table {table_id}", self._tables.get_table, database_id, table_id)
        except _NotFound:
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
        except _NotFound:
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
        """A read: not found is _NotFound, any other refusal stops the run."""
        try:
            return self._call(doing, method, *args, **kwargs)
        except _NotFound:
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


def column_record(data: Mapping[str, Any]) -> ActualColumn:
    """A column as the SDK model's `to_dict()` gives it, as a plain record."""
    # The SDK parses every column into one union member and fills in the fields the server did not
    # send (a varchar comes back with format 'enum' and no elements), so rely on type and elements.
    kind = str(data.get("type", ""))
    elements = tuple(str(e) for e in data.get("elements") or ())
    if kind == "string" and data.get("format") == "enum" and elements:
        kind = "enum"
    return ActualColumn(
        key=str(data.get("key", "")),
        kind=kind,
        required=bool(data.get("required", False)),
        array=bool(data.get("array") or False),
        status=_status(data.get("status")),
        error=str(data.get("error") or ""),
        size=_int_or_none(data.get("size")),
        elements=elements if kind == "enum" else (),
        min=_int_or_none(data.get("min")),
        max=_int_or_none(data.get("max")),
    )


def index_record(data: Mapping[str, Any]) -> ActualIndex:
    """An index as the SDK model's `to_dict()` gives it, as a plain record."""
    return ActualIndex(
        key=str(data.get("key", "")),
        type=str(data.get("type", "")),
        columns=tuple(str(c) for c in data.get("columns") or ()),
        orders=tuple(str(o) if o else "" for o in data.get("orders") or ()),
        status=_status(data.get("status")),
        error=str(data.get("error") or ""),
    )


def _status(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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


# ---------------------------------------------------------------------------------------------------
# Applying the plan
# ---------------------------------------------------------------------------------------------------

ResultSink = Callable[[Result], None]
ProgressSink = Callable[[str], None]


def _ignore(_: object) -> None:
    return None


@dataclass
class _Applier:
    gateway: Gateway
    timeout: float
    on_result: ResultSink
    on_progress: ProgressSink
    results: list[Result] = field(default_factory=list)

    def run(self, the_plan: Plan) -> list[Result]:
        database = the_plan.schema.database
        database_ok = self._create(the_plan.database, partial(self.gateway.create_database, database))
        for table in the_plan.tables:
            self._table(database.id, table, database_ok)
        topics = {t.id: t for t in the_plan.schema.topics}
        for step in the_plan.topics:
            self._create(step, partial(self.gateway.create_topic, topics[step.key]))
        return self.results

    def _emit(self, result: Result) -> None:
        self.results.append(result)
        self.on_result(result)

    def _create(self, step: Step, create: Callable[[], None]) -> bool:
        """Create a resource Appwrite makes at once (database, table, topic); True when it is there."""
        if step.state is not State.MISSING:
            self._emit(_as_found(step))
            return True
        try:
            create()
        except _AlreadyExists:
            self._emit(Result(step.kind.value, step.id, Action.EXISTS, "appeared while this ran"))
        except Rejected as exc:
            self._emit(Result(step.kind.value, step.id, Action.FAILED, f"Appwrite refused it: {exc}"))
            return False
        else:
            self._emit(Result(step.kind.value, step.id, Action.CREATED, step.detail))
        return True

    def _table(self, database_id: str, table: TablePlan, database_ok: bool) -> None:
        if not database_ok:
            self._block([table.step, *table.columns, *table.indexes], f"database {database_id} could not be created")
            return
        if not self._create(table.step, partial(self.gateway.create_table, database_id, table.spec)):
            self._block([*table.columns, *table.indexes], f"table {table.spec.id} could not be created")
            return
        table_id = table.spec.id
        built = self._build(
            f"columns of table {table_id}",
            table.columns,
            lambda step: self.gateway.create_column(database_id, table_id, table.spec.column(step.key)),
            lambda: {c.key: (c.status, c.error) for c in self.gateway.columns(database_id, table_id)},
        )
        status = {**table.column_status, **{key: found for key, (found, _) in built.items()}}
        indexes = {index.key: index for index in table.spec.indexes}
        self._build(
            f"indexes of table {table_id}",
            table.indexes,
            lambda step: self.gateway.create_index(database_id, table_id, indexes[step.key]),
            lambda: {i.key: (i.status, i.error) for i in self.gateway.indexes(database_id, table_id)},
            blocked=lambda step: _unavailable_columns(indexes[step.key], status),
        )

    def _block(self, steps: Iterable[Step], reason: str) -> None:
        for step in steps:
            self._emit(Result(step.kind.value, step.id, Action.MISSING, f"not created: {reason}"))

    def _build(
        self,
        what: str,
        steps: tuple[Step, ...],
        create: Callable[[Step], None],
        poll: Callable[[], dict[str, tuple[str, str]]],
        blocked: Callable[[Step], str] = lambda _: "",
    ) -> dict[str, tuple[str, str]]:
        """Create the missing columns (or indexes), wait until Appwrite has built them, report each.

        Returns the (status, error) Appwrite last listed for every one, or {} when nothing was awaited.
        """
        results: dict[str, Result] = {}
        pending: list[Step] = []
        for step in steps:
            if step.state is State.PROCESSING:
                pending.append(step)
            elif step.state is not State.MISSING:
                results[step.key] = _as_found(step)
            elif reason := blocked(step):
                results[step.key] = Result(step.kind.value, step.id, Action.MISSING, f"not created: {reason}")
            else:
                try:
                    create(step)
                except _AlreadyExists:
                    pending.append(step)
                except Rejected as exc:
                    results[step.key] = Result(step.kind.value, step.id, Action.FAILED, f"Appwrite refused it: {exc}")
                else:
                    pending.append(step)
        found = self._wait(what, [s.key for s in pending], poll) if pending else {}
        results.update({s.key: self._settled(s, found.get(s.key)) for s in pending})
        for step in steps:
            self._emit(results[step.key])
        return found

    def _settled(self, step: Step, found: tuple[str, str] | None) -> Result:
        status, error = found or ("", "")
        resource = step.kind.value
        if status == "available":
            action = Action.CREATED if step.state is State.MISSING else Action.EXISTS
            return Result(resource, step.id, action, step.detail if action is Action.CREATED else "")
        if status == "processing":
            detail = f"still processing after {self.timeout:g} s; Appwrite goes on in the background, run again"
            return Result(resource, step.id, Action.PROCESSING, detail)
        if not status:
            return Result(resource, step.id, Action.FAILED, "Appwrite accepted it but does not list it")
        return Result(resource, step.id, Action.FAILED, _status_problem(status, error))

    def _wait(
        self, what: str, keys: list[str], poll: Callable[[], dict[str, tuple[str, str]]]
    ) -> dict[str, tuple[str, str]]:
        # Appwrite builds columns and indexes in a background worker: the create call answers 202
        # "processing", and an index over a column that is not yet "available" is refused. So poll the
        # listing until every new one is available or failed, or the time is up.
        start = time.monotonic()
        delay = 0.01  # doubling up to 1 s: a column is often ready within milliseconds
        self.on_progress(f"waiting for {len(keys)} {what} to become available (up to {self.timeout:g} s)")
        reported = -1
        while True:
            found = poll()
            settled = sum(1 for k in keys if k in found and found[k][0] != "processing")
            elapsed = time.monotonic() - start
            if settled == len(keys) or elapsed >= self.timeout:
                self.on_progress(f"{settled}/{len(keys)} {what} done after {elapsed:.1f} s")
                return found
            if settled != reported and elapsed >= 1.0:
                self.on_progress(f"{settled}/{len(keys)} {what} done after {elapsed:.1f} s")
                reported = settled
            time.sleep(min(delay, max(self.timeout - elapsed, 0.0)))
            delay = min(delay * 2, 1.0)


def _unavailable_columns(index: Index, column_status: Mapping[str, str]) -> str:
    """Why an index cannot be created yet: the columns it needs that are not available, or ''."""
    waiting = [c for c in index.columns if c not in SYSTEM_COLUMNS and column_status.get(c) != "available"]
    return f"column {', '.join(waiting)} is not available" if waiting else ""


def apply_plan(
    the_plan: Plan,
    gateway: Gateway,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    on_result: ResultSink = _ignore,
    on_progress: ProgressSink = _ignore,
) -> list[Result]:
    """Create what the plan finds missing, in dependency order; one result per resource."""
    return _Applier(gateway, timeout, on_result, on_progress).run(the_plan)


# ---------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    mode: Mode
    plan: Plan
    results: list[Result]
    warnings: list[str]

    @property
    def exit_code(self) -> int:
        return exit_code(self.results, self.mode)

    @property
    def message(self) -> str:
        return summarize(self.results, self.mode)

    @property
    def topic_warnings(self) -> tuple[str, ...]:
        return self.plan.warnings


def run(
    settings: Settings,
    mode: Mode = Mode.APPLY,
    *,
    schema: Schema | None = None,
    on_plan: Callable[[Plan], None] = _ignore,
    on_result: ResultSink = _ignore,
    on_progress: ProgressSink = _ignore,
    topics: TopicNeeds | None = None,
) -> Report:
    """Observe, plan and (in APPLY mode) apply; raises AppwriteError when Appwrite cannot be used.

    `topics` (from `read_topic_needs`): the topics the function sends to, created and checked besides the
    schema's; None: the schema's alone."""
    declared = add_topics(rename_resources(schema or load_schema(), settings.ids), topics or {})
    gateway = Gateway(settings)
    the_plan = plan(declared, observe(gateway, declared), topics)
    on_plan(the_plan)
    if mode is Mode.APPLY:
        results = apply_plan(the_plan, gateway, timeout=settings.timeout, on_result=on_result, on_progress=on_progress)
    else:
        results = preview(the_plan, mode)
        for result in results:
            on_result(result)
    return Report(mode, the_plan, results, gateway.warnings)


def apply_schema(endpoint: str, project_id: str, api_key: str) -> bool:
    """Bootstrap the project with the default IDs; quiet except for problems (on stderr).

    True when everything is in place afterwards.
    """

    def print_problem(result: Result) -> None:
        if result.action not in (Action.CREATED, Action.EXISTS, Action.EXTRA):
            print(f"bootstrap: {format_result(result)}", file=sys.stderr)

    try:
        schema = load_schema()
        settings = load_settings(schema, {}, endpoint=endpoint, project=project_id, key=api_key)
        report = run(settings, schema=schema, on_result=print_problem)
    except (ConfigError, AppwriteError) as exc:
        print(f"bootstrap: error: {scrub(str(exc), api_key)}", file=sys.stderr)
        return False
    return report.exit_code == 0


def scrub(text: str, secret: str) -> str:
    """The text with the secret masked, in case a message ever echoes it."""
    return text.replace(secret, "***") if secret else text
