"""Realistic Alertmanager webhook payloads (version 4) for tests and the benchmark.

Fingerprints are computed the way Alertmanager computes them (FNV-1a 64 over the labels sorted by name),
so generated alerts look exactly like captured ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF


def fingerprint(labels: Mapping[str, str]) -> str:
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8") + b"\xff":
                value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return f"{value:016x}"


def rfc3339(moment: datetime) -> str:
    """Go's RFC 3339 with nanoseconds, as Alertmanager writes it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}123Z"


def alert(name: str = "HighCPU", *, severity: str | None = "critical", instance: str = "10.0.0.80:9100",
          status: str = "firing", starts_at: datetime | None = None, ends_at: datetime | None = None,
          labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None,
          generator_url: str = "http://prometheus.local:9090/graph?g0.expr=up") -> dict[str, Any]:
    all_labels = {"alertname": name, "instance": instance, "job": "node"}
    if severity is not None:
        all_labels["severity"] = severity
    all_labels.update(labels or {})
    starts = starts_at or datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    if status == "resolved" and ends_at is None:
        ends_at = starts + timedelta(minutes=5)
    return {
        "status": status,
        "labels": all_labels,
        "annotations": dict(annotations if annotations is not None else {
            "summary": f"{name} on {instance}",
            "description": f"{name} has been active on {instance} for 5 minutes.",
            "runbook_url": f"https://runbooks.example.com/{name.lower()}",
        }),
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends_at) if ends_at else ZERO_TIME,
        "generatorURL": generator_url,
        "fingerprint": fingerprint(all_labels),
    }


def resolved(firing: Mapping[str, Any], ends_at: datetime | None = None) -> dict[str, Any]:
    """The same alert, resolved."""
    starts = datetime.fromisoformat(firing["startsAt"][:26] + "+00:00")
    end = ends_at or starts + timedelta(minutes=5)
    return {**firing, "status": "resolved", "endsAt": rfc3339(end)}


def payload(alerts: Sequence[Mapping[str, Any]], *, receiver: str = "alert-processor",
            truncated: int = 0) -> dict[str, Any]:
    names = {a["labels"].get("alertname", "") for a in alerts}
    group = {"alertname": names.pop()} if len(names) == 1 else {}
    common = dict(alerts[0]["labels"]) if alerts else {}
    for item in alerts[1:]:
        common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
    return {
        "receiver": receiver,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": [dict(a) for a in alerts],
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local:9093",
        "version": "4",
        "groupKey": "{}:" + json.dumps(group, sort_keys=True),
        "truncatedAlerts": truncated,
    }


def many(count: int, *, severity: str = "warning", status: str = "firing", prefix: str = "node",
         starts_at: datetime | None = None) -> list[dict[str, Any]]:
    """`count` distinct alerts, as one large Alertmanager group would carry them."""
    return [
        alert("HostHighLoad", severity=severity, instance=f"{prefix}-{i:05d}:9100", status=status,
              starts_at=starts_at)
        for i in range(count)
    ]
