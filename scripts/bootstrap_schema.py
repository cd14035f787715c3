"""Prepare an Appwrite project for alert-processor from schema/appwrite.schema.json.

Thin command-line entry over `ops/provision`: parses flags, validates the settings once, prints one
line per resource and maps the outcome to an exit status (0 in place, 1 not as declared, 2 cannot use
Appwrite or bad settings). Run it from any directory: `python scripts/bootstrap_schema.py --help`.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ops.venv import use_project_venv  # noqa: E402

use_project_venv()

from ops.provision import (  # noqa: E402  (the repository root must be importable first)
    DEFAULT_TIMEOUT,
    ENV_ENDPOINT,
    ENV_KEY,
    ENV_PROJECT,
    REQUIRED_SCOPES,
    ConfigError,
    Mode,
    Plan,
    Result,
    format_result,
    load_settings,
    read_topic_needs,
    report_json,
    run,
    scrub,
)
from src.core.schema import load_schema  # noqa: E402
from src.errors import AppwriteError  # noqa: E402
from src.settings import (  # noqa: E402
    ENV_CRITICAL_TOPIC_ID,
    ENV_DATABASE_ID,
    ENV_EVENTS_TABLE_ID,
    ENV_MONITORING_TOPIC_ID,
    ENV_SMS_TABLE_ID,
    ENV_TABLE_ID,
)

DESCRIPTION = """\
Create what alert-processor needs in an Appwrite project, as declared in schema/appwrite.schema.json:
the TablesDB database, the alerts, alert_events and sms_log tables ("collections" in older Appwrite) with their
columns ("attributes") and indexes, and the Messaging topics: the schema's two and every topic the function
sends to (ALERT_ROUTES, HEARTBEAT_TOPIC_ID, ALERT_FALLBACK, read as the function reads them).
Creates only what is missing; never changes or deletes anything. A second run changes nothing, and a run that
was interrupted is completed by the next. Differences from the schema are reported as "drift" and left as they are."""

EPILOG = f"""\
environment:
  {ENV_ENDPOINT}, {ENV_PROJECT}, {ENV_KEY}
                        connection, when the flags are not given (prefer the variable for the key)
  {ENV_DATABASE_ID}, {ENV_TABLE_ID}, {ENV_EVENTS_TABLE_ID},
  {ENV_SMS_TABLE_ID}, {ENV_CRITICAL_TOPIC_ID}, {ENV_MONITORING_TOPIC_ID}
                        resource IDs, the same variables the function reads (defaults: the
                        schema's database ID, alerts, alert_events, sms_log, critical-alerts,
                        monitoring-alerts)
  ALERT_ROUTES, ALERT_FALLBACK, HEARTBEAT_ALERT, HEARTBEAT_TOPIC_ID
                        the topics the function sends to (overridden by --routes, --fallback);
                        each is created, and --check names the route that names a missing one

API key scopes:
{textwrap.fill(", ".join(REQUIRED_SCOPES), 100, initial_indent="  ", subsequent_indent="  ")}
  (--check and --dry-run need only the .read ones)

exit status:
  0  everything is in place (for --dry-run: nothing stands in the way of creating it)
  1  something is missing (--check), differs from the schema, failed or is still processing
     (a topic without a subscriber of a channel sent to it is a warning, not a failure)
  2  bad or missing settings, Appwrite unreachable, key refused or lacking scopes"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bootstrap_schema.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--endpoint", help=f"Appwrite API endpoint, e.g. https://cloud.appwrite.io/v1 (${ENV_ENDPOINT})"
    )
    parser.add_argument("--project", help=f"Appwrite project ID (${ENV_PROJECT})")
    parser.add_argument("--key", help=f"Appwrite API key (${ENV_KEY}); visible to other local users as a flag")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print what would be created; write nothing")
    mode.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 unless everything is in place as declared"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for Appwrite to build new columns, then new indexes (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of text")
    parser.add_argument("--routes", metavar="JSON", help="the function's routes, instead of $ALERT_ROUTES")
    parser.add_argument("--fallback", metavar="JSON", help="the function's fallback, instead of $ALERT_FALLBACK")
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    environment = os.environ if env is None else env
    mode = Mode.CHECK if args.check else Mode.DRY_RUN if args.dry_run else Mode.APPLY
    try:
        schema = load_schema()
    except (OSError, ValueError) as exc:
        return _fail(f"cannot read the schema file: {' '.join(str(exc).split())[:300]}", mode, [], as_json=args.json)
    try:
        settings = load_settings(
            schema, environment, endpoint=args.endpoint, project=args.project, key=args.key, timeout=args.timeout
        )
        topics = read_topic_needs(environment, routes=args.routes, fallback=args.fallback)
    except ConfigError as exc:
        return _fail(str(exc), mode, [], as_json=args.json)
    printer = _TextPrinter(mode, settings.endpoint, settings.project_id, enabled=not args.json)
    try:
        report = run(
            settings,
            mode,
            schema=schema,
            on_plan=printer.plan,
            on_result=printer.result,
            on_progress=printer.progress,
            topics=topics,
        )
    except AppwriteError as exc:
        return _fail(scrub(str(exc), settings.api_key), mode, printer.results, as_json=args.json)
    except KeyboardInterrupt:
        print("\ninterrupted; run again to finish (it is safe to repeat)", file=sys.stderr)
        return 130
    for warning in report.warnings:
        print(f"note: Appwrite says: {warning}", file=sys.stderr)
    if args.json:
        print(report_json(report.results, mode, warnings=report.topic_warnings))
    else:
        for topic_warning in report.topic_warnings:
            print(f"warning: {topic_warning}")
        print(f"\n{report.message}")
    return report.exit_code


def _fail(message: str, mode: Mode, results: list[Result], *, as_json: bool) -> int:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        print(report_json(results, mode, error=message))
    return 2


class _TextPrinter:
    """Prints one line per resource as results arrive, and waiting progress on stderr."""

    def __init__(self, mode: Mode, endpoint: str, project_id: str, *, enabled: bool) -> None:
        self._mode = mode
        self._where = f"project {project_id} at {endpoint}"
        self._enabled = enabled
        self._width = 0
        self.results: list[Result] = []

    def plan(self, the_plan: Plan) -> None:
        self._width = max(len(step.id) for step in the_plan.steps())
        if self._enabled:
            heading = {
                Mode.APPLY: "Bootstrapping",
                Mode.CHECK: "Checking (writing nothing)",
                Mode.DRY_RUN: "Dry run (writing nothing) for",
            }[self._mode]
            print(f"{heading} {self._where}", flush=True)

    def result(self, result: Result) -> None:
        self.results.append(result)
        if self._enabled:
            print(format_result(result, self._width), flush=True)

    def progress(self, message: str) -> None:
        if self._enabled:
            print(f"  ... {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
