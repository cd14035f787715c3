"""Messaging: topics and push/SMS/email messages, their limits, statuses and delivery outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
from appwrite.id import ID
from appwrite.query import Query
from appwrite.services.messaging import Messaging

from tests.emulator.support import Target, new_id, poll, raises, value_of

# Creating one message of each kind, to a topic (or not), through the SDK.
SENDERS: dict[str, Callable[..., Any]] = {
    "push": lambda m, message_id, **kw: m.create_push(message_id, title="Disk full", body="db-1", **kw),
    "sms": lambda m, message_id, **kw: m.create_sms(message_id, "Disk full on db-1", **kw),
    "email": lambda m, message_id, **kw: m.create_email(message_id, "Disk full", "db-1 is full", **kw),
}


@pytest.fixture
def messaging(target: Target) -> Messaging:
    return target.messaging()


@pytest.fixture
def topic(target: Target, messaging: Messaging) -> str:
    topic_id = new_id("topic")
    messaging.create_topic(topic_id, "Critical alerts", subscribe=[])
    target.created_topics.append(topic_id)
    return topic_id


def settled(messaging: Messaging, message_id: str) -> Any:
    return poll(lambda: messaging.get_message(message_id), lambda m: value_of(m.status) != "processing")


def test_create_topic_answers_201_with_the_topic_model(target: Target) -> None:
    topic_id = new_id("topic")
    response = target.raw("POST", "/messaging/topics", {"topicId": topic_id, "name": "Critical"})
    target.created_topics.append(topic_id)
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("$id", "name", "emailTotal", "smsTotal", "pushTotal", "subscribe")} == {
        "$id": topic_id, "name": "Critical", "emailTotal": 0, "smsTotal": 0, "pushTotal": 0, "subscribe": ["users"],
    }


def test_topics_are_fetched_and_listed(messaging: Messaging, topic: str) -> None:
    fetched = messaging.get_topic(topic)
    assert (fetched.id, fetched.name, fetched.subscribe) == (topic, "Critical alerts", [])
    listed = messaging.list_topics(queries=[Query.equal("$id", topic)])
    assert (listed.total, [item.id for item in listed.topics]) == (1, [topic])


def test_topic_errors(messaging: Messaging, topic: str) -> None:
    raises(lambda: messaging.create_topic(topic, "Again"), 409, "topic_already_exists")
    raises(lambda: messaging.get_topic(new_id("missing")), 404, "topic_not_found")
    raises(lambda: messaging.create_topic(new_id("topic"), ""), 400, "general_argument_invalid")


@pytest.mark.parametrize("kind", SENDERS)
def test_message_is_201_processing_then_failed_without_a_provider(
    target: Target, messaging: Messaging, topic: str, kind: str
) -> None:
    target.require_control()
    created = SENDERS[kind](messaging, ID.unique(), topics=[topic])
    assert (created.providertype, value_of(created.status), created.topics, created.deliveredtotal) == (
        kind, "processing", [topic], 0,
    )
    finished = settled(messaging, created.id)
    assert (value_of(finished.status), finished.deliveryerrors, finished.deliveredat) == (
        "failed", ["No enabled provider found."], None,
    )


@pytest.mark.parametrize("kind", SENDERS)
def test_message_is_sent_to_every_subscriber_of_an_enabled_provider(
    target: Target, messaging: Messaging, topic: str, kind: Literal["push", "sms", "email"]
) -> None:
    control = target.require_control()
    control.enable_provider(kind)
    control.add_subscribers(topic, kind, 3)
    assert getattr(messaging.get_topic(topic), f"{kind}total") == 3
    finished = settled(messaging, SENDERS[kind](messaging, ID.unique(), topics=[topic]).id)
    assert (value_of(finished.status), finished.deliveredtotal, finished.deliveryerrors) == ("sent", 3, [])
    assert finished.deliveredat is not None


def test_message_without_recipients_fails_with_an_enabled_provider(
    target: Target, messaging: Messaging, topic: str
) -> None:
    control = target.require_control()
    control.enable_provider("push")
    control.add_subscribers(topic, "email", 2)  # subscribers of another kind do not count
    finished = settled(messaging, SENDERS["push"](messaging, ID.unique(), topics=[topic]).id)
    assert (value_of(finished.status), finished.deliveryerrors) == ("failed", ["No valid recipients found."])


def test_message_create_answers_201(target: Target, topic: str) -> None:
    response = target.raw("POST", "/messaging/messages/sms",
                          {"messageId": new_id("m"), "content": "hello", "topics": [topic]})
    assert response.status_code == 201
    assert response.json()["data"] == {"content": "hello"}


def test_message_data_by_kind(messaging: Messaging, topic: str) -> None:
    push = messaging.create_push(ID.unique(), title="T", body="B", topics=[topic], data={"fingerprint": "f"})
    assert push.data == {"title": "T", "body": "B", "data": {"fingerprint": "f"}, "priority": "high"}
    email = messaging.create_email(ID.unique(), "S", "C", topics=[topic], html=True)
    assert email.data == {"subject": "S", "content": "C", "html": True, "cc": [], "bcc": [], "attachments": []}


def test_draft_and_scheduled_messages(messaging: Messaging, topic: str) -> None:
    assert value_of(messaging.create_push(ID.unique(), title="t", draft=True).status) == "draft"
    scheduled = messaging.create_push(ID.unique(), title="t", topics=[topic], scheduled_at="2999-01-01T00:00:00Z")
    assert (value_of(scheduled.status), scheduled.scheduledat) == ("scheduled", "2999-01-01T00:00:00.000+00:00")


@pytest.mark.parametrize(
    ("send", "error_type", "message"),
    [
        (lambda m, t: m.create_push(ID.unique(), title="t"), "message_missing_target",
         "Message with the requested ID has no recipients (topics or users or targets)."),
        (lambda m, t: m.create_push(ID.unique(), title="x" * 257, topics=[t]), "general_argument_invalid",
         "Invalid `title` param: Value must be a valid string and at least 1 chars and no longer than 256 chars"),
        (lambda m, t: m.create_email(ID.unique(), "x" * 999, "c", topics=[t]), "general_argument_invalid",
         "Invalid `subject` param: Value must be a valid string and at least 1 chars and no longer than 998 chars"),
        (lambda m, t: m.create_sms(ID.unique(), "x" * 64231, topics=[t]), "general_argument_invalid",
         "Invalid `content` param: Value must be a valid string and at least 1 chars and no longer than 64230 chars"),
        (lambda m, t: m.create_push(ID.unique(), title="t", topics=["unique()"]), "general_argument_invalid", None),
        (lambda m, t: m.create_push(ID.unique(), title="t", targets=["nobody"]), "message_target_not_push",
         "Message with the target ID is not a push target."),
        (lambda m, t: m.create_push(ID.unique(), title="t", topics=[t], scheduled_at="2001-01-01T00:00:00Z"),
         "general_argument_invalid", None),
    ],
    ids=["no-target", "title", "subject", "content", "topic-id", "unknown-target", "past-schedule"],
)
def test_message_parameter_errors_are_400(
    messaging: Messaging, topic: str, send: Callable[..., Any], error_type: str, message: str | None
) -> None:
    error = raises(lambda: send(messaging, topic), 400, error_type)
    if message is not None:
        assert error.message == message


def test_message_limits_are_inclusive(messaging: Messaging, topic: str) -> None:
    push = messaging.create_push(ID.unique(), title="x" * 256, body="y" * 64230, topics=[topic])
    assert (len(push.data["title"]), len(push.data["body"])) == (256, 64230)


def test_topics_are_not_checked_for_existence_at_creation(messaging: Messaging) -> None:
    assert messaging.create_push(ID.unique(), title="t", topics=[new_id("nowhere")]).topics


def test_duplicate_message_is_409_message_already_exists(messaging: Messaging, topic: str) -> None:
    message_id = ID.unique()
    messaging.create_sms(message_id, "one", topics=[topic])
    error = raises(lambda: messaging.create_sms(message_id, "two", topics=[topic]), 409, "message_already_exists")
    assert error.message.startswith("Message with the requested ID already exists.")


def test_missing_message_is_404_message_not_found(messaging: Messaging) -> None:
    raises(lambda: messaging.get_message(new_id("m")), 404, "message_not_found")


def test_messages_are_listed_and_filtered(target: Target, messaging: Messaging, topic: str) -> None:
    target.require_control()  # a shared real project holds other messages
    first = messaging.create_sms(ID.unique(), "one", topics=[topic])
    second = messaging.create_push(ID.unique(), title="two", topics=[topic])
    listed = messaging.list_messages()
    assert (listed.total, [item.id for item in listed.messages]) == (2, [first.id, second.id])
    settled(messaging, second.id)
    failed = messaging.list_messages(queries=[Query.equal("status", "failed"), Query.equal("providerType", "push")])
    assert [item.id for item in failed.messages] == [second.id]
    raises(lambda: messaging.list_messages(queries=[Query.equal("title", "two")]), 400, "general_argument_invalid")


def test_deleted_topic_is_gone(target: Target, messaging: Messaging, topic: str) -> None:
    messaging.delete_topic(topic)
    target.created_topics.remove(topic)
    raises(lambda: messaging.get_topic(topic), 404, "topic_not_found")
