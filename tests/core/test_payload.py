"""Validation of Alertmanager's version 4 webhook payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from src.core.payload import PayloadError, parse_payload


def alert(**overrides: Any) -> dict[str, Any]:
    base = {
        "status": "firing",
        "labels": {"alertname": "HighCPU", "severity": "Critical", "instance": "10.0.0.80:9100"},
        "annotations": {"summary": "CPU above 90%"},
        "startsAt": "2026-11-27T03:08:36.956954384Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "a1b2c3d4e5f60718",
    }
    return {**base, **overrides}


def payload(**overrides: Any) -> dict[str, Any]:
    base = {
        "receiver": "alert\\.processor", "status": "firing", "alerts": [alert()],
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
        "version": "4", "groupKey": '{}:{alertname="HighCPU"}', "truncatedAlerts": 0,
    }
    return {**base, **overrides}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_valid_payload_parses_into_snake_case_models() -> None:
    """A real-shaped payload parses; URL fields keep Alertmanager's spelling on the wire."""
    parsed = parse_payload(encode(payload(notification_reason="new", routeLabels={})))
    first = parsed.alerts[0]
    assert first.generator_url == "http://prometheus:9090/graph"
    assert parsed.external_url == "http://am:9093"
    assert first.starts_at == datetime(2026, 11, 27, 3, 8, 36, 956954, tzinfo=UTC)
    assert first.severity == "critical"


@pytest.mark.parametrize(
    ("sent", "configured"),
    [
        ("alert\\.processor", "alert.processor"),
        ("team\\(a\\)\\|b\\[1\\]\\{2\\}\\^\\$\\*\\+\\?", "team(a)|b[1]{2}^$*+?"),
        ("back\\\\\\.slash", "back\\.slash"),
        ("plain-name_1", "plain-name_1"),
        ("kept\\-dash", "kept\\-dash"),
    ],
    ids=["dot", "every-metacharacter", "escaped-backslash", "plain", "not-quotemeta"],
)
def test_receiver_is_the_configured_name_not_its_regex_quoting(sent: str, configured: str) -> None:
    """The receiver Alertmanager regex-escaped (Go's QuoteMeta) is kept as configured; other backslashes stay."""
    assert parse_payload(encode(payload(receiver=sent))).receiver == configured


def test_zero_end_time_means_no_end() -> None:
    """Go's zero time in endsAt of a firing alert becomes None, never year 1."""
    assert parse_payload(encode(payload())).alerts[0].ends_at is None


def test_missing_severity_is_none() -> None:
    """An alert without a severity label has severity 'none'."""
    labels = {"alertname": "X"}
    assert parse_payload(encode(payload(alerts=[alert(labels=labels)]))).alerts[0].severity == "none"


def problems_of(body: bytes) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        parse_payload(body)
    return [p["field"] for p in caught.value.problems]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "(body)"),
        (b"not json", "(body)"),
        (b"[]", "(body)"),
        (encode(payload(version="3")), "version"),
        (encode(payload(alerts=[alert(status="pending")])), "alerts[0].status"),
        (encode(payload(alerts=[alert(startsAt="2026-11-27T03:08:36")])), "alerts[0].startsAt"),
        (encode(payload(alerts=[alert(startsAt="yesterday")])), "alerts[0].startsAt"),
        (encode(payload(alerts=[alert(fingerprint="../../etc")])), "alerts[0].fingerprint"),
        (encode(payload(alerts=[alert(labels={"a": 1})])), "alerts[0].labels.a"),
        (encode(payload(alerts="x")), "alerts"),
        (encode(payload(truncatedAlerts=-1)), "truncatedAlerts"),
    ],
)
def test_bad_input_names_the_field(body: bytes, field: str) -> None:
    """Each kind of bad input is refused with the offending field named."""
    assert field in problems_of(body)


def test_missing_fields_are_each_reported() -> None:
    """Every missing required field is listed, not just the first."""
    fields = problems_of(encode({"version": "4"}))
    assert {"receiver", "status", "alerts"} <= set(fields)


def test_problem_messages_do_not_echo_values() -> None:
    """A bad value is described, not copied back into the error."""
    with pytest.raises(PayloadError) as caught:
        parse_payload(encode(payload(version="secret-looking-value")))
    assert "secret-looking-value" not in json.dumps(caught.value.problems)


@pytest.mark.parametrize(
    "spelled",
    ["go\\u0026token\\u003cwith\\u003ehtml-0123456789", "go&token<with>html\\u002d0123456789"],
    ids=["go-html-escapes", "any-escape"],
)
def test_secrets_are_blanked_however_json_spells_them(spelled: str) -> None:
    """A configured token inside a label, escaped or not, is replaced before anything is stored or sent."""
    from src.core.payload import without_secrets

    token = "go&token<with>html-0123456789"
    body = json.dumps(payload(alerts=[alert(labels={"alertname": "X", "leak": "PLACEHOLDER"})]))
    parsed = parse_payload(body.replace("PLACEHOLDER", spelled).encode())
    assert parsed.alerts[0].labels["leak"] == token
    cleaned = without_secrets(parsed, [token])
    assert cleaned.alerts[0].labels["leak"] == "[redacted]"
    assert token not in cleaned.model_dump_json()


def test_payload_without_secrets_is_returned_unchanged() -> None:
    """No secret in the payload: the very same object comes back (no extra work)."""
    from src.core.payload import without_secrets

    parsed = parse_payload(json.dumps(payload()).encode())
    assert without_secrets(parsed, ["absent-token-0123456789"]) is parsed


@pytest.mark.parametrize(
    ("where", "spelled"),
    [
        ("a label's name", lambda p, s: {**p, "alerts": [alert(labels={"alertname": "X", s: "v"})]}),
        ("an annotation", lambda p, s: {**p, "alerts": [alert(annotations={"summary": f"see {s} here"})]}),
        ("the generator URL", lambda p, s: {**p, "alerts": [alert(generatorURL=f"http://x/?t={s}")]}),
        ("the group key", lambda p, s: {**p, "groupKey": f'{{}}:{{token="{s}"}}'}),
        ("the common labels", lambda p, s: {**p, "commonLabels": {"token": s}}),
        ("the external URL", lambda p, s: {**p, "externalURL": f"http://am/{s}"}),
        # Alertmanager quotes the receiver's name with Go's QuoteMeta: the secret appears once unquoted.
        ("the receiver, quoted", lambda p, s: {**p, "receiver": s.replace(".", "\\.")}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_secret_is_found_wherever_the_payload_holds_it(where: str, spelled: Any) -> None:
    """Every string of the payload is searched, keys, URLs, the group key and the unquoted receiver included."""
    from src.core.payload import without_secrets

    token = "webhook.token-0123456789"
    parsed = parse_payload(encode(spelled(payload(), token)))
    cleaned = without_secrets(parsed, ["other-token-0123456789", token])
    assert cleaned is not parsed
    assert token not in cleaned.model_dump_json()
    assert "[redacted]" in cleaned.model_dump_json()


@pytest.mark.parametrize("token", ["1999-01-02T03:04:05.678", "nul\x00in-the-token-0123456789"],
                         ids=["datetime-characters", "nul-character"])
def test_unusual_secrets_are_looked_for_string_by_string(token: str) -> None:
    """A secret that could be part of a serialised time, or holds a NUL, is still found in a label, and a payload
    without it comes back unchanged."""
    from src.core.payload import without_secrets

    absent = parse_payload(encode(payload()))
    assert without_secrets(absent, [token.replace("1999", "1998")]) is absent
    present = parse_payload(encode(payload(alerts=[alert(labels={"alertname": "X", "leak": f"<{token}>"})])))
    assert without_secrets(present, [token]).alerts[0].labels["leak"] == "<[redacted]>"


def test_a_field_name_as_secret_is_searched_like_any_string() -> None:
    """Field names are strings of the payload too: a secret equal to one is found, as it always was."""
    from src.core.payload import without_secrets

    parsed = parse_payload(encode(payload()))
    assert without_secrets(parsed, ["commonAnnotations"]) is not parsed
