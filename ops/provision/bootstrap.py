"""The entry points: `run()` observes, plans and (when applying) applies; `apply_schema()` bootstraps a project with
the default IDs, quietly, for the dev kit and the tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from src.core.schema import Schema, load_schema
from src.errors import AppwriteError

from .apply import ProgressSink, ResultSink, apply_plan, ignore
from .gateway import Gateway, observe
from .plan import Plan, plan
from .report import Action, Mode, Result, exit_code, format_result, preview, summarize
from .settings import ConfigError, Settings, load_settings, rename_resources
from .topics import TopicNeeds, add_topics, read_topic_needs


@dataclass(frozen=True)
class Report:
    """One run's outcome: the plan, a result per resource, Appwrite's warning headers, and the topic warnings."""

    mode: Mode
    plan: Plan
    results: list[Result]
    warnings: list[str]

    @property
    def exit_code(self) -> int:
        return exit_code(self.results, self.mode)

    @property
    def message(self) -> str:
        return summarize(self.results, self.mode)

    @property
    def topic_warnings(self) -> tuple[str, ...]:
        return self.plan.warnings


def run(
    settings: Settings,
    mode: Mode = Mode.APPLY,
    *,
    schema: Schema | None = None,
    on_plan: Callable[[Plan], None] = ignore,
    on_result: ResultSink = ignore,
    on_progress: ProgressSink = ignore,
    topics: TopicNeeds | None = None,
) -> Report:
    """Observe, plan and (in APPLY mode) apply; raises AppwriteError when Appwrite cannot be used.

    `topics` (from `read_topic_needs`): the topics the function sends to, created and checked besides the
    schema's; None: the schema's alone."""
    declared = add_topics(rename_resources(schema or load_schema(), settings.ids), topics or {})
    gateway = Gateway(settings)
    the_plan = plan(declared, observe(gateway, declared), topics)
    on_plan(the_plan)
    if mode is Mode.APPLY:
        results = apply_plan(the_plan, gateway, timeout=settings.timeout, on_result=on_result, on_progress=on_progress)
    else:
        results = preview(the_plan, mode)
        for result in results:
            on_result(result)
    return Report(mode, the_plan, results, gateway.warnings)


def apply_schema(endpoint: str, project_id: str, api_key: str, variables: Mapping[str, str] | None = None) -> bool:
    """Bootstrap the project with the IDs and topics the function's `variables` name (default: none set, the
    default IDs); quiet except for problems (on stderr).

    True when everything is in place afterwards.
    """

    def print_problem(result: Result) -> None:
        if result.action not in (Action.CREATED, Action.EXISTS, Action.EXTRA):
            print(f"bootstrap: {format_result(result)}", file=sys.stderr)

    try:
        schema = load_schema()
        settings = load_settings(schema, variables or {}, endpoint=endpoint, project=project_id, key=api_key)
        topics = read_topic_needs(variables) if variables else None
        report = run(settings, schema=schema, on_result=print_problem, topics=topics)
    except (ConfigError, AppwriteError) as exc:
        print(f"bootstrap: error: {scrub(str(exc), api_key)}", file=sys.stderr)
        return False
    return report.exit_code == 0


def scrub(text: str, secret: str) -> str:
    """The text with the secret masked, in case a message ever echoes it."""
    return text.replace(secret, "***") if secret else text
