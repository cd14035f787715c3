"""A real `prometheus-alertmanager` for one test: a throw-away configuration and storage directory, a free
port on 127.0.0.1, no cluster gossip, and a webhook receiver that posts to the function host with a Bearer
token read from a file (re-read by Alertmanager on every request, so a test can rotate it)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests

from devkit.payloads import fingerprint

T = TypeVar("T")

HOST = "127.0.0.1"
# A dot on purpose: Alertmanager sends the name regex-escaped (`alert\.processor`); rows must hold it as configured.
RECEIVER = "alert.processor"
# Short enough to see every kind of (re-)delivery within seconds: the first message about 1 s after an
# alert is posted, changes every 2 s, and the unchanged group again at the first tick 3 s after the last send.
GROUP_WAIT = "1s"
GROUP_INTERVAL = "2s"
REPEAT_INTERVAL = "3s"
_START_SECONDS = 20.0
_STOP_SECONDS = 5.0


def wait_until(what: str, probe: Callable[[], T], *, timeout: float = 20.0, interval: float = 0.1,
               context: Callable[[], str] | None = None) -> T:
    """Poll `probe` until it returns something truthy, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{context()}" if context else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last probe: {value!r}{extra}")
        time.sleep(interval)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def appwrite_datetime(moment: datetime) -> str:
    """How a row holds a datetime: millisecond precision, `+00:00`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def now_ms() -> datetime:
    """Now, cut to the millisecond precision Appwrite keeps, so posted and stored times compare exactly."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class PostedAlert:
    """One alert as a test posts it to Alertmanager's API."""

    labels: Mapping[str, str]
    starts_at: datetime
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    generator_url: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "").strip().lower() or "none"

    def api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"labels": dict(self.labels), "annotations": dict(self.annotations),
                                "startsAt": rfc3339(self.starts_at)}
        if self.ends_at is not None:
            body["endsAt"] = rfc3339(self.ends_at)
        if self.generator_url is not None:
            body["generatorURL"] = self.generator_url
        return body

    def resolved(self, at: datetime) -> PostedAlert:
        return PostedAlert(self.labels, self.starts_at, self.annotations, at, self.generator_url)

    def again(self, starts_at: datetime) -> PostedAlert:
        """The same labels firing anew: a later occurrence."""
        return PostedAlert(self.labels, starts_at, self.annotations, None, self.generator_url)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def write_token(path: Path, token: str) -> None:
    """Replace the token file in one step, so Alertmanager never reads half a token."""
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(token + "\n")
    scratch.chmod(0o600)
    os.replace(scratch, path)


class Alertmanager:
    """One Alertmanager process; `start()` returns once `/-/ready` answers, `stop()` always ends it."""

    def __init__(self, binary: str, workdir: Path, *, webhook_url: str, token_file: Path,
                 groupings: Sequence[Sequence[str]] = ()) -> None:
        self.binary = binary
        # With groupings, every alert goes to one receiver per grouping (`continue: true`), all posting to the
        # function: one alert in several groups at once, as two teams' routes with different `group_by` do.
        self.groupings = [list(group_by) for group_by in groupings]
        self.workdir = workdir
        self.webhook_url = webhook_url
        self.token_file = token_file
        self.config_file = workdir / "alertmanager.yml"
        self.log_file = workdir / "alertmanager.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def receiver_name(self, group_by: Sequence[str]) -> str:
        return f"{RECEIVER}-by-{'-'.join(group_by)}"

    def _receiver(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "webhook_configs": [{
                "url": self.webhook_url,
                "send_resolved": True,
                "max_alerts": 0,
                "http_config": {
                    "authorization": {"type": "Bearer", "credentials_file": str(self.token_file)},
                },
            }],
        }

    def config(self) -> dict[str, Any]:
        timing = {"group_wait": GROUP_WAIT, "group_interval": GROUP_INTERVAL, "repeat_interval": REPEAT_INTERVAL}
        route: dict[str, Any] = {"receiver": RECEIVER, "group_by": ["alertname"], **timing}
        receivers = [self._receiver(RECEIVER)]
        if self.groupings:
            route["routes"] = [{"receiver": self.receiver_name(group_by), "group_by": group_by, "continue": True,
                                **timing} for group_by in self.groupings]
            receivers += [self._receiver(self.receiver_name(group_by)) for group_by in self.groupings]
        return {"route": route, "receivers": receivers}

    def start(self) -> None:
        # JSON is YAML: no YAML library needed to write the configuration.
        self.config_file.write_text(json.dumps(self.config(), indent=2))
        for _ in range(3):  # another process may take the free port before Alertmanager binds it
            self.port = _free_port()
            storage = self.workdir / f"storage-{self.port}"
            storage.mkdir()
            with open(self.log_file, "ab") as log:
                self._process = subprocess.Popen(
                    [self.binary, f"--config.file={self.config_file}", f"--storage.path={storage}",
                     f"--web.listen-address={HOST}:{self.port}", "--cluster.listen-address=",
                     f"--web.external-url=http://{HOST}:{self.port}"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            if self._wait_ready():
                return
            self.stop()
        raise AssertionError(f"Alertmanager did not become ready\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_SECONDS)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return "(no Alertmanager log)"
        tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return "Alertmanager log:\n" + "\n".join(tail)

    def post(self, alerts: Sequence[PostedAlert]) -> None:
        reply = requests.post(f"{self.url}/api/v2/alerts", json=[a.api() for a in alerts], timeout=10)
        assert reply.status_code == 200, f"POST /api/v2/alerts: {reply.status_code} {reply.text}"

    def metric(self, name: str, integration: str = "webhook") -> float:
        """The value of `name{integration="..."}` on `/metrics`."""
        text = requests.get(f"{self.url}/metrics", timeout=5).text
        pattern = re.compile(rf'^{re.escape(name)}\{{integration="{re.escape(integration)}"\}} (\S+)$', re.M)
        match = pattern.search(text)
        assert match, f"{name}{{integration={integration!r}}} is not among Alertmanager's metrics"
        return float(match.group(1))

    def wait(self, what: str, probe: Callable[[], T], *, timeout: float = 20.0) -> T:
        return wait_until(what, probe, timeout=timeout, context=self.log_tail)
