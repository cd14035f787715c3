"""Applying a plan: create what is missing in dependency order (database, tables, columns, indexes, topics),
waiting for Appwrite's asynchronous column and index builds. Nothing is ever updated or deleted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from src.core.schema import Index

from .errors import AlreadyExists, Rejected
from .gateway import Gateway
from .plan import Plan, State, Step, TablePlan, status_problem
from .report import Action, Result, as_found
from .settings import DEFAULT_TIMEOUT

# Columns every table has; an index may name them without declaring them.
SYSTEM_COLUMNS = frozenset({"$id", "$createdAt", "$updatedAt"})


ResultSink = Callable[[Result], None]
ProgressSink = Callable[[str], None]


def ignore(_: object) -> None:
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
            self._emit(as_found(step))
            return True
        try:
            create()
        except AlreadyExists:
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
                results[step.key] = as_found(step)
            elif reason := blocked(step):
                results[step.key] = Result(step.kind.value, step.id, Action.MISSING, f"not created: {reason}")
            else:
                try:
                    create(step)
                except AlreadyExists:
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
        return Result(resource, step.id, Action.FAILED, status_problem(status, error))

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
    on_result: ResultSink = ignore,
    on_progress: ProgressSink = ignore,
) -> list[Result]:
    """Create what the plan finds missing, in dependency order; one result per resource."""
    return _Applier(gateway, timeout, on_result, on_progress).run(the_plan)
