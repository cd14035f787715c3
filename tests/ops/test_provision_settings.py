"""Settings validated once at the edge, resource renames, and Appwrite errors turned into one-line advice."""

from __future__ import annotations

import pytest
from appwrite.exception import AppwriteException

from ops.provision import (
    AppwriteError,
    ConfigError,
    Rejected,
    ResourceIds,
    Settings,
    classify,
    load_settings,
    rename_resources,
)
from src.core.schema import load_schema

SCHEMA = load_schema()
KEY = "standard_0123456789abcdef-secret"
ENV = {"APPWRITE_ENDPOINT": "http://127.0.0.1:9/v1/", "APPWRITE_PROJECT_ID": "proj", "APPWRITE_API_KEY": KEY}
SETTINGS = Settings("http://127.0.0.1:9/v1", "proj", KEY, ResourceIds("monitoring"))


def test_environment_gives_the_connection_and_default_ids() -> None:
    settings = load_settings(SCHEMA, ENV)
    assert (settings.endpoint, settings.project_id, settings.api_key) == ("http://127.0.0.1:9/v1", "proj", KEY)
    assert settings.ids == ResourceIds("monitoring", "alerts", "critical-alerts", "monitoring-alerts", "alert_events")


def test_flags_win_over_the_environment() -> None:
    settings = load_settings(SCHEMA, ENV, endpoint="https://example.test/v1", project="other", key="k2")
    assert (settings.endpoint, settings.project_id, settings.api_key) == ("https://example.test/v1", "other", "k2")


def test_the_key_never_appears_in_the_settings_repr() -> None:
    assert KEY not in repr(load_settings(SCHEMA, ENV))


def test_every_missing_setting_is_named_with_its_flag_and_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(SCHEMA, {"APPWRITE_PROJECT_ID": "proj"})
    assert str(caught.value) == (
        "missing settings: endpoint (--endpoint or APPWRITE_ENDPOINT), API key (--key or APPWRITE_API_KEY); "
        "pass the flag or set the environment variable"
    )


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"APPWRITE_ENDPOINT": "127.0.0.1:9/v1"}, "is not an http(s) URL"),
        ({"APPWRITE_PROJECT_ID": "-proj"}, "project ID '-proj' is not a valid Appwrite ID"),
        ({"ALERTS_TABLE_ID": "alerts table"}, "ALERTS_TABLE_ID='alerts table' is not a valid Appwrite ID"),
        ({"ALERTS_DATABASE_ID": "x" * 37}, "ALERTS_DATABASE_ID="),
        ({"CRITICAL_TOPIC_ID": "same", "MONITORING_TOPIC_ID": "same"}, "give the two topics different IDs"),
        ({"EVENTS_TABLE_ID": "alerts"}, "give the two tables different IDs"),
        ({"SMS_LOG_TABLE_ID": "alert_events"}, "EVENTS_TABLE_ID and SMS_LOG_TABLE_ID both name table"),
        ({"EVENTS_TABLE_ID": "_history"}, "EVENTS_TABLE_ID='_history' is not a valid Appwrite ID"),
    ],
    ids=["endpoint", "project", "table-id", "database-id-too-long", "same-topics", "same-tables", "same-sms-table",
         "events-id"],
)
def test_invalid_setting_is_a_config_error_naming_it(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(SCHEMA, {**ENV, **env})
    assert words in str(caught.value)


def test_renamed_ids_apply_to_database_table_and_topics() -> None:
    env = {
        **ENV,
        "ALERTS_DATABASE_ID": "ops",
        "ALERTS_TABLE_ID": "events",
        "EVENTS_TABLE_ID": "history",
        "SMS_LOG_TABLE_ID": "texts",
        "CRITICAL_TOPIC_ID": "pager",
        "MONITORING_TOPIC_ID": "feed",
    }
    renamed = rename_resources(SCHEMA, load_settings(SCHEMA, env).ids)
    assert renamed.database.id == "ops"
    assert [t.id for t in renamed.tables] == ["events", "history", "texts"]
    assert [t.id for t in renamed.topics] == ["pager", "feed"]
    assert renamed.tables[0].columns == SCHEMA.tables[0].columns


def _error(code: int, kind: str | None, message: str) -> AppwriteException:
    return AppwriteException(message, code, kind, message)


@pytest.mark.parametrize(
    ("exc", "error", "words"),
    [
        (
            AppwriteException(ConnectionError("... [Errno 111] Connection refused'))")),
            AppwriteError,
            "cannot reach Appwrite at http://127.0.0.1:9/v1 while reading database monitoring (Connection refused)",
        ),
        (
            _error(401, "general_unauthorized_scope", 'User (role: guests) missing scopes (["databases.read"])'),
            AppwriteError,
            "Appwrite refused the API key for project 'proj'",
        ),
        (
            _error(
                401,
                "general_unauthorized_scope",
                'app.proj@service.x (role: applications) missing scopes (["databases.read"])',
            ),
            AppwriteError,
            'lacks a scope for reading database monitoring (this step needs one of ["databases.read"]); '
            "give the key these scopes: databases.read, databases.write, tables.read",
        ),
        (_error(401, "project_key_expired", "expired"), AppwriteError, "it has expired"),
        (_error(404, "project_not_found", "Project not found"), AppwriteError, "Appwrite has no project 'proj'"),
        (_error(404, "general_route_not_found", "Route not found"), AppwriteError, "usually ending in /v1"),
        (_error(503, "general_server_error", "Server Error"), AppwriteError, "run again to finish"),
        (_error(400, "column_limit_exceeded", "too many"), Rejected, "too many (column_limit_exceeded)"),
    ],
    ids=["unreachable", "wrong-key", "missing-scope", "expired-key", "no-project", "not-appwrite", "server", "refused"],
)
def test_appwrite_errors_become_one_line_advice(exc: AppwriteException, error: type[Exception], words: str) -> None:
    found = classify(exc, "reading database monitoring", SETTINGS)
    assert isinstance(found, error)
    assert not isinstance(found, Rejected) or error is Rejected  # a stop is never reported as one resource
    assert words in str(found)
    assert "\n" not in str(found)
    assert KEY not in str(found)
