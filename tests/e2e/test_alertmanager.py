"""End to end with a real Alertmanager: alerts posted to its v2 API reach the function through its webhook
receiver (Bearer token from a file) and end up as rows and messages in the emulated Appwrite project.

Each test starts its own Alertmanager (1 s group wait, 2 s group interval, 3 s repeat interval) and waits by
polling what people would look at (rows, messages), Alertmanager's `/metrics`, and the host's execution
records, each with a deadline.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devkit.runtime import FunctionHost
from src.delivery import appwrite_store as store
from tests.e2e.alertmanager import RECEIVER, Alertmanager, PostedAlert, appwrite_datetime, now_ms, write_token
from tests.e2e.conftest import StartAlertmanager
from tests.harness import TOKEN, Appwrite, scheduled_run

pytestmark = pytest.mark.alertmanager

CRITICAL_TOPIC = "critical-alerts"
MONITORING_TOPIC = "monitoring-alerts"
FAILED_NOTIFICATIONS = "alertmanager_notifications_failed_total"
FAILED_REQUESTS = "alertmanager_notification_requests_failed_total"

Sent = tuple[str, str, str]


# -- what the function is expected to produce --------------------------------------------------------------


def routes(alert: PostedAlert) -> list[tuple[str, str]]:
    """The default routing: critical and emergency page by push and SMS; every alert goes to monitoring."""
    paged = [(CRITICAL_TOPIC, "push"), (CRITICAL_TOPIC, "sms")] if alert.severity in ("critical", "emergency") else []
    return [*paged, (MONITORING_TOPIC, "push")]


def headline(alert: PostedAlert, status: str) -> str:
    instance = alert.labels.get("instance", "")
    where = f" on {instance}" if instance else ""
    return f"[{status.upper()}] {alert.labels['alertname']}{where} ({alert.severity})"


def announced(alerts: Iterable[PostedAlert], status: str) -> list[Sent]:
    """(topic, channel, push title or SMS text) of one announcement per route of each alert."""
    sent = []
    for alert in alerts:
        title = headline(alert, status)
        summary = alert.annotations.get("summary", "")
        sms = " ".join(f"{title}: {summary}".split()) if summary else title
        sent += [(topic, channel, sms if channel == "sms" else title) for topic, channel in routes(alert)]
    return sent


def group_key(alert: PostedAlert) -> str:
    # Alertmanager quotes the group label the way Go's %q does: like JSON for printable characters.
    return "{}:{alertname=" + json.dumps(alert.labels["alertname"], ensure_ascii=False) + "}"


def check_row(row: dict[str, Any], alert: PostedAlert, *, status: str, received_after: datetime) -> None:
    """Every column of the alert's row, as documented."""
    labels, annotations = dict(alert.labels), dict(alert.annotations)
    expected = {
        "fingerprint": alert.fingerprint,
        "alertname": labels["alertname"],
        "status": status,
        "severity": alert.severity,
        "instance": labels.get("instance", ""),
        "job": labels.get("job", ""),
        "summary": annotations.get("summary", ""),
        "description": annotations.get("description", ""),
        "startsAt": appwrite_datetime(alert.starts_at),
        "endsAt": appwrite_datetime(alert.ends_at) if status == "resolved" and alert.ends_at else None,
        "generatorURL": alert.generator_url or "",
        "receiver": RECEIVER,
        "groupKey": group_key(alert),
        "notifiedStatus": status,
    }
    actual = {key: row.get(key) for key in expected}
    assert actual == expected, f"row of {labels}"
    assert json.loads(row["labels"]) == labels
    assert json.loads(row["annotations"]) == annotations
    received = datetime.fromisoformat(row["lastReceivedAt"])
    assert received_after <= received <= now_ms() + timedelta(seconds=1)


# -- reading the state ------------------------------------------------------------------------------------


def rows_where(appwrite: Appwrite, alerts: Sequence[PostedAlert], **values: Any) -> dict[str, dict[str, Any]]:
    """The rows of these alerts when every one exists with these column values, else {}."""
    rows = appwrite.rows()
    wanted = {alert.fingerprint for alert in alerts}
    found = {fp: row for fp, row in rows.items() if fp in wanted}
    if len(found) == len(wanted) and all(row.get(k) == v for row in found.values() for k, v in values.items()):
        return found
    return {}


def messages_reach(appwrite: Appwrite, count: int) -> list[Sent]:
    sent = appwrite.sent()
    return sent if len(sent) >= count else []


def posts_since(host: FunctionHost, mark: int) -> list[dict[str, Any]]:
    """The execution records of the POSTs (webhook deliveries) since the host had `mark` records."""
    return [record for record in host.logs()[mark:] if record["method"] == "POST"]


def log_text(record: dict[str, Any]) -> str:
    return " ".join(record["logs"])


def wait_for_records(host: FunctionHost, manager: Alertmanager, mark: int, what: str,
                     done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The delivery records since `mark`, once one of them satisfies `done`."""
    def probe() -> list[dict[str, Any]]:
        records = posts_since(host, mark)
        return records if any(done(record) for record in records) else []

    return manager.wait(what, probe)


def wait_for_quiet_deliveries(host: FunctionHost, manager: Alertmanager, mark: int, what: str,
                              alerts: int) -> list[dict[str, Any]]:
    """The deliveries since `mark` that announced nothing, once together they carried `alerts` alerts."""
    def probe() -> list[dict[str, Any]]:
        quiet = [r for r in posts_since(host, mark) if "messages_queued=0 " in log_text(r)]
        carried = sum(int(m.group(1)) for r in quiet if (m := re.search(r"\balerts=(\d+) ", log_text(r))))
        return quiet if carried >= alerts else []

    return manager.wait(what, probe)


def deliver_and_wait(appwrite: Appwrite, manager: Alertmanager, alerts: Sequence[PostedAlert], *, status: str,
                     expected: list[Sent]) -> dict[str, dict[str, Any]]:
    """Post the alerts, then wait until their rows have this status and `expected` messages exist."""
    manager.post(alerts)
    rows = manager.wait(f"{len(alerts)} row(s) {status}",
                        lambda: rows_where(appwrite, alerts, status=status, notifiedStatus=status))
    manager.wait(f"{len(expected)} message(s)", lambda: messages_reach(appwrite, len(expected)))
    return rows


# -- the alerts -------------------------------------------------------------------------------------------


def lifecycle_alerts(start: datetime) -> tuple[list[PostedAlert], PostedAlert]:
    """Several severities and instances, unusual label values, no severity, no generatorURL; and one more
    alert for the first group, posted later. No group has more than 5 alerts, so nothing becomes a digest."""
    graph = "http://prometheus.local:9090/graph?g0.expr=node_filesystem_avail_bytes"

    def disk(instance: str, severity: str, offset: int) -> PostedAlert:
        return PostedAlert(
            {"alertname": "DiskFull", "instance": instance, "job": "node", "severity": severity},
            start - timedelta(seconds=offset),
            {"summary": f"Disk almost full on {instance}", "description": f"{instance}: / is 95% full",
             "runbook_url": "https://runbooks.example.com/diskfull"},
            generator_url=graph,
        )

    odd = PostedAlert(
        {"alertname": 'Ünïcødé "quoted" {a=b} ☃', "instance": "host with spaces:9100", "job": "naïve job",
         "severity": "Critical", "query": 'up{job="node"} == 0', "path": 'C:\\Program Files\\x "y"',
         "note": "a=b, c = d; 日本語 ✓ 🚨"},
        start - timedelta(seconds=4),
        {"summary": 'Ünïcødé "quoted" summary', "description": "line one\nline two {x=y}"},
        generator_url="http://prometheus.local:9090/graph?g0.expr=up%7Bjob%3D%22node%22%7D",
    )
    no_severity = PostedAlert(
        {"alertname": "Heartbeat", "instance": "probe-1", "job": "blackbox"},
        start - timedelta(seconds=5),
        {"summary": "Heartbeat missing"},
        generator_url=graph,
    )
    no_generator = PostedAlert(
        {"alertname": "Heartbeat", "instance": "probe-2", "job": "blackbox", "severity": "warning"},
        start - timedelta(seconds=6),
        {"summary": "Heartbeat late"},
    )
    first = [disk("db-1:9100", "critical", 1), disk("db-2:9100", "warning", 2), disk("db-3:9100", "emergency", 3),
             odd, no_severity, no_generator]
    return first, disk("db-4:9100", "info", 7)


# -- the tests --------------------------------------------------------------------------------------------


def test_lifecycle_stores_every_alert_and_announces_each_change_once(
    appwrite: Appwrite, host: FunctionHost, start_alertmanager: StartAlertmanager
) -> None:
    """Firing, group-interval and repeat re-sends, resolve and a later re-fire, through a real Alertmanager:
    one row per alert with every column right, one message per route per change of state, never more."""
    manager = start_alertmanager()
    began = now_ms()
    alerts, late = lifecycle_alerts(began)
    everything = [*alerts, late]

    # First firing: a row per alert, a message per route.
    firing = announced(alerts, "firing")
    rows = deliver_and_wait(appwrite, manager, alerts, status="firing", expected=firing)
    for alert in alerts:
        check_row(rows[alert.fingerprint], alert, status="firing", received_after=began)
    assert appwrite.sent() == sorted(firing)

    # A new alert joins the DiskFull group: the next group-interval flush sends the whole group; only the new
    # alert is written and announced. The others were received moments ago, well within lastReceivedAt's
    # resolution, so their rows are left as they are.
    disk = [a for a in alerts if a.labels["alertname"] == "DiskFull"]
    firing += announced([late], "firing")
    mark = len(host.logs())
    manager.post([late])
    wait_for_records(host, manager, mark, "the DiskFull group re-sent with the new alert",
                     lambda r: f"alerts={len(disk) + 1} created=1 updated=0 " in log_text(r))
    rows_now = rows_where(appwrite, [*disk, late], status="firing")
    check_row(rows_now[late.fingerprint], late, status="firing", received_after=began)
    assert {fp: rows_now[fp] for fp in rows if fp in rows_now} == {fp: rows[fp] for fp in rows if fp in rows_now}
    manager.wait("the new alert's message", lambda: messages_reach(appwrite, len(firing)))
    assert appwrite.sent() == sorted(firing)

    # Nothing changes: Alertmanager repeats each group after the repeat interval. Nothing is written (the
    # rows stay exactly as they were, $updatedAt included) and no message is sent.
    before_rows = rows_where(appwrite, everything)
    mark = len(host.logs())
    repeats = wait_for_quiet_deliveries(host, manager, mark, "a repeat of every group", len(everything))
    assert all(r["statusCode"] == 200 for r in repeats)
    assert all("created=0 updated=0 " in log_text(r) for r in repeats), repeats
    assert rows_where(appwrite, everything) == before_rows
    assert appwrite.sent() == sorted(firing)

    # Resolve everything through the API (same labels, endsAt now): one resolved message per route.
    ended = now_ms()
    done = [alert.resolved(ended) for alert in everything]
    resolved = announced(done, "resolved")
    rows = deliver_and_wait(appwrite, manager, done, status="resolved", expected=firing + resolved)
    for alert in done:
        check_row(rows[alert.fingerprint], alert, status="resolved", received_after=began)
    assert appwrite.sent() == sorted(firing + resolved)

    # The same labels fire again later, with a newer startsAt: a new occurrence, announced again.
    again = [alert.again(now_ms()) for alert in (alerts[0], alerts[3])]
    refired = announced(again, "firing")
    rows = deliver_and_wait(appwrite, manager, again, status="firing", expected=firing + resolved + refired)
    for alert in again:
        check_row(rows[alert.fingerprint], alert, status="firing", received_after=ended)
    others = [alert for alert in done if alert.fingerprint not in rows]
    assert len(rows_where(appwrite, others, status="resolved")) == len(others)

    # ... and announced only once, however often Alertmanager repeats it.
    mark = len(host.logs())
    wait_for_quiet_deliveries(host, manager, mark, "a repeat of the re-fired alerts", len(again))
    assert rows_where(appwrite, again) == rows
    assert appwrite.sent() == sorted(firing + resolved + refired)


def test_wrong_token_is_refused_until_the_token_file_is_fixed(
    appwrite: Appwrite, host: FunctionHost, start_alertmanager: StartAlertmanager, token_file: Path
) -> None:
    """With a wrong token Alertmanager's delivery fails with 401 and nothing is stored; once the token file
    (re-read on every request) is fixed, the next delivery lands."""
    write_token(token_file, "wrong-token-wrong-token-wrong-token")
    manager = start_alertmanager()
    mark = len(host.logs())
    alert = PostedAlert({"alertname": "TokenCheck", "instance": "db-1:9100", "severity": "critical"}, now_ms(),
                        {"summary": "token check"})
    manager.post([alert])

    manager.wait("a failed notification", lambda: manager.metric(FAILED_NOTIFICATIONS) >= 1)
    refused = wait_for_records(host, manager, mark, "the refused delivery", lambda r: r["statusCode"] == 401)
    assert {record["statusCode"] for record in refused} == {401}
    assert appwrite.control.calls() == {}
    assert appwrite.rows() == {} and appwrite.messages() == []

    write_token(token_file, TOKEN)
    rows = manager.wait("the delivery with the fixed token",
                        lambda: rows_where(appwrite, [alert], status="firing", notifiedStatus="firing"))
    check_row(rows[alert.fingerprint], alert, status="firing", received_after=alert.starts_at)
    manager.wait("its messages", lambda: messages_reach(appwrite, 3))
    assert appwrite.sent() == sorted(announced([alert], "firing"))
    wait_for_records(host, manager, mark, "the accepted delivery", lambda r: r["statusCode"] == 200)


@pytest.mark.parametrize(("call", "method"), [("lookup", "GET"), ("write", "PUT")])
def test_appwrite_outage_is_retried_by_alertmanager_and_announced_once(
    appwrite: Appwrite, host: FunctionHost, start_alertmanager: StartAlertmanager, call: str, method: str
) -> None:
    """While the rows endpoints answer 503 the function answers 503 and Alertmanager retries; once Appwrite
    recovers every alert is stored and announced exactly once (a failed write after the messages went out
    included)."""
    # Enough 503s to exhaust the function's own retries of each call in two Alertmanager attempts (of the alert
    # rows only).
    appwrite.control.add_fault(r"/tablesdb/[^/]+/tables/alerts/rows$", method=method, count=2 * store._ATTEMPTS,
                               mode="status", status=503)
    manager = start_alertmanager()
    mark = len(host.logs())
    start = now_ms()
    alerts = [
        PostedAlert({"alertname": "Outage", "instance": "db-1:9100", "severity": "critical"}, start,
                    {"summary": "first"}),
        PostedAlert({"alertname": "Outage", "instance": "db-2:9100", "severity": "warning"}, start,
                    {"summary": "second"}),
    ]
    manager.post(alerts)

    # Rows are not read while the fault is armed: reading them would use up the lookup faults.
    records = wait_for_records(host, manager, mark, "a successful delivery after the outage",
                               lambda r: r["statusCode"] == 200)
    statuses = [record["statusCode"] for record in records]
    assert statuses[:3] == [503, 503, 200], statuses
    assert manager.metric(FAILED_REQUESTS) >= 2
    assert manager.metric(FAILED_NOTIFICATIONS) == 0  # the retries of that one notification succeeded
    if call == "write":
        # The messages went out alongside the first failed write; the retries found the changes claimed by
        # themselves, sent their messages again (Appwrite refused each copy) and wrote the rows.
        assert "messages_queued=0 already_queued=4 " in log_text(records[2])

    rows = manager.wait("both rows", lambda: rows_where(appwrite, alerts, status="firing"))
    for alert in alerts:
        check_row(rows[alert.fingerprint], alert, status="firing", received_after=start)
    assert appwrite.sent() == sorted(announced(alerts, "firing"))


def test_a_group_of_500_alerts_arrives_whole_and_becomes_one_digest(
    appwrite: Appwrite, host: FunctionHost, start_alertmanager: StartAlertmanager
) -> None:
    """500 warnings in one group arrive in one delivery (max_alerts 0): 500 rows and a single digest push."""
    manager = start_alertmanager()
    mark = len(host.logs())
    start = now_ms()
    alerts = [
        PostedAlert({"alertname": "HostHighLoad", "instance": f"node-{i:05d}:9100", "job": "node",
                     "severity": "warning"}, start, {"summary": f"load on node-{i:05d}"})
        for i in range(500)
    ]
    manager.post(alerts)

    records = wait_for_records(host, manager, mark, "the delivery", lambda r: r["statusCode"] == 200)
    assert all("alerts=500 " in log_text(r) for r in records), records
    assert "created=500 " in log_text(records[0]) and "truncated=0 " in log_text(records[0])
    rows = manager.wait("500 rows", lambda: rows_where(appwrite, alerts, status="firing"))
    for alert in alerts:
        check_row(rows[alert.fingerprint], alert, status="firing", received_after=start)
    manager.wait("the digest", lambda: messages_reach(appwrite, 1))
    assert appwrite.sent() == [(MONITORING_TOPIC, "push", "[ALERTS] 500 firing (monitoring-alerts)")]


def test_alert_with_labels_only_is_stored_and_announced(
    appwrite: Appwrite, start_alertmanager: StartAlertmanager
) -> None:
    """An alert with nothing but labels (as `amtool alert add` posts it: no annotations, no generatorURL) is
    stored and announced when it fires and when it resolves."""
    manager = start_alertmanager()
    bare = PostedAlert({"alertname": "Bare", "severity": "warning"}, now_ms())
    firing = announced([bare], "firing")
    rows = deliver_and_wait(appwrite, manager, [bare], status="firing", expected=firing)
    check_row(rows[bare.fingerprint], bare, status="firing", received_after=bare.starts_at)
    assert appwrite.sent() == sorted(firing) == [(MONITORING_TOPIC, "push", "[FIRING] Bare (warning)")]

    done = bare.resolved(now_ms())
    resolved = announced([done], "resolved")
    rows = deliver_and_wait(appwrite, manager, [done], status="resolved", expected=firing + resolved)
    check_row(rows[bare.fingerprint], done, status="resolved", received_after=bare.starts_at)
    assert appwrite.sent() == sorted(firing + resolved)


def pushed_alerts(appwrite: Appwrite, status: str) -> Counter[str]:
    """How often each alert was announced by push with this status, counting every alert a digest lists."""
    seen: Counter[str] = Counter()
    label = f"[{status.upper()}]"
    for message in appwrite.messages():
        if message.providertype != "push":
            continue
        title = message.data.get("title", "")
        lines = message.data.get("body", "").splitlines() if title.startswith("[ALERTS]") else [title]
        seen.update(line for line in lines if line.startswith(label))
    return seen


def test_one_alert_in_two_groups_at_once_is_announced_once(
    appwrite: Appwrite, host: FunctionHost, start_alertmanager: StartAlertmanager
) -> None:
    """Two routes with different `group_by` (`continue: true`) send the same seven alerts at the same moment:
    one delivery of all seven (a digest) racing seven deliveries of one alert each. Each alert is announced
    exactly once, in the digest or alone, firing and then resolved, and has one history row per change."""
    manager = start_alertmanager(groupings=[["alertname"], ["instance"]])
    start = now_ms()
    alerts = [PostedAlert({"alertname": "ReplicaLag", "instance": f"db-{i}:9187", "job": "postgres",
                           "severity": "warning"}, start, {"summary": f"replica db-{i} lags"}) for i in range(7)]
    def both_groupings_deliver(status: str, posted: list[PostedAlert]) -> None:
        mark = len(host.logs())
        manager.post(posted)
        # One POST of seven alerts and seven of one, each answered 200 (after Alertmanager's retries, if any).
        manager.wait(f"8 {status} deliveries", lambda: sum(
            1 for r in posts_since(host, mark) if r["statusCode"] == 200 and "delivery receiver=" in log_text(r)) >= 8)
        manager.wait(f"rows {status}", lambda: rows_where(appwrite, posted, status=status, notifiedStatus=status))
        assert pushed_alerts(appwrite, status) == {headline(alert, status): 1 for alert in alerts}

    both_groupings_deliver("firing", alerts)
    both_groupings_deliver("resolved", [alert.resolved(now_ms()) for alert in alerts])
    # The scheduled run finds every claim's messages sent and completes them.
    assert scheduled_run(host.url)["messagesQueued"] == 0
    history = [row for row in appwrite.rows("alert_events").values()
               if row["alertname"] == "ReplicaLag" and row["kind"] != "delivery"]
    assert sorted(Counter((row["fingerprint"], row["kind"]) for row in history).values()) == [1] * 14
    assert all(row["claim"] is None for row in history)
