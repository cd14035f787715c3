"""The plan: the schema compared with what Appwrite has, one `Step` per resource (missing, exists, drift saying
what differs, failed, processing, extra), and subscriber warnings for topics. Pure: no Appwrite call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from src.core.schema import Column, EnumColumn, Index, IntegerColumn, Schema, Table, Topic, VarcharColumn

from .observed import ActualColumn, ActualIndex, ActualTable, ActualTopic, Observed
from .topics import TopicNeeds, named_by


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
    unusable = status_problem(status, error)
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
        named = f"named by {named_by(users)}; " if users else ""
        return Step(Kind.TOPIC, topic.id, topic.id, State.MISSING, named + _describe_roles(topic.subscribe))
    if sorted(topic.subscribe) != sorted(actual.subscribe):
        detail = f"subscribe: schema {_roles(topic.subscribe)}, Appwrite {_roles(actual.subscribe)}"
        return Step(Kind.TOPIC, topic.id, topic.id, State.DRIFT, detail)
    return Step(Kind.TOPIC, topic.id, topic.id, State.EXISTS)


def status_problem(status: str, error: str) -> str:
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
