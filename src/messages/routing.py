"""Routing as data: which topics and channels hear about an alert.

A route matches on the alert's own labels (its lower-cased `severity`, and exact label values); every
matching route contributes its (topic, channel) targets. Resolved alerts match exactly as their firing
did, because routing reads labels only and the labels of one fingerprint never change.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from ..ids import AppwriteId

Channel = Literal["push", "sms", "email"]
CHANNELS: tuple[Channel, ...] = ("push", "sms", "email")



class Match(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Lower-cased severity values; `none` matches alerts without a severity label. Empty: any.
    severity: tuple[str, ...] = ()
    # Every label given must be present with exactly this value.
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("severity", mode="after")
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(value.strip().lower() for value in values)

    def matches(self, severity: str, labels: Mapping[str, str]) -> bool:
        if self.severity and severity not in self.severity:
            return False
        return all(labels.get(name) == value for name, value in self.labels.items())


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    match: Match = Field(default_factory=Match)
    topic: AppwriteId
    channels: tuple[Channel, ...] = Field(min_length=1)


class Target(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    channel: Channel


@cache
def _routes_adapter() -> TypeAdapter[tuple[Route, ...]]:
    # Built when ALERT_ROUTES is first read, not with the module: the default routes need no validator.
    return TypeAdapter(Annotated[tuple[Route, ...], Field(min_length=1, max_length=50)])


def default_routes(critical_topic: str, monitoring_topic: str) -> tuple[Route, ...]:
    return (
        Route(
            name="critical",
            match=Match(severity=("critical", "emergency")),
            topic=critical_topic,
            channels=("push", "sms"),
        ),
        Route(name="monitoring", topic=monitoring_topic, channels=("push",)),
    )


def parse_routes(text: str) -> tuple[Route, ...]:
    return _routes_adapter().validate_json(text)


def route(severity: str, labels: Mapping[str, str], routes: Iterable[Route]) -> tuple[Target, ...]:
    """The distinct targets of every route that matches, in route order."""
    targets: dict[Target, None] = {}
    for candidate in routes:
        if candidate.match.matches(severity, labels):
            for channel in candidate.channels:
                targets.setdefault(Target(topic=candidate.topic, channel=channel), None)
    return tuple(targets)


class Router:
    """`route()` with its answers remembered: in one delivery most alerts share a severity and the few
    labels the routes look at, so each distinct combination is worked out once."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)
        self._names = tuple(sorted({name for r in self._routes for name in r.match.labels}))
        self._known: dict[tuple[str, tuple[str | None, ...]], tuple[Target, ...]] = {}

    def targets(self, severity: str, labels: Mapping[str, str]) -> tuple[Target, ...]:
        key = (severity, tuple(labels.get(name) for name in self._names))
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = route(severity, labels, self._routes)
        return found
