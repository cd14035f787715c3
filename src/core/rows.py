"""Conversion between an alert and its row in the `alerts` table, fitted to the declared columns.

Column limits come from `schema/`, so a value that is too long is cut here rather than refused by
Appwrite (varchar counts characters, text counts UTF-8 bytes). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ..formats import clean_text, cut_bytes, cut_chars, format_datetime, parse_datetime
from .payload import Alert, AlertStatus
from .schema import TEXT_MAX_BYTES, Table, TextColumn, VarcharColumn, load_schema

# Columns that change on every delivery and so never count as a change of the alert itself.
VOLATILE_COLUMNS = frozenset({"lastReceivedAt"})


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


class RowShaper:
    """Builds row values for one table, cutting each string to what its column holds."""

    def __init__(self, table: Table) -> None:
        self._limits: dict[str, tuple[str, int]] = {}
        for column in table.columns:
            if isinstance(column, VarcharColumn):
                self._limits[column.key] = ("chars", column.size)
            elif isinstance(column, TextColumn):
                self._limits[column.key] = ("bytes", TEXT_MAX_BYTES)

    def fit(self, key: str, value: str) -> str:
        kind, limit = self._limits.get(key, ("chars", 0))
        if value.isascii() and len(value) <= limit:
            return value  # the common case: ASCII has one byte per character and nothing to replace
        if limit == 0:
            return clean_text(value)
        return cut_chars(value, limit) if kind == "chars" else cut_bytes(value, limit)

    def row(self, alert: Alert, *, receiver: str, group_key: str, received_at: datetime,
            notified_status: str) -> dict[str, Any]:
        labels, annotations = alert.labels, alert.annotations
        text = {
            "fingerprint": alert.fingerprint,
            "alertname": alert.alertname,
            "severity": alert.severity,
            "instance": labels.get("instance", ""),
            "job": labels.get("job", ""),
            "summary": annotations.get("summary", ""),
            "description": annotations.get("description", ""),
            "labels": json.dumps(labels, sort_keys=True, ensure_ascii=False),
            "annotations": json.dumps(annotations, sort_keys=True, ensure_ascii=False),
            "generatorURL": alert.generator_url,
            "receiver": receiver,
            "groupKey": group_key,
            "notifiedStatus": notified_status,
        }
        values: dict[str, Any] = {key: self.fit(key, value) for key, value in text.items()}
        values["status"] = alert.status
        values["startsAt"] = format_datetime(alert.starts_at)
        values["endsAt"] = format_datetime(alert.ends_at) if alert.ends_at else None
        values["lastReceivedAt"] = format_datetime(received_at)
        return values


def same_content(new: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """True when a delivery would change nothing but the columns that change every time."""
    return all(stored.get(key) == value for key, value in new.items() if key not in VOLATILE_COLUMNS)


@cache
def alerts_shaper() -> RowShaper:
    """The shaper of the `alerts` table as `schema/` describes it."""
    return RowShaper(load_schema().table("alerts"))


@cache
def events_shaper() -> RowShaper:
    """The shaper of the `alert_events` table (the history) as `schema/` describes it."""
    return RowShaper(load_schema().table("alert_events"))
