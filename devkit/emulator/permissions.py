"""Row-level authorization for callers without an API key (keys skip all of this).

A guest holds the roles `any` and `guests`. An action is allowed when the table grants it to one of
those roles, or, with row security on, when the row does. Messages follow utopia-php/database's
Authorization validator.
"""

from __future__ import annotations

import json
import re

from .auth import Caller
from .errors import ApiError

_PERMISSION = re.compile(r'^(\w+)\("([^"]+)"\)$')


def roles_for(permissions: list[str], action: str) -> list[str]:
    roles = []
    for permission in permissions:
        match = _PERMISSION.match(permission)
        if match is not None and match[1] == action:
            roles.append(match[2])
    return roles


def denial(caller: Caller, action: str, granted: list[str]) -> str | None:
    """Why `caller` may not perform `action` given the roles granted it, or None if allowed."""
    if caller.is_key:
        return None
    if not granted:
        return f"No permissions provided for action '{action}'"
    if any(role in caller.roles for role in granted):
        return None
    return (
        f'Missing "{action}" permission for role "{granted[-1]}". Only "{json.dumps(list(caller.roles))}" '
        f'scopes are allowed and "{json.dumps(granted)}" was given.'
    ).replace(", ", ",")


def require(caller: Caller, action: str, table_permissions: list[str], row_permissions: list[str] | None = None,
            *, default_message: bool = False) -> None:
    if caller.is_key:
        return  # keys skip row and table permissions (denial() agrees; this avoids parsing them)
    granted = roles_for(table_permissions, action) + roles_for(row_permissions or [], action)
    reason = denial(caller, action, granted)
    if reason is not None:
        raise ApiError("user_unauthorized", None if default_message else reason)


def check_grantable(caller: Caller, permissions: list[str]) -> None:
    """Callers without a key may only grant roles they hold themselves."""
    if caller.is_key:
        return
    for permission in permissions:
        match = _PERMISSION.match(permission)
        if match is not None and match[2] not in caller.roles:
            raise ApiError("user_unauthorized", f"Permissions must be one of: ({', '.join(caller.roles)})")
