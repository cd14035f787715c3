"""The topics the function sends to, as the function's own settings read them (ALERT_ROUTES, HEARTBEAT_*,
ALERT_FALLBACK): what each is named by and the channels sent to it, so the bootstrap creates and checks them."""

from __future__ import annotations

from collections.abc import Mapping

from src.core.schema import Schema, Topic
from src.errors import ConfigurationError
from src.ids import ID_RULE, is_appwrite_id
from src.settings import read_topic_channels

from .settings import ConfigError

# Every topic the function sends to: {topic: {what names it: the channels it sends there}}.
TopicNeeds = Mapping[str, Mapping[str, tuple[str, ...]]]


def read_topic_needs(env: Mapping[str, str], *, routes: str | None = None, fallback: str | None = None) -> TopicNeeds:
    """The topics the function's ALERT_ROUTES, HEARTBEAT_* and ALERT_FALLBACK name (`routes` and `fallback`, when
    given, stand for the two JSON variables); raises ConfigError listing every problem."""
    variables = dict(env)
    if routes is not None:
        variables["ALERT_ROUTES"] = routes
    if fallback is not None:
        variables["ALERT_FALLBACK"] = fallback
    try:
        needs = read_topic_channels(variables)
    except ConfigurationError as exc:
        raise ConfigError("; ".join(exc.problems)) from None
    invalid = [topic for topic in needs if not is_appwrite_id(topic)]
    if invalid:
        raise ConfigError(f"topic {invalid[0]!r} (named by {named_by(needs[invalid[0]])}) is not a valid Appwrite "
                          f"ID ({ID_RULE})")
    return needs


def add_topics(schema: Schema, needs: TopicNeeds) -> Schema:
    """The schema with every needed topic it does not declare added, named after its ID, no subscribe roles."""
    declared = {topic.id for topic in schema.topics}
    extra = tuple(Topic(id=topic, name=topic) for topic in needs if topic not in declared)
    return schema.model_copy(update={"topics": schema.topics + extra}) if extra else schema


def named_by(users: Mapping[str, tuple[str, ...]]) -> str:
    return ", ".join(users)
