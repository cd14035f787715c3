"""The readiness check `GET /health` (and `HEAD`) through the runtime host and the emulator: 200 only when the
variables, the key and its scopes, the tables and the topics are all there; else 503 naming what to fix."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_mock import MockerFixture

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from src.endpoints.http import Request
from src.endpoints.router import handle
from src.main import _store
from src.settings import load_settings
from tests.conftest import REPO_ROOT, function_env
from tests.harness import TOKEN, Appwrite
from tests.oncall.conftest import oncall_with, scheduled, settled

ROUTES_WITH_TYPO = json.dumps([
    {"name": "critical", "match": {"severity": ["critical"]}, "topic": "critcal-alerts", "channels": ["push", "sms"]},
    {"name": "monitoring", "topic": "monitoring-alerts", "channels": ["push"]},
])
LIMITED_KEY = "standard_limited-health-key-0123456789"


@contextmanager
def served(emulator: Emulator, api_key: str | None = None, **variables: str) -> Iterator[FunctionHost]:
    """A one-worker host of its own, so its warm cache holds only this test's verdicts."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator, **variables), api_key=api_key or emulator.api_key,
                      workers=1, echo=False) as host:
        yield host


def probe(host: FunctionHost, method: str = "GET") -> requests.Response:
    return requests.request(method, host.url + "/health", timeout=30)


def subscribe_everyone(appwrite: Appwrite) -> None:
    appwrite.control.add_subscribers("critical-alerts", "push", 1)
    appwrite.control.add_subscribers("critical-alerts", "sms", 1)
    appwrite.control.add_subscribers("monitoring-alerts", "push", 1)


def problems(reply: requests.Response) -> str:
    return " | ".join(failure["problem"] for failure in reply.json()["failures"])


def test_ready_when_everything_is_there(emulator: Emulator, appwrite: Appwrite) -> None:
    """With the schema bootstrapped, subscribers on every routed channel and the deployed scopes: 200, every
    check ok, no warning."""
    subscribe_everyone(appwrite)
    with served(emulator) as host:
        reply = probe(host)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "ready" and body["failures"] == [] and body["warnings"] == []
    assert body["checks"] == {"variables": "ok", "appwrite": "ok", "api key": "ok", "tables": "ok", "topics": "ok",
                              "fallback": "not checked"}
    assert body["cachedForSeconds"] == 10


def test_misspelled_route_topic_is_named(emulator: Emulator, appwrite: Appwrite) -> None:
    """A route naming a topic that does not exist: 503 naming the topic, the route and the fix."""
    with served(emulator, ALERT_ROUTES=ROUTES_WITH_TYPO) as host:
        reply = probe(host)
        logs = json.dumps(host.logs())
    assert reply.status_code == 503
    assert reply.json()["checks"]["topics"] == "failed"
    assert ('topic "critcal-alerts" named by route critical does not exist: run python scripts/bootstrap_schema.py '
            "or fix ALERT_ROUTES") in problems(reply)
    assert "monitoring-alerts" not in problems(reply)
    assert "critcal-alerts" in logs


def test_missing_table_is_named(emulator: Emulator, appwrite: Appwrite) -> None:
    """A table removed after bootstrap: 503 naming the table, its variable and the fix."""
    appwrite.tables.delete_table("monitoring", "sms_log")
    with served(emulator) as host:
        reply = probe(host)
    assert reply.status_code == 503
    assert reply.json()["checks"]["tables"] == "failed"
    assert ('table "sms_log" (SMS_LOG_TABLE_ID) does not exist in database "monitoring": '
            "run python scripts/bootstrap_schema.py") in problems(reply)


def test_missing_database_is_named(emulator: Emulator, appwrite: Appwrite) -> None:
    """A database ID that names no database: 503 saying so, not a scope or key problem."""
    with served(emulator, ALERTS_DATABASE_ID="monitorin") as host:
        reply = probe(host)
    assert reply.status_code == 503
    assert reply.json()["checks"]["api key"] == "ok"
    assert 'database "monitorin" (ALERTS_DATABASE_ID) does not exist' in problems(reply)


@pytest.mark.parametrize("scope", ["topics.read", "tables.read", "rows.read", "rows.write", "messages.write",
                                   "messages.read"])
def test_key_without_a_needed_scope_is_named(emulator: Emulator, appwrite: Appwrite, scope: str) -> None:
    """A key lacking one of the scopes the function needs: 503 naming the scope and where to add it."""
    deployed = {"rows.read", "rows.write", "messages.write", "messages.read", "topics.read", "tables.read"}
    appwrite.control.add_key(LIMITED_KEY, sorted(deployed - {scope}))
    with served(emulator, api_key=LIMITED_KEY) as host:
        reply = probe(host)
    assert reply.status_code == 503
    assert reply.json()["checks"]["api key"] == "failed"
    assert f"the API key lacks scope {scope}" in problems(reply)
    assert "add it in appwrite.json scopes and redeploy" in problems(reply)
    assert len(reply.json()["failures"]) == 1
    assert LIMITED_KEY not in reply.text


def test_rejected_key_is_named(emulator: Emulator, appwrite: Appwrite) -> None:
    """A key Appwrite does not know: 503 saying the key was rejected, and nothing more asked."""
    with served(emulator, api_key=LIMITED_KEY) as host:
        reply = probe(host)
    assert reply.status_code == 503
    assert "Appwrite rejected the API key" in problems(reply)
    assert reply.json()["checks"]["tables"] == "not checked"
    assert LIMITED_KEY not in reply.text


def test_unreachable_appwrite_names_the_host(emulator: Emulator, appwrite: Appwrite) -> None:
    """No Appwrite at the endpoint: 503 naming the host and the error."""
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/v1"
    with served(emulator, APPWRITE_FUNCTION_API_ENDPOINT=endpoint) as host:
        reply = probe(host)
    assert reply.status_code == 503
    assert reply.json()["checks"]["appwrite"] == "failed"
    assert f"no answer from 127.0.0.1:{port} (Connection refused)" in problems(reply)


def test_topic_without_subscribers_is_a_warning(emulator: Emulator, appwrite: Appwrite) -> None:
    """A routed channel with no subscriber on its topic: still 200, with a warning naming topic and channel."""
    appwrite.control.add_subscribers("critical-alerts", "push", 2)
    appwrite.control.add_subscribers("monitoring-alerts", "push", 1)
    with served(emulator) as host:
        reply = probe(host)
    assert reply.status_code == 200
    warnings = reply.json()["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith('topic "critical-alerts" named by route critical has no sms subscriber')


def test_answer_is_cached_in_the_warm_process(emulator: Emulator, appwrite: Appwrite) -> None:
    """A second probe within the TTL answers the same without one Appwrite call."""
    with served(emulator) as host:
        first = probe(host)
        assert appwrite.control.calls(), "the first probe asks Appwrite"
        appwrite.control.reset_calls()
        second = probe(host)
    assert appwrite.control.calls() == {}
    assert second.status_code == first.status_code
    assert second.json()["checkedAt"] == first.json()["checkedAt"]


def test_first_probe_costs_six_calls(emulator: Emulator, appwrite: Appwrite) -> None:
    """An uncached probe makes exactly the six documented calls and writes nothing."""
    with served(emulator) as host:
        probe(host)
    assert appwrite.control.calls() == {
        "GET /messaging/topics": 1, "GET /tablesdb/{databaseId}/tables": 1,
        "GET /tablesdb/{databaseId}/tables/{tableId}/rows": 1, "POST /tablesdb/{databaseId}/tables/{tableId}/rows": 1,
        "POST /messaging/messages/email": 1, "GET /messaging/messages": 1,
    }
    assert appwrite.rows("sms_log") == {} and appwrite.messages() == []


def test_cache_expires_after_the_ttl(emulator: Emulator, appwrite: Appwrite, mocker: MockerFixture) -> None:
    """Within 10 s of the clock the verdict is reused; after it, Appwrite is asked again: the topics and tables
    each time, the scopes again only once they were found held 5 minutes ago."""
    settings = load_settings(function_env(emulator))
    clock = mocker.Mock(return_value=datetime(2031, 5, 1, 12, 0, tzinfo=UTC))

    def ask() -> int:
        reply = handle(Request("GET", "/health", {"x-appwrite-key": emulator.api_key}, b""), settings,
                       make_store=_store, now=clock, log=lambda _: None, error=lambda _: None)
        return reply.status

    def calls_for_one_probe() -> int:
        appwrite.control.reset_calls()
        assert ask() == 503
        return sum(appwrite.control.calls().values())

    appwrite.tables.delete_table("monitoring", "sms_log")
    assert calls_for_one_probe() == 6
    clock.return_value += timedelta(seconds=9)
    assert calls_for_one_probe() == 0
    clock.return_value += timedelta(seconds=2)
    assert calls_for_one_probe() == 2  # the scopes were all held: topics and tables only
    clock.return_value += timedelta(minutes=5)
    assert calls_for_one_probe() == 6


def test_head_has_the_status_and_no_body(emulator: Emulator, appwrite: Appwrite) -> None:
    """HEAD /health answers the GET's status with an empty body, ready or not."""
    subscribe_everyone(appwrite)
    with served(emulator) as host:
        ready = probe(host, "HEAD")
    with served(emulator, ALERT_ROUTES=ROUTES_WITH_TYPO) as host:
        broken = probe(host, "HEAD")
    assert (ready.status_code, ready.content) == (200, b"")
    assert (broken.status_code, broken.content) == (503, b"")


def test_invalid_variables_fail_readiness_without_appwrite(emulator: Emulator, appwrite: Appwrite) -> None:
    """Invalid variables: 503 naming each, with no Appwrite call; the liveness GET / keeps its 500."""
    with served(emulator, ALERT_ROUTES="not json") as host:
        reply = probe(host)
        live = requests.get(host.url + "/", timeout=30)
    assert reply.status_code == 503
    assert reply.json()["checks"]["variables"] == "failed"
    assert "ALERT_ROUTES" in problems(reply)
    assert live.status_code == 500 and live.json()["readiness"] == "/health"
    assert appwrite.control.calls() == {}


def test_no_secret_in_any_answer(emulator: Emulator, appwrite: Appwrite) -> None:
    """Neither the API key nor the webhook token appears in any readiness answer or log line."""
    appwrite.control.add_key(LIMITED_KEY, ["rows.read"])
    seen: list[str] = []
    for key, variables in ((None, {}), (LIMITED_KEY, {}), ("standard_unknown-key-abcdef0123456789", {}),
                           (None, {"ALERT_ROUTES": ROUTES_WITH_TYPO, "APPWRITE_API_KEY": LIMITED_KEY})):
        with served(emulator, api_key=key, **variables) as host:
            reply = probe(host)
            seen += [reply.text, json.dumps(dict(reply.headers)), json.dumps(host.logs())]
    for secret in (emulator.api_key, LIMITED_KEY, "standard_unknown-key-abcdef0123456789", TOKEN):
        assert not [text for text in seen if secret in text]


def test_a_failed_fallback_page_fails_readiness(emulator: Emulator, appwrite: Appwrite) -> None:
    """No provider at all: a critical page and its ALERT_FALLBACK email both fail; once the scheduled run has
    followed the fallback to its failure, readiness answers 503 naming its channel, topic and Appwrite's error."""
    fallback = json.dumps([{"topic": "monitoring-alerts", "channel": "email"}])
    oncall = oncall_with(emulator, ALERT_FALLBACK=fallback)
    now = datetime.now(UTC).replace(microsecond=0)
    oncall.deliver(p.alert("DiskFull", instance="db-1", starts_at=now - timedelta(minutes=1)), at=now)
    settled(appwrite, 3)
    assert scheduled(oncall, now + timedelta(seconds=1)).fallbacks_queued == 3
    settled(appwrite, 6)
    scheduled(oncall, now + timedelta(seconds=2))
    subscribe_everyone(appwrite)
    with served(emulator, ALERT_FALLBACK=fallback) as host:
        reply = probe(host)
    assert reply.status_code == 503
    assert reply.json()["checks"]["fallback"] == "failed"
    assert 'a fallback page failed too (email to topic "monitoring-alerts" at ' in problems(reply)
    assert "No enabled provider found." in problems(reply)


def test_a_configured_fallback_with_nothing_failed_is_ready(emulator: Emulator, appwrite: Appwrite) -> None:
    """ALERT_FALLBACK set and no fallback page failed: the fallback check is ok and readiness 200."""
    subscribe_everyone(appwrite)
    appwrite.control.add_subscribers("monitoring-alerts", "email", 1)
    with served(emulator, ALERT_FALLBACK=json.dumps([{"topic": "monitoring-alerts", "channel": "email"}])) as host:
        reply = probe(host)
    assert reply.status_code == 200, reply.text
    assert reply.json()["checks"]["fallback"] == "ok"
