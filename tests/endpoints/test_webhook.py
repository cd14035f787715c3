"""The function end to end through the runtime host and the emulator: auth, validation, storage."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path

import pytest

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from tests.conftest import REPO_ROOT, function_env
from tests.harness import TOKEN, Appwrite, deliver

DATA = Path(__file__).resolve().parent.parent / "data"


class TestRequests:
    def test_get_is_a_health_check_without_appwrite(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """GET answers 200 with a status and makes no Appwrite call."""
        reply = deliver(host.url, b"", method="GET", token=None)
        assert reply.status_code == 200 and reply.json()["status"] == "ok"
        assert appwrite.control.calls() == {}

    @pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
    def test_other_methods_are_refused(self, host: FunctionHost, method: str) -> None:
        """Methods other than GET, HEAD and POST get 405 with Allow."""
        reply = deliver(host.url, b"{}", method=method)
        assert reply.status_code == 405
        assert reply.headers["allow"] == "GET, HEAD, POST"


class TestAuthentication:
    @pytest.mark.parametrize(
        ("headers", "reason"),
        [
            ({}, "no Authorization header"),
            ({"authorization": "Bearer wrong-token-wrong-token-wrong"}, "unknown Bearer token"),
            ({"authorization": f"Basic {TOKEN}"}, "the Authorization scheme is not Bearer"),
            ({"authorization": TOKEN}, "the Authorization scheme is not Bearer"),
            ({"authorization": f"Bearer {TOKEN}extra"}, "unknown Bearer token"),
            ({"authorization": "Bearer"}, "the Bearer token is empty"),
        ],
        ids=["missing", "wrong", "basic", "no-scheme", "longer", "empty"],
    )
    def test_bad_credentials_get_401_and_touch_nothing(self, host: FunctionHost, appwrite: Appwrite,
                                                       headers: dict[str, str], reason: str) -> None:
        """Without the right Bearer token: 401, WWW-Authenticate, not one Appwrite call, and an error log line
        saying which check failed and who called, without what was presented."""
        reply = deliver(host.url, p.payload([p.alert()]), token=None, headers=headers)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert appwrite.control.calls() == {}
        errors = " ".join(host.logs()[-1]["errors"])
        assert f"delivery refused (401): {reason}; caller 127.0.0.1" in errors
        assert TOKEN not in json.dumps(host.logs()) and "wrong-token" not in errors

    def test_unauthenticated_garbage_is_not_parsed(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """An unauthenticated invalid body gets 401, not 400: nothing is read before auth."""
        assert deliver(host.url, b"\x00not json", token="nope-nope-nope-nope").status_code == 401

    def test_rotated_tokens_are_all_accepted(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """With two comma-separated tokens, both work."""
        second = "second-token-abcdefghijklmnop"
        env = function_env(emulator, WEBHOOK_TOKEN=f"{TOKEN},{second}")
        with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key) as rotated:
            for token in (TOKEN, second):
                assert deliver(rotated.url, p.payload([p.alert()]), token=token).status_code == 200

    def test_no_token_configured_refuses_every_post(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """Without WEBHOOK_TOKEN every POST gets 500 with the cause logged, never accepted."""
        env = function_env(emulator)
        del env["WEBHOOK_TOKEN"]
        with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key) as bare:
            reply = deliver(bare.url, p.payload([p.alert()]), token="")
            assert reply.status_code == 500
            errors = " ".join(" ".join(record["errors"]) for record in bare.logs())
            assert "WEBHOOK_TOKEN is not set" in errors
        assert appwrite.rows() == {}


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"not json", "(body)"),
            (b"", "(body)"),
            (json.dumps({"version": "4"}).encode(), "alerts"),
            (json.dumps(p.payload([p.alert()]) | {"version": "3"}).encode(), "version"),
            (json.dumps(p.payload([p.alert() | {"startsAt": "soon"}])).encode(), "alerts[0].startsAt"),
            (json.dumps(p.payload([p.alert() | {"status": "pending"}])).encode(), "alerts[0].status"),
        ],
        ids=["not-json", "empty", "wrong-shape", "version", "timestamp", "status"],
    )
    def test_bad_input_is_400_naming_the_field_and_changes_nothing(
        self, host: FunctionHost, appwrite: Appwrite, body: bytes, field: str
    ) -> None:
        """Invalid payloads get 400 listing the bad field; no row, no message."""
        reply = deliver(host.url, body)
        assert reply.status_code == 400
        assert field in [problem["field"] for problem in reply.json()["problems"]]
        assert appwrite.rows() == {} and appwrite.messages() == []

    def test_too_large_is_413(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """A body over MAX_BODY_BYTES gets 413 and changes nothing."""
        env = function_env(emulator, MAX_BODY_BYTES="2048")
        with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key) as small:
            reply = deliver(small.url, p.payload(p.many(20)))
        assert reply.status_code == 413
        assert appwrite.rows() == {}


class TestStorage:
    def test_captured_alertmanager_delivery_is_stored_column_by_column(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """A real captured delivery becomes one row per alert with every column filled as documented."""
        body = (DATA / "alertmanager-firing.json").read_bytes()
        sent = json.loads(body)
        reply = deliver(host.url, body)
        assert reply.status_code == 200, reply.text
        rows = appwrite.rows()
        assert set(rows) == {a["fingerprint"] for a in sent["alerts"]}
        first = sent["alerts"][0]
        row = rows[first["fingerprint"]]
        assert row["fingerprint"] == first["fingerprint"]
        assert row["alertname"] == first["labels"]["alertname"]
        assert row["status"] == "firing"
        assert row["severity"] == first["labels"]["severity"].lower()
        assert row["instance"] == first["labels"]["instance"]
        assert row["job"] == first["labels"]["job"]
        assert row["summary"] == first["annotations"]["summary"]
        assert row["description"] == first["annotations"]["description"]
        assert json.loads(row["labels"]) == first["labels"]
        assert json.loads(row["annotations"]) == first["annotations"]
        starts = datetime.fromisoformat(first["startsAt"].replace("Z", "+00:00")[:23] + "+00:00")
        assert row["startsAt"] == starts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "+00:00"
        assert row["endsAt"] is None
        assert row["generatorURL"] == first["generatorURL"]
        assert row["receiver"] == sent["receiver"]
        assert row["groupKey"] == sent["groupKey"]
        assert row["lastReceivedAt"] is not None
        assert row["notifiedStatus"] == "firing"
        no_severity = next(a for a in sent["alerts"] if "severity" not in a["labels"])
        assert rows[no_severity["fingerprint"]]["severity"] == "none"

    def test_receiver_is_stored_as_configured(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """A receiver Alertmanager sent regex-escaped (`alert\\.processor`) is stored in the row and the history
        as configured (`alert.processor`)."""
        alert = p.alert("Dotted", severity="warning")
        assert deliver(host.url, p.payload([alert], receiver="alert\\.processor")).status_code == 200
        assert appwrite.rows()[alert["fingerprint"]]["receiver"] == "alert.processor"
        assert [row["receiver"] for row in appwrite.rows("alert_events").values()] == ["alert.processor"]

    def test_summary_counts(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The reply counts received, created, updated, unchanged and messages queued (never claiming "sent")."""
        alerts = [p.alert("A", severity="warning"), p.alert("B", severity="warning")]
        first = deliver(host.url, p.payload(alerts, truncated=3)).json()
        assert (first["received"], first["created"], first["messagesQueued"], first["truncatedAlerts"]) == (2, 2, 2, 3)
        again = deliver(host.url, p.payload(alerts)).json()
        assert (again["created"], again["updated"], again["unchanged"], again["messagesQueued"]) == (0, 0, 2, 0)
        assert not any("sent" in key.lower() for key in first)

    def test_long_values_are_cut_not_refused(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Labels and annotations longer than their columns are stored cut to fit."""
        huge = p.alert("Huge", severity="warning", instance="i" * 1000,
                       annotations={"summary": "s" * 5000, "description": "d" * 100_000},
                       labels={f"label{i}": "v" * 100 for i in range(1000)})
        reply = deliver(host.url, p.payload([huge]))
        assert reply.status_code == 200, reply.text
        row = appwrite.rows()[huge["fingerprint"]]
        assert len(row["instance"]) == 255 and row["instance"].startswith("iii")
        assert len(row["summary"]) == 1024
        assert len(row["description"].encode()) <= 65_535
        assert len(row["labels"].encode()) <= 65_535

    def test_log_line_per_request_without_secrets(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Each delivery logs one line with its counts and duration, and never the token or key."""
        deliver(host.url, p.payload([p.alert(severity="info")]))
        record = host.logs()[-1]
        line = " ".join(record["logs"])
        assert "alerts=1" in line and "created=1" in line and "messages_queued=1 " in line and "took_ms=" in line
        assert "sent" not in line
        assert TOKEN not in json.dumps(host.logs())



class TestAppwriteFailuresAreNamed:
    def test_rejected_api_key_is_logged_as_such(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """An API key Appwrite does not know: 500 and a log line saying the key was rejected, never the key."""
        with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key="standard_unknown-key-0123") as bad_key:
            reply = deliver(bad_key.url, p.payload([p.alert(severity="warning")]))
            errors = " ".join(" ".join(record["errors"]) for record in bad_key.logs())
        assert reply.status_code == 500
        assert "the API key was rejected" in errors and "not found" not in errors
        assert "standard_unknown-key-0123" not in errors

    def test_unreachable_appwrite_names_the_host_and_the_error(self, emulator: Emulator,
                                                              appwrite: Appwrite) -> None:
        """Appwrite not answering: 503 and a log line naming the host and port tried and the connection error."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = function_env(emulator, APPWRITE_FUNCTION_API_ENDPOINT=f"http://127.0.0.1:{port}/v1")
        with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key) as unreachable:
            reply = deliver(unreachable.url, p.payload([p.alert(severity="warning")]))
            errors = " ".join(" ".join(record["errors"]) for record in unreachable.logs())
        assert reply.status_code == 503
        assert f"no answer from 127.0.0.1:{port} (Connection refused)" in errors
