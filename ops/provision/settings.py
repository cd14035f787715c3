"""The bootstrap's settings, validated once at the edge: the connection (endpoint, project, API key, from flags
or the environment) and the resource IDs, read from the same variables and defaults as the function's
(`src/settings.py`), so renamed resources match."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from src.core.schema import Schema
from src.ids import ID_RULE, is_appwrite_id
from src.settings import (
    DEFAULT_CRITICAL_TOPIC_ID,
    DEFAULT_EVENTS_TABLE_ID,
    DEFAULT_MONITORING_TOPIC_ID,
    DEFAULT_SMS_TABLE_ID,
    DEFAULT_TABLE_ID,
    ENV_CRITICAL_TOPIC_ID,
    ENV_DATABASE_ID,
    ENV_EVENTS_TABLE_ID,
    ENV_MONITORING_TOPIC_ID,
    ENV_SMS_TABLE_ID,
    ENV_TABLE_ID,
    RESOURCE_ID_DEFAULTS,
    TABLE_ID_VARIABLES,
)

ENV_ENDPOINT = "APPWRITE_ENDPOINT"
ENV_PROJECT = "APPWRITE_PROJECT_ID"
ENV_KEY = "APPWRITE_API_KEY"
DEFAULT_TIMEOUT = 60.0

REQUIRED_SCOPES = (
    "databases.read",
    "databases.write",
    "tables.read",
    "tables.write",
    "columns.read",
    "columns.write",
    "indexes.read",
    "indexes.write",
    "topics.read",
    "topics.write",
)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and how to fix it."""


@dataclass(frozen=True)
class ResourceIds:
    """The IDs the resources get; each can be renamed through the variable the function also reads."""

    database: str
    table: str = DEFAULT_TABLE_ID
    critical_topic: str = DEFAULT_CRITICAL_TOPIC_ID
    monitoring_topic: str = DEFAULT_MONITORING_TOPIC_ID
    events: str = DEFAULT_EVENTS_TABLE_ID
    sms: str = DEFAULT_SMS_TABLE_ID


@dataclass(frozen=True)
class Settings:
    """What one bootstrap run connects with and the IDs it creates; the key is never in the repr."""

    endpoint: str
    project_id: str
    api_key: str = field(repr=False)
    ids: ResourceIds
    timeout: float = DEFAULT_TIMEOUT


def load_settings(
    schema: Schema,
    env: Mapping[str, str],
    *,
    endpoint: str | None = None,
    project: str | None = None,
    key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Settings:
    """Settings from flags (when given) or the environment; raises ConfigError naming what is wrong."""
    connection = {
        "endpoint": (endpoint or env.get(ENV_ENDPOINT, ""), f"--endpoint or {ENV_ENDPOINT}"),
        "project": (project or env.get(ENV_PROJECT, ""), f"--project or {ENV_PROJECT}"),
        "API key": (key or env.get(ENV_KEY, ""), f"--key or {ENV_KEY}"),
    }
    missing = [f"{name} ({source})" for name, (value, source) in connection.items() if not value.strip()]
    if missing:
        raise ConfigError(
            f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)}; "
            "pass the flag or set the environment variable"
        )
    url = connection["endpoint"][0].strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"endpoint {url!r} is not an http(s) URL; pass --endpoint or set {ENV_ENDPOINT} "
            "to the API address, e.g. https://cloud.appwrite.io/v1"
        )
    if not timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    ids = _resource_ids(env, schema.database.id)
    project_id = connection["project"][0].strip()
    if not is_appwrite_id(project_id):
        raise ConfigError(f"project ID {project_id!r} is not a valid Appwrite ID ({ID_RULE})")
    return Settings(url, project_id, connection["API key"][0].strip(), ids, timeout)


def _resource_id(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not is_appwrite_id(value):
        raise ConfigError(f"{name}={value!r} is not a valid Appwrite ID ({ID_RULE})")
    return value


def _resource_ids(env: Mapping[str, str], database_default: str) -> ResourceIds:
    """The IDs from the function's own variables and defaults (the database's default from the schema); the three
    tables and the two topics distinct."""
    defaults = {**RESOURCE_ID_DEFAULTS, ENV_DATABASE_ID: database_default}
    found = {name: _resource_id(env, name, default) for name, default in defaults.items()}
    for index, name in enumerate(TABLE_ID_VARIABLES):
        for other in TABLE_ID_VARIABLES[index + 1:]:
            if found[name] == found[other]:
                raise ConfigError(f"{name} and {other} both name table {found[name]!r}; give the two tables different "
                                  "IDs")
    if found[ENV_CRITICAL_TOPIC_ID] == found[ENV_MONITORING_TOPIC_ID]:
        raise ConfigError(
            f"{ENV_CRITICAL_TOPIC_ID} and {ENV_MONITORING_TOPIC_ID} both name topic {found[ENV_CRITICAL_TOPIC_ID]!r}; "
            "give the two topics different IDs"
        )
    return ResourceIds(
        database=found[ENV_DATABASE_ID],
        table=found[ENV_TABLE_ID],
        critical_topic=found[ENV_CRITICAL_TOPIC_ID],
        monitoring_topic=found[ENV_MONITORING_TOPIC_ID],
        events=found[ENV_EVENTS_TABLE_ID],
        sms=found[ENV_SMS_TABLE_ID],
    )


def rename_resources(schema: Schema, ids: ResourceIds) -> Schema:
    """The schema with the database, the tables and the two topics given the configured IDs."""
    tables = {DEFAULT_TABLE_ID: ids.table, DEFAULT_EVENTS_TABLE_ID: ids.events, DEFAULT_SMS_TABLE_ID: ids.sms}
    topics = {DEFAULT_CRITICAL_TOPIC_ID: ids.critical_topic, DEFAULT_MONITORING_TOPIC_ID: ids.monitoring_topic}
    return schema.model_copy(
        update={
            "database": schema.database.model_copy(update={"id": ids.database}),
            "tables": tuple(t.model_copy(update={"id": tables.get(t.id, t.id)}) for t in schema.tables),
            "topics": tuple(t.model_copy(update={"id": topics.get(t.id, t.id)}) for t in schema.topics),
        }
    )
