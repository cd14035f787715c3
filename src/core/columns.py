"""The size of each text column, read straight from `schema/appwrite.schema.json`: all a webhook needs of the
schema, without building the validation models of `schema` (the bootstrap and the tests validate the file).
Depends on nothing but the standard library."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "appwrite.schema.json"

# A `text` column holds at most this many UTF-8 bytes (Appwrite's ByteLength validator).
TEXT_MAX_BYTES = 65_535

# How a column's values are cut: to so many characters (varchar) or UTF-8 bytes (text).
Limits = dict[str, tuple[str, int]]


def text_limit(column_type: str, size: int | None) -> tuple[str, int] | None:
    """The limit of a column of this type (`size`: a varchar's), None when it holds no free text."""
    if column_type == "varchar" and size is not None:
        return "chars", size
    if column_type == "text":
        return "bytes", TEXT_MAX_BYTES
    return None


def column_limits(table_id: str, path: Path = SCHEMA_FILE) -> Limits:
    """The limit of each text column of a table the schema file declares."""
    for table in json.loads(path.read_bytes())["tables"]:
        if table["id"] == table_id:
            limits = ((column["key"], text_limit(column["type"], column.get("size"))) for column in table["columns"])
            return {key: found for key, found in limits if found is not None}
    raise KeyError(table_id)
