"""Acknowledge links through the runtime host and the emulator: what the messages carry, and what a valid,
forged, altered, expired, repeated, stale or superseded link does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from devkit import payloads as p
from devkit.runtime import FunctionHost
from src.oncall.history import first_firing_episode
from src.oncall.links import LINK_TTL, make_link
from tests.harness import Appwrite, deliver
from tests.oncall.conftest import ACK_KEY, ack_link, events, ok, pushes, texts

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def get(link: str) -> requests.Response:
    return requests.get(link, timeout=30)


def with_param(link: str, name: str, value: str) -> str:
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query))
    query[name] = value
    return parts._replace(query=urlencode(query)).geturl()


class TestLinksInMessages:
    def test_critical_push_and_sms_carry_the_link(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """A critical page: the push opens the link (its action) and shows it; the SMS ends with it, within 160
        characters; the monitoring push about the same critical alert carries it too."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        link = ack_link(appwrite)
        assert link.startswith(f"{oncall_host.url}/ack?fp={alert['fingerprint']}&s=")
        [critical] = pushes(appwrite)
        assert critical["body"].endswith(f"Acknowledge: {link}")
        [sms] = texts(appwrite, "sms")
        assert sms.endswith(f" Ack: {link}") and len(sms) <= 160
        [monitoring] = pushes(appwrite, "monitoring-alerts")
        assert monitoring["action"] == link

    def test_warnings_and_resolves_carry_no_link(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """Only critical alerts that fire get a link: not a warning, not a resolve."""
        warning = p.alert("DiskFull", severity="warning", starts_at=T0)
        critical = p.alert(starts_at=T0)
        ok(oncall_host, warning, critical)
        ok(oncall_host, p.resolved(critical))
        linked = {(data["title"].split()[0], data["title"].split()[1], "action" in data)
                  for data in pushes(appwrite, "monitoring-alerts")}
        assert linked == {("[FIRING]", "DiskFull", False), ("[FIRING]", "HighCPU", True),
                          ("[RESOLVED]", "HighCPU", False)}
        assert "Acknowledge" not in pushes(appwrite)[-1]["body"]

    def test_without_a_key_there_are_no_links_and_no_endpoint(
        self, plain_host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """ACK_SIGNING_KEY unset: messages are as before (no action, no link line) and /ack answers 404."""
        ok(plain_host, p.alert(starts_at=T0))
        assert all("action" not in data and "Acknowledge" not in data["body"] for data in pushes(appwrite))
        assert all(" Ack: " not in sms for sms in texts(appwrite, "sms"))
        assert get(f"{plain_host.url}/ack?fp=a&s=1&exp=2&sig=x").status_code == 404


class TestOpeningALink:
    def test_a_valid_link_acknowledges_once(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """The first click records who and when (client IP) and says what was acknowledged; the second changes
        nothing and says it was already done. No Bearer token is needed."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        first = get(ack_link(appwrite))
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
        assert "Acknowledged" in first.text and "HighCPU on 10.0.0.80:9100 (critical)" in first.text
        assert first.headers["cache-control"] == "no-store" and first.headers["referrer-policy"] == "no-referrer"
        [ack] = events(appwrite, "acknowledged")
        [fired] = events(appwrite, "fired")
        assert (ack["fingerprint"], ack["episode"], ack["clientIp"], ack["status"]) == (
            alert["fingerprint"], fired["$id"], "127.0.0.1", "firing")
        second = get(ack_link(appwrite))
        assert second.status_code == 200 and "Already acknowledged" in second.text
        assert len(events(appwrite, "acknowledged")) == 1

    @pytest.mark.parametrize("change", ["forged", "other-fingerprint", "other-startsAt", "later-expiry", "expired"])
    def test_forged_altered_and_expired_links_are_refused(
        self, oncall_host: FunctionHost, appwrite: Appwrite, change: str
    ) -> None:
        """403 and nothing recorded, for a made-up signature, any changed value, or a genuine but expired link."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        link = ack_link(appwrite)
        values = dict(parse_qsl(urlsplit(link).query))
        if change == "forged":
            link = with_param(link, "sig", "A" * 27)
        elif change == "other-fingerprint":
            link = with_param(link, "fp", p.alert("Other")["fingerprint"])
        elif change == "other-startsAt":
            link = with_param(link, "s", str(int(values["s"]) + 1))
        elif change == "later-expiry":
            link = with_param(link, "exp", str(int(values["exp"]) + 86_400))
        else:
            issued = datetime.now(UTC) - LINK_TTL - timedelta(minutes=1)
            episode = first_firing_episode(alert["fingerprint"], T0)
            link = make_link(oncall_host.url, ACK_KEY, alert["fingerprint"], T0, issued, episode)
        reply = get(link)
        assert reply.status_code == 403
        assert ("expired" if change == "expired" else "not valid") in reply.text
        assert events(appwrite, "acknowledged") == []

    def test_the_webhook_still_needs_its_token(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """/ack needs no Bearer token; a POST still does."""
        assert deliver(oncall_host.url, p.payload([p.alert()]), token=None).status_code == 401


class TestStaleLinks:
    def test_acknowledging_a_resolved_occurrence_changes_nothing(
        self, oncall_host: FunctionHost, appwrite: Appwrite
    ) -> None:
        """After the resolve, the page's link says the alert resolved, and records nothing."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        link = ack_link(appwrite)
        ok(oncall_host, p.resolved(alert, T0 + timedelta(minutes=7)))
        reply = get(link)
        assert reply.status_code == 200 and "Already resolved" in reply.text and "03:07:00" in reply.text
        assert "Nothing was changed." in reply.text
        assert events(appwrite, "acknowledged") == []

    def test_a_link_from_before_a_refire_changes_nothing(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """Fired, resolved, fired again with the same startsAt: the first page's link says it fired again since
        and records nothing; the new page's link acknowledges the new firing."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        old = ack_link(appwrite)
        ok(oncall_host, p.resolved(alert, T0 + timedelta(minutes=7)))
        ok(oncall_host, alert)
        new = ack_link(appwrite)
        assert new != old
        reply = get(old)
        assert reply.status_code == 200 and "Fired again since" in reply.text
        assert events(appwrite, "acknowledged") == []
        assert "Acknowledged" in get(new).text
        [refired] = events(appwrite, "refired")
        assert [a["episode"] for a in events(appwrite, "acknowledged")] == [refired["$id"]]

    def test_a_newer_occurrence_supersedes_the_link(self, oncall_host: FunctionHost, appwrite: Appwrite) -> None:
        """The alert fired again with a newer startsAt: the old link names an occurrence that is over."""
        alert = p.alert(starts_at=T0)
        ok(oncall_host, alert)
        old = ack_link(appwrite)
        ok(oncall_host, p.alert(starts_at=T0 + timedelta(hours=1)))
        reply = get(old)
        assert reply.status_code == 200 and "A newer occurrence" in reply.text
        assert events(appwrite, "acknowledged") == []
