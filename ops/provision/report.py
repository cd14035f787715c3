"""Results for a person or a machine: one `Result` per resource, the summary paragraph, the --json document and
the exit code."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .plan import Plan, State, Step


class Mode(StrEnum):
    APPLY = "apply"
    CHECK = "check"
    DRY_RUN = "dry-run"


class Action(StrEnum):
    CREATED = "created"
    EXISTS = "exists"
    DRIFT = "drift"
    EXTRA = "extra"
    FAILED = "failed"
    PROCESSING = "processing"
    MISSING = "missing"
    WOULD_CREATE = "would create"


@dataclass(frozen=True)
class Result:
    resource: str
    id: str
    action: Action
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "id": self.id, "action": self.action.value, "detail": self.detail}


def preview(the_plan: Plan, mode: Mode) -> list[Result]:
    """The plan as results, writing nothing: what --check and --dry-run report."""
    return [as_found(step, mode) for step in the_plan.steps()]


def as_found(step: Step, mode: Mode = Mode.APPLY) -> Result:
    if step.state is State.MISSING:
        action = Action.WOULD_CREATE if mode is Mode.DRY_RUN else Action.MISSING
    else:
        action = Action(step.state.value)
    return Result(step.kind.value, step.id, action, step.detail)


def exit_code(results: Iterable[Result], mode: Mode) -> int:
    """0 when everything is (or, for a dry run, would be) in place, 1 otherwise."""
    if mode is Mode.DRY_RUN:
        # What a real run will create does not count; what it cannot fix does.
        not_in_place = {Action.DRIFT, Action.FAILED}
    else:
        not_in_place = {Action.DRIFT, Action.FAILED, Action.PROCESSING, Action.MISSING}
    return 1 if any(r.action in not_in_place for r in results) else 0


def summarize(results: list[Result], mode: Mode) -> str:
    """One paragraph for a person: the outcome and, when something is wrong, what to do."""
    counts = count_actions(results)
    problems = []
    if counts.get(Action.FAILED):
        problems.append(
            f"{counts[Action.FAILED]} failed: Appwrite's error is shown on each line; fix the cause, delete "
            "the failed resource in the Appwrite console and run this again."
        )
    if counts.get(Action.PROCESSING):
        problems.append(
            f"{counts[Action.PROCESSING]} still processing: Appwrite goes on building in the background; run "
            "this again (with a larger --timeout if needed) to check and finish."
        )
    if counts.get(Action.DRIFT):
        problems.append(
            f"{counts[Action.DRIFT]} differ from schema/appwrite.schema.json and were left as they are "
            "(nothing is ever changed or deleted). The function may still work, but writes can fail or be "
            "cut short; change the resource in the Appwrite console (or delete it and run this again to "
            "recreate it), or update the schema if the difference is intended."
        )
    if counts.get(Action.MISSING):
        fix = "run `python scripts/bootstrap_schema.py` to create them." if mode is Mode.CHECK else "run this again."
        problems.append(f"{counts[Action.MISSING]} missing: {fix}")
    if problems:
        return "The project is not as declared. " + " ".join(problems)
    if mode is Mode.DRY_RUN and counts.get(Action.WOULD_CREATE):
        return f"Dry run: {counts[Action.WOULD_CREATE]} resources would be created; nothing was written."
    if counts.get(Action.CREATED):
        return f"Done: created {counts[Action.CREATED]} resources; everything is in place."
    return "Everything is up to date; nothing to do."


def count_actions(results: Iterable[Result]) -> Counter[Action]:
    return Counter(result.action for result in results)


def format_result(result: Result, id_width: int = 0) -> str:
    return f"{result.action.value:<12}  {result.resource:<8}  {result.id:<{id_width}}  {result.detail}".rstrip()


def report_json(results: list[Result], mode: Mode, *, error: str = "", warnings: Iterable[str] = ()) -> str:
    """The --json document: the results and a summary (with the warnings, which do not change the exit code)."""
    code = 2 if error else exit_code(results, mode)
    summary: dict[str, Any] = {
        "mode": mode.value,
        "ok": code == 0,
        "exit_code": code,
        "counts": {action.value: n for action, n in count_actions(results).items()},
        "message": error or summarize(results, mode),
        "warnings": list(warnings),
    }
    if error:
        summary["error"] = error
    return json.dumps({"results": [r.to_json() for r in results], "summary": summary}, indent=2)
