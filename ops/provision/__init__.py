"""Prepare an Appwrite project for the function from the declarative schema: plan, apply, check.

Layers, so that every decision can be tested without a server:

* `settings`: the connection and the resource IDs, validated once (the function's variable names and defaults);
  `topics`: the topics the function sends to, from its own routing settings;
* `gateway.observe()` reads what Appwrite has (database, tables, columns, indexes, topics) through the official
  SDK and turns the SDK's models into the frozen records of `observed`;
* `plan.plan()` compares those records with the schema and returns one `Step` per resource: missing, exists,
  drift (saying what differs), failed, processing, or extra. It is pure;
* `apply.apply_plan()` creates what is missing, in dependency order (database, table, columns, indexes,
  topics), waiting for Appwrite's asynchronous column and index builds;
* `report` turns the outcome into lines, a summary, JSON and an exit code; `errors` gives Appwrite's errors
  the operator's advice.

Nothing here updates, deletes or recreates a resource: a difference is reported and left to a person.
`bootstrap.apply_schema()` is the entry point the other parts use; `scripts/bootstrap_schema.py` is the CLI.
Current Appwrite says TablesDB, tables, columns and rows; older documentation says databases,
collections, attributes and documents for the same things. The names below are what scripts/, devkit/ and
tests/ import.
"""

from src.errors import AppwriteError

from .apply import apply_plan
from .bootstrap import Report, apply_schema, run, scrub
from .errors import Rejected, classify
from .observed import ActualColumn, ActualIndex, ActualTable, ActualTopic, Observed, column_record, index_record
from .plan import Kind, Plan, State, Step, plan
from .report import Action, Mode, Result, exit_code, format_result, preview, report_json, summarize
from .settings import (
    DEFAULT_TIMEOUT,
    ENV_ENDPOINT,
    ENV_KEY,
    ENV_PROJECT,
    REQUIRED_SCOPES,
    ConfigError,
    ResourceIds,
    Settings,
    load_settings,
    rename_resources,
)
from .topics import TopicNeeds, add_topics, read_topic_needs

__all__ = [
    "DEFAULT_TIMEOUT", "ENV_ENDPOINT", "ENV_KEY", "ENV_PROJECT", "REQUIRED_SCOPES",
    "Action", "ActualColumn", "ActualIndex", "ActualTable", "ActualTopic", "AppwriteError", "ConfigError", "Kind",
    "Mode", "Observed", "Plan", "Rejected", "Report", "ResourceIds", "Result", "Settings", "State", "Step",
    "TopicNeeds", "add_topics", "apply_plan", "apply_schema", "classify", "column_record", "exit_code",
    "format_result", "index_record", "load_settings", "plan", "preview", "read_topic_needs", "rename_resources",
    "report_json", "run", "scrub", "summarize",
]
