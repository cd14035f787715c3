"""`GET /health`: the readiness judgement. From what Appwrite answered to the readiness calls (`Observations`
in `readiness`, gathered by the store), which checks failed, each with what to do, and which warnings to give.

The checks: `variables` (the function's variables are valid), `appwrite` (Appwrite answered), `api key` (the
key is accepted and holds every scope in `NEEDED_SCOPES`), `tables` (the database and its three tables
exist), `topics` (every topic a setting names exists) and `fallback` (with ALERT_FALLBACK set: no fallback page
failed within `FALLBACK_LOOKBACK`). A topic with no subscriber on a channel sent to it is a warning only: the
function works, but nobody hears that channel.

Pure: no I/O, no clock. The words never hold a secret: only IDs, scope names and what Appwrite's errors say
(which never repeat the key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ..messages.routing import Channel
from .readiness import Failed, Observations

CHECKS = ("variables", "appwrite", "api key", "tables", "topics", "fallback")
# Each scope the function uses and why; the readiness calls try each one (see `Observations.scopes`).
NEEDED_SCOPES: Mapping[str, str] = {
    "rows.read": "read alert rows and the history",
    "rows.write": "store alerts and their history",
    "messages.write": "send the pages",
    "messages.read": "follow the pages to their delivery",
    "topics.read": "check the topics (this readiness check)",
    "tables.read": "check the tables (this readiness check)",
}
BOOTSTRAP = "run python scripts/bootstrap_schema.py"
# How long a failed fallback page keeps the readiness check failing (the scheduled run follows messages each
# minute, so a failure shows within a minute or two of the page).
FALLBACK_LOOKBACK = timedelta(hours=1)
REDEPLOY = "add it in appwrite.json scopes and redeploy (or to APPWRITE_API_KEY's scopes outside Appwrite)"

Status = Literal["ok", "failed", "not checked"]


@dataclass(frozen=True)
class Wanted:
    """What the settings say must exist: the database, each table by the variable naming it, each topic with
    what names it (`route critical`) and the channels routed to it."""

    database_id: str
    tables: Mapping[str, str]
    topic_uses: Mapping[str, tuple[str, ...]]
    topic_channels: Mapping[str, tuple[Channel, ...]]


@dataclass(frozen=True)
class Failure:
    check: str
    problem: str


@dataclass(frozen=True)
class Verdict:
    checks: Mapping[str, Status]
    failures: tuple[Failure, ...]
    warnings: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.failures


def wanted(database_id: str, tables: Mapping[str, str],
           topic_channels: Mapping[str, Mapping[str, tuple[Channel, ...]]]) -> Wanted:
    """From `settings.topic_channels`: each topic, what names it, and the channels sent to it."""
    channels = {topic: tuple(dict.fromkeys(c for sent in uses.values() for c in sent))
                for topic, uses in topic_channels.items()}
    return Wanted(database_id, dict(tables), {topic: tuple(uses) for topic, uses in topic_channels.items()},
                  channels)


def misconfigured(problems: Sequence[str]) -> Verdict:
    """The verdict while the variables are invalid: nothing else can be checked."""
    checks: dict[str, Status] = {name: "not checked" for name in CHECKS}
    checks["variables"] = "failed"
    failures = tuple(Failure("variables", f"{problem}: fix the function's variables and redeploy")
                     for problem in problems)
    return Verdict(checks, failures, ())


def judge(want: Wanted, seen: Observations) -> Verdict:
    failures: list[Failure] = []
    warnings: list[str] = []
    checks: dict[str, Status] = {"variables": "ok"}
    answers: list[Failed | None] = [_failed(seen.topics), _failed(seen.tables), *seen.scopes.values(),
                                    _failed(seen.failed_fallbacks)]
    down = next((answer for answer in answers if answer is not None and answer.trouble == "unavailable"), None)
    rejected = next((answer for answer in answers if answer is not None and answer.trouble == "rejected_key"), None)
    if down is not None:
        failures.append(Failure("appwrite", f"{down.detail}: check APPWRITE_FUNCTION_API_ENDPOINT and the network; "
                                            "this check is retried on the next probe"))
        return Verdict(_rest(checks, "appwrite"), tuple(failures), ())
    checks["appwrite"] = "ok"
    if rejected is not None:
        failures.append(Failure("api key", "Appwrite rejected the API key (unknown, expired, or of another project): "
                                           "check the key (Appwrite passes one in x-appwrite-key; elsewhere "
                                           "APPWRITE_API_KEY)"))
        return Verdict(_rest(checks, "api key"), tuple(failures), ())
    missing = [scope for scope, answer in seen.scopes.items()
               if answer is not None and answer.trouble == "missing_scope"]
    for scope in missing:
        why = NEEDED_SCOPES.get(scope, "work")
        failures.append(Failure("api key", f"the API key lacks scope {scope} (needed to {why}): {REDEPLOY}"))
    for scope, answer in seen.scopes.items():
        if answer is not None and answer.trouble == "other":
            failures.append(Failure("api key", f"trying scope {scope}: {answer.detail}"))
    checks["api key"] = "failed" if any(f.check == "api key" for f in failures) else "ok"
    checks["tables"] = _tables(want, seen.tables, failures)
    checks["topics"] = _topics(want, seen.topics, failures, warnings)
    checks["fallback"] = _fallback(seen.failed_fallbacks, failures)
    return Verdict(checks, tuple(failures), tuple(warnings))


def _failed(value: object) -> Failed | None:
    return value if isinstance(value, Failed) else None


def _rest(checks: dict[str, Status], failed: str) -> dict[str, Status]:
    checks[failed] = "failed"
    return {name: checks.get(name, "not checked") for name in CHECKS}


def _tables(want: Wanted, found: frozenset[str] | Failed | None, failures: list[Failure]) -> Status:
    if found is None:
        return "not checked"
    if isinstance(found, Failed):
        if found.trouble == "missing_database":
            failures.append(Failure("tables", f'database "{want.database_id}" (ALERTS_DATABASE_ID) does not exist: '
                                              f"{BOOTSTRAP} or fix ALERTS_DATABASE_ID"))
            return "failed"
        if found.trouble == "missing_scope":
            return "not checked"  # the api key check names the scope
        failures.append(Failure("tables", f"{found.detail}: {BOOTSTRAP} --check"))
        return "failed"
    absent = [(variable, table) for variable, table in want.tables.items() if table not in found]
    for variable, table in absent:
        failures.append(Failure("tables", f'table "{table}" ({variable}) does not exist in database '
                                          f'"{want.database_id}": {BOOTSTRAP} or fix {variable}'))
    return "failed" if absent else "ok"


def _fallback(found: tuple[str, ...] | Failed | None, failures: list[Failure]) -> Status:
    """A fallback page that failed too: the last way to reach someone is broken, which is worth a 503."""
    if found is None or (isinstance(found, Failed) and found.trouble == "missing_scope"):
        return "not checked"
    if isinstance(found, Failed):
        failures.append(Failure("fallback", found.detail))
        return "failed"
    for described in found:
        failures.append(Failure("fallback", f"a fallback page failed too ({described}) within the last "
                                            f"{int(FALLBACK_LOOKBACK.total_seconds() // 60)} min: check the "
                                            "Messaging provider of that channel and the topic's subscribers"))
    return "failed" if found else "ok"


def _topics(want: Wanted, found: Mapping[str, Mapping[Channel, int]] | Failed | None, failures: list[Failure],
            warnings: list[str]) -> Status:
    if found is None:
        return "not checked"
    if isinstance(found, Failed):
        if found.trouble == "missing_scope":
            return "not checked"
        failures.append(Failure("topics", found.detail))
        return "failed"
    status: Status = "ok"
    for topic, uses in want.topic_uses.items():
        named = f"named by {' and '.join(uses)}"
        if topic not in found:
            fix = "ALERT_ROUTES" if any(use.startswith("route ") for use in uses) else "the setting that names it"
            failures.append(Failure("topics", f'topic "{topic}" {named} does not exist: {BOOTSTRAP} or fix {fix}'))
            status = "failed"
            continue
        for channel in want.topic_channels.get(topic, ()):
            if found[topic].get(channel, 0) <= 0:
                warnings.append(f'topic "{topic}" {named} has no {channel} subscriber: its {channel} messages '
                                "reach nobody; add a subscriber (console: Messaging > Topics) or drop the channel")
    return status
