"""Translating validated row queries into SQLite SQL over the `rows` table.

System attributes map to indexed columns (`$id`, `$sequence`, `$createdAt`, `$updatedAt`); user
columns are read from the JSON document with `json_extract`. Ordering follows PostgreSQL (the
server's default engine): nulls last when ascending, first when descending, ties broken by
`$sequence` as utopia-php/database does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import datetimes
from .columns import Column
from .queries import Plan, Query

_SYSTEM = {"$id": "id", "$sequence": "seq", "$createdAt": "created", "$updatedAt": "updated"}


def expression(attribute: str) -> str:
    if attribute in _SYSTEM:
        return _SYSTEM[attribute]
    # Column keys are restricted to [A-Za-z0-9._-], so quoting them in the JSON path is safe.
    return f"json_extract(data, '$.\"{attribute}\"')"


@dataclass
class Sql:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def clause(self) -> str:
        return " AND ".join(self.where) if self.where else "1"


class Translator:
    def __init__(self, columns: dict[str, Column]) -> None:
        self.columns = columns

    def value(self, attribute: str, value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        if attribute == "$sequence":
            return int(value)
        column = self.columns.get(attribute)
        if attribute in ("$createdAt", "$updatedAt") or (column is not None and column.type == "datetime"):
            return datetimes.normalize(value) or value
        return value

    def filters(self, queries: list[Query], sql: Sql) -> None:
        for query in queries:
            sql.where.append(self.condition(query, sql.params))

    def condition(self, query: Query, params: list[Any]) -> str:
        method = query.method
        if method in ("and", "or"):
            joiner = " AND " if method == "and" else " OR "
            return "(" + joiner.join(self.condition(nested, params) for nested in query.values) + ")"
        if method in ("exists", "notExists"):
            test = "IS NOT NULL" if method == "exists" else "IS NULL"
            return "(" + " AND ".join(f"{expression(name)} {test}" for name in query.values) + ")"
        expr = expression(query.attribute)
        column = self.columns.get(query.attribute)
        values = [self.value(query.attribute, value) for value in query.values]
        if method == "isNull":
            return f"{expr} IS NULL"
        if method == "isNotNull":
            return f"{expr} IS NOT NULL"
        if column is not None and column.array and method in ("contains", "containsAny", "containsAll",
                                                               "notContains"):
            return self._array_condition(query, values, params)
        simple = {"notEqual": "!=", "lessThan": "<", "lessThanEqual": "<=",
                  "greaterThan": ">", "greaterThanEqual": ">="}  # fmt: skip
        if method == "equal":
            params.extend(values)
            return f"{expr} IN ({', '.join('?' * len(values))})"
        if method in simple:
            params.extend(values)
            return "(" + " OR ".join(f"{expr} {simple[method]} ?" for _ in values) + ")"
        if method in ("between", "notBetween"):
            params.extend(values[:2])
            return f"{expr} {'NOT ' if method == 'notBetween' else ''}BETWEEN ? AND ?"
        if method in ("startsWith", "notStartsWith"):
            params.extend([values[0], values[0]])
            test = "=" if method == "startsWith" else "!="
            return f"substr({expr}, 1, length(?)) {test} ?"
        if method in ("endsWith", "notEndsWith"):
            params.extend([values[0], values[0], values[0]])
            if method == "endsWith":
                return f"(length(?) = 0 OR substr({expr}, -length(?)) = ?)"
            return f"(length(?) > 0 AND substr({expr}, -length(?)) != ?)"
        if method in ("contains", "containsAny"):
            params.extend(values)
            return "(" + " OR ".join(f"instr({expr}, ?) > 0" for _ in values) + ")"
        if method == "containsAll":
            params.extend(values)
            return "(" + " AND ".join(f"instr({expr}, ?) > 0" for _ in values) + ")"
        if method == "notContains":
            params.extend(values)
            return "(" + " AND ".join(f"instr({expr}, ?) = 0" for _ in values) + ")"
        if method in ("search", "notSearch"):
            words = str(values[0]).lower().split() or [""]
            params.extend(words)
            found = " AND ".join(f"instr(lower({expr}), ?) > 0" for _ in words)
            return f"({found})" if method == "search" else f"({expr} IS NOT NULL AND NOT ({found}))"
        raise ValueError(f"unsupported query method {method}")

    @staticmethod
    def _array_condition(query: Query, values: list[Any], params: list[Any]) -> str:
        path = f"'$.\"{query.attribute}\"'"
        member = f"EXISTS (SELECT 1 FROM json_each(data, {path}) WHERE json_each.value = ?)"
        params.extend(values)
        if query.method == "containsAll":
            return "(" + " AND ".join(member for _ in values) + ")"
        if query.method == "notContains":
            return "(" + " AND ".join(f"NOT {member}" for _ in values) + ")"
        return "(" + " OR ".join(member for _ in values) + ")"


def effective_orders(plan: Plan) -> list[tuple[str, str]]:
    """The plan's orders plus the `$sequence` tie-break the database appends."""
    orders = list(plan.orders)
    if not any(attribute in ("$id", "$sequence") for attribute, _ in orders):
        leading = orders[0] if orders else None
        if leading is not None and leading[0] in ("$createdAt", "$updatedAt"):
            orders.append(("$sequence", leading[1]))
        else:
            orders.append(("$sequence", "ASC"))
    return orders


def order_by(orders: list[tuple[str, str]], *, reverse: bool) -> str:
    parts = []
    for attribute, direction in orders:
        if direction == "RANDOM":
            parts.append("random()")
            continue
        if reverse:
            direction = "DESC" if direction == "ASC" else "ASC"
        nulls = "NULLS LAST" if direction == "ASC" else "NULLS FIRST"
        parts.append(f"{expression(attribute)} {direction} {nulls}")
    return ", ".join(parts)


def cursor_condition(
    orders: list[tuple[str, str]], cursor: dict[str, Any], *, before: bool, sql: Sql
) -> None:
    """Rows strictly after (or before) the cursor row in the given order."""
    alternatives = []
    for position, (attribute, direction) in enumerate(orders):
        if direction == "RANDOM":
            continue
        ascending = (direction == "ASC") != before
        terms = []
        for previous, _ in orders[:position]:
            terms.append(f"{expression(previous)} = ?")
            sql.params.append(cursor[previous])
        terms.append(f"{expression(attribute)} {'>' if ascending else '<'} ?")
        sql.params.append(cursor[attribute])
        alternatives.append("(" + " AND ".join(terms) + ")")
    if alternatives:
        sql.where.append("(" + " OR ".join(alternatives) + ")")
