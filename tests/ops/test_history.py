"""`python scripts/alert_history.py` against the emulator the function writes to: a readable timeline, and
one-line errors with exit status 2 that never show the key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from scripts.alert_history import main
from tests.conftest import REPO_ROOT
from tests.endpoints.metrics_support import ok
from tests.harness import PROJECT_ID, Appwrite, deliver

SCRIPT = REPO_ROOT / "scripts" / "alert_history.py"
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
# A change's messages read `pending` until the scheduled run confirms they went out (tests/jobs/test_claims.py).
CRITICAL = "critical-alerts/push pending, critical-alerts/sms pending, monitoring-alerts/push pending"


def connection(emulator: Emulator, **extra: str) -> dict[str, str]:
    return {"APPWRITE_ENDPOINT": emulator.endpoint, "APPWRITE_PROJECT_ID": PROJECT_ID,
            "APPWRITE_API_KEY": emulator.api_key, **extra}


def history(capsys: pytest.CaptureFixture[str], env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the script in-process, as `python scripts/alert_history.py ARGS` would."""
    capsys.readouterr()
    code = main(list(args), env)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def columns(out: str) -> list[list[str]]:
    """The timeline's rows split on the two-space column gaps, without the heading and the count."""
    lines = out.strip().splitlines()
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines[3:-2]]


def test_fire_resolve_refire_story_reads_as_a_timeline(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """An alert fired, resolved and fired again: three lines, oldest first, each with its reason and where the
    announcement went; the heading names the alert."""
    alert = p.alert(starts_at=T0)
    ok(host, alert)
    ok(host, p.resolved(alert, T0 + timedelta(minutes=7)))
    ok(host, alert)
    code, out, err = history(capsys, connection(emulator), alert["fingerprint"])
    assert (code, err) == (0, "")
    assert out.startswith(f"History of HighCPU on 10.0.0.80:9100 (critical), fingerprint {alert['fingerprint']}: "
                          "changes decided since ")
    assert out.splitlines()[2].split() == ["time", "(UTC)", "kind", "started", "reason", "channels"]
    rows = columns(out)
    assert [row[1:] for row in rows] == [
        ["fired", "2026-11-27 03:00:00", "first firing", CRITICAL],
        ["resolved", "2026-11-27 03:00:00", "resolved after firing", CRITICAL],
        ["refired", "2026-11-27 03:00:00", "same startsAt after resolved", CRITICAL],
    ]
    times = [datetime.fromisoformat(row[0]).replace(tzinfo=UTC) for row in rows]
    assert times == sorted(times) and datetime.now(UTC) - times[0] < timedelta(minutes=5)
    assert out.rstrip().endswith("\n3 changes")


def test_by_alertname_lists_every_instance_and_the_silent_decisions(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """--alertname: every alert of that name with its instance, including the ignored stale delivery and the
    resolve nobody saw firing, which announced nothing."""
    ok(host, p.alert("DiskFull", severity="warning", instance="db-1", starts_at=T0 + timedelta(hours=1)))
    ok(host, p.resolved(p.alert("DiskFull", severity="warning", instance="db-1", starts_at=T0)))
    ok(host, p.resolved(p.alert("DiskFull", severity="warning", instance="db-2", starts_at=T0)))
    ok(host, p.alert("Other", severity="warning", starts_at=T0))
    code, out, _ = history(capsys, connection(emulator), "--alertname", "DiskFull", "--since", "1h")
    assert code == 0
    assert out.startswith("History of alerts named DiskFull: changes decided since ")
    assert [row[1:] for row in columns(out)] == [
        ["fired", "db-1", "2026-11-27 04:00:00", "first firing", "monitoring-alerts/push pending"],
        ["stale-ignored", "db-1", "2026-11-27 03:00:00", "older startsAt than stored", "-"],
        ["resolved-unseen", "db-2", "2026-11-27 03:00:00", "resolved, never seen firing", "-"],
    ]


def test_since_leaves_out_older_changes(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A change decided before the --since window is not shown; an unknown alert has an empty history."""
    alert = p.alert(starts_at=T0)
    ok(host, alert)
    time.sleep(1.5)
    code, out, _ = history(capsys, connection(emulator), alert["fingerprint"], "--since", "1s")
    assert code == 0 and out.rstrip().endswith("No change of state recorded in that time.")
    code, out, _ = history(capsys, connection(emulator), alert["fingerprint"], "--since", "1m")
    assert code == 0 and out.rstrip().endswith("1 change")
    code, out, _ = history(capsys, connection(emulator), "0123456789abcdef")
    assert code == 0 and "No change of state recorded" in out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["abc"], {"APPWRITE_ENDPOINT": ""}, "missing setting: endpoint (--endpoint or APPWRITE_ENDPOINT)"),
        (["abc", "--since", "yesterday"], {}, "--since takes a positive duration such as 90m, 24h, 7d or 2w"),
        (["not a fingerprint"], {}, "is not a fingerprint"),
        (["abc"], {"APPWRITE_ENDPOINT": "http://127.0.0.1:{port}/v1"}, "no answer from 127.0.0.1:"),
        (["abc"], {"APPWRITE_API_KEY": "standard_wrong-key"}, "Appwrite refused the API key (user_unauthorized); "
         "check --key / APPWRITE_API_KEY: it must belong to the project and have the rows.read scope"),
        (["abc"], {"EVENTS_TABLE_ID": "missing_table"}, "table not found; run `python scripts/bootstrap_schema.py`"),
    ],
    ids=["no-endpoint", "bad-since", "bad-fingerprint", "unreachable", "wrong-key", "no-table"],
)
def test_problems_are_one_line_errors_with_exit_2_and_no_key(
    appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str], args: list[str],
    env: dict[str, str], words: str
) -> None:
    """Bad settings or an unusable Appwrite: one `error:` line naming the cause, exit 2, no traceback, no key."""
    settings = {name: value.format(port=_closed_port()) for name, value in env.items()}
    code, out, err = history(capsys, connection(emulator, **settings), *args, "--timeout", "3")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err, err
    assert emulator.api_key not in err and "standard_wrong-key" not in err


def test_script_runs_as_a_subprocess_from_any_directory(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, tmp_path: Path
) -> None:
    """`python scripts/alert_history.py FINGERPRINT` from another directory prints the timeline and exits 0."""
    alert = p.alert(starts_at=T0)
    ok(host, alert)
    env = {**os.environ, **connection(emulator)}
    done = subprocess.run([sys.executable, str(SCRIPT), alert["fingerprint"]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "first firing" in done.stdout and CRITICAL in done.stdout
    shown = subprocess.run([sys.executable, str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60, check=False)
    assert "--alertname" in shown.stdout and "--since" in shown.stdout and "EVENTS_TABLE_ID" in shown.stdout


def test_a_change_whose_delivery_died_after_claiming_reads_as_pending(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """"Why didn't this page me?": every push failing, the delivery gave up after claiming the change; the
    timeline shows the change with each message pending (the scheduled run sends them after 2 minutes)."""
    alert = p.alert(starts_at=T0)
    appwrite.control.add_fault(r"/messaging/messages/push$", method="POST", count=100, status=503)
    assert deliver(host.url, p.payload([alert])).status_code == 503
    appwrite.control.clear_faults()
    code, out, _ = history(capsys, connection(emulator), alert["fingerprint"])
    assert code == 0
    assert [row[1:] for row in columns(out)] == [["fired", "2026-11-27 03:00:00", "first firing", CRITICAL]]


def test_after_the_scheduled_run_each_message_shows_its_outcome(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The push reaching 2 devices reads "delivered 2", the SMS without a provider "failed: <Appwrite's error>",
    the push to a topic nobody subscribed failed too; the follow rows are no lines of their own, and --json
    carries outcome, delivered count and error per message."""
    appwrite.control.enable_provider("push")
    appwrite.control.add_subscribers("critical-alerts", "push", 2)
    alert = p.alert(starts_at=T0)
    ok(host, alert)
    deadline = time.monotonic() + 60
    while True:
        assert requests.post(host.url + "/_host/schedule", timeout=60).status_code == 200
        code, out, err = history(capsys, connection(emulator), alert["fingerprint"])
        if "pending" not in out:
            break
        assert time.monotonic() < deadline, out
    assert (code, err) == (0, "")
    [fired] = columns(out)
    assert fired[1:4] == ["fired", "2026-11-27 03:00:00", "first firing"]
    sms = "critical-alerts/sms sent (failed: No enabled provider found.)"
    assert fired[4].startswith(f"critical-alerts/push sent (delivered 2), {sms}, monitoring-alerts/push sent (")
    assert out.rstrip().endswith("\n1 change")

    code, out, _ = history(capsys, connection(emulator), alert["fingerprint"], "--json")
    [change] = json.loads(out)
    assert code == 0 and change["kind"] == "fired"
    by_channel = {(c["topic"], c["channel"]): (c["outcome"], c["delivered"], c["error"]) for c in change["channels"]}
    assert by_channel[("critical-alerts", "push")] == ("delivered", 2, None)
    assert by_channel[("critical-alerts", "sms")] == ("failed", 0, "No enabled provider found.")
