"""Print the history of an alert: every change of state alert-processor decided for it, as a timeline.

    python scripts/alert_history.py FINGERPRINT [--since 24h]
    python scripts/alert_history.py --alertname NAME [--since 7d] [--json]

Reads the alert_events table of the same Appwrite project the function writes to. Connection from the flags
or APPWRITE_ENDPOINT / APPWRITE_PROJECT_ID / APPWRITE_API_KEY (the key needs rows.read and is never printed);
ALERTS_DATABASE_ID and EVENTS_TABLE_ID name the database and table as for the function. Exit status: 0 done
(also when nothing was recorded), 2 bad settings or Appwrite unusable, with a one-line error. Works from any
directory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ops.venv import use_project_venv  # noqa: E402

use_project_venv()

from ops.history import parse_since, timeline, with_outcomes  # noqa: E402
from ops.provision import ConfigError, load_settings, scrub  # noqa: E402
from src.core.schema import load_schema  # noqa: E402
from src.delivery.appwrite_store import AppwriteStore  # noqa: E402
from src.errors import AppwriteError  # noqa: E402  (the repository root must be importable first)
from src.ids import ID_PATTERN  # noqa: E402
from src.settings import ENV_DATABASE_ID, ENV_EVENTS_TABLE_ID  # noqa: E402

DEFAULT_LIMIT = 500
_FINGERPRINT = re.compile(ID_PATTERN)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="alert_history.py",
        description="Print the changes of state alert-processor recorded for one alert (by fingerprint) or for "
                    "every alert of one name, oldest first: when it was decided, the kind (fired, resolved, "
                    "refired, resolved-unseen, stale-ignored), why, and which topics and channels heard of it.",
        epilog=f"environment: APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID, APPWRITE_API_KEY (connection, when the flags "
               f"are not given); {ENV_DATABASE_ID}, {ENV_EVENTS_TABLE_ID} (as for the function).",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("fingerprint", nargs="?", help="the alert's fingerprint (the row ID in the alerts table)")
    which.add_argument("--alertname", help="every alert with this alertname label instead")
    parser.add_argument("--since", default="24h", help="how far back: 90m, 24h, 7d, 2w ... (default 24h)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, choices=range(1, 10_001), metavar="1..10000",
                        help=f"at most this many changes (default {DEFAULT_LIMIT})")
    parser.add_argument("--json", action="store_true",
                        help="print the changes as a JSON list, each sent message with its outcome, delivered "
                             "count and error")
    parser.add_argument("--endpoint", help="Appwrite API endpoint, e.g. https://cloud.appwrite.io/v1")
    parser.add_argument("--project", help="Appwrite project ID")
    parser.add_argument("--key", help="Appwrite API key (prefer APPWRITE_API_KEY: flags are visible to other users)")
    parser.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="give up on Appwrite after this long (default 30)")
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 600 seconds, not {text}")
    return value


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    try:
        window = parse_since(args.since)
    except ValueError as exc:
        return _fail(str(exc))
    if args.fingerprint is not None and not _FINGERPRINT.match(args.fingerprint):
        return _fail(f"{args.fingerprint!r} is not a fingerprint (up to 36 characters of a-z, A-Z, 0-9, '.', '_', "
                     "'-'); use --alertname NAME to look up by name")
    try:
        settings = load_settings(load_schema(), os.environ if env is None else env,
                                 endpoint=args.endpoint, project=args.project, key=args.key)
    except ConfigError as exc:
        return _fail(str(exc))
    since = datetime.now(UTC) - window
    store = AppwriteStore(endpoint=settings.endpoint, project_id=settings.project_id, api_key=settings.api_key,
                          database_id=settings.ids.database, table_id=settings.ids.table,
                          events_table_id=settings.ids.events, deadline=time.monotonic() + args.timeout)
    # The SDK prints Appwrite's version warning on every answer; keep each distinct one once.
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            events = store.list_events(fingerprint=args.fingerprint, alertname=args.alertname, since=since,
                                       limit=args.limit)
    except AppwriteError as exc:
        where = f"Appwrite at {settings.endpoint}, project {settings.project_id}, table {settings.ids.events}"
        if exc.code in (401, 403):
            return _fail(f"Appwrite refused the API key ({exc.type or exc.code}); check --key / APPWRITE_API_KEY: "
                         f"it must belong to the project and have the rows.read scope ({where})")
        return _fail(f"{scrub(str(exc), settings.api_key)} ({where})")
    finally:
        for warning in dict.fromkeys(captured.getvalue().splitlines()):
            if warning.strip():
                print(f"note: {scrub(warning.removeprefix('Warning: '), settings.api_key)}", file=sys.stderr)
    if args.json:
        print(json.dumps(with_outcomes(events), indent=2, default=str))
        return 0
    print(timeline(events, since=since, fingerprint=args.fingerprint, alertname=args.alertname, limit=args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
