"""PHP's `==` and `===` on JSON values, which the server uses to decide whether a write changes a row.

Upsert compares with loose `!=` (so `1` equals `"1"` and null equals `""`); update compares with
strict `===` (so `1` differs from `1.0`). Both compare the incoming raw value with the stored,
decoded one, so a datetime sent as `…:05Z` differs from the stored `…:05.000+00:00`.
"""

from __future__ import annotations

from typing import Any


def _truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, (list, dict)):
        return len(value) > 0
    return bool(value)


def _numeric(text: str) -> bool:
    stripped = text.strip()
    if stripped == "" or stripped != text.rstrip():
        return False
    first = stripped[0]
    if first.isascii() and first.isalpha() and first not in "iInN":
        return False  # what float() would reject anyway (it only starts with a sign, digit, ".", inf or nan)
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def loose_equal(left: Any, right: Any) -> bool:
    # Identical scalars are loosely equal in every PHP rule below; checked first because it is the common case.
    if type(left) is type(right) and type(left) in (str, int, bool) and left == right:
        return True
    if left is None and right is None:
        return True
    if left is None and isinstance(right, str):
        return right == ""
    if right is None and isinstance(left, str):
        return left == ""
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return _truthy(left) == _truthy(right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(loose_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(loose_equal(left[k], right[k]) for k in left)
    if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
        return False
    if isinstance(left, str) and isinstance(right, str):
        if _numeric(left) and _numeric(right):
            return float(left) == float(right)
        return left == right
    if isinstance(left, str):
        left, right = right, left
    if isinstance(right, str):
        return float(right) == left if _numeric(right) else _php_string(left) == right
    return bool(left == right)


def _php_string(number: Any) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def strict_equal(left: Any, right: Any) -> bool:
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(strict_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return list(left.keys()) == list(right.keys()) and all(strict_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right
