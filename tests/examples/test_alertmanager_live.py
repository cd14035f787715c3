"""The example configuration in a real Alertmanager: timings, inhibition and the webhook it sends.

One `prometheus-alertmanager` runs for the whole module on 127.0.0.1, with a copy of
examples/alertmanager.yml in which only the two deployment placeholders are replaced: the function's URL
(by a capture server in this process) and the token file's path (by a temporary file).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts.send_test_alert import fingerprint
from tests.examples.conftest import EXAMPLES

pytestmark = pytest.mark.alertmanager

URL_PLACEHOLDER = "https://<your-function-domain>/"
TOKEN_SETTING = "credentials_file: /etc/alertmanager/alert-processor.token"
TOKEN = "live-test-token-4b7e"
TEAM_RECEIVERS = {"alert-processor-security", "alert-processor-database", "alert-processor-mlops"}
# severity -> (group_wait, group_interval, repeat_interval), as Alertmanager prints durations.
TIMINGS = {
    "emergency": ("0s", "1m", "30m"),
    "critical": ("10s", "2m", "1h"),
    "warning": ("5m", "10m", "12h"),
    "info": ("5m", "30m", "1d"),
}


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass
class Capture:
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, alertname: str, timeout: float) -> Delivery | None:
        """The first delivery holding an alert named `alertname`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for delivery in self.deliveries:
                    if any(a["labels"]["alertname"] == alertname for a in delivery.payload["alerts"]):
                        return delivery
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.arrived.wait(remaining)


def capture_handler(capture: Capture) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with capture.arrived:
                capture.deliveries.append(Delivery(self.path, dict(self.headers.items()), json.loads(body)))
                capture.arrived.notify_all()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@dataclass
class LiveAlertmanager:
    base: str
    webhook_url: str
    token_file: Path
    capture: Capture

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=5) as response:
            return json.loads(response.read())

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            self.base + "/api/v2/alerts", data=json.dumps(alerts).encode(), headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=5).close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(binary: str, config: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Alertmanager on a free loopback port, without clustering; retried if the port was taken meanwhile."""
    log = workdir / "alertmanager.log"
    for _ in range(3):
        base = f"http://127.0.0.1:{_free_port()}"
        with log.open("wb") as log_file:  # a file, not a pipe nobody reads: logging can never block it
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={workdir / 'data'}",
                    f"--web.listen-address={base.removeprefix('http://')}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1).close()
                return process, base
            except OSError:
                time.sleep(0.05)
        process.kill()
        process.wait(timeout=10)
    pytest.fail(f"prometheus-alertmanager did not start: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def live(alertmanager_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAlertmanager]:
    workdir = tmp_path_factory.mktemp("alertmanager")
    capture = Capture()
    server = ThreadingHTTPServer(("127.0.0.1", 0), capture_handler(capture))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    webhook_url = f"http://127.0.0.1:{server.server_address[1]}/"
    token_file = workdir / "alert-processor.token"
    token_file.write_text(TOKEN + "\n")

    text = (EXAMPLES / "alertmanager.yml").read_text()
    # Exactly one occurrence each (the webhook is a YAML anchor shared by every receiver): replacing
    # them cannot leave a receiver pointing anywhere else.
    assert text.count(URL_PLACEHOLDER) == 1 and text.count(TOKEN_SETTING) == 1
    config = workdir / "alertmanager.yml"
    config.write_text(
        text.replace(URL_PLACEHOLDER, webhook_url).replace(TOKEN_SETTING, f"credentials_file: {token_file}")
    )

    process, base = _start(alertmanager_binary, config, workdir)
    try:
        yield LiveAlertmanager(base, webhook_url, token_file, capture)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.shutdown()
        server.server_close()


# --- the loaded configuration -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_config(live: LiveAlertmanager) -> dict[str, Any]:
    """The configuration as Alertmanager parsed it (anchors resolved), from its v1 status API."""
    try:
        status = live.get("/api/v1/status")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            pytest.skip("this Alertmanager (0.27 or later) has no v1 API, which shows the parsed configuration")
        raise
    config: dict[str, Any] = status["data"]["configJSON"]
    return config


def _timings(route: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return route.get("group_wait"), route.get("group_interval"), route.get("repeat_interval")


def test_every_severity_route_has_its_timings_also_inside_team_routes(loaded_config: dict[str, Any]) -> None:
    """Each severity's route, at the top and nested in each team route, has that severity's timings."""
    root = loaded_config["route"]
    assert _timings(root) == ("30s", "5m", "4h")
    seen = {severity: 0 for severity in TIMINGS}

    def check(route: dict[str, Any]) -> None:
        matchers = route.get("matchers", [])
        if len(matchers) == 1 and matchers[0].startswith("severity="):
            severity = matchers[0].removeprefix('severity="').removesuffix('"')
            assert _timings(route) == TIMINGS[severity], route
            seen[severity] += 1
        for child in route.get("routes", []):
            check(child)

    check(root)
    team_routes = [route for route in root["routes"] if route["receiver"] in TEAM_RECEIVERS]
    assert len(team_routes) == 8
    for route in team_routes:
        assert [child["matchers"] for child in route["routes"]] == [[f'severity="{s}"'] for s in TIMINGS], route
    # Once at the top level and once in each team route.
    assert seen == {severity: 1 + len(team_routes) for severity in TIMINGS}


def test_every_receiver_is_the_function_webhook_with_bearer_token_file(
    live: LiveAlertmanager, loaded_config: dict[str, Any]
) -> None:
    """All 7 receivers send resolved alerts, unlimited, to the function URL with the token file."""
    receivers = loaded_config["receivers"]
    assert len(receivers) == 7
    for receiver in receivers:
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"] == live.webhook_url
        assert webhook["send_resolved"] is True
        assert webhook["max_alerts"] == 0
        assert webhook["http_config"]["authorization"] == {"type": "Bearer", "credentials_file": str(live.token_file)}


# --- inhibition ---------------------------------------------------------------------------------------

# (alertname, severity, instance) -> the alert (same triple) that must inhibit it, or None if none may.
INHIBITION_CASES: list[tuple[tuple[str, str, str], tuple[str, str, str] | None]] = [
    (("LiveCpu", "critical", "inh-1:9100"), None),
    (("LiveCpu", "warning", "inh-1:9100"), ("LiveCpu", "critical", "inh-1:9100")),
    (("LiveCpu", "warning", "inh-2:9100"), None),  # other instance
    (("LiveMemory", "warning", "inh-1:9100"), None),  # other alertname
    (("LiveDisk", "emergency", "inh-4:9100"), None),
    (("LiveDisk", "critical", "inh-4:9100"), ("LiveDisk", "emergency", "inh-4:9100")),
    (("InstanceDown", "critical", "inh-3:9100"), None),
    (("LiveMemory", "critical", "inh-3:9100"), ("InstanceDown", "critical", "inh-3:9100")),
    (("EndpointDown", "emergency", "inh-3:9100"), ("InstanceDown", "critical", "inh-3:9100")),
    (("LiveMemory", "critical", "inh-5:9100"), None),  # no InstanceDown for inh-5
]


def _labels(alertname: str, severity: str, instance: str) -> dict[str, str]:
    return {"alertname": alertname, "severity": severity, "instance": instance, "job": "live-inhibition"}


@pytest.fixture(scope="module")
def inhibition_states(live: LiveAlertmanager) -> dict[str, dict[str, Any]]:
    """Post every alert of INHIBITION_CASES, then each alert's status by fingerprint once inhibition settled."""
    live.post_alerts([{"labels": _labels(*case)} for case, _ in INHIBITION_CASES])
    expected_suppressed = sum(1 for _, by in INHIBITION_CASES if by is not None)
    deadline = time.monotonic() + 5
    while True:
        alerts = live.get("/api/v2/alerts?filter=job%3D%22live-inhibition%22")
        states = {alert["fingerprint"]: alert["status"] for alert in alerts}
        suppressed = sum(1 for status in states.values() if status["state"] == "suppressed")
        if (len(states) == len(INHIBITION_CASES) and suppressed >= expected_suppressed) or time.monotonic() > deadline:
            return states
        time.sleep(0.05)


@pytest.mark.parametrize(("alert", "inhibitor"), INHIBITION_CASES, ids=["/".join(case) for case, _ in INHIBITION_CASES])
def test_inhibition_rules_silence_exactly_the_expected_alerts(
    inhibition_states: dict[str, dict[str, Any]], alert: tuple[str, str, str], inhibitor: tuple[str, str, str] | None
) -> None:
    """Critical silences warning, emergency silences lower severities (same alertname and instance), and
    InstanceDown silences its instance's other alerts; nothing else is silenced."""
    status = inhibition_states[fingerprint(_labels(*alert))]
    if inhibitor is None:
        assert status["state"] == "active" and status["inhibitedBy"] == [], status
    else:
        assert status["state"] == "suppressed", status
        assert status["inhibitedBy"] == [fingerprint(_labels(*inhibitor))]


# --- delivery -----------------------------------------------------------------------------------------


def test_emergency_is_delivered_at_once_with_the_bearer_token_and_warning_waits(live: LiveAlertmanager) -> None:
    """An emergency (group_wait 0s) reaches the webhook within seconds, with `Authorization: Bearer` read
    from credentials_file, a version 4 payload and Alertmanager's fingerprint; a warning posted before it
    (group_wait 5m) has not been sent."""
    warning = {"alertname": "LiveWarningProbe", "severity": "warning", "instance": "probe:9100", "job": "live"}
    emergency = {"alertname": "LiveEmergencyProbe", "severity": "emergency", "instance": "probe:9100", "job": "live"}
    live.post_alerts([{"labels": warning}])
    live.post_alerts([{"labels": emergency, "annotations": {"summary": "probe"}}])

    delivery = live.capture.wait_for("LiveEmergencyProbe", timeout=5)
    assert delivery is not None, "no webhook for the emergency alert within 5 s"
    assert delivery.path == "/"
    assert delivery.headers["Authorization"] == f"Bearer {TOKEN}"
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["User-Agent"].startswith("Alertmanager/")
    payload = delivery.payload
    assert payload["version"] == "4"
    assert payload["receiver"] == "alert-processor-emergency"
    assert payload["groupKey"] == '{}/{severity="emergency"}:{alertname="LiveEmergencyProbe", job="live"}'
    (alert,) = payload["alerts"]
    assert alert["labels"] == emergency
    assert alert["fingerprint"] == fingerprint(emergency)
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert live.capture.wait_for("LiveWarningProbe", timeout=0) is None
