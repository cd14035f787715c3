"""Request parameters and the framework validators Appwrite declares on them.

A missing required parameter gives `Param "<name>" is not optional.`; a value its validator rejects
gives `Invalid \\`<name>\\` param: <validator description>`; both are 400 `general_argument_invalid`.
JSON bodies arrive typed; GET query strings arrive as text (`queries[0]=…`, `total=true`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import datetimes, ids
from .errors import ApiError, argument_invalid, param_missing

PHP_INT_MIN = -(2**63)
PHP_INT_MAX = 2**63 - 1
ARRAY_PARAMS_LIMIT = 100
ARRAY_ELEMENT_SIZE = 4096


def php_number(value: int | float) -> str:
    """PHP's `number_format($n)`: thousands separators, no decimals."""
    return f"{round(value):,}"


class Validator:
    """A framework validator: `valid(value)` and the `description` shown when it fails."""

    description = "Invalid value"

    def valid(self, value: Any) -> bool:
        raise NotImplementedError


class Text(Validator):
    """Utopia `Text(length, min)`: a string of at most `length` characters (0 = unlimited)."""

    def __init__(self, length: int, minimum: int = 1) -> None:
        self.length = length
        self.minimum = minimum
        message = "Value must be a valid string"
        if minimum == length:
            message += f" and exactly {length} chars"
        else:
            if minimum:
                message += f" and at least {minimum} chars"
            if length:
                message += f" and no longer than {length} chars"
        self.description = message

    def valid(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if len(value) < self.minimum:
            return False
        return not (self.length and len(value) > self.length)


class Boolean(Validator):
    description = "Value must be a valid boolean"

    def __init__(self, loose: bool = False) -> None:
        self.loose = loose

    def valid(self, value: Any) -> bool:
        if isinstance(value, bool):
            return True
        return self.loose and value in ("true", "false", "1", "0", 1, 0)


class Integer(Validator):
    """Utopia `Integer(loose=false, bits)`: a JSON integer (a float such as 1.0 is rejected)."""

    def __init__(self, bits: int = 64) -> None:
        self.low, self.high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        self.description = (
            f"Value must be a valid signed {bits}-bit integer between {php_number(self.low)} and "
            f"{php_number(self.high)}"
        )

    def valid(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high


class Range(Validator):
    """Utopia `Range(min, max, integer)`."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.description = f"Value must be a valid range between {php_number(low)} and {php_number(high)}"

    def valid(self, value: Any) -> bool:
        number = as_int(value)
        return number is not None and self.low <= number <= self.high


class WhiteList(Validator):
    def __init__(self, allowed: Sequence[str], strict: bool = True) -> None:
        self.allowed = list(allowed)
        self.strict = strict
        self.description = f"Value must be one of ({', '.join(self.allowed)})"

    def valid(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.strict:
            return value in self.allowed
        return value.lower() in (item.lower() for item in self.allowed)


class Predicate(Validator):
    def __init__(self, check: Callable[[Any], bool], description: str) -> None:
        self.check = check
        self.description = description

    def valid(self, value: Any) -> bool:
        return self.check(value)


class ArrayList(Validator):
    """Utopia `ArrayList(item, length)`: a JSON list of at most `length` items, each valid."""

    def __init__(self, item: Validator, length: int = 0) -> None:
        self.item = item
        self.length = length
        message = "Value must a valid array"
        if length:
            message += f" no longer than {length} items"
        if item.description:
            message += f" and {item.description}"
        self.description = message

    def valid(self, value: Any) -> bool:
        if not isinstance(value, list):
            return False
        if self.length and len(value) > self.length:
            return False
        return all(self.item.valid(item) for item in value)


class Nullable(Validator):
    def __init__(self, inner: Validator) -> None:
        self.inner = inner
        self.description = f"{inner.description} or null"

    def valid(self, value: Any) -> bool:
        return value is None or self.inner.valid(value)


class JSONObject(Validator):
    description = "Value must be a valid object."

    def valid(self, value: Any) -> bool:
        return isinstance(value, dict) or (isinstance(value, list) and not value)


class Datetime(Validator):
    description = datetimes.DESCRIPTION

    def valid(self, value: Any) -> bool:
        return datetimes.parse(value) is not None


_PERMISSION = re.compile(r'^(read|create|update|delete|write)\("([^"]+)"\)$')
_ROLE = re.compile(r"^(any|guests|users|user|team|member|label)(:[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)?)?$")


class Permissions(Validator):
    """Appwrite permission strings such as `read("any")`, limited to `allowed` types."""

    _SHAPE = f"Permissions must be an array of strings no longer than {ARRAY_PARAMS_LIMIT} items."

    def __init__(self, allowed: Sequence[str] = ("read", "create", "update", "delete", "write")) -> None:
        self.allowed = tuple(allowed)
        self.description = self._SHAPE

    def valid(self, value: Any) -> bool:
        self.description = self._SHAPE
        if not isinstance(value, list) or len(value) > ARRAY_PARAMS_LIMIT:
            return False
        for item in value:
            match = _PERMISSION.match(item) if isinstance(item, str) else None
            if match is None or match[1] not in self.allowed or _ROLE.match(match[2]) is None:
                self.description = f'Permission "{item}" is not allowed. Must be one of: {", ".join(self.allowed)}.'
                return False
        return True


class Roles(Validator):
    description = f"Roles must be an array of strings no longer than {ARRAY_PARAMS_LIMIT} items, each 64 chars long."

    def valid(self, value: Any) -> bool:
        if not isinstance(value, list) or len(value) > ARRAY_PARAMS_LIMIT:
            return False
        return all(isinstance(item, str) and len(item) <= 64 and _ROLE.match(item) for item in value)


KEY = Predicate(ids.is_key, ids.KEY_DESCRIPTION)
INDEX_COLUMN_KEY = Predicate(lambda value: ids.is_key(value, allow_internal=True), ids.KEY_DESCRIPTION)
UID = Predicate(ids.is_uid, ids.UID_DESCRIPTION)
CUSTOM_ID = Predicate(ids.is_custom_id, ids.KEY_DESCRIPTION)
LIST_QUERIES = ArrayList(Text(ARRAY_ELEMENT_SIZE), ARRAY_PARAMS_LIMIT)


def as_int(value: Any) -> int | None:
    """An integer from a JSON int or an integral numeric string (GET parameters); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def aggregate_permissions(permissions: list[str] | None) -> list[str] | None:
    """`write("x")` stands for `update("x")` and `delete("x")`; duplicates are dropped, order kept."""
    if permissions is None:
        return None
    result: list[str] = []
    for permission in permissions:
        match = _PERMISSION.match(permission)
        expanded = [permission]
        if match is not None and match[1] == "write":
            expanded = [f'update("{match[2]}")', f'delete("{match[2]}")']
        for item in expanded:
            if item not in result:
                result.append(item)
    return result


class Params:
    """The parameters of one request, from a JSON body or a query string."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    @classmethod
    def from_query(cls, pairs: Sequence[tuple[str, str]]) -> Params:
        """`queries[0]=a&queries[1]=b&total=true` -> {"queries": ["a", "b"], "total": "true"}."""
        values: dict[str, Any] = {}
        indexed: dict[str, dict[int, str]] = {}
        for raw_key, value in pairs:
            match = re.fullmatch(r"([^\[\]]+)\[(\d*)\]", raw_key)
            if match is None:
                values[raw_key] = value
                continue
            slot = indexed.setdefault(match[1], {})
            slot[int(match[2]) if match[2] else len(slot)] = value
        for name, items in indexed.items():
            values[name] = [items[index] for index in sorted(items)]
        return cls(values)

    @classmethod
    def from_json(cls, raw: bytes) -> Params:
        if not raw.strip():
            return cls({})
        try:
            decoded = json.loads(raw)
        except ValueError as error:
            raise ApiError("general_argument_invalid", "Invalid JSON body.") from error
        if not isinstance(decoded, dict):
            raise ApiError("general_argument_invalid", "The request body must be a JSON object.")
        return cls(decoded)

    def without(self, name: str) -> Params:
        return Params({key: value for key, value in self._values.items() if key != name})

    def required(self, name: str, validator: Validator) -> Any:
        value = self._values.get(name)
        if value is None:
            raise param_missing(name)
        return self._check(name, value, validator)

    def optional(self, name: str, validator: Validator, default: Any = None) -> Any:
        value = self._values.get(name)
        if value is None:
            return default
        return self._check(name, value, validator)

    @staticmethod
    def _check(name: str, value: Any, validator: Validator) -> Any:
        if not validator.valid(value):
            raise argument_invalid(name, validator.description)
        return value

    def flag(self, name: str, default: bool, *, loose: bool = False) -> bool:
        value = self.optional(name, Boolean(loose), default)
        return value if isinstance(value, bool) else value in ("true", "1", 1)


def check_path(**path: str) -> None:
    """Path parameters use the UID rule (so the `unique()` placeholder is refused)."""
    for name, value in path.items():
        if not UID.valid(value):
            raise argument_invalid(name, UID.description)
