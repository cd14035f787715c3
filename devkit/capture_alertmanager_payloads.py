"""Regenerate tests/data/alertmanager-*.json from a real Alertmanager (not a test; run it by hand).

    .venv/bin/python devkit/capture_alertmanager_payloads.py [--out tests/data]

Starts `prometheus-alertmanager` on 127.0.0.1 with a throw-away configuration whose webhook points at a
capture server in this process, posts alerts through its API (`POST /api/v2/alerts`), and saves the
webhook bodies exactly as Alertmanager sent them:

- alertmanager-firing.json: five firing alerts of one group (emergency, critical, warning, no severity;
  one without annotations or generatorURL, one with a non-UTC startsAt and a non-ASCII label value);
- alertmanager-resolved.json: the same five alerts, all resolved;
- alertmanager-partially-resolved.json: the same group when two of the five are resolved (the top-level
  status says "firing").

Everything stays on the loopback interface.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue
from typing import Any

TOKEN = "capture-token-not-a-secret"
EXTERNAL_URL = "http://alertmanager.example.internal:9093"
PROMETHEUS = "http://prometheus.example.internal:9090"
RUNBOOKS = "https://runbooks.example.com/infrastructure"


def _generator(expr: str) -> str:
    return f"{PROMETHEUS}/graph?g0.expr={urllib.parse.quote_plus(expr)}&g0.tab=1"


def alerts_to_post(now: datetime) -> list[dict[str, Any]]:
    """Five alerts of group job="node", as Prometheus (and, for the last, a hand-written client) posts them."""
    started = now - timedelta(minutes=7, microseconds=123457)
    cest = timezone_offset_text(started, hours=2)
    return [
        {
            "labels": {"alertname": "InstanceDown", "severity": "critical", "instance": "db-1:9100", "job": "node"},
            "annotations": {
                "summary": "Instance db-1:9100 is down",
                "description": "db-1:9100 of job node has not answered scrapes for more than 2 minutes.",
                "runbook_url": f"{RUNBOOKS}#instancedown",
            },
            "startsAt": started.isoformat().replace("+00:00", "Z"),
            "generatorURL": _generator("up == 0"),
        },
        {
            "labels": {"alertname": "JobTargetsMostlyDown", "severity": "emergency", "job": "node"},
            "annotations": {
                "summary": "Most targets of job node are down",
                "description": "66.67% of the targets of job node have been down for more than 2 minutes.",
                "runbook_url": f"{RUNBOOKS}#jobtargetsmostlydown",
            },
            "startsAt": started.isoformat().replace("+00:00", "Z"),
            "generatorURL": _generator("(1 - avg by (job) (up)) >= 0.5 and on (job) count by (job) (up) > 1"),
        },
        {
            "labels": {
                "alertname": "HostDiskAlmostFull",
                "severity": "warning",
                "instance": "web-2:9100",
                "job": "node",
                "device": "/dev/sdb1",
                "fstype": "ext4",
                "mountpoint": "/srv/données",
            },
            "annotations": {
                "summary": "Filesystem /srv/données on web-2:9100 has 12.0% space left",
                "description": (
                    'Less than 15% of /srv/données (/dev/sdb1) on web-2:9100 has been free for 10 minutes ("df -h").'
                ),
                "runbook_url": f"{RUNBOOKS}#hostdiskalmostfull",
            },
            # Sent with a +02:00 offset: Alertmanager keeps the offset as sent.
            "startsAt": cest,
            "generatorURL": _generator(
                '100 * node_filesystem_avail_bytes{fstype!~"tmpfs|devtmpfs|ramfs|overlay|squashfs|nsfs|fuse.lxcfs"}'
                " / node_filesystem_size_bytes < 15 and node_filesystem_readonly == 0"
            ),
        },
        {
            "labels": {
                "alertname": "HostHighCpuUsage",
                "severity": "critical",
                "instance": "web-1:9100",
                "job": "node",
            },
            "annotations": {
                "summary": "CPU of web-1:9100 is 97.0% busy",
                "description": "web-1:9100 has used more than 95% of its CPU time for 10 minutes (now 97.0%).",
                "runbook_url": f"{RUNBOOKS}#hosthighcpuusage",
            },
            "startsAt": started.isoformat().replace("+00:00", "Z"),
            "generatorURL": _generator(
                '100 * (1 - avg by (instance, job) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 95'
            ),
        },
        {
            # A hand-made alert: no severity, no annotations, no generatorURL, no startsAt.
            "labels": {"alertname": "BackupNotRun", "instance": "web-1:9100", "job": "node"},
        },
    ]


def timezone_offset_text(moment: datetime, hours: int) -> str:
    """`moment` written in a +HH:00 zone, with microseconds (Go accepts any fraction length)."""
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat()


class _Capture(BaseHTTPRequestHandler):
    bodies: Queue[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.bodies.put((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, format: str, *args: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api(base: str, path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None


class Alertmanager:
    def __init__(self, webhook_url: str, workdir: Path) -> None:
        token_file = workdir / "token"
        token_file.write_text(TOKEN + "\n")
        config = workdir / "alertmanager.yml"
        config.write_text(
            "route:\n"
            "  receiver: alert-processor\n"
            "  group_by: [job]\n"
            "  group_wait: 1s\n"
            "  group_interval: 2s\n"
            "  repeat_interval: 1h\n"
            "receivers:\n"
            "  - name: alert-processor\n"
            "    webhook_configs:\n"
            f"      - url: {webhook_url}\n"
            "        send_resolved: true\n"
            "        max_alerts: 0\n"
            "        http_config:\n"
            "          authorization:\n"
            "            type: Bearer\n"
            f"            credentials_file: {token_file}\n"
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.external-url={EXTERNAL_URL}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(self.base + "/-/ready", timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("prometheus-alertmanager did not become ready") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def next_body(bodies: Queue[tuple[dict[str, str], bytes]]) -> bytes:
    try:
        headers, body = bodies.get(timeout=15)
    except Empty:
        raise RuntimeError("Alertmanager sent no webhook within 15 s") from None
    assert headers["Authorization"] == f"Bearer {TOKEN}", "unexpected Authorization header"
    print(f"  captured {len(body)} bytes, User-Agent {headers.get('User-Agent')}", file=sys.stderr)
    return body


def resolve(posted: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    ends = now.isoformat().replace("+00:00", "Z")
    return [{**alert, "endsAt": ends} for alert in posted]


def run(out: Path, name: str, resolve_count: int) -> None:
    bodies: Queue[tuple[dict[str, str], bytes]] = Queue()
    handler = type("Capture", (_Capture,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    workdir = Path(tempfile.mkdtemp(prefix="am-capture-"))
    try:
        am = Alertmanager(f"http://127.0.0.1:{server.server_address[1]}/", workdir)
        try:
            posted = alerts_to_post(datetime.now(UTC))
            api(am.base, "/api/v2/alerts", posted)
            firing = next_body(bodies)
            if name == "firing":
                (out / "alertmanager-firing.json").write_bytes(firing)
                api(am.base, "/api/v2/alerts", resolve(posted, datetime.now(UTC)))
                (out / "alertmanager-resolved.json").write_bytes(next_body(bodies))
            else:
                api(am.base, "/api/v2/alerts", resolve(posted[:resolve_count], datetime.now(UTC)))
                (out / f"alertmanager-{name}.json").write_bytes(next_body(bodies))
        finally:
            am.stop()
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("firing, then all resolved:", file=sys.stderr)
    run(args.out, "firing", resolve_count=5)
    print("firing, then two of five resolved:", file=sys.stderr)
    run(args.out, "partially-resolved", resolve_count=2)


if __name__ == "__main__":
    main()
