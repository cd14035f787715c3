"""The pure judgement of delivery status and the ALERT_FALLBACK setting."""

from __future__ import annotations

import pytest

from src.core.message_status import MessageStatus
from src.errors import ConfigurationError
from src.oncall.delivery_status import outcome_of
from src.settings import read_topic_uses


def test_a_message_sent_to_nobody_is_not_delivered() -> None:
    """`sent` with deliveredTotal 0 is undelivered: no subscriber received it."""
    assert outcome_of(MessageStatus("sent", 0, ())) == ("undelivered", "no subscriber received it")


def test_a_delivered_message_says_how_many_received_it() -> None:
    """`sent` to 4 devices is delivered to 4; failed carries Appwrite's error; processing is pending."""
    assert outcome_of(MessageStatus("sent", 4, ())) == ("delivered", "delivered to 4")
    assert outcome_of(MessageStatus("failed", 0, ("No enabled provider found.",))) == (
        "failed", "No enabled provider found.")
    assert outcome_of(MessageStatus("processing", 0, ()))[0] == "pending"


def test_fallback_topics_are_listed_as_named_by_the_fallback() -> None:
    """Every ALERT_FALLBACK topic is among the topics the function sends to, named "fallback"."""
    uses = read_topic_uses({"ALERT_FALLBACK": '[{"topic": "oncall-email", "channel": "email"}]'})
    assert uses["oncall-email"] == ("fallback",)


def test_an_invalid_fallback_channel_is_a_clear_configuration_error() -> None:
    """A channel other than push, sms, email is refused, naming the entry."""
    with pytest.raises(ConfigurationError, match=r"ALERT_FALLBACK\[0\]\.channel"):
        read_topic_uses({"ALERT_FALLBACK": '[{"topic": "x", "channel": "fax"}]'})
