"""`GET /metrics` through the runtime host and the emulator: its own token, values that match what Appwrite
holds, an exposition promtool accepts, and a fixed number of Appwrite calls per scrape."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest
import requests

from devkit import payloads as p
from devkit.bench.proxy import CountingRelay
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from src.core.metrics import plan_metrics, render
from src.jobs.schedule import run_scheduled
from tests.conftest import REPO_ROOT, function_env
from tests.endpoints.metrics_support import METRICS_TOKEN, events, metrics_host, ok, scrape  # noqa: F401 (metrics_host: the `host` fixture)
from tests.examples.conftest import require_binary
from tests.harness import TOKEN, Appwrite, deliver
from tests.oncall.conftest import oncall_with

LIST_ROWS = "GET /tablesdb/{databaseId}/tables/{tableId}/rows"
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
SAMPLE = re.compile(r'^(alert_processor_[a-z0-9_]+)(?:\{((?:\w+="[^"]*",?)+)\})? (\S+)$')
LABEL = re.compile(r'\w+="([^"]*)"')
OUTCOMES = ("pending", "delivered", "failed", "undelivered")
DEFAULT_PAIRS = (("push", "critical-alerts"), ("push", "monitoring-alerts"), ("sms", "critical-alerts"),
                 ("other", "other"))


def samples(text: str) -> dict[tuple[str, str], float]:
    """`{(name, label values joined by ","): value}` of every sample ("" for a metric without labels)."""
    found: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        matched = SAMPLE.match(line)
        assert matched, f"not a sample line: {line!r}"
        found[(matched.group(1), ",".join(LABEL.findall(matched.group(2) or "")))] = float(matched.group(3))
    return found


def outcomes(got: dict[tuple[str, str], float]) -> dict[str, float]:
    """The non-zero `messages_6h` samples, keyed "outcome,channel,topic"."""
    return {label: n for (name, label), n in got.items() if name == "alert_processor_messages_6h" and n}


def a_story(host: FunctionHost) -> None:
    """Firing, resolved, re-fired, never-seen, stale and digested alerts, relative to now."""
    now = datetime.now(UTC)
    started = now - timedelta(minutes=30)
    a, b = p.alert("A", starts_at=started), p.alert("B", starts_at=started)
    c = p.alert("C", severity="warning", starts_at=started)
    d = p.alert("D", severity="page", starts_at=started)
    ok(host, a, b, c, d)
    ok(host, p.resolved(p.alert("E", severity="info", starts_at=started), now - timedelta(minutes=10)),
       p.resolved(p.alert("F", severity="warning", starts_at=now - timedelta(days=3)), now - timedelta(days=2)))
    g = p.alert("G", severity="warning", starts_at=started)
    ok(host, g)
    ok(host, p.resolved(g, now - timedelta(minutes=5)))
    h = p.alert("H", severity="warning", starts_at=now - timedelta(minutes=10))
    ok(host, h)
    ok(host, p.resolved(p.alert("H", severity="warning", starts_at=now - timedelta(hours=1))))
    ok(host, p.resolved(a, now - timedelta(minutes=2)))
    ok(host, a)
    ok(host, *p.many(6, severity="warning", starts_at=started))


class TestAccess:
    @pytest.mark.parametrize(
        "token", [None, "wrong-metrics-token-0123456789", TOKEN], ids=["missing", "wrong", "webhook-token"]
    )
    def test_scrape_without_the_metrics_token_is_401_and_touches_nothing(
        self, host: FunctionHost, appwrite: Appwrite, token: str | None
    ) -> None:
        """No token, a wrong one or the webhook's token: 401 with WWW-Authenticate, and no Appwrite call."""
        reply = scrape(host, token)
        assert (reply.status_code, reply.headers["www-authenticate"]) == (401, "Bearer")
        assert appwrite.control.calls() == {}

    def test_the_metrics_token_cannot_post_alerts(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """The token Prometheus holds is refused on the webhook."""
        assert deliver(host.url, p.payload([p.alert()]), token=METRICS_TOKEN).status_code == 401
        assert appwrite.rows() == {}

    def test_without_metrics_token_configured_the_endpoint_is_404(
        self, emulator: Emulator, appwrite: Appwrite
    ) -> None:
        """METRICS_TOKEN unset: /metrics answers 404 to anyone, and GET / is still the health check."""
        with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, echo=False) as bare:
            assert scrape(bare).status_code == 404
            assert scrape(bare, token=None).status_code == 404
            assert scrape(bare, path="/").json()["status"] == "ok"
        assert appwrite.control.calls() == {}


class TestValues:
    def test_scrape_matches_what_appwrite_holds(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Every gauge equals what the alerts table, the history and Messaging hold after a varied story."""
        a_story(host)
        reply = scrape(host)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        got = samples(reply.text)

        rows = appwrite.rows().values()
        firing = Counter(row["severity"] for row in rows if row["status"] == "firing")
        day_ago = datetime.now(UTC) - timedelta(hours=24)
        resolved = [r for r in rows if r["status"] == "resolved" and datetime.fromisoformat(r["endsAt"]) >= day_ago]
        recorded = events(appwrite)
        sent = Counter(message.providertype for message in appwrite.messages())
        newest = max(datetime.fromisoformat(event["at"]) for event in recorded)

        assert got == {
            **{("alert_processor_alerts_firing", s): firing[s] for s in ("emergency", "critical", "warning", "info")},
            ("alert_processor_alerts_firing", "other"): firing["page"],
            ("alert_processor_alerts_resolved_24h", ""): len(resolved),
            **{("alert_processor_events_1h", kind): sum(1 for e in recorded if e["kind"] == kind)
               for kind in ("fired", "refired", "resolved", "resolved-unseen", "stale-ignored")},
            **{("alert_processor_messages_1h", channel): sent[channel] for channel in ("push", "sms", "email")},
            ("alert_processor_claims_pending", ""): 0,
            ("alert_processor_last_event_timestamp_seconds", ""): newest.timestamp(),
            **{("alert_processor_messages_6h", f"{outcome},{channel},{topic}"): 0
               for channel, topic in DEFAULT_PAIRS for outcome in OUTCOMES},
            **{("alert_processor_fallback_messages_6h", outcome): 0 for outcome in OUTCOMES},
        }
        # The same, spelled out: the story's own numbers.
        assert [got[("alert_processor_alerts_firing", s)] for s in ("critical", "warning", "other")] == [2, 8, 1]
        assert got[("alert_processor_alerts_resolved_24h", "")] == 2
        assert [got[("alert_processor_events_1h", k)] for k in ("fired", "refired", "resolved", "resolved-unseen",
                                                                 "stale-ignored")] == [12, 1, 2, 2, 1]
        assert [got[("alert_processor_messages_1h", c)] for c in ("push", "sms", "email")] == [14, 4, 0]

    def test_promtool_accepts_a_real_scrape(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """`promtool check metrics` finds no problem in what a scrape returns."""
        promtool = require_binary("promtool")
        a_story(host)
        body = scrape(host).text
        checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True,
                                 timeout=60, check=False)
        assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), body

    def test_an_empty_project_scrapes_as_zeros(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Nothing stored yet: every gauge is present and 0."""
        got = samples(scrape(host).text)
        assert len(got) == 5 + 1 + 5 + 3 + 1 + 1 + 4 * 4 + 4
        assert set(got.values()) == {0}

    def test_a_claim_left_by_a_dead_delivery_shows_until_the_scheduled_run_completes_it(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """A delivery dies after claiming (every push fails); once the claim is over 2 minutes old the gauge says
        1, and after a scheduled run it says 0 again, the pushes sent."""
        appwrite.control.add_fault(r"/messaging/messages/push$", method="POST", count=100, status=503)
        assert deliver(host.url, p.payload([p.alert(severity="warning")])).status_code == 503
        appwrite.control.clear_faults()
        [claim_id] = appwrite.rows("alert_events")
        assert samples(scrape(host).text)[("alert_processor_claims_pending", "")] == 0
        made = datetime.now(UTC) - timedelta(minutes=3)
        appwrite.tables.update_row("monitoring", "alert_events", claim_id,
                                   {"at": made.isoformat(timespec="milliseconds")})
        assert samples(scrape(host).text)[("alert_processor_claims_pending", "")] == 1
        reply = requests.post(host.url + "/_host/schedule", timeout=30)
        assert reply.json()["claimsCompleted"] == 1
        assert samples(scrape(host).text)[("alert_processor_claims_pending", "")] == 0
        assert [m.providertype for m in appwrite.messages()] == ["push"]

    def test_appwrite_outage_during_a_scrape_is_503(self, host: FunctionHost, appwrite: Appwrite) -> None:
        """Appwrite failing the counts: 503 with Retry-After, so Prometheus marks the target down."""
        appwrite.control.add_fault(r"/rows$", method="GET", count=100, status=503)
        reply = scrape(host)
        assert (reply.status_code, reply.headers["retry-after"]) == (503, "5")
        quiet(appwrite)


class TestDeliveryOutcomes:
    def test_after_a_scheduled_run_the_failed_sms_and_the_delivered_push_are_counted_by_channel_and_topic(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """A critical alert whose SMS fails (no SMS provider) and whose push reaches 2 devices, and pushes to a topic
        without subscribers: nothing counted before the scheduled run follows them, then failed and delivered by
        channel and topic; the fallback gauge stays 0 without ALERT_FALLBACK."""
        appwrite.control.enable_provider("push")
        appwrite.control.add_subscribers("critical-alerts", "push", 2)
        ok(host, p.alert("DiskFull", instance="db-1"), p.alert("SlowDisk", severity="warning"))
        assert outcomes(samples(scrape(host).text)) == {}
        deadline = time.monotonic() + 60
        while True:
            got = samples(scrape(host).text)
            if outcomes(got) == {"delivered,push,critical-alerts": 1, "failed,push,monitoring-alerts": 2,
                                 "failed,sms,critical-alerts": 1}:
                break
            assert time.monotonic() < deadline, outcomes(got)
            assert requests.post(host.url + "/_host/schedule", timeout=60).status_code == 200
        assert {label: n for (name, label), n in got.items() if name == "alert_processor_fallback_messages_6h"} == {
            outcome: 0 for outcome in OUTCOMES}


    def test_a_fallback_email_for_a_failed_sms_page_is_counted_as_delivered(
        self, emulator: Emulator, appwrite: Appwrite
    ) -> None:
        """ALERT_FALLBACK to email on monitoring-alerts (one subscriber): after two scheduled runs the failed SMS page
        counts failed, its fallback email delivered, and the pushes delivered, in the gauges a scrape renders."""
        appwrite.control.enable_provider("push")
        appwrite.control.enable_provider("email")
        appwrite.control.add_subscribers("critical-alerts", "push", 2)
        appwrite.control.add_subscribers("monitoring-alerts", "push", 1)
        appwrite.control.add_subscribers("monitoring-alerts", "email", 1)
        oncall = oncall_with(emulator, ALERT_FALLBACK=json.dumps([{"topic": "monitoring-alerts", "channel": "email"}]))
        oncall.deliver(p.alert("DiskFull", instance="db-1", starts_at=T0), at=T0)
        settled(appwrite, 3)
        settings = oncall.settings
        for minutes in (1, 2):
            at = T0 + timedelta(minutes=minutes)
            run_scheduled(oncall.store(), routes=settings.routes, policy=settings.policy, signer=oncall.signer(at),
                          now=at, fallback=settings.alert_fallback)
            settled(appwrite, 4)
        plan = plan_metrics(settings.metrics_severities, settings.routes, T0 + timedelta(minutes=3))
        got = samples(render(plan, *oncall.store().measure(plan.counts)))
        assert outcomes(got) == {"delivered,push,critical-alerts": 1, "delivered,push,monitoring-alerts": 1,
                                 "failed,sms,critical-alerts": 1}
        assert {label: n for (name, label), n in got.items() if name == "alert_processor_fallback_messages_6h"} == {
            "pending": 0, "delivered": 1, "failed": 0, "undelivered": 0}


def settled(appwrite: Appwrite, count: int) -> None:
    """Wait until `count` messages exist and none is processing (Appwrite settles them asynchronously)."""
    deadline = time.monotonic() + 60
    while True:
        messages = appwrite.messages()
        if len(messages) >= count and all(m.status not in ("processing", "scheduled") for m in messages):
            return
        assert time.monotonic() < deadline, [(m.providertype, m.status) for m in messages]
        time.sleep(0.05)


def quiet(appwrite: Appwrite) -> None:
    """Wait until no Appwrite call arrived for a second: counts still running when a scrape gave up go on
    retrying in the background, and must not be counted by the next test."""
    deadline = time.monotonic() + 10
    last = appwrite.control.calls()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = appwrite.control.calls()
        if now == last:
            return
        last = now
    raise AssertionError("Appwrite calls went on for 10 s after the scrape was answered")


class TestCalls:
    def test_a_scrape_makes_thirty_seven_counting_calls_whatever_is_stored(
        self, host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """Default settings: 4 severities + all firing + resolved + 5 kinds + 4 message counts + pending claims +
        4 outcomes x (3 routed channel/topic pairs + all) + 4 fallback outcomes + newest = 37 row listings, on an
        empty project and after a story alike."""
        assert scrape(host).status_code == 200
        assert appwrite.control.calls() == {LIST_ROWS: 37}
        a_story(host)
        appwrite.control.reset_calls()
        assert scrape(host).status_code == 200
        assert appwrite.control.calls() == {LIST_ROWS: 37}

    def test_custom_severities_and_the_tables_each_call_reads(self, emulator: Emulator, appwrite: Appwrite) -> None:
        """METRICS_SEVERITIES=page,critical: those two and "other", in 15 calls: 4 on alerts, 11 on the history,
        each a count with a limit of 1 except the one read of the newest event."""
        with CountingRelay(emulator.endpoint) as relay, FunctionHost(
            REPO_ROOT, api_key=emulator.api_key, echo=False,
            env=function_env(emulator, APPWRITE_FUNCTION_API_ENDPOINT=relay.endpoint, METRICS_TOKEN=METRICS_TOKEN,
                             METRICS_SEVERITIES="page,Critical"),
        ) as served:
            ok(served, p.alert("D", severity="page"), p.alert("A"), p.alert("C", severity="warning"))
            relay.traffic.reset()
            got = samples(scrape(served).text)
            lines = [line for line, _, _ in relay.traffic.spans]
        assert {label: n for (name, label), n in got.items() if name == "alert_processor_alerts_firing"} == {
            "page": 1, "critical": 1, "other": 1}
        tables = Counter(urlsplit(line.split(" ")[1]).path.split("/")[-2] for line in lines)
        assert tables == {"alerts": 4, "alert_events": 31}
        assert all(line.startswith("GET ") for line in lines)
        limits = Counter(re.findall(r'"method":"limit","values":\[(\d+)\]', unquote(" ".join(lines))))
        assert limits == {"1": 35}
