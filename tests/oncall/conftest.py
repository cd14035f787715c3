"""Fixtures for the on-call features: the function served with an acknowledge key (and one with a small SMS
budget), helpers to read the history, the SMS log and the links people received, and an in-process runner
that carries out deliveries and scheduled runs at a time the test chooses, with the real `AppwriteStore`
against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests

from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from src.core.payload import parse_payload
from src.core.rows import RowShaper
from src.core.schema import load_schema
from src.delivery.appwrite_store import AppwriteStore
from src.endpoints.http import Reply, Request
from src.endpoints.router import handle
from src.jobs.deliver import DeliverySummary, process_delivery
from src.jobs.schedule import ScheduleSummary, run_oncall, run_scheduled
from src.oncall.announce import Signer
from src.settings import Settings, load_settings
from tests.conftest import REPO_ROOT, function_env
from tests.harness import PROJECT_ID, Appwrite, deliver

ACK_KEY = "test-ack-signing-key-0123456789abcdefghij"
EVENTS = "alert_events"
SMS_LOG = "sms_log"
# Where in-process links point (nothing is served there: in-process tests hand links to `handle`).
BASE = "https://alerts.example.com"


@pytest.fixture(scope="session")
def oncall_host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function with ACK_SIGNING_KEY set (links point at the host itself), on two worker processes."""
    env = function_env(emulator, ACK_SIGNING_KEY=ACK_KEY)
    with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key, workers=2, echo=False) as served:
        yield served


@pytest.fixture(scope="session")
def plain_host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function as deployed without ACK_SIGNING_KEY."""
    with FunctionHost(REPO_ROOT, env=function_env(emulator), api_key=emulator.api_key, echo=False) as served:
        yield served


@pytest.fixture(scope="session")
def budget_host(emulator: Emulator) -> Iterator[FunctionHost]:
    """The function with a budget of 3 SMS per topic and hour."""
    env = function_env(emulator, SMS_BUDGET_PER_HOUR="3")
    with FunctionHost(REPO_ROOT, env=env, api_key=emulator.api_key, workers=2, echo=False) as served:
        yield served


def ok(host: FunctionHost, *alerts: dict[str, Any]) -> dict[str, Any]:
    reply = deliver(host.url, p.payload(list(alerts)))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def schedule(host: FunctionHost) -> dict[str, Any]:
    """One scheduled execution, as Appwrite's cron starts it (the host adds `x-appwrite-trigger: schedule`)."""
    reply = requests.post(host.url + "/_host/schedule", timeout=30)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def events(appwrite: Appwrite, kind: str | None = None) -> list[dict[str, Any]]:
    """History rows (of one kind), oldest first."""
    found = [{"$id": row_id, **row} for row_id, row in appwrite.rows(EVENTS).items()]
    rows = sorted(found, key=lambda row: (row["at"], row["$updatedAt"]))
    return [row for row in rows if kind is None or row["kind"] == kind]


def sms_log(appwrite: Appwrite) -> dict[str, int]:
    """How many rows of the SMS log are in each state."""
    states: dict[str, int] = {}
    for row in appwrite.rows(SMS_LOG).values():
        states[row["state"]] = states.get(row["state"], 0) + 1
    return states


def pushes(appwrite: Appwrite, topic: str = "critical-alerts") -> list[dict[str, Any]]:
    """The `data` of every push message to `topic`, in creation order."""
    return [m.data for m in appwrite.messages() if m.providertype == "push" and m.topics == [topic]]


def texts(appwrite: Appwrite, channel: str = "sms") -> list[str]:
    return [m.data.get("content") or m.data.get("title") or "" for m in appwrite.messages()
            if m.providertype == channel]


def titles(appwrite: Appwrite, topic: str = "monitoring-alerts") -> list[str]:
    return [data.get("title", "") for data in pushes(appwrite, topic)]


def ack_link(appwrite: Appwrite, title_start: str = "[FIRING]") -> str:
    """The acknowledge link of the newest critical push whose title starts with `title_start`."""
    links = [data["action"] for data in pushes(appwrite) if data.get("title", "").startswith(title_start)]
    assert links, f"no critical push starting {title_start!r} carries a link"
    link: str = links[-1]
    return link


def backdate(appwrite: Appwrite, row_id: str, at: datetime) -> None:
    """Move one history row back in time, as if it had been recorded then."""
    appwrite.tables.update_row("monitoring", EVENTS, row_id, {"at": at.isoformat(timespec="milliseconds")})


@dataclass
class Oncall:
    """Deliveries, scheduled runs and acknowledge links carried out in this process at a chosen `now`: the
    function's own code path below `main` (settings, handler, service, the real store) against the emulator."""

    emulator: Emulator
    settings: Settings

    def _store(self, settings: Settings, key: str, deadline: float) -> AppwriteStore:
        return AppwriteStore(endpoint=settings.endpoint, project_id=settings.project_id, api_key=key,
                             database_id=settings.database_id, table_id=settings.table_id,
                             events_table_id=settings.events_table_id, sms_table_id=settings.sms_table_id,
                             deadline=time.monotonic() + 600)

    def store(self) -> AppwriteStore:
        return self._store(self.settings, self.emulator.api_key, 0)

    def signer(self, now: datetime) -> Signer:
        return Signer(ACK_KEY, BASE, now)

    def deliver(self, *alerts: dict[str, Any], at: datetime) -> DeliverySummary:
        payload = parse_payload(json.dumps(p.payload(list(alerts))).encode())
        schema = load_schema()
        return process_delivery(payload, self.store(), routes=self.settings.routes,
                                shaper=RowShaper(schema.table("alerts")), events_shaper=RowShaper(schema.table(EVENTS)),
                                now=at, policy=self.settings.policy, linker=self.signer(at))

    def schedule(self, at: datetime) -> ScheduleSummary:
        return run_oncall(self.store(), routes=self.settings.routes, policy=self.settings.policy,
                          signer=self.signer(at), shaper=RowShaper(load_schema().table(EVENTS)), now=at)

    def request(self, request: Request, at: datetime) -> Reply:
        return handle(request, self.settings, make_store=self._store, now=lambda: at, log=lambda _: None,
                      error=lambda _: None)

    def open(self, link: str, at: datetime, client_ip: str = "198.51.100.7") -> Reply:
        """GET a link as the function would receive it through its domain."""
        path, _, query = link.removeprefix(BASE).partition("?")
        headers = {"host": "alerts.example.com", "x-appwrite-key": self.emulator.api_key,
                   "x-appwrite-client-ip": client_ip}
        return self.request(Request("GET", path, headers, b"", query=query, scheme="https"), at)


@pytest.fixture
def oncall(emulator: Emulator, appwrite: Appwrite) -> Oncall:
    """The in-process runner with the default policy and ACK_SIGNING_KEY, on a fresh project."""
    env = function_env(emulator, ACK_SIGNING_KEY=ACK_KEY, APPWRITE_PROJECT_ID=PROJECT_ID)
    return Oncall(emulator, load_settings(env))


def oncall_with(emulator: Emulator, **variables: str) -> Oncall:
    return Oncall(emulator, load_settings(function_env(emulator, ACK_SIGNING_KEY=ACK_KEY, **variables)))


def settled(appwrite: Appwrite, count: int) -> list[Any]:
    """The messages, once `count` exist and none is processing (Appwrite settles them asynchronously)."""
    deadline = time.monotonic() + 60
    while True:
        messages = appwrite.messages()
        if len(messages) >= count and all(m.status not in ("processing", "scheduled") for m in messages):
            return messages
        assert time.monotonic() < deadline, [(m.providertype, m.status) for m in messages]
        time.sleep(0.05)


def scheduled(oncall: Oncall, at: datetime) -> ScheduleSummary:
    """The whole scheduled run at `at` (claims, on-call rules, repair, heartbeat, following deliveries)."""
    settings = oncall.settings
    return run_scheduled(oncall.store(), routes=settings.routes, policy=settings.policy,
                         signer=oncall.signer(at), now=at, heartbeat=settings.heartbeat,
                         fallback=settings.alert_fallback)
