"""Messaging topics and messages (push, SMS, email) with a simulated delivery worker.

A message created with recipients is `processing` (or `scheduled`); once the processing time has
passed (or its schedule is due) it settles the way Appwrite's messaging worker decides: `failed`
with "No enabled provider found." unless a provider of its type is enabled, `failed` with "No valid
recipients found." when its topics have no subscribers of that type, otherwise `sent` with
`deliveredTotal` = the number of subscribers. Providers and subscribers come from control hooks.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from . import datetimes, ids
from .auth import Caller
from .errors import ApiError
from .hooks import Hooks
from .listing import list_items
from .params import (
    CUSTOM_ID,
    UID,
    ArrayList,
    Boolean,
    Integer,
    JSONObject,
    Nullable,
    Params,
    Predicate,
    Roles,
    Text,
    WhiteList,
    check_path,
)
from .queries import Attribute
from .store import Connection, Store

_TOTAL_COLUMN = {"email": "email_total", "sms": "sms_total", "push": "push_total"}
_UIDS = ArrayList(UID)
_FUTURE = Predicate(
    lambda value: (parsed := datetimes.parse(value)) is not None and parsed > datetime.now(UTC),
    "Value must be valid date in the future and between -4713-01-01 00:00:00 and 9999-12-31 23:59:59.",
)


def topic_response(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "$id": row["id"],
        "$createdAt": row["created"],
        "$updatedAt": row["updated"],
        "name": row["name"],
        "emailTotal": row["email_total"],
        "smsTotal": row["sms_total"],
        "pushTotal": row["push_total"],
        "subscribe": json.loads(row["subscribe"]),
    }


def message_response(row: sqlite3.Row) -> dict[str, Any]:
    document = json.loads(row["doc"])
    return {
        "$id": row["id"],
        "$createdAt": row["created"],
        "$updatedAt": row["updated"],
        "providerType": row["provider_type"],
        "topics": document["topics"],
        "users": document["users"],
        "targets": document["targets"],
        "scheduledAt": document["scheduledAt"],
        "deliveredAt": document["deliveredAt"],
        "deliveryErrors": document["deliveryErrors"],
        "deliveredTotal": document["deliveredTotal"],
        "data": document["data"],
        "status": row["status"],
    }


class Messaging:
    def __init__(self, store: Store, hooks: Hooks) -> None:
        self.store = store
        self.hooks = hooks

    # -- topics ---------------------------------------------------------------------------------

    def create_topic(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(["topics.write"])
        topic_id = ids.resolve_custom_id(params.required("topicId", CUSTOM_ID))
        name = params.required("name", Text(128))
        subscribe = params.optional("subscribe", Roles(), ["users"])
        now = datetimes.now()
        with self.store.transaction() as connection:
            if connection.execute("SELECT 1 FROM topics WHERE id = ?", (topic_id,)).fetchone():
                raise ApiError("topic_already_exists")
            seq = self.store.next_value(connection, "topics")
            connection.execute(
                "INSERT INTO topics (id, seq, name, subscribe, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (topic_id, seq, name, json.dumps(subscribe), now, now),
            )
            return topic_response(self._topic(connection, topic_id))

    @staticmethod
    def _topic(connection: Connection, topic_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = connection.execute("SELECT * FROM topics WHERE id = ?", (topic_id,)).fetchone()
        if row is None:
            raise ApiError("topic_not_found")
        return row

    def get_topic(self, caller: Caller, topic_id: str) -> dict[str, Any]:
        caller.require(["topics.read"])
        check_path(topicId=topic_id)
        with self.store.transaction() as connection:
            return topic_response(self._topic(connection, topic_id))

    def delete_topic(self, caller: Caller, topic_id: str) -> dict[str, Any]:
        caller.require(["topics.write"])
        check_path(topicId=topic_id)
        with self.store.transaction() as connection:
            self._topic(connection, topic_id)
            connection.execute("DELETE FROM topics WHERE id = ?", (topic_id,))
        return {}

    def list_topics(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(["topics.read"])
        with self.store.transaction() as connection:
            rows = list(connection.execute("SELECT * FROM topics ORDER BY seq"))
        items = [{**topic_response(row), "$sequence": row["seq"]} for row in rows]
        attributes = [Attribute("name", "string"), Attribute("description", "string"),
                      Attribute("emailTotal", "integer"), Attribute("smsTotal", "integer"),
                      Attribute("pushTotal", "integer")]
        page, total = list_items(params, items, attributes, "Topic", search_fields=("$id", "name"))
        for item in page:
            item.pop("$sequence", None)
        return {"total": total, "topics": page}

    def add_subscribers(self, topic_id: str, provider_type: str, count: int) -> dict[str, Any]:
        column = _TOTAL_COLUMN[provider_type]
        with self.store.transaction() as connection:
            self._topic(connection, topic_id)
            connection.execute(f"UPDATE topics SET {column} = {column} + ? WHERE id = ?", (count, topic_id))
            return topic_response(self._topic(connection, topic_id))

    # -- messages -------------------------------------------------------------------------------

    def create_message(self, caller: Caller, provider_type: str, params: Params) -> dict[str, Any]:
        caller.require(["messages.write"])
        message_id = params.required("messageId", CUSTOM_ID)
        data = self._content(provider_type, params)
        topics = params.optional("topics", _UIDS, [])
        users = params.optional("users", _UIDS, [])
        targets = params.optional("targets", _UIDS, [])
        copies: list[str] = []
        if provider_type == "email":
            cc = params.optional("cc", _UIDS, [])
            bcc = params.optional("bcc", _UIDS, [])
            attachments = params.optional("attachments", ArrayList(Text(0, 0)), [])
            data.update(cc=cc, bcc=bcc, attachments=attachments)
            copies = [*cc, *bcc]
        elif provider_type == "push":
            data.update(self._push_extras(params))
        draft = params.flag("draft", False)
        scheduled_at = params.optional("scheduledAt", Nullable(_FUTURE))
        message_id = ids.resolve_custom_id(message_id)
        status = "draft" if draft else ("scheduled" if scheduled_at is not None else "processing")
        if status != "draft" and not (topics or users or targets):
            raise ApiError("message_missing_target")
        if targets or copies:
            # No targets exist in this emulator, so none can be of the right provider type.
            raise ApiError(f"message_target_not_{provider_type}")
        if data.get("attachments") or data.get("image"):
            # Nor do storage buckets, so no attachment or push image can be resolved.
            raise ApiError("storage_bucket_not_found")
        scheduled = datetimes.normalize(scheduled_at) if scheduled_at is not None else None
        document = {
            "topics": topics, "users": users, "targets": targets, "scheduledAt": scheduled,
            "deliveredAt": None, "deliveryErrors": [], "deliveredTotal": 0, "data": data,
        }
        now = time.time()
        due = now + self.hooks.processing_seconds
        if scheduled is not None:
            due = max(due, datetime.fromisoformat(scheduled).timestamp())
        created = datetimes.from_timestamp(now)
        with self.store.transaction() as connection:
            if connection.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone():
                raise ApiError("message_already_exists")
            seq = self.store.next_value(connection, "messages")
            connection.execute(
                "INSERT INTO messages (id, seq, provider_type, status, doc, due_at, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, seq, provider_type, status, json.dumps(document), due, created, created),
            )
            return message_response(self._message(connection, message_id))

    @staticmethod
    def _content(provider_type: str, params: Params) -> dict[str, Any]:
        if provider_type == "email":
            subject = params.required("subject", Text(998))
            content = params.required("content", Text(64230))
            return {"subject": subject, "content": content, "html": params.flag("html", False)}
        if provider_type == "sms":
            return {"content": params.required("content", Text(64230))}
        data: dict[str, Any] = {}
        for name, limit in (("title", 256), ("body", 64230)):
            value = params.optional(name, Text(limit), "")
            if value:
                data[name] = value
        return data

    @staticmethod
    def _push_extras(params: Params) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        payload = params.optional("data", Nullable(JSONObject()))
        if payload:
            extras["data"] = payload
        for name in ("action", "image", "icon", "sound", "color", "tag"):
            value = params.optional(name, Text(256), "")
            if value:
                extras[name] = value
        badge = params.optional("badge", Integer(), -1)
        if badge >= 0:
            extras["badge"] = badge
        if params.optional("contentAvailable", Boolean(), False):
            extras["contentAvailable"] = True
        if params.optional("critical", Boolean(), False):
            extras["critical"] = True
        extras["priority"] = params.optional("priority", WhiteList(["normal", "high"]), "high")
        return extras

    def _message(self, connection: Connection, message_id: str) -> sqlite3.Row:
        self.settle(connection)
        row: sqlite3.Row | None = connection.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise ApiError("message_not_found")
        return row

    def get_message(self, caller: Caller, message_id: str) -> dict[str, Any]:
        caller.require(["messages.read"])
        check_path(messageId=message_id)
        with self.store.transaction() as connection:
            return message_response(self._message(connection, message_id))

    def list_messages(self, caller: Caller, params: Params) -> dict[str, Any]:
        caller.require(["messages.read"])
        with self.store.transaction() as connection:
            self.settle(connection)
            rows = list(connection.execute("SELECT * FROM messages ORDER BY seq"))
        items = [{**message_response(row), "$sequence": row["seq"]} for row in rows]
        attributes = [Attribute("scheduledAt", "datetime"), Attribute("deliveredAt", "datetime"),
                      Attribute("deliveredTotal", "integer"), Attribute("status", "string"),
                      Attribute("description", "string"), Attribute("providerType", "string")]
        page, total = list_items(params, items, attributes, "Message", search_fields=("$id",))
        for item in page:
            item.pop("$sequence", None)
        return {"total": total, "messages": page}

    def settle(self, connection: Connection) -> None:
        """Run the simulated messaging worker for every message that is due."""
        now = time.time()
        due = connection.execute(
            "SELECT id, provider_type, doc, due_at FROM messages "
            "WHERE status IN ('processing', 'scheduled') AND due_at <= ?",
            (now,),
        ).fetchall()
        for message_id, provider_type, doc, due_at in due:
            document = json.loads(doc)
            status, errors, delivered = self._deliver(connection, provider_type, document["topics"])
            finished = datetimes.from_timestamp(due_at)
            document.update(deliveryErrors=errors, deliveredTotal=delivered)
            if status == "sent":
                document["deliveredAt"] = finished
            connection.execute(
                "UPDATE messages SET status = ?, doc = ?, updated = ? WHERE id = ?",
                (status, json.dumps(document), finished, message_id),
            )

    def _deliver(
        self, connection: Connection, provider_type: str, topics: list[str]
    ) -> tuple[str, list[str], int]:
        if not self.hooks.provider_enabled(provider_type):
            return "failed", ["No enabled provider found."], 0
        column = _TOTAL_COLUMN[provider_type]
        recipients = 0
        for topic_id in topics:
            row = connection.execute(f"SELECT {column} FROM topics WHERE id = ?", (topic_id,)).fetchone()
            recipients += int(row[0]) if row is not None else 0
        if recipients == 0:
            return "failed", ["No valid recipients found."], 0
        return "sent", [], recipients
