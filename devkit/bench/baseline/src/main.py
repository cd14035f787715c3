"""The benchmark's baseline: the common per-alert way to write this function, served like the real one.

For each alert, in order: `get_row` by fingerprint (404 means new), then `create_row` or `update_row`,
then one message per target when the status changed (no digests, random message IDs). Same Appwrite
SDK, same table, same topics and routes as the real function, so only the approach differs. It is
slow by design and exists to be measured against; it has no retries and no deadline.

Self-contained on purpose: the runtime host imports it as `function.src.main` with only the function
directory on the import path, exactly as it imports the real function.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from appwrite.client import Client
from appwrite.exception import AppwriteException
from appwrite.id import ID
from appwrite.services.messaging import Messaging
from appwrite.services.tables_db import TablesDB

DATABASE_ID = "monitoring"
TABLE_ID = "alerts"
CRITICAL_TOPIC = "critical-alerts"
MONITORING_TOPIC = "monitoring-alerts"
_ZERO_TIME_PREFIX = "0001-"


def _millis(value: str | None) -> str | None:
    """RFC 3339 with nanoseconds (Alertmanager) to Appwrite's millisecond form; Go's zero time is None."""
    if not value or value.startswith(_ZERO_TIME_PREFIX):
        return None
    head = value[:19]
    fraction = value[20:23].ljust(3, "0") if len(value) > 19 and value[19] == "." else "000"
    return f"{head}.{fraction}+00:00"


def _targets(labels: dict[str, str]) -> list[tuple[str, str]]:
    """The default routes: critical and emergency page push and SMS; every alert goes to monitoring push."""
    found: list[tuple[str, str]] = []
    if labels.get("severity", "").strip().lower() in ("critical", "emergency"):
        found += [(CRITICAL_TOPIC, "push"), (CRITICAL_TOPIC, "sms")]
    found.append((MONITORING_TOPIC, "push"))
    return found


def _row(alert: dict[str, Any], payload: dict[str, Any], notified: str) -> dict[str, Any]:
    labels: dict[str, str] = alert.get("labels", {})
    annotations: dict[str, str] = alert.get("annotations", {})
    return {
        "fingerprint": alert["fingerprint"],
        "alertname": labels.get("alertname", ""),
        "status": alert["status"],
        "severity": labels.get("severity", "").strip().lower() or "none",
        "instance": labels.get("instance", ""),
        "job": labels.get("job", ""),
        "summary": annotations.get("summary", "")[:1024],
        "description": annotations.get("description", ""),
        "labels": json.dumps(labels, sort_keys=True),
        "annotations": json.dumps(annotations, sort_keys=True),
        "startsAt": _millis(alert.get("startsAt")),
        "endsAt": _millis(alert.get("endsAt")),
        "generatorURL": alert.get("generatorURL", "")[:2048],
        "receiver": payload.get("receiver", ""),
        "groupKey": payload.get("groupKey", ""),
        "notifiedStatus": notified,
    }


def _announce(messaging: Messaging, alert: dict[str, Any]) -> int:
    labels: dict[str, str] = alert.get("labels", {})
    title = f"[{alert['status'].upper()}] {labels.get('alertname', '')} on {labels.get('instance', '')}"
    body = alert.get("annotations", {}).get("summary", "")
    for topic, channel in _targets(labels):
        if channel == "sms":
            messaging.create_sms(ID.unique(), f"{title}: {body}"[:160], topics=[topic])
        else:
            messaging.create_push(ID.unique(), title=title, body=body, topics=[topic])
    return len(_targets(labels))


def main(context: Any) -> Any:
    req = context.req
    if req.method == "GET":
        return context.res.json({"status": "ok", "service": "per-alert-baseline"})
    presented = req.headers.get("authorization", "").removeprefix("Bearer ").strip().encode()
    expected = os.environ.get("WEBHOOK_TOKEN", "").encode()
    if not expected or not hmac.compare_digest(presented, expected):
        return context.res.json({"error": "missing or invalid bearer token"}, 401)
    payload: dict[str, Any] = json.loads(req.body_binary or b"{}")

    client = (Client().set_endpoint(os.environ["APPWRITE_FUNCTION_API_ENDPOINT"])
              .set_project(os.environ["APPWRITE_FUNCTION_PROJECT_ID"])
              .set_key(req.headers.get("x-appwrite-key", "")))
    tables, messaging = TablesDB(client), Messaging(client)
    created = updated = sent = 0
    for alert in payload.get("alerts", []):
        fingerprint = alert["fingerprint"]
        try:
            previous: str | None = tables.get_row(DATABASE_ID, TABLE_ID, fingerprint).data.get("status")
        except AppwriteException as exc:
            if exc.code != 404:
                raise
            previous = None
        status = alert["status"]
        announce = status != previous and not (previous is None and status == "resolved")
        row = _row(alert, payload, "" if previous is None and status == "resolved" else status)
        if previous is None:
            tables.create_row(DATABASE_ID, TABLE_ID, fingerprint, row)
            created += 1
        else:
            tables.update_row(DATABASE_ID, TABLE_ID, fingerprint, row)
            updated += 1
        if announce:
            sent += _announce(messaging, alert)
    return context.res.json({"status": "ok", "created": created, "updated": updated, "messagesSent": sent})
