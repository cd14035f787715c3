"""`python scripts/list_alerts.py` against the emulator: each message the function created shows its outcome
as Appwrite reports it, with Appwrite's error for a failed one."""

from __future__ import annotations

import re
import time

import pytest

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from scripts.list_alerts import main
from tests.endpoints.metrics_support import ok
from tests.harness import PROJECT_ID, Appwrite


def test_each_message_reads_delivered_failed_or_sent_to_nobody(
    host: FunctionHost, appwrite: Appwrite, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A critical alert with a push provider and 2 subscribers on critical-alerts, no SMS provider: its push
    reads "delivered 2", its SMS "failed: No enabled provider found." once Appwrite settled them."""
    appwrite.control.enable_provider("push")
    appwrite.control.add_subscribers("critical-alerts", "push", 2)
    ok(host, p.alert("DiskFull", instance="db-1"))
    env = {"APPWRITE_ENDPOINT": emulator.endpoint, "APPWRITE_PROJECT_ID": PROJECT_ID,
           "APPWRITE_API_KEY": emulator.api_key}
    deadline = time.monotonic() + 60
    while True:
        capsys.readouterr()
        assert main([], env) == 0
        out = capsys.readouterr().out
        heading, *messages = [re.split(r"\s{2,}", line) for line in out.split("Messages (", 1)[1].splitlines()[1:]]
        if len(messages) == 3 and all(row[4] != "pending" for row in messages):
            break
        assert time.monotonic() < deadline, out
    assert heading == ["created", "channel", "topic", "status", "outcome", "title / text"]
    by_topic = {(row[1], row[2]): (row[3], row[4]) for row in messages}
    assert by_topic[("push", "critical-alerts")] == ("sent", "delivered 2")
    assert by_topic[("sms", "critical-alerts")] == ("failed", "failed: No enabled provider found.")
    assert by_topic[("push", "monitoring-alerts")][1] in ("failed: No valid recipients found.",
                                                          "sent to nobody (no subscribers)")
