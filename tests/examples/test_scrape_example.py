"""The example scrape job (examples/prometheus/scrape-alert-processor.yml): promtool accepts it, and a real
Prometheus using it (only the address, the scheme, the token file and the interval changed for the test)
scrapes the function's /metrics with its Bearer token file."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devkit import payloads as p
from devkit.runtime import FunctionHost
from tests.endpoints.metrics_support import METRICS_TOKEN, metrics_host, ok  # noqa: F401 (metrics_host: the `host` fixture)
from tests.examples.conftest import EXAMPLES, require_binary
from tests.harness import Appwrite

EXAMPLE = EXAMPLES / "prometheus" / "scrape-alert-processor.yml"
TOKEN_FILE = "/etc/prometheus/alert-processor-metrics.token"


def with_token_file(tmp_path: Path, text: str) -> Path:
    token = tmp_path / "metrics.token"
    token.write_text(METRICS_TOKEN + "\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(text.replace(TOKEN_FILE, str(token)))
    return config


def test_example_job_is_https_with_a_bearer_token_file_and_a_placeholder_domain() -> None:
    """The job scrapes /metrics over https, reads the token from a file and names the domain to replace."""
    lines = [line.strip() for line in EXAMPLE.read_text().splitlines() if not line.lstrip().startswith("#")]
    for expected in ("- job_name: alert-processor", "scheme: https", "metrics_path: /metrics", "type: Bearer",
                     f"credentials_file: {TOKEN_FILE}", '- targets: ["<your-function-domain>"]'):
        assert lines.count(expected) == 1, expected


def test_example_passes_promtool_check_config(tmp_path: Path) -> None:
    """`promtool check config` accepts the example as it is, once the token file exists."""
    promtool = require_binary("promtool")
    checked = subprocess.run([promtool, "check", "config", str(with_token_file(tmp_path, EXAMPLE.read_text()))],
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _query(port: int, expression: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as answer:
        result: list[dict[str, Any]] = json.loads(answer.read())["data"]["result"]
        return result


@pytest.fixture
def prometheus(host: FunctionHost, tmp_path: Path) -> Iterator[int]:
    """A real Prometheus scraping the served function every second with the example job; yields its port."""
    binary = require_binary("prometheus")
    address = urlsplit(host.url).netloc
    text = EXAMPLE.read_text()
    changes = (("scheme: https", "scheme: http"), ('["<your-function-domain>"]', f'["{address}"]'),
               ("scrape_interval: 60s", "scrape_interval: 1s"), ("scrape_timeout: 15s", "scrape_timeout: 1s"))
    for example, local in changes:
        assert text.count(example) == 1, example
        text = text.replace(example, local)
    port = _free_port()
    server = subprocess.Popen(
        [binary, f"--config.file={with_token_file(tmp_path, text)}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_a_real_prometheus_scrapes_the_function_with_the_example_job(
    host: FunctionHost, appwrite: Appwrite, prometheus: int
) -> None:
    """Prometheus reads the token file, the scrape succeeds (up is 1) and the firing critical alert shows."""
    ok(host, p.alert(severity="critical"))
    deadline = time.monotonic() + 30
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            found = _query(prometheus, 'alert_processor_alerts_firing{job="alert-processor",severity="critical"}')
        except OSError:  # still starting
            found = []
        if found:
            break
        time.sleep(0.3)
    assert found, "Prometheus never stored a sample of alert_processor_alerts_firing"
    assert found[0]["value"][1] == "1"
    assert found[0]["metric"]["service"] == "alert-processor"
    assert [sample["value"][1] for sample in _query(prometheus, 'up{job="alert-processor"}')] == ["1"]
