"""`scripts/serve.py` run as a person would run it: from anywhere, until Ctrl-C, printing what to do next."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.conftest import alive, send

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE = REPO_ROOT / "scripts" / "serve.py"
READY_MARKER = "Ctrl-C stops everything."
_CONNECTION_VARIABLES = ("APPWRITE_ENDPOINT", "APPWRITE_PROJECT_ID", "APPWRITE_API_KEY", "WEBHOOK_TOKEN")


class Served:
    """A running serve.py; a thread collects everything it prints."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._more = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._more:
                self._lines.append(line)
                self._more.notify_all()
        with self._more:
            self._lines.append("")  # end of output
            self._more.notify_all()

    @property
    def output(self) -> str:
        with self._more:
            return "".join(self._lines)

    def wait_for(self, marker: str, timeout: float = 60) -> None:
        with self._more:
            ended = self._more.wait_for(lambda: marker in "".join(self._lines) or "" in self._lines, timeout)
        if not ended or marker not in self.output:
            self.process.kill()
            pytest.fail(f"serve.py never printed {marker!r}:\n{self.output}")

    @property
    def banner(self) -> str:
        return self.output.split(READY_MARKER, 1)[0]

    @property
    def url(self) -> str:
        found = re.search(r"function\s+(http://127\.0\.0\.1:\d+)", self.banner)
        assert found, self.banner
        return found.group(1)

    def curl_words(self) -> list[str]:
        command = self.banner.split("Deliver a sample Alertmanager notification:\n", 1)[1].split("\n\n", 1)[0]
        return shlex.split(command.replace("\\\n", " "))

    def workers(self) -> list[int]:
        """PIDs of the child processes of serve.py."""
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{self.process.pid}$", text, re.MULTILINE):
                children.append(int(status.parent.name))
        return children

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        """Send `signum`; the exit code and all output once it ended."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        code = self.process.wait(timeout=15)
        self._reader.join(timeout=5)
        return code, self.output


def start_serve(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> Served:
    env = {key: value for key, value in os.environ.items() if key not in _CONNECTION_VARIABLES}
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, str(SERVE), "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(process)
    served.wait_for(READY_MARKER)
    return served


@pytest.fixture
def external(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    """serve.py pointed at a (never reached) Appwrite endpoint, started from an unrelated directory."""
    env_file = tmp_path / "local.env"
    env_file.write_text("WEBHOOK_TOKEN=token-from-env-file\n")
    log_file = tmp_path / "executions.jsonl"
    served = start_serve(
        ["--workers", "2", "--env-file", str(env_file), "--log-file", str(log_file), "--timeout", "7"],
        cwd=tmp_path,
        extra_env={
            "APPWRITE_ENDPOINT": "http://127.0.0.1:9/v1",
            "APPWRITE_PROJECT_ID": "remote-project",
            "APPWRITE_API_KEY": "remote-secret-key",
        },
    )
    try:
        yield served, log_file
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


class TestWithAConfiguredAppwrite:
    def test_banner_says_where_everything_is(self, external: tuple[Served, Path]) -> None:
        """The banner gives the URL, the endpoint and project, the token, and hides a non-local key."""
        served, _ = external
        assert "http://127.0.0.1:9/v1   project remote-project" in served.banner
        assert "2 workers, timeout 7 s" in served.banner
        assert "token      token-from-env-file   (configured)" in served.banner
        assert "remote-secret-key" not in served.banner
        words = served.curl_words()
        assert words[:4] == ["curl", "-sS", "-i", "-X"] and words[5] == served.url + "/"
        assert "Authorization: Bearer token-from-env-file" in words
        assert words[words.index("--data") + 1] == f"@{REPO_ROOT / 'tests/data/alertmanager-firing.json'}"

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_serves_the_repository_function_until_signalled(
        self, external: tuple[Served, Path], signum: int
    ) -> None:
        """Requests reach the repository's function in worker processes; a signal stops all of them."""
        served, log_file = external
        reply = send(served.url, "/_host/schedule")
        records = [json.loads(line) for line in log_file.read_text().splitlines()]
        assert [(record["trigger"], record["statusCode"]) for record in records] == [("schedule", reply.status)]
        workers = served.workers()
        assert len(workers) == 2 and records[0]["pid"] in workers
        code, out = served.stop(signum)
        assert code == 0, out
        assert "POST / -> " in out and "schedule" in out
        assert not any(alive(pid) for pid in workers)


def test_port_in_use_is_an_error(tmp_path: Path) -> None:
    """serve.py on a port another server holds exits 1 with a message."""
    with socket_listening() as port:
        result = subprocess.run(
            [sys.executable, str(SERVE), "--port", str(port), "--endpoint", "http://127.0.0.1:9/v1", "--project", "p"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "http://127.0.0.1:9/v1"], "an Appwrite endpoint needs a project: set APPWRITE_PROJECT_ID"),
        (["--env-file", "absent.env"], "env file not found: absent.env"),
    ],
    ids=["endpoint-without-project", "missing-env-file"],
)
def test_configuration_errors_are_reported_before_starting(tmp_path: Path, args: list[str], message: str) -> None:
    """A configuration mistake exits 1 with a one-line explanation, before anything is started."""
    env = {key: value for key, value in os.environ.items() if key not in _CONNECTION_VARIABLES}
    result = subprocess.run(
        [sys.executable, str(SERVE), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1
    assert result.stdout == ""


@contextlib.contextmanager
def socket_listening() -> Iterator[int]:
    """A plain listening socket on a free port, for the length of a `with` block."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


class TestWithTheLocalEmulator:
    def test_the_topics_the_env_file_routes_to_are_bootstrapped(self, tmp_path: Path) -> None:
        """ALERT_ROUTES in the env file naming a topic of its own: serve creates it, so readiness finds every
        topic (the warnings only say nobody subscribed yet)."""
        env_file = tmp_path / "local.env"
        routes = [{"name": "db", "topic": "team-db", "channels": ["push"]}]
        env_file.write_text(f"ALERT_ROUTES={json.dumps(routes)}\n")
        served = start_serve(["--memory", "--env-file", str(env_file)], cwd=tmp_path)
        try:
            reply = send(served.url, "/health", method="GET", timeout=30)
        finally:
            served.stop()
        answer = json.loads(reply.body)
        assert answer["checks"]["topics"] == "ok", answer
        assert reply.status == 200, answer
        assert any('"team-db" named by route db has no push subscriber' in w for w in answer["warnings"]), answer

    def test_one_command_gives_a_working_system(self, tmp_path: Path) -> None:
        """With no endpoint, the emulator starts, the schema is bootstrapped and the printed curl is accepted."""
        served = start_serve(["--memory"], cwd=tmp_path)
        try:
            assert "(local emulator, in memory)" in served.banner
            assert "(generated for this run; put WEBHOOK_TOKEN in .env to keep it)" in served.banner
            key = re.search(r"api key\s+(\S+)\s+\(the emulator's", served.banner)
            assert key, served.banner
            words = served.curl_words()
            token = words[words.index("-H") + 1].removeprefix("Authorization: Bearer ")
            body = Path(words[words.index("--data") + 1].removeprefix("@")).read_bytes()
            reply = send(
                served.url, "/", body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            assert 200 <= reply.status < 300, reply.body
            unauthorised = send(served.url, "/", body=body, headers={"Content-Type": "application/json"})
            assert 400 <= unauthorised.status < 500
            listing = next(line for line in served.banner.splitlines() if "list_alerts.py" in line)
            shown = subprocess.run(shlex.split(listing), capture_output=True, text=True, timeout=60, cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            for alert in json.loads(body)["alerts"]:
                assert alert["fingerprint"] in shown.stdout
            assert "[FIRING] InstanceDown on db-1:9100 (critical)" in shown.stdout
        finally:
            code, out = served.stop()
        assert code == 0, out
