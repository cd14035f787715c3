"""The one Appwrite ID rule: row, table, column, index and topic IDs, and Alertmanager fingerprints stored
as row IDs, all follow it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,35}$"
ID_RULE = "at most 36 characters of a-z, A-Z, 0-9, '.', '_' and '-', not starting with '.', '_' or '-'"
_ID = re.compile(ID_PATTERN)

AppwriteId = Annotated[str, Field(pattern=ID_PATTERN)]


def is_appwrite_id(value: str) -> bool:
    return _ID.match(value) is not None
