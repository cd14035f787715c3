"""Show what alert-processor stored and sent: the newest alert rows and Messaging messages, each message with
its outcome as Appwrite reports it (delivered N, failed: <Appwrite's error>, sent to nobody, pending).

    python scripts/list_alerts.py [--endpoint URL --project ID --key KEY] [--limit 20]

Connection from the flags or APPWRITE_ENDPOINT / APPWRITE_PROJECT_ID / APPWRITE_API_KEY (the key is never
printed); the key needs rows.read and messages.read. Works from any directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ops.venv import use_project_venv  # noqa: E402

use_project_venv()

from appwrite.client import Client  # noqa: E402
from appwrite.exception import AppwriteException  # noqa: E402
from appwrite.query import Query  # noqa: E402
from appwrite.services.messaging import Messaging  # noqa: E402
from appwrite.services.tables_db import TablesDB  # noqa: E402

from ops.history import outcome_text  # noqa: E402
from ops.provision import ConfigError, Settings, load_settings  # noqa: E402
from src.core.message_status import MessageStatus  # noqa: E402
from src.core.schema import load_schema  # noqa: E402
from src.oncall.delivery_status import outcome_of  # noqa: E402


def _rows(tables: TablesDB, settings: Settings, limit: int) -> list[dict[str, Any]]:
    page = tables.list_rows(settings.ids.database, settings.ids.table,
                            queries=[Query.order_desc("$updatedAt"), Query.limit(limit)])
    return [dict(row.data) for row in page.rows]


def _messages(messaging: Messaging, limit: int) -> list[Any]:
    page = messaging.list_messages(queries=[Query.order_desc("$createdAt"), Query.limit(limit)])
    return list(page.messages)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def message_outcome(message: Any) -> str:
    """What became of one message, in the words of the alert history (`ops.history.outcome_text`)."""
    status = MessageStatus(getattr(message.status, "value", str(message.status)), int(message.deliveredtotal or 0),
                           tuple(str(error) for error in message.deliveryerrors or ()))
    outcome, reason = outcome_of(status)
    return outcome_text({"outcome": outcome, "reason": reason, "delivered": status.delivered_total})


def render(alerts: list[dict[str, Any]], messages: list[Any]) -> str:
    alert_rows = [
        [a.get("status") or "", a.get("severity") or "", a.get("alertname") or "", a.get("instance") or "",
         (a.get("startsAt") or "")[:19], (a.get("notifiedStatus") or "-"), a.get("fingerprint") or ""]
        for a in alerts
    ]
    message_rows = [
        [(m.createdat or "")[:19], m.providertype, ",".join(m.topics), getattr(m.status, "value", str(m.status)),
         message_outcome(m)[:60], (m.data.get("title") or m.data.get("subject") or m.data.get("content") or "")[:70]]
        for m in messages
    ]
    return "\n".join([
        f"Alerts ({len(alerts)} most recently updated)",
        _table(["status", "severity", "alertname", "instance", "startsAt", "told", "fingerprint"], alert_rows),
        "",
        f"Messages ({len(messages)} newest)",
        _table(["created", "channel", "topic", "status", "outcome", "title / text"], message_rows),
    ])


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--endpoint")
    parser.add_argument("--project")
    parser.add_argument("--key")
    parser.add_argument("--limit", type=int, default=20, choices=range(1, 101), metavar="1..100")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(load_schema(), os.environ if env is None else env,
                                 endpoint=args.endpoint, project=args.project, key=args.key)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    client = Client().set_endpoint(settings.endpoint).set_project(settings.project_id).set_key(settings.api_key)
    try:
        text = render(_rows(TablesDB(client), settings, args.limit), _messages(Messaging(client), args.limit))
    except AppwriteException as exc:
        reason = exc.type or (f"HTTP {exc.code}" if exc.code else "no answer")
        print(f"error: Appwrite at {settings.endpoint} refused the listing ({reason}); check the endpoint, "
              "the project and that the key has rows.read and messages.read", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
