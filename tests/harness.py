"""Helpers for tests that drive the function over HTTP and inspect Appwrite through the official SDK."""

from __future__ import annotations

import json
from typing import Any

import requests
from appwrite.client import Client
from appwrite.query import Query
from appwrite.services.messaging import Messaging
from appwrite.services.tables_db import TablesDB

from devkit.emulator import Emulator

PROJECT_ID = "alert-processor-test"
TOKEN = "test-webhook-token-0123456789abcdef"


class Appwrite:
    """What a person would look at in the console: the alert rows and the messages sent."""

    def __init__(self, emulator: Emulator) -> None:
        client = Client().set_endpoint(emulator.endpoint).set_project(PROJECT_ID).set_key(emulator.api_key)
        self.tables = TablesDB(client)
        self.messaging = Messaging(client)
        self.control = emulator.control

    def rows(self, table: str = "alerts") -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        cursor: list[str] = []
        while True:
            page = self.tables.list_rows("monitoring", table, queries=[Query.limit(100), *cursor])
            for row in page.rows:
                found[row.id] = {"$updatedAt": row.updatedat, **row.data}
            if len(page.rows) < 100:
                return found
            cursor = [Query.cursor_after(page.rows[-1].id)]

    def messages(self) -> list[Any]:
        found: list[Any] = []
        cursor: list[str] = []
        while True:
            page = self.messaging.list_messages(queries=[Query.limit(100), *cursor])
            found.extend(page.messages)
            if len(page.messages) < 100:
                return found
            cursor = [Query.cursor_after(page.messages[-1].id)]

    def sent(self) -> list[tuple[str, str, str]]:
        """(topic, channel, title or content) of every message, sorted."""
        result = []
        for message in self.messages():
            text = message.data.get("title") or message.data.get("subject") or message.data.get("content", "")
            result.append((message.topics[0], message.providertype, text))
        return sorted(result)


def deliver(url: str, body: Any, *, token: str | None = TOKEN, headers: dict[str, str] | None = None,
            method: str = "POST") -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", **(headers or {})}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    return requests.request(method, url + "/", data=raw, headers=sent, timeout=30)


def scheduled_run(url: str) -> dict[str, Any]:
    """One scheduled execution now, as Appwrite's cron starts it (the dev host's `/_host/schedule`): among other
    things it completes the claims whose messages went out."""
    reply = requests.post(url + "/_host/schedule", timeout=60)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body
