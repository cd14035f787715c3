"""The topics the bootstrap needs, read as the function reads them, and how the planner judges them (no server)."""

from __future__ import annotations

import json

import pytest

from ops.provision import ActualTopic, ConfigError, Observed, State, add_topics, plan, read_topic_needs
from src.core.schema import load_schema

SCHEMA = load_schema()
ROUTES = json.dumps([{"name": "pager", "topic": "pager", "channels": ["push", "sms"]}])


def test_default_variables_need_the_schemas_two_topics_with_their_routes_channels() -> None:
    """Without ALERT_ROUTES the needed topics are the two default routes' topics and channels."""
    assert read_topic_needs({}) == {
        "critical-alerts": {"route critical": ("push", "sms")},
        "monitoring-alerts": {"route monitoring": ("push",)},
    }


def test_flags_stand_for_the_routes_and_fallback_variables() -> None:
    """--routes and --fallback win over ALERT_ROUTES and ALERT_FALLBACK; the heartbeat adds its own topic."""
    env = {"ALERT_ROUTES": "not json", "HEARTBEAT_ALERT": "Watchdog", "HEARTBEAT_TOPIC_ID": "pager"}
    needs = read_topic_needs(env, routes=ROUTES, fallback='[{"topic": "mail", "channel": "email"}]')
    assert needs == {"pager": {"route pager": ("push", "sms"), "heartbeat": ("push", "email")},
                     "mail": {"fallback": ("email",)}}


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"ALERT_ROUTES": '[{"name": "x", "topic": "t"}]'}, "ALERT_ROUTES is not a valid list of routes: 0.channels"),
        ({"ALERT_FALLBACK": '[{"topic": "bad topic", "channel": "sms"}]'},
         "topic 'bad topic' (named by fallback) is not a valid Appwrite ID"),
    ],
    ids=["routes", "fallback-topic"],
)
def test_invalid_topic_variables_are_a_config_error(env: dict[str, str], words: str) -> None:
    """A variable naming topics that the function would refuse stops the bootstrap with the reason."""
    with pytest.raises(ConfigError) as caught:
        read_topic_needs(env)
    assert words in str(caught.value)


def test_missing_needed_topic_is_planned_with_what_names_it() -> None:
    """A route's topic the project lacks is a missing step that names the route."""
    needs = read_topic_needs({}, routes=ROUTES)
    schema = add_topics(SCHEMA, needs)
    [step] = [s for s in plan(schema, Observed(database=True), needs).topics if s.key == "pager"]
    assert (step.state, step.detail.split(";")[0]) == (State.MISSING, "named by route pager")


def test_a_channel_without_subscribers_is_a_warning_not_a_failure() -> None:
    """An existing topic with push subscribers only warns about sms, and its step stays `exists`."""
    needs = read_topic_needs({}, routes=ROUTES)
    schema = add_topics(SCHEMA, needs)
    observed = Observed(database=True, topics={"pager": ActualTopic((), {"push": 2, "sms": 0, "email": 0})})
    the_plan = plan(schema, observed, needs)
    assert [s.state for s in the_plan.topics if s.key == "pager"] == [State.EXISTS]
    assert [w.split(":")[0] for w in the_plan.warnings] == ["topic 'pager' has no sms subscribers"]
