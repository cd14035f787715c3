"""Conversion between an alert and its row in the `alerts` table, fitted to the declared columns.

Column limits come from `schema/`, so a value that is too long is cut here rather than refused by
Appwrite (varchar counts characters, text counts UTF-8 bytes). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from json.encoder import encode_basestring
from operator import le
from typing import TYPE_CHECKING, Any

from ..formats import clean_text, cut_bytes, cut_chars, format_datetime, parse_datetime
from .columns import Limits, column_limits, text_limit
from .payload import Alert, AlertStatus

if TYPE_CHECKING:
    from .schema import Table

# Columns that change on every delivery and so never count as a change of the alert itself.
VOLATILE_COLUMNS = frozenset({"lastReceivedAt"})
# The text columns of an alert row, in the order `RowShaper.row` gives their values.
_ROW_TEXT = ("fingerprint", "alertname", "severity", "instance", "job", "summary", "description", "labels",
             "annotations", "generatorURL", "receiver", "groupKey", "notifiedStatus")


def encode_labels(labels: Mapping[str, str]) -> str:
    """`json.dumps(labels, sort_keys=True, ensure_ascii=False)` of a mapping of strings, without building an
    encoder per call (twice per row)."""
    return "{" + ", ".join([f"{encode_basestring(k)}: {encode_basestring(v)}" for k, v in sorted(labels.items())]) + "}"


def stored_object(row: Mapping[str, Any], column: str) -> dict[str, str] | None:
    """A JSON object column of a row (`labels`, `annotations`) as strings; None when unreadable (a value cut to
    fit its column is no longer JSON)."""
    try:
        value = json.loads(str(row.get(column) or "{}"))
    except ValueError:
        return None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


@dataclass(frozen=True)
class StoredAlert:
    """What the function needs to know of an existing row to decide what a delivery changes."""

    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None
    notified_status: str
    values: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StoredAlert:
        starts_at = parse_datetime(row.get("startsAt"))
        status = row.get("status")
        return cls(
            status="resolved" if status == "resolved" else "firing",
            starts_at=starts_at or datetime.min.replace(tzinfo=UTC),
            ends_at=parse_datetime(row.get("endsAt")),
            notified_status=str(row.get("notifiedStatus") or ""),
            values=row,
        )


class TextColumns:
    """`{key: shaper.fit(key, value)}` of a fixed list of text columns: one row's values at a time."""

    def __init__(self, shaper: RowShaper, keys: tuple[str, ...]) -> None:
        self._fit = shaper.fit
        self._keys = keys
        self._rooms = tuple(shaper.room(key) for key in keys)

    def __call__(self, values: Sequence[str]) -> dict[str, str]:
        # The common case in one go: ASCII (one byte per character, nothing to replace) that fits every column.
        if "".join(values).isascii() and all(map(le, map(len, values), self._rooms)):
            return dict(zip(self._keys, values, strict=True))
        return {key: self._fit(key, value) for key, value in zip(self._keys, values, strict=True)}


class RowShaper:
    """Builds row values for one table, cutting each string to what its column holds."""

    def __init__(self, table: Table) -> None:
        limits = ((column.key, text_limit(column.type, getattr(column, "size", None))) for column in table.columns)
        self._use({key: found for key, found in limits if found is not None})

    @classmethod
    def from_limits(cls, limits: Limits) -> RowShaper:
        """The shaper of a table whose text columns have these limits (see `columns.column_limits`)."""
        shaper = cls.__new__(cls)
        shaper._use(dict(limits))
        return shaper

    def _use(self, limits: Limits) -> None:
        self._limits = limits
        self._columns: dict[tuple[str, ...], TextColumns] = {}
        self._row_text = self.text_columns(_ROW_TEXT)

    def room(self, key: str) -> int:
        """How many ASCII characters the column holds (0 for a column the table does not declare)."""
        return self._limits.get(key, ("chars", 0))[1]

    def fit(self, key: str, value: str) -> str:
        kind, limit = self._limits.get(key, ("chars", 0))
        if value.isascii() and len(value) <= limit:
            return value  # the common case: ASCII has one byte per character and nothing to replace
        if limit == 0:
            return clean_text(value)
        return cut_chars(value, limit) if kind == "chars" else cut_bytes(value, limit)

    def text_columns(self, keys: tuple[str, ...]) -> TextColumns:
        """What fits the values of these text columns, in this order, in one go."""
        found = self._columns.get(keys)
        if found is None:
            found = self._columns[keys] = TextColumns(self, keys)
        return found

    def row(self, alert: Alert, *, receiver: str, group_key: str, received_at: datetime,
            notified_status: str) -> dict[str, Any]:
        labels, annotations = alert.labels, alert.annotations
        values: dict[str, Any] = self._row_text((
            alert.fingerprint,
            labels.get("alertname", ""),
            alert.severity,
            labels.get("instance", ""),
            labels.get("job", ""),
            annotations.get("summary", ""),
            annotations.get("description", ""),
            encode_labels(labels),
            encode_labels(annotations),
            alert.generator_url,
            receiver,
            group_key,
            notified_status,
        ))
        values["status"] = alert.status
        values["startsAt"] = format_datetime(alert.starts_at)
        values["endsAt"] = format_datetime(alert.ends_at) if alert.ends_at else None
        values["lastReceivedAt"] = format_datetime(received_at)
        return values


def same_content(new: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """True when a delivery would change nothing but the columns that change every time."""
    return {key for key, value in new.items() if stored.get(key) != value} <= VOLATILE_COLUMNS


@cache
def alerts_shaper() -> RowShaper:
    """The shaper of the `alerts` table as `schema/` describes it."""
    return RowShaper.from_limits(column_limits("alerts"))


@cache
def events_shaper() -> RowShaper:
    """The shaper of the `alert_events` table (the history) as `schema/` describes it."""
    return RowShaper.from_limits(column_limits("alert_events"))
