"""Models of Alertmanager's webhook payload, version "4", and its validation from raw JSON bytes.

snake_case in code, camelCase on the wire. Unknown fields are ignored because Alertmanager adds fields
over time (`notification_reason`, `routeLabels`); a different `version` fails loudly instead. `receiver` is
the name as configured: Alertmanager sends it through Go's `regexp.QuoteMeta`, which `parse_payload` undoes.
Depends on pydantic only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from ..ids import ID_PATTERN

# Alertmanager sends Go's zero time as the `endsAt` of every firing alert: it means "no end yet".
_GO_ZERO_TIME_YEAR = 1

AlertStatus = Literal["firing", "resolved"]

# Go's regexp.QuoteMeta puts a backslash before each of these (the backslash itself included).
_QUOTED_META = re.compile(r"\\([\\.+*?()|\[\]{}^$])")


def configured_receiver(quoted: str) -> str:
    """The receiver's name as written in Alertmanager's configuration (`alert\\.processor` -> `alert.processor`)."""
    return _QUOTED_META.sub(r"\1", quoted)


# Shared by both models rather than inherited from a common base, which pydantic would build too.
_WIRE = ConfigDict(
    frozen=True,
    extra="ignore",
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
)


def _in_utc(value: datetime) -> datetime:
    # Rows store UTC; a time whose UTC form falls outside years 1-9999 cannot be stored at all.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside years 1-9999 once converted to UTC") from None


class Alert(BaseModel):
    model_config = _WIRE

    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    # to_camel would give generatorUrl; Alertmanager spells it generatorURL.
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: Annotated[str, Field(pattern=ID_PATTERN)]

    @field_validator("ends_at", mode="after")
    @classmethod
    def _zero_time_means_no_end(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.year == _GO_ZERO_TIME_YEAR:
            return None
        return value if value is None else _in_utc(value)

    @field_validator("starts_at", mode="after")
    @classmethod
    def _starts_in_utc(cls, value: datetime) -> datetime:
        return _in_utc(value)

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "").strip().lower() or "none"


class WebhookPayload(BaseModel):
    model_config = _WIRE

    version: Literal["4"]
    receiver: str
    status: AlertStatus
    alerts: list[Alert]
    group_labels: dict[str, str] = Field(default_factory=dict)
    common_labels: dict[str, str] = Field(default_factory=dict)
    common_annotations: dict[str, str] = Field(default_factory=dict)
    external_url: str = Field(default="", alias="externalURL")
    group_key: str = ""
    truncated_alerts: int = Field(default=0, ge=0)


class PayloadError(ValueError):
    """The body is not a valid version 4 webhook; `problems` names each bad field."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the webhook payload")


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else item)
    return "".join(parts) or "(body)"


def _problem(error: Any) -> dict[str, str]:
    # Name the field and the rule, never echo the offending value back.
    return {"field": _location(tuple(error["loc"])), "problem": str(error["msg"])}


def parse_payload(body: bytes) -> WebhookPayload:
    """Validate raw JSON bytes; datetimes are parsed from the JSON strings themselves."""
    if not body.strip():
        raise PayloadError([{"field": "(body)", "problem": "the body is empty; expected a JSON object"}])
    try:
        payload = WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_url=False, include_input=False)]
        raise PayloadError(problems[:50]) from exc
    return payload.model_copy(update={"receiver": configured_receiver(payload.receiver)})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_SEPARATOR = "\0"
# The field names of the wire form are strings of the payload too (a secret could, absurdly, be one).
_FIELD_NAMES = _SEPARATOR.join(
    field.alias or name for model in (WebhookPayload, Alert) for name, field in model.model_fields.items())
# A secret made of these characters only could hide in a datetime as serialised: such a secret is looked for in
# the serialised payload.
_DATETIME_CHARS = frozenset("0123456789-+:.TZ")


def _joined_strings(payload: WebhookPayload) -> str:
    """Every decoded string of the payload (keys included) joined by NUL, which no environment variable holds."""
    parts: list[str] = [_FIELD_NAMES, payload.version, payload.receiver, payload.status, payload.external_url,
                        payload.group_key]
    for labels in (payload.group_labels, payload.common_labels, payload.common_annotations):
        parts += labels
        parts += labels.values()
    for alert in payload.alerts:
        parts += alert.labels
        parts += alert.labels.values()
        parts += alert.annotations
        parts += alert.annotations.values()
        parts += (alert.status, alert.generator_url, alert.fingerprint)
    return _SEPARATOR.join(parts)


def _holds_secret(payload: WebhookPayload, secrets: tuple[str, ...]) -> bool:
    # One substring search over all strings at once instead of one per string; a secret the joined form could
    # not answer for exactly (it holds the separator, or could be part of a serialised datetime) is looked for
    # string by string in the serialised payload.
    unusual = [s for s in secrets if _SEPARATOR in s or set(s) <= _DATETIME_CHARS]
    if unusual:
        data = payload.model_dump(mode="json", by_alias=True)
        if any(secret in text for text in _strings(data) for secret in unusual):
            return True
    joined = _joined_strings(payload)
    return any(secret in joined for secret in secrets if secret not in unusual)


def _replaced(value: Any, secrets: tuple[str, ...], mark: str) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, mark)
        return value
    if isinstance(value, dict):
        return {_replaced(k, secrets, mark): _replaced(v, secrets, mark) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(item, secrets, mark) for item in value]
    return value


def without_secrets(payload: WebhookPayload, secrets: Iterable[str], mark: str = "[redacted]") -> WebhookPayload:
    """The payload with every configured secret blanked out of its decoded strings, however the JSON spelled
    them (escapes included), so a token copied into a label is never stored, sent on or logged."""
    wanted = tuple(secret for secret in secrets if secret)
    if not wanted or not _holds_secret(payload, wanted):
        return payload
    data = payload.model_dump(mode="json", by_alias=True)
    return WebhookPayload.model_validate(_replaced(data, wanted, mark))
