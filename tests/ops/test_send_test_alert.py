"""scripts/send_test_alert.py: what it sends, what it prints, how it exits.

The script runs as an operator would run it (its own process, `python -I -S`: standard library only, no
project path) against a capture server on 127.0.0.1; its payloads are compared with payloads captured
from a real Alertmanager (tests/data/alertmanager-*.json).
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts import send_test_alert

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "send_test_alert.py"
DATA = REPO / "tests" / "data"
CAPTURED = ["alertmanager-firing.json", "alertmanager-resolved.json", "alertmanager-partially-resolved.json"]
TOKEN = "s3cr3t-t0ken-Zq9"
# Go's RFC 3339 with 0 to 9 fractional digits, in UTC as the script writes it.
GO_UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
ZERO_TIME = "0001-01-01T00:00:00Z"


def captured(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return result


# --- capture server -----------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"received": 1, "created": 1}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass
class CaptureServer:
    url: str
    requests: list[Request] = field(default_factory=list)
    # Answers for the next requests, in order; then the default Reply.
    replies: list[Reply] = field(default_factory=list)


@pytest.fixture(scope="module")
def _server() -> Iterator[CaptureServer]:
    capture = CaptureServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            capture.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
            reply = capture.replies.pop(0) if capture.replies else Reply()
            if reply.body == b"ECHO-AUTHORIZATION":
                reply.body = json.dumps({"you sent": self.headers.get("Authorization")}).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_POST = do_GET = _record

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    capture.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield capture
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(_server: CaptureServer) -> CaptureServer:
    """The capture server, with no request recorded and no reply queued."""
    _server.requests.clear()
    _server.replies.clear()
    return _server


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_script(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """The script as an operator runs it: its own process, standard library only, outside the repository."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
        cwd=REPO.parent,
        check=False,
    )
    result = Result(done.returncode, done.stdout, done.stderr)
    assert TOKEN not in result.stdout + result.stderr
    return result


def run_main(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """The script's main() in this process (fast), with `env` as its whole environment."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = send_test_alert.main([str(arg) for arg in args], environ=env or {})
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code if isinstance(exit.code, int) else 1
    result = Result(code, out.getvalue(), err.getvalue())
    assert TOKEN not in result.stdout + result.stderr
    return result


# --- what arrives -------------------------------------------------------------------------------------


def test_firing_delivery_has_alertmanagers_shape_and_headers(server: CaptureServer, token_file: Path) -> None:
    """One POST to the URL's path with Bearer token and JSON, shaped like a captured Alertmanager payload."""
    result = run_script(
        "--url",
        f"{server.url}/v1/webhook?source=test",
        "--token-file",
        token_file,
        "--severity",
        "warning",
        "--alertname",
        "DiskFillingUp",
        "--instance",
        "db-7:9100",
    )
    assert result.returncode == 0, result.stderr
    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/webhook?source=test"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"

    payload = request.payload
    real = captured("alertmanager-firing.json")
    assert list(payload) == list(real)  # every top-level field, in Alertmanager's order
    assert payload["version"] == "4"
    assert payload["status"] == "firing"
    assert payload["truncatedAlerts"] == 0
    assert payload["receiver"] == "alert-processor-warning"
    assert payload["groupKey"] == '{}/{severity="warning"}:{alertname="DiskFillingUp", job="node"}'
    assert payload["groupLabels"] == {"alertname": "DiskFillingUp", "job": "node"}
    assert payload["externalURL"].startswith("http")

    (alert,) = payload["alerts"]
    assert list(alert) == list(real["alerts"][0])  # every per-alert field, in Alertmanager's order
    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "DiskFillingUp",
        "severity": "warning",
        "instance": "db-7:9100",
        "job": "node",
    }
    assert set(alert["annotations"]) == {"summary", "description", "runbook_url"}
    assert all(alert["annotations"].values())
    assert payload["commonLabels"] == alert["labels"]
    assert payload["commonAnnotations"] == alert["annotations"]
    assert GO_UTC_TIME.match(alert["startsAt"]), alert["startsAt"]
    assert abs(time.time_ns() - _ns(alert["startsAt"])) < 60 * 1_000_000_000
    assert alert["endsAt"] == ZERO_TIME
    assert alert["generatorURL"].startswith("http")
    assert alert["fingerprint"] == send_test_alert.fingerprint(alert["labels"])


def test_prints_status_and_json_answer_of_the_function(server: CaptureServer, token_file: Path) -> None:
    """The HTTP status and the function's JSON answer are printed."""
    server.replies.append(Reply(200, b'{"received":1,"created":1,"messagesSent":2}'))
    result = run_main("--url", server.url, "--token-file", token_file)
    assert result.returncode == 0
    assert "HTTP 200 OK" in result.stdout
    assert '"messagesSent": 2' in result.stdout


def test_resolve_sends_the_same_alerts_resolved_after_the_firing_delivery(
    server: CaptureServer, token_file: Path
) -> None:
    """--resolve: firing, then the same alerts (labels, fingerprint, startsAt) resolved with a real endsAt."""
    result = run_main("--url", server.url, "--token-file", token_file, "--count", "2", "--resolve")
    assert result.returncode == 0, result.stderr
    firing, resolved = (request.payload for request in server.requests)
    assert (firing["status"], resolved["status"]) == ("firing", "resolved")
    assert list(resolved) == list(captured("alertmanager-resolved.json"))
    assert [a["status"] for a in resolved["alerts"]] == ["resolved", "resolved"]
    for before, after in zip(firing["alerts"], resolved["alerts"], strict=True):
        assert after["labels"] == before["labels"]
        assert after["fingerprint"] == before["fingerprint"]
        assert after["startsAt"] == before["startsAt"]
        assert GO_UTC_TIME.match(after["endsAt"]) and after["endsAt"] != ZERO_TIME
        assert after["endsAt"] >= after["startsAt"]  # same UTC format: text order is time order
    assert result.stdout.count("HTTP 200") == 2


def test_count_sends_distinct_alerts_in_one_group(server: CaptureServer, token_file: Path) -> None:
    """--count 3: one delivery, three alerts with distinct instances and fingerprints, common fields recomputed."""
    result = run_main("--url", server.url, "--token-file", token_file, "--count", "3", "--instance", "web:9100")
    assert result.returncode == 0, result.stderr
    (request,) = server.requests
    payload = request.payload
    alerts = payload["alerts"]
    assert [a["labels"]["instance"] for a in alerts] == ["web-1:9100", "web-2:9100", "web-3:9100"]
    assert len({a["fingerprint"] for a in alerts}) == 3
    assert {a["labels"]["alertname"] for a in alerts} == {"AlertProcessorTest"}
    assert payload["commonLabels"] == {"alertname": "AlertProcessorTest", "job": "node", "severity": "critical"}
    assert "summary" not in payload["commonAnnotations"]  # it names the instance
    assert "runbook_url" in payload["commonAnnotations"]


def test_empty_severity_sends_no_severity_label(server: CaptureServer, token_file: Path) -> None:
    """--severity '' leaves the severity label out, like alerts from rules without one."""
    result = run_main("--url", server.url, "--token-file", token_file, "--severity", "")
    assert result.returncode == 0, result.stderr
    payload = server.requests[0].payload
    assert "severity" not in payload["alerts"][0]["labels"]
    assert payload["receiver"] == "alert-processor"
    assert payload["groupKey"].startswith("{}:")


def test_token_comes_from_environment_and_token_file_wins(server: CaptureServer, token_file: Path) -> None:
    """WEBHOOK_TOKEN is used without --token-file; with both, the file's token is sent."""
    assert run_main("--url", server.url, env={"WEBHOOK_TOKEN": TOKEN}).returncode == 0
    other = token_file.parent / "other"
    other.write_text("from-the-file")
    assert run_main("--url", server.url, "--token-file", other, env={"WEBHOOK_TOKEN": TOKEN}).returncode == 0
    assert [r.headers["Authorization"] for r in server.requests] == [f"Bearer {TOKEN}", "Bearer from-the-file"]


# --- exit status and errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(200, 0), (202, 0), (204, 0), (400, 1), (401, 1), (500, 1), (503, 1)])
def test_exit_status_follows_the_http_status(server: CaptureServer, token_file: Path, status: int, code: int) -> None:
    """2xx exits 0; any other answer exits 1 and is still printed."""
    server.replies.append(Reply(status, b'{"error": "nope"}' if code else b""))
    result = run_main("--url", server.url, "--token-file", token_file)
    assert result.returncode == code
    assert f"HTTP {status}" in result.stdout
    assert "Traceback" not in result.stderr


def test_failed_firing_delivery_is_not_followed_by_the_resolved_one(server: CaptureServer, token_file: Path) -> None:
    """With --resolve, a 401 on the firing delivery exits 1 without sending the resolved one."""
    server.replies.append(Reply(401, b'{"error": "unauthorized"}'))
    result = run_main("--url", server.url, "--token-file", token_file, "--resolve")
    assert result.returncode == 1
    assert len(server.requests) == 1
    assert "HTTP 401" in result.stdout


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "no token: pass --token-file FILE or set WEBHOOK_TOKEN"),
        ("blank-env", "no token: pass --token-file FILE or set WEBHOOK_TOKEN"),
        ("empty-file", "is empty"),
        ("missing-file", "cannot read token file"),
        ("space-in-token", "cannot be sent in a header"),
    ],
)
def test_missing_or_unusable_token_is_a_usage_error(
    server: CaptureServer, tmp_path: Path, setup: str, message: str
) -> None:
    """Without a usable token: exit 2, one line on stderr, nothing sent."""
    env: dict[str, str] = {}
    args: list[str | Path] = ["--url", server.url]
    if setup == "blank-env":
        env["WEBHOOK_TOKEN"] = "  \n"
    elif setup == "empty-file":
        (tmp_path / "empty").write_text("\n")
        args += ["--token-file", tmp_path / "empty"]
    elif setup == "missing-file":
        args += ["--token-file", tmp_path / "missing"]
    elif setup == "space-in-token":
        env["WEBHOOK_TOKEN"] = f"{TOKEN} extra"
    result = run_main(*args, env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert server.requests == []


def test_standalone_run_without_token_exits_2_with_one_line(server: CaptureServer) -> None:
    """Run as a program with no token anywhere: exit 2, one line on stderr, no traceback, nothing sent."""
    result = run_script("--url", server.url)
    assert result.returncode == 2
    assert result.stderr.strip() == "send_test_alert.py: error: no token: pass --token-file FILE or set WEBHOOK_TOKEN"
    assert server.requests == []


@pytest.mark.parametrize("args", [["--count", "0"], ["--url", "ftp://127.0.0.1/"], ["--timeout", "0"]])
def test_bad_arguments_are_a_one_line_usage_error(args: list[str]) -> None:
    """Invalid options exit 2 with one line on stderr."""
    result = run_main(*args, env={"WEBHOOK_TOKEN": TOKEN})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_connection_refused_is_one_line_naming_the_url(token_file: Path) -> None:
    """Nothing listening: exit 1, one line on stderr naming the URL, no traceback."""
    with socket.socket() as sock:  # a port that was just free and has no listener
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    result = run_script("--url", url, "--token-file", token_file)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert url in line and "refused" in line.lower()


def test_redirect_is_not_followed(server: CaptureServer, token_file: Path) -> None:
    """A 302 is reported and exits 1; the token is not sent on to the new location."""
    server.replies.append(Reply(302, b"", {"Location": f"{server.url}/elsewhere"}))
    result = run_main("--url", server.url, "--token-file", token_file)
    assert result.returncode == 1
    assert [r.path for r in server.requests] == ["/"]
    assert "/elsewhere" in result.stderr


def test_token_echoed_by_the_server_is_masked(server: CaptureServer, token_file: Path) -> None:
    """Even a server that echoes the Authorization header back does not get the token printed."""
    server.replies.append(Reply(200, b"ECHO-AUTHORIZATION"))
    result = run_main("--url", server.url, "--token-file", token_file)  # run_main checks the output
    assert result.returncode == 0
    assert "Bearer <token>" in result.stdout


# --- agreement with a real Alertmanager ---------------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURED)
def test_fingerprint_equals_alertmanagers_for_captured_alerts(name: str) -> None:
    """For every alert Alertmanager sent, the script computes the same fingerprint from the labels."""
    alerts = captured(name)["alerts"]
    assert len(alerts) >= 3
    for alert in alerts:
        assert send_test_alert.fingerprint(alert["labels"]) == alert["fingerprint"], alert["labels"]


def test_captured_payloads_are_the_promised_fixtures() -> None:
    """The fixtures hold what the project relies on: several severities, one alert without severity,
    one without generatorURL or annotations, firing/resolved/mixed payloads."""
    firing, resolved, mixed = (captured(name) for name in CAPTURED)
    severities = {a["labels"].get("severity") for a in firing["alerts"]}
    assert {"emergency", "critical", "warning", None} <= severities
    assert any(a["generatorURL"] == "" and a["annotations"] == {} for a in firing["alerts"])
    assert (firing["status"], resolved["status"], mixed["status"]) == ("firing", "resolved", "firing")
    assert {a["status"] for a in firing["alerts"]} == {"firing"}
    assert {a["status"] for a in resolved["alerts"]} == {"resolved"}
    assert {a["status"] for a in mixed["alerts"]} == {"firing", "resolved"}
    assert [a["fingerprint"] for a in resolved["alerts"]] == [a["fingerprint"] for a in firing["alerts"]]


def _ns(timestamp: str) -> int:
    """Nanoseconds since the epoch of a UTC RFC 3339 timestamp with up to 9 fractional digits."""
    whole, _, fraction = timestamp.removesuffix("Z").partition(".")
    seconds = int(datetime.fromisoformat(whole + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") if fraction else 0)


def _captured_timestamps() -> list[str]:
    times = {t for n in CAPTURED for a in captured(n)["alerts"] for t in (a["startsAt"], a["endsAt"])}
    return sorted(t for t in times if t.endswith("Z") and t != ZERO_TIME)


@pytest.mark.parametrize(
    "timestamp",
    [*_captured_timestamps(), "2026-11-27T03:08:36Z", "2026-11-27T03:08:36.5Z", "2026-11-27T03:08:36.000000001Z"],
)
def test_timestamps_are_written_like_alertmanager(timestamp: str) -> None:
    """go_timestamp writes a time exactly as Alertmanager does (trailing zeros of the fraction dropped)."""
    assert send_test_alert.go_timestamp(_ns(timestamp)) == timestamp


def test_payload_built_in_process_has_the_captured_key_order() -> None:
    """build_payload's fields and each alert's fields come in the order a captured payload has them."""
    spec = send_test_alert.AlertSpec("X", "critical", "h:9100", "node", 2)
    payload = send_test_alert.build_payload(send_test_alert.build_alerts(spec, "2026-01-01T00:00:00Z"), "critical")
    real = captured("alertmanager-partially-resolved.json")
    assert list(payload) == list(real)
    assert [list(a) for a in payload["alerts"]] == [list(a) for a in real["alerts"][:2]]
