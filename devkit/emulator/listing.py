"""List endpoints over small in-memory collections (databases, tables, columns, indexes, topics, messages).

Queries are parsed and validated as the server's query *parameter* validators do, so a bad query is
400 `general_argument_invalid` (`Invalid \\`queries\\` param: …`). Rows use `rowsql` instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from . import datetimes
from .errors import ApiError, argument_invalid
from .params import Params, Predicate, Text
from .queries import Attribute, Plan, Query, QueryError, Validator, parse_all

_QUERY_LIST = Predicate(
    lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    "Value must a valid array and Value must be a valid string",
)
_SEARCH = Text(256, 0)
COUNT_LIMIT = 5000
DEFAULT_LIMIT = 25
INTERNAL = [
    Attribute("$id", "string"),
    Attribute("$createdAt", "datetime"),
    Attribute("$updatedAt", "datetime"),
    Attribute("$sequence", "integer"),
]


def list_items(
    params: Params,
    items: list[dict[str, Any]],
    attributes: list[Attribute],
    label: str,
    *,
    search_fields: tuple[str, ...] = (),
) -> tuple[list[dict[str, Any]], int]:
    """The requested page of `items` (dicts keyed by attribute) and the capped total."""
    texts = params.optional("queries", _QUERY_LIST, [])
    try:
        queries = parse_all(texts)
    except QueryError as error:
        raise argument_invalid("queries", f"Invalid query: {error.message}") from error
    validator = Validator([*attributes, *INTERNAL], allow_select=False)
    try:
        plan = validator.validate(queries)
    except QueryError as error:
        raise argument_invalid("queries", error.message) from error
    search = params.optional("search", _SEARCH, "")
    include_total = params.flag("total", True, loose=True)

    matching = [item for item in items if all(matches(query, item) for query in plan.filters)]
    if search:
        words = search.lower().split()
        matching = [
            item
            for item in matching
            if any(word in " ".join(str(item.get(f, "")) for f in search_fields).lower() for word in words)
        ]
    total = min(len(matching), COUNT_LIMIT) if include_total else 0
    return paginate(matching, plan, label), total


def paginate(items: list[dict[str, Any]], plan: Plan, label: str) -> list[dict[str, Any]]:
    orders = list(plan.orders)
    if not any(attribute in ("$id", "$sequence") for attribute, _ in orders):
        leading = orders[0] if orders else None
        direction = leading[1] if leading and leading[0] in ("$createdAt", "$updatedAt") else "ASC"
        orders.append(("$sequence", direction))
    ordered = list(items)
    for attribute, direction in reversed(orders):
        if direction == "RANDOM":
            random.shuffle(ordered)
            continue
        ordered.sort(key=_sorter(attribute), reverse=direction == "DESC")
    if plan.cursor is not None:
        position = next((i for i, item in enumerate(ordered) if item.get("$id") == plan.cursor), None)
        if position is None:
            raise ApiError("general_cursor_not_found", f"{label} '{plan.cursor}' for the 'cursor' value not found.")
        ordered = ordered[:position][::-1] if plan.cursor_before else ordered[position + 1 :]
    offset = plan.offset or 0
    limit = plan.limit if plan.limit is not None else DEFAULT_LIMIT
    page = ordered[offset : offset + limit]
    return page[::-1] if plan.cursor_before else page


def _sorter(attribute: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda item: _sort_key(item.get(attribute))


def _sort_key(value: Any) -> tuple[int, Any]:
    # Nulls sort last ascending (first descending), as on PostgreSQL.
    if value is None:
        return (1, 0)
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)


def matches(query: Query, item: dict[str, Any]) -> bool:
    method, values = query.method, query.values
    if method == "and":
        return all(matches(nested, item) for nested in values)
    if method == "or":
        return any(matches(nested, item) for nested in values)
    if method in ("exists", "notExists"):
        present = all(item.get(name) is not None for name in values)
        return present if method == "exists" else not present
    value = item.get(query.attribute)
    wanted = [_comparable(query.attribute, v) for v in values]
    if method == "isNull":
        return value is None
    if method == "isNotNull":
        return value is not None
    if value is None:
        return False
    check = _PREDICATES.get(method)
    return check(value, wanted) if check is not None else False


def _comparable(attribute: str, value: Any) -> Any:
    if attribute in ("$createdAt", "$updatedAt", "scheduledAt", "deliveredAt") and isinstance(value, str):
        return datetimes.normalize(value) or value
    return value


def _contains(value: Any, wanted: list[Any]) -> bool:
    if isinstance(value, list):
        return any(item in value for item in wanted)
    return any(isinstance(item, str) and item in str(value) for item in wanted)


def _between(value: Any, wanted: list[Any], inside: bool) -> bool:
    try:
        return bool(wanted[0] <= value <= wanted[1]) == inside
    except TypeError:
        return False


def _safe(compare: Callable[[Any, Any], bool]) -> Callable[[Any, list[Any]], bool]:
    def check(value: Any, wanted: list[Any]) -> bool:
        try:
            return compare(value, wanted[0])
        except TypeError:
            return False

    return check


_PREDICATES: dict[str, Callable[[Any, list[Any]], bool]] = {
    "equal": lambda value, wanted: value in wanted,
    "notEqual": lambda value, wanted: value not in wanted,
    "lessThan": _safe(lambda a, b: a < b),
    "lessThanEqual": _safe(lambda a, b: a <= b),
    "greaterThan": _safe(lambda a, b: a > b),
    "greaterThanEqual": _safe(lambda a, b: a >= b),
    "between": lambda value, wanted: _between(value, wanted, True),
    "notBetween": lambda value, wanted: _between(value, wanted, False),
    "startsWith": lambda value, wanted: str(value).startswith(str(wanted[0])),
    "notStartsWith": lambda value, wanted: not str(value).startswith(str(wanted[0])),
    "endsWith": lambda value, wanted: str(value).endswith(str(wanted[0])),
    "notEndsWith": lambda value, wanted: not str(value).endswith(str(wanted[0])),
    "contains": _contains,
    "containsAny": _contains,
    "containsAll": lambda value, wanted: all(_contains(value, [item]) for item in wanted),
    "notContains": lambda value, wanted: not _contains(value, wanted),
    "search": lambda value, wanted: all(w in str(value).lower() for w in str(wanted[0]).lower().split()),
}

