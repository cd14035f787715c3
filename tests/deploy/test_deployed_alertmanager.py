"""End to end through the deployed copy: a real Alertmanager posts to the address the emulator serves the
deployment at (built from the archive the real CLI uploaded), and the alert becomes a row and messages; the
scheduled run reaches the same deployed copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from devkit.emulator import Emulator
from tests.deploy.conftest import FUNCTION_ID, Deployed, served_url
from tests.e2e.alertmanager import Alertmanager, PostedAlert, now_ms, write_token
from tests.e2e.test_alertmanager import MONITORING_TOPIC, announced, check_row, deliver_and_wait
from tests.harness import TOKEN, Appwrite

pytestmark = [pytest.mark.deploy, pytest.mark.alertmanager]


def test_alertmanager_alert_through_the_deployed_copy_is_stored_and_announced(
    deployed: Deployed, deploy_emulator: Emulator, alertmanager_binary: str, tmp_path: Path
) -> None:
    """Alertmanager -> the deployed function: the alert's row and its message appear in the emulator."""
    token_file = tmp_path / "token"
    write_token(token_file, TOKEN)
    workdir = tmp_path / "alertmanager"
    workdir.mkdir()
    manager = Alertmanager(alertmanager_binary, workdir, webhook_url=served_url(deploy_emulator) + "/",
                           token_file=token_file)
    appwrite = Appwrite(deploy_emulator)
    manager.start()
    try:
        alert = PostedAlert({"alertname": "DeployedDiskFull", "severity": "warning", "instance": "db-1"}, now_ms(),
                            {"summary": "disk 95% full"})
        firing = announced([alert], "firing")
        rows = deliver_and_wait(appwrite, manager, [alert], status="firing", expected=firing)
    finally:
        manager.stop()
    check_row(rows[alert.fingerprint], alert, status="firing", received_after=alert.starts_at)
    assert (MONITORING_TOPIC, "push", "[FIRING] DeployedDiskFull on db-1 (warning)") in appwrite.sent()


def test_scheduled_run_fires_from_the_deployed_copy(deployed: Deployed, deploy_emulator: Emulator) -> None:
    """The function's scheduled execution runs in the deployed copy and completes its scheduled work."""
    hook = deploy_emulator.endpoint.removesuffix("/v1") + f"/_emulator/functions/{FUNCTION_ID}/schedule"
    fired = requests.post(hook, timeout=60)
    assert fired.status_code == 200, fired.text
    outcome = fired.json()
    assert outcome["status"] == 200, outcome
    assert json.loads(outcome["body"])["trigger"] == "schedule"
