"""What Appwrite adds around an execution: injected headers, the function's environment, scheduled runs."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.emulator import Emulator
from devkit.runtime import FunctionHost, HostError
from tests.runtime.conftest import FIXTURE_DIR, send

API_KEY = "standard_local-key-for-tests"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FunctionHost]:
    env_file = tmp_path_factory.mktemp("env") / ".env"
    env_file.write_text(
        "# the function's variables\n"
        "FIXTURE_GREETING='hello # from the file'\n"
        "\n"
        "WEBHOOK_TOKEN=from-the-file\n"
        "APPWRITE_FUNCTION_RUNTIME_NAME=ruby\n"
    )
    env = {
        "APPWRITE_FUNCTION_API_ENDPOINT": "http://127.0.0.1:9/v1",
        "APPWRITE_FUNCTION_PROJECT_ID": "local-project",
        "WEBHOOK_TOKEN": "from-the-host",
    }
    with FunctionHost(
        FIXTURE_DIR, env=env, env_file=env_file, api_key=API_KEY, function_id="alerts", echo=False
    ) as served:
        yield served


def seen_headers(host: FunctionHost, headers: dict[str, str] | None = None) -> dict[str, str]:
    reply = send(host.url, "/echo", headers=headers)
    assert reply.status == 200
    result: dict[str, str] = reply.json()["request"]["headers"]
    return result


class TestInjectedHeaders:
    def test_appwrite_headers_of_an_http_execution(self, host: FunctionHost) -> None:
        """An HTTP execution carries the key, trigger http, empty user, an execution ID and the client IP."""
        headers = seen_headers(host)
        assert headers["x-appwrite-key"] == API_KEY
        assert headers["x-appwrite-trigger"] == "http"
        assert headers["x-appwrite-user-id"] == ""
        assert headers["x-appwrite-client-ip"] == "127.0.0.1"
        assert re.fullmatch(r"[0-9a-f]{20}", headers["x-appwrite-execution-id"])

    def test_execution_id_is_fresh_and_matches_the_record(self, host: FunctionHost) -> None:
        """Every execution gets its own ID, the one its log record carries."""
        first, second = seen_headers(host), seen_headers(host)
        assert first["x-appwrite-execution-id"] != second["x-appwrite-execution-id"]
        assert host.logs()[-1]["executionId"] == second["x-appwrite-execution-id"]

    def test_caller_cannot_fake_appwrite_headers(self, host: FunctionHost) -> None:
        """Caller-sent x-appwrite-* headers are replaced (trigger, key, user) or dropped (event)."""
        headers = seen_headers(
            host,
            {
                "X-Appwrite-Trigger": "schedule",
                "x-appwrite-key": "forged",
                "x-appwrite-user-id": "admin",
                "x-appwrite-event": "users.*.create",
            },
        )
        assert (headers["x-appwrite-trigger"], headers["x-appwrite-key"], headers["x-appwrite-user-id"]) == (
            "http",
            API_KEY,
            "",
        )
        assert "x-appwrite-event" not in headers

    def test_authorization_reaches_the_function(self, host: FunctionHost) -> None:
        """Appwrite passes the caller's Authorization header on; so does the host."""
        assert seen_headers(host, {"Authorization": "Bearer abc"})["authorization"] == "Bearer abc"


@pytest.fixture(scope="module")
def env(host: FunctionHost) -> dict[str, Any]:
    """The fixture's view of its environment."""
    result: dict[str, Any] = send(host.url, "/env").json()["env"]
    return result


class TestEnvironment:
    def test_appwrite_variables(self, env: dict[str, Any]) -> None:
        """The function sees Appwrite's variables: endpoint, project, ID, name, runtime name and version."""
        assert env["APPWRITE_FUNCTION_API_ENDPOINT"] == "http://127.0.0.1:9/v1"
        assert env["APPWRITE_FUNCTION_PROJECT_ID"] == "local-project"
        assert (env["APPWRITE_FUNCTION_ID"], env["APPWRITE_FUNCTION_NAME"]) == ("alerts", "alerts")
        assert env["APPWRITE_FUNCTION_RUNTIME_VERSION"] == f"{sys.version_info.major}.{sys.version_info.minor}"

    def test_appwrite_version_is_the_emulated_servers(self, env: dict[str, Any]) -> None:
        """APPWRITE_VERSION names the server version the local emulator reports at /health/version."""
        with Emulator() as emulator:
            reported = requests.get(emulator.endpoint + "/health/version", timeout=10).json()["version"]
        assert env["APPWRITE_VERSION"] == reported

    def test_env_file_variables(self, env: dict[str, Any]) -> None:
        """Variables come from the env file, quotes removed, a later # kept."""
        assert env["FIXTURE_GREETING"] == "hello # from the file"

    def test_env_file_cannot_override_appwrite_values(self, env: dict[str, Any]) -> None:
        """As on Appwrite, a user variable does not replace an APPWRITE_FUNCTION_* value."""
        assert env["APPWRITE_FUNCTION_RUNTIME_NAME"] == "python"

    def test_host_env_wins_over_the_env_file(self, env: dict[str, Any]) -> None:
        """The `env` given to the host is applied last."""
        assert env["WEBHOOK_TOKEN"] == "from-the-host"


class TestScheduledExecution:
    def test_schedule_route_runs_main_as_appwrite_scheduler_does(self, host: FunctionHost) -> None:
        """POST /_host/schedule runs main with POST /, empty body, no Authorization, trigger schedule."""
        reply = send(host.url, "/_host/schedule", body=b"ignored", headers={"Authorization": "Bearer abc"})
        assert reply.status == 200
        seen = reply.json()
        request, headers = seen["request"], seen["request"]["headers"]
        assert (request["method"], request["path"], request["query_string"], seen["body_text"]) == (
            "POST",
            "/",
            "",
            "",
        )
        assert "authorization" not in headers
        assert (headers["x-appwrite-trigger"], headers["x-appwrite-key"]) == ("schedule", API_KEY)
        record = host.logs()[-1]
        assert (record["trigger"], record["path"], record["executionId"]) == (
            "schedule",
            "/",
            headers["x-appwrite-execution-id"],
        )

    def test_health_route_does_not_run_the_function(self, host: FunctionHost) -> None:
        """/__opr/health answers OK, like the runtime, without an execution."""
        before = len(host.logs())
        reply = send(host.url, "/__opr/health", method="GET")
        assert (reply.status, reply.body) == (200, b"OK")
        assert len(host.logs()) == before


def test_missing_function_directory_is_refused(tmp_path: Path) -> None:
    """Starting a host on a directory that does not exist fails at once."""
    with pytest.raises(HostError, match="not found"):
        FunctionHost(tmp_path / "absent").start()


class TestClockOffset:
    def test_a_request_can_run_minutes_later_and_the_header_stays_with_the_host(self, host: FunctionHost) -> None:
        """`x-devkit-clock-offset-seconds: 300` runs that execution with the function's clock 5 minutes ahead and
        does not reach the function; the next execution is back on the wall clock."""
        later = send(host.url, "/clock", headers={"x-devkit-clock-offset-seconds": "300"}).json()
        now = send(host.url, "/clock").json()
        wall = datetime.now(UTC)
        assert timedelta(minutes=4) < datetime.fromisoformat(later["now"]) - wall <= timedelta(minutes=5)
        assert abs(datetime.fromisoformat(now["now"]) - wall) < timedelta(seconds=5)
        assert "x-devkit-clock-offset-seconds" not in {name.lower() for name in later["headers"]}
