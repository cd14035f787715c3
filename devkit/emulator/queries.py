"""Parsing and validating Appwrite query strings (`{"method","attribute","values"}` JSON).

Parsing follows utopia-php/database `Query::parse`; validation follows its `Queries` validator with
the Limit, Offset, Cursor, Filter, Order and Select rules, against a schema of attribute -> type.
Failures raise `QueryError` with the server's message; callers choose the error type
(`general_query_invalid` for rows, `general_argument_invalid` for the admin list endpoints).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import datetimes, ids
from .params import as_int

MAX_QUERY_VALUES = 500

FILTERS = frozenset({
    "equal", "notEqual", "lessThan", "lessThanEqual", "greaterThan", "greaterThanEqual",
    "contains", "containsAny", "containsAll", "notContains", "search", "notSearch",
    "isNull", "isNotNull", "between", "notBetween", "startsWith", "notStartsWith",
    "endsWith", "notEndsWith", "and", "or", "elemMatch", "exists", "notExists",
    "crosses", "notCrosses", "distanceEqual", "distanceNotEqual", "distanceGreaterThan",
    "distanceLessThan", "intersects", "notIntersects", "overlaps", "notOverlaps", "touches",
    "notTouches", "vectorDot", "vectorCosine", "vectorEuclidean",
})  # fmt: skip
SPATIAL = frozenset({
    "crosses", "notCrosses", "distanceEqual", "distanceNotEqual", "distanceGreaterThan",
    "distanceLessThan", "intersects", "notIntersects", "overlaps", "notOverlaps", "touches", "notTouches",
})  # fmt: skip
VECTOR = frozenset({"vectorDot", "vectorCosine", "vectorEuclidean"})
ORDERS = frozenset({"orderAsc", "orderDesc", "orderRandom"})
CURSORS = frozenset({"cursorAfter", "cursorBefore"})
METHODS = FILTERS | ORDERS | CURSORS | {"select", "limit", "offset"}
LOGICAL = frozenset({"and", "or", "elemMatch"})
_ONE_VALUE = frozenset({
    "notEqual", "lessThan", "lessThanEqual", "greaterThan", "greaterThanEqual", "search", "notSearch",
    "startsWith", "notStartsWith", "endsWith", "notEndsWith",
})  # fmt: skip
_AT_LEAST_ONE = frozenset({"equal", "contains", "containsAny", "notContains", "containsAll", "exists", "notExists"})
_ARRAY_OK = frozenset({"contains", "containsAny", "containsAll", "notContains", "isNull", "isNotNull",
                       "exists", "notExists"})  # fmt: skip
STRING_TYPES = frozenset({"string", "varchar", "text", "mediumtext", "longtext"})
INT64_MAX = 2**63 - 1


class QueryError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Query:
    method: str
    attribute: str = ""
    values: list[Any] = field(default_factory=list)

    @property
    def value(self) -> Any:
        return self.values[0] if self.values else None


@dataclass(frozen=True)
class Attribute:
    """What a query may reference: a column or an internal attribute."""

    key: str
    type: str  # string/varchar/text/..., integer, boolean, datetime, id (for $sequence), double
    array: bool = False
    format: str = ""


@dataclass
class Plan:
    """A validated query list grouped the way the database executes it."""

    filters: list[Query] = field(default_factory=list)
    selections: list[str] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    orders: list[tuple[str, str]] = field(default_factory=list)  # (attribute, ASC|DESC|RANDOM)
    cursor: str | None = None
    cursor_before: bool = False


def _php_type(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    return "array"


def parse(text: str) -> Query:
    try:
        decoded = json.loads(text)
    except ValueError as error:
        raise QueryError("Invalid query: Syntax error") from error
    if not isinstance(decoded, (dict, list)):
        raise QueryError(f"Invalid query. Must be an array, got {_php_type(decoded)}")
    return _parse_object(decoded if isinstance(decoded, dict) else {})


def _parse_object(data: dict[str, Any]) -> Query:
    method = data.get("method") if data.get("method") is not None else ""
    attribute = data.get("attribute") if data.get("attribute") is not None else ""
    values = data.get("values") if data.get("values") is not None else []
    if not isinstance(method, str):
        raise QueryError(f"Invalid query method. Must be a string, got {_php_type(method)}")
    if method not in METHODS:
        raise QueryError(f"Invalid query method: {method}")
    if not isinstance(attribute, str):
        raise QueryError(f"Invalid query attribute. Must be a string, got {_php_type(attribute)}")
    if not isinstance(values, (list, dict)):
        raise QueryError(f"Invalid query values. Must be an array, got {_php_type(values)}")
    values = list(values.values()) if isinstance(values, dict) else values
    if method in LOGICAL:
        nested = []
        for value in values:
            if not isinstance(value, dict):
                raise QueryError(f"Invalid query. Must be an array, got {_php_type(value)}")
            nested.append(_parse_object(value))
        values = nested
    if attribute == "" and method in ("orderAsc", "orderDesc"):
        attribute = "$sequence"
    return Query(method, attribute, values)


def parse_all(texts: list[str]) -> list[Query]:
    return [parse(text) for text in texts]


class Validator:
    """utopia-php/database's Queries validator for one schema."""

    def __init__(
        self,
        attributes: list[Attribute],
        *,
        fulltext: frozenset[str] = frozenset(),
        allow_select: bool = True,
        select_attributes: list[Attribute] | None = None,
    ) -> None:
        self.schema = {attribute.key: attribute for attribute in attributes}
        self.select_schema = {a.key: a for a in (select_attributes or attributes)}
        self.fulltext = fulltext
        self.allow_select = allow_select

    def validate(self, queries: list[Query]) -> Plan:
        for query in queries:
            self._check(query)
        for query in queries:
            self._check_search(query)
        return group(queries)

    def _check(self, query: Query) -> None:
        method = query.method
        if method in LOGICAL:
            for nested in query.values:
                self._check(nested)
        if method == "limit":
            self._check_number(query, "limit", 1, "Invalid limit")
        elif method == "offset":
            self._check_number(query, "offset", 0, "Invalid offset")
        elif method in CURSORS:
            if not ids.is_uid(query.value):
                raise QueryError(f"Invalid query: Invalid cursor: {ids.UID_DESCRIPTION}")
        elif method in ORDERS:
            if method != "orderRandom" and query.attribute not in self.schema:
                raise QueryError(f"Invalid query: Attribute not found in schema: {query.attribute}")
        elif method == "select":
            if not self.allow_select:
                raise QueryError(f"Invalid query method: {method}")
            self._check_select(query)
        elif method in FILTERS:
            message = self._filter_problem(query)
            if message is not None:
                raise QueryError(f"Invalid query: {message}")
        else:
            raise QueryError(f"Invalid query method: {method}")

    @staticmethod
    def _check_number(query: Query, _name: str, low: int, label: str) -> None:
        value = query.value
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or (
            isinstance(value, str) and not _is_numeric(value)
        ):
            # The server's Offset validator reuses the limit wording here.
            raise QueryError("Invalid query: Invalid limit: Value must be a valid number")
        number = as_int(value)
        if number is None or not low <= number <= INT64_MAX:
            raise QueryError(
                f"Invalid query: {label}: Value must be a valid range between {low:,} and {INT64_MAX:,}"
            )

    def _check_select(self, query: Query) -> None:
        if not query.values:
            raise QueryError("Invalid query: No attributes selected")
        for value in query.values:
            if not isinstance(value, str):
                raise QueryError(f"Invalid query: Attribute selection must be a string, got {_php_type(value)}")
        if len(set(query.values)) != len(query.values):
            raise QueryError("Invalid query: Duplicate attributes selected")
        internal = {"$id", "$sequence", "$createdAt", "$updatedAt", "$permissions", "$collection"}
        for value in query.values:
            base = value.split(".")[0] if "." in value and value not in self.select_schema else value
            if base in internal or base == "*" or base in self.select_schema:
                continue
            raise QueryError(f"Invalid query: Attribute not found in schema: {base}")

    def _filter_problem(self, query: Query) -> str | None:
        method, values = query.method, query.values
        if method in ("and", "or"):
            if len(values) < 2:
                return f"{method[0].upper()}{method[1:]} queries require at least two queries"
            return None
        if method == "elemMatch":
            return "elemMatch is not supported by the database"
        if method in _AT_LEAST_ONE and (not values or values[0] == []):
            return f"{method[0].upper()}{method[1:]} queries require at least one value."
        if method in _ONE_VALUE and len(values) != 1:
            return f"{method[0].upper()}{method[1:]} queries require exactly one value."
        if method in ("between", "notBetween") and len(values) != 2:
            return f"{method[0].upper()}{method[1:]} queries require exactly two values."
        if method in ("exists", "notExists"):
            for name in values:
                if not isinstance(name, str) or name not in self.schema:
                    return f"Attribute not found in schema: {name}"
            return None
        if query.attribute not in self.schema:
            return f"Attribute not found in schema: {query.attribute}"
        attribute = self.schema[query.attribute]
        if method in SPATIAL:
            return f'Spatial query "{method}" cannot be applied on non-spatial attribute: {attribute.key}'
        if len(values) > MAX_QUERY_VALUES:
            return f"Query on attribute has greater than {MAX_QUERY_VALUES} values: {attribute.key}"
        for value in values:
            if not _value_fits(attribute, value, method):
                return f'Query value is invalid for attribute "{attribute.key}"'
        contains = method in ("contains", "containsAny", "containsAll", "notContains")
        if not attribute.array and contains and attribute.type not in STRING_TYPES:
            kind = "notContains" if method == "notContains" else "contains"
            return f'Cannot query {kind} on attribute "{attribute.key}" because it is not an array, string, or object.'
        if attribute.array and method not in _ARRAY_OK:
            return f'Cannot query {method} on attribute "{attribute.key}" because it is an array.'
        if method in VECTOR:
            return "Vector queries can only be used on vector attributes"
        return None

    def _check_search(self, query: Query) -> None:
        if query.method in LOGICAL:
            for nested in query.values:
                self._check_search(nested)
        if query.method in ("search", "notSearch") and query.attribute not in self.fulltext:
            raise QueryError(f'Searching by attribute "{query.attribute}" requires a fulltext index.')


def _is_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text != ""


def _value_fits(attribute: Attribute, value: Any, method: str) -> bool:
    kind = attribute.type
    if kind == "id":
        if value in (None, "", 0, "0"):
            return False
        number = as_int(value)
        return isinstance(value, (int, str)) and number is not None and 1 <= number <= INT64_MAX
    if kind in STRING_TYPES:
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT64_MAX + 1
    if kind == "double":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "datetime":
        return datetimes.parse(value) is not None
    return True


def group(queries: list[Query]) -> Plan:
    """Query::groupByType: the first limit, offset and cursor win; orders keep their order."""
    plan = Plan()
    for query in queries:
        method = query.method
        if method in ORDERS:
            direction = {"orderAsc": "ASC", "orderDesc": "DESC", "orderRandom": "RANDOM"}[method]
            plan.orders.append((query.attribute, direction))
        elif method == "limit":
            if plan.limit is None:
                plan.limit = as_int(query.value)
        elif method == "offset":
            if plan.offset is None:
                plan.offset = as_int(query.value)
        elif method in CURSORS:
            if plan.cursor is None:
                plan.cursor = str(query.value)
                plan.cursor_before = method == "cursorBefore"
        elif method == "select":
            plan.selections.extend(str(value) for value in query.values)
        else:
            plan.filters.append(query)
    return plan
