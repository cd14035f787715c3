"""Security: the Bearer token is compared in constant time against every configured token; near misses are
refused; nothing is parsed and Appwrite is not called before authentication succeeds; bodies over
MAX_BODY_BYTES get 413 before parsing; and neither the token nor the API key ever shows in a response, a log
line, an error message, a stored row or a message."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import src.endpoints.webhook
from devkit import payloads as p
from devkit.emulator import Emulator
from devkit.runtime import FunctionHost
from src.clock import utc_now
from src.core.payload import parse_payload
from src.endpoints.auth import is_authorized
from src.endpoints.http import Request
from src.endpoints.router import handle
from src.errors import ConfigurationError
from src.settings import load_settings
from tests.harness import TOKEN, Appwrite, deliver
from tests.reliability.support import InProcess, alert_rows, env, new_tag, tagged_messages

SECOND = "second-rotation-token-0123456789"
THIRD = "third-rotation-token-abcdefghijk"
METRICS_TOKEN = "metrics-scrape-token-0123456789ab"


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Records every body the handler parses (parsing still happens)."""
    parsed: list[bytes] = []

    def recording(body: bytes) -> Any:
        parsed.append(body)
        return parse_payload(body)

    monkeypatch.setattr(src.endpoints.webhook, "parse_payload", recording)
    yield parsed


def rotated(emulator: Emulator, **extra: str) -> InProcess:
    """The function in-process with three webhook tokens, configured with stray spaces."""
    return InProcess(env(emulator, WEBHOOK_TOKEN=f" {TOKEN} ,{SECOND}, {THIRD}", APPWRITE_API_KEY=emulator.api_key,
                         **extra))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class TestTokens:
    def test_every_configured_token_is_compared_with_compare_digest(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Whichever token is presented (first, last or none of them), hmac.compare_digest runs once against
        each of the three configured tokens: no early exit that timing could reveal."""
        compared: list[tuple[bytes, bytes]] = []
        real = hmac.compare_digest

        def counting(a: bytes, b: bytes) -> bool:
            compared.append((a, b))
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", counting)
        tokens = (TOKEN, SECOND, THIRD)
        for presented, accepted in ((TOKEN, True), (THIRD, True), ("not-a-configured-token-at-all", False)):
            compared.clear()
            assert is_authorized(bearer(presented), tokens) is accepted
            assert sorted(b for _, b in compared) == sorted(t.encode() for t in tokens)

    NEAR_MISSES = (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), f"{TOKEN},{SECOND}", TOKEN[1:], " " + TOKEN + "\t",
                   TOKEN * 2)

    @given(presented=st.text(max_size=60) | st.sampled_from(NEAR_MISSES))
    @settings(max_examples=100, deadline=None)
    def test_only_a_configured_token_is_accepted(self, presented: str) -> None:
        """Any presented string is accepted exactly when it is one of the configured tokens (surrounding
        whitespace aside): prefixes, suffixes, case changes and joined tokens are refused."""
        expected = presented.strip() in (TOKEN, SECOND, THIRD)
        assert is_authorized(bearer(presented), (TOKEN, SECOND, THIRD)) is expected

    @pytest.mark.parametrize("headers", [
        bearer(TOKEN[:-1]),
        bearer(TOKEN + "0"),
        bearer(TOKEN.upper()),
        bearer(f"{TOKEN},{SECOND}"),
        {"authorization": f"Basic {TOKEN}"},
        {"authorization": f"Token {TOKEN}"},
        {"authorization": TOKEN},
        {"x-webhook-token": TOKEN},
        {"authorization": f"Bearer {METRICS_TOKEN}"},
    ], ids=["prefix", "suffix", "upper-case", "two-joined", "basic", "token-scheme", "bare", "other-header",
            "metrics-token"])
    def test_near_misses_get_401_through_the_runtime(
        self, host: FunctionHost, project: Appwrite, headers: dict[str, str]
    ) -> None:
        """Near misses of the token get 401 with WWW-Authenticate and make no Appwrite call."""
        reply = deliver(host.url, p.payload([p.alert(f"Miss{new_tag()}")]), token=None, headers=headers)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert project.control.calls() == {}

    def test_every_rotated_token_is_accepted(self, emulator: Emulator, project: Appwrite) -> None:
        """With three comma-separated tokens (stray spaces around them), each one is accepted and the scheme
        name is case-insensitive; anything else is refused."""
        function = rotated(emulator)
        for token in (TOKEN, SECOND, THIRD):
            body = json.dumps(p.payload([p.alert(f"Rot{new_tag()}", severity="info")])).encode()
            assert function.post(body, bearer(token)).status == 200
            assert function.post(body, {"authorization": f"bEaReR {token}"}).status == 200
        assert function.post(b"{}", bearer(f"{SECOND} {THIRD}")).status == 401

    def test_the_metrics_token_cannot_post_and_the_webhook_token_cannot_scrape(
        self, emulator: Emulator, project: Appwrite
    ) -> None:
        """The metrics token does not open POST, and no webhook token opens GET /metrics."""
        function = rotated(emulator, METRICS_TOKEN=METRICS_TOKEN)
        body = json.dumps(p.payload([p.alert(f"Metrics{new_tag()}", severity="info")])).encode()
        assert function.post(body, bearer(METRICS_TOKEN)).status == 401
        for token in (TOKEN, SECOND, THIRD):
            reply = handle(Request("GET", "/metrics", bearer(token), b""), function.settings,
                           make_store=function.make_store, now=utc_now,
                           log=function.logs.append, error=function.errors.append)
            assert reply.status == 401
        assert project.control.calls() == {}


NESTED = b"[" * 100_000 + b"]" * 100_000
UNAUTHENTICATED_BODIES = {
    "valid": json.dumps(p.payload([p.alert("Unauth")])).encode(),
    "not-json": b"\x00\xff not json {",
    "empty": b"",
    "deeply-nested": NESTED,
    "over-the-size-cap": b"x" * (10 * 1024 * 1024 + 1),
    "lone-surrogate": b'{"receiver": "\\ud800"}',
}
CREDENTIALS = {
    "missing": {},
    "wrong": bearer("wrong-token-wrong-token-wrong-token"),
    "prefix": bearer(TOKEN[:-1]),
}


class TestBeforeAuthentication:
    @pytest.mark.parametrize("credentials", list(CREDENTIALS))
    @pytest.mark.parametrize("body", list(UNAUTHENTICATED_BODIES))
    def test_unauthenticated_request_is_not_parsed_and_calls_nothing(
        self, inprocess: InProcess, project: Appwrite, no_parsing: list[bytes], body: str, credentials: str
    ) -> None:
        """Without an accepted token: 401 whatever the body (invalid, huge, nested), the body is never parsed
        and no Appwrite call is made."""
        reply = inprocess.post(UNAUTHENTICATED_BODIES[body], CREDENTIALS[credentials])
        assert reply.status == 401
        assert no_parsing == []
        assert project.control.calls() == {}

    @pytest.mark.parametrize("body", ["valid", "not-json", "deeply-nested", "over-the-size-cap"])
    def test_unauthenticated_request_gets_401_through_the_runtime(
        self, host: FunctionHost, project: Appwrite, body: str
    ) -> None:
        """Through the runtime too: 401 (not 400 or 413) and not one Appwrite call."""
        reply = deliver(host.url, UNAUTHENTICATED_BODIES[body], token="wrong-token-wrong-token-wrong")
        assert reply.status_code == 401
        assert project.control.calls() == {}

    def test_body_over_the_cap_is_413_before_parsing(
        self, emulator: Emulator, project: Appwrite, no_parsing: list[bytes]
    ) -> None:
        """MAX_BODY_BYTES=4096: 4,097 bytes get 413 unparsed and untouched; 4,096 bytes are parsed."""
        function = InProcess(env(emulator, MAX_BODY_BYTES="4096", APPWRITE_API_KEY=emulator.api_key))
        over = function.post(b"{" + b" " * 4095 + b"}")
        assert over.status == 413
        assert no_parsing == [] and project.control.calls() == {}
        at_cap = function.post(b"{" + b" " * 4094 + b"}")
        assert at_cap.status == 400
        assert len(no_parsing) == 1


class TestSecrets:
    def test_secrets_never_appear_in_responses_logs_rows_or_messages(
        self, emulator: Emulator, host: FunctionHost, project: Appwrite
    ) -> None:
        """Across successes, refusals, bad input, Appwrite outages and refusals, with the token sent in places
        the function neither stores nor logs: neither the token nor the API key appears in any response
        (body or headers), any execution log or error line, any row or any message."""
        tag = new_tag()
        secrets = (TOKEN, emulator.api_key)
        alert = p.alert(f"Secret{tag}", severity="critical")
        valid = p.payload([alert])
        carrying = {**valid, "externalURL": f"http://x/?token={TOKEN}", "commonLabels": {"t": TOKEN},
                    "groupLabels": {"auth": f"Bearer {TOKEN}"}}
        replies: list[requests.Response] = [
            deliver(host.url, valid),
            deliver(host.url, carrying),
            deliver(host.url, carrying, token=TOKEN + "x"),
            deliver(host.url, json.dumps(carrying).encode()[:-3]),
            deliver(host.url, {**valid, "alerts": [{**alert, "startsAt": TOKEN}]}),
            deliver(host.url, {**valid, "version": TOKEN}),
            deliver(host.url, b"", method="GET", token=None),
            deliver(host.url, b"", method="DELETE"),
            deliver(host.url, b"x" * (10 * 1024 * 1024 + 1)),
        ]
        for status in (503, 401, 404):
            project.control.add_fault(r"/tables/alerts/rows$", method="GET", count=3, status=status)
            replies.append(deliver(host.url, p.payload([p.alert(f"Fault{tag}-{status}", severity="info")])))
            project.control.clear_faults()
        assert {r.status_code for r in replies} == {200, 400, 401, 405, 413, 500, 503}
        seen = [json.dumps(host.logs())]
        seen += [r.text + json.dumps(dict(r.headers)) for r in replies]
        seen += [json.dumps(row) for row in alert_rows(project, [alert["fingerprint"]]).values()]
        seen += [json.dumps(m.data) for m in tagged_messages(project, tag)]
        for secret in secrets:
            assert not [text for text in seen if secret in text]

    def test_configuration_errors_and_settings_never_show_a_token(self, emulator: Emulator) -> None:
        """Invalid token settings are reported without the token values: in the error, in the misconfigured
        health check's answer and in the refused delivery's log; and `repr(Settings)` shows no secret."""
        short = "short-token"
        variables = env(emulator, WEBHOOK_TOKEN=f"{TOKEN},{short}", METRICS_TOKEN=TOKEN, APPWRITE_API_KEY="k" * 40)
        with pytest.raises(ConfigurationError) as raised:
            load_settings(variables)
        errors: list[str] = []
        shown = [str(raised.value)]
        for method in ("GET", "POST"):
            reply = handle(Request(method, "/", bearer(TOKEN), b"{}"), raised.value, make_store=_no_store,
                           now=utc_now, log=errors.append, error=errors.append)
            assert reply.status == 500
            shown.append(json.dumps(reply.body))
        shown += errors
        shown.append(repr(load_settings(env(emulator, APPWRITE_API_KEY="k" * 40))))
        for secret in (TOKEN, short, "k" * 40):
            assert not [text for text in shown if secret in text]

    @pytest.mark.parametrize("where", ["label-value", "summary", "receiver"])
    def test_token_sent_in_stored_fields_is_not_kept(
        self, emulator: Emulator, host: FunctionHost, project: Appwrite, where: str
    ) -> None:
        """A token sent (by mistake) in a label, an annotation or the receiver is not stored, announced or
        logged."""
        tag = new_tag()
        alert = p.alert(f"Leak{tag}", severity="critical")
        body = p.payload([alert])
        if where == "label-value":
            body["alerts"][0]["labels"] = {**alert["labels"], "leak": TOKEN}
        elif where == "summary":
            body["alerts"][0]["annotations"] = {"summary": f"token {TOKEN}"}
        else:
            body["receiver"] = TOKEN
        reply = deliver(host.url, body)
        if reply.status_code != 200:
            raise RuntimeError(reply.text)
        seen = [json.dumps(host.logs())]
        seen += [json.dumps(row) for row in alert_rows(project, [alert["fingerprint"]]).values()]
        seen += [json.dumps(m.data) for m in tagged_messages(project, tag)]
        assert not [text for text in seen if TOKEN in text]

    def test_label_name_is_not_echoed_in_a_400(self, host: FunctionHost, project: Appwrite) -> None:
        """A token used as a label name with a non-string value: the 400 does not echo it."""
        alert = p.alert(f"Echo{new_tag()}")
        body = p.payload([{**alert, "labels": {**alert["labels"], TOKEN: 1}}])
        reply = deliver(host.url, body)
        if reply.status_code != 400:
            raise RuntimeError(reply.text)
        assert TOKEN not in reply.text


def _no_store(*args: Any) -> Any:
    raise AssertionError("no store may be made for a misconfigured function")

