"""`context.req` and `context.res` as a function sees them through the host, member by member."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.runtime import FunctionHost
from tests.runtime.conftest import FIXTURE_DIR, send


@pytest.fixture(scope="module")
def host() -> Iterator[FunctionHost]:
    with FunctionHost(FIXTURE_DIR, echo=False) as served:
        yield served


def echo(host: FunctionHost, path: str = "/echo", **kwargs: Any) -> dict[str, Any]:
    """What the fixture saw of the request (its `/echo` route)."""
    reply = send(host.url, path, **kwargs)
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.json()
    return result


class TestRequest:
    def test_json_body_through_every_accessor(self, host: FunctionHost) -> None:
        """A JSON body is bytes, text, raw text, and a parsed dict for `body`."""
        payload = b'{"alerts": [1, 2]}'
        seen = echo(host, body=payload, headers={"Content-Type": "application/json; charset=utf-8"})["body"]
        assert seen == {
            "binary_hex": payload.hex(),
            "text": payload.decode(),
            "raw": payload.decode(),
            "body": {"alerts": [1, 2]},
        }

    def test_empty_json_body_is_an_empty_dict(self, host: FunctionHost) -> None:
        """`body` is `{}` for an empty application/json request."""
        assert echo(host, headers={"Content-Type": "application/json"})["body"] == {
            "binary_hex": "",
            "text": "",
            "raw": "",
            "body": {},
        }

    def test_other_content_types_give_text(self, host: FunctionHost) -> None:
        """`body` is the text when the content type is not JSON, even if the text is JSON."""
        body = echo(host, body=b'{"a": 1}', headers={"Content-Type": "text/plain"})["body"]
        assert body["body"] == '{"a": 1}'

    def test_body_json_raises_on_invalid_json(self, host: FunctionHost) -> None:
        """`body_json` on a non-JSON body raises inside main, which the runtime answers with a 500."""
        reply = send(host.url, "/body-json", body=b"not json", headers={"Content-Type": "text/plain"})
        assert reply.status == 500
        record = host.logs()[-1]
        assert "json.decoder.JSONDecodeError" in record["errors"][0]

    def test_invalid_json_with_json_content_type_fails_on_body(self, host: FunctionHost) -> None:
        """Reading `body` of an application/json request that is not JSON raises too."""
        assert send(host.url, "/echo", body=b"{", headers={"Content-Type": "application/json"}).status == 500

    def test_header_names_are_lower_case_and_runtime_headers_hidden(self, host: FunctionHost) -> None:
        """Header names arrive lower-cased; `x-open-runtimes-*` never reach the function."""
        headers = echo(host, headers={"X-Mixed-Case": "Value", "X-Open-Runtimes-Secret": "s"})["request"]
        seen = headers["headers"]
        assert seen["x-mixed-case"] == "Value"
        assert not [name for name in seen if name.startswith("x-open-runtimes-") or name != name.lower()]

    @pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    def test_method_and_path(self, host: FunctionHost, method: str) -> None:
        """The method and path are the caller's."""
        request = echo(host, method=method)["request"]
        assert (request["method"], request["path"]) == (method, "/echo")

    def test_query_is_split_naively(self, host: FunctionHost) -> None:
        """`query` splits on & and =, keeps the last repeated key, gives "" to a bare key, keeps %26."""
        request = echo(host, "/echo?a=1&a=2&flag&enc=x%26y&=orphan")["request"]
        assert request["query_string"] == "a=1&a=2&flag&enc=x%26y&=orphan"
        assert request["query"] == {"a": "2", "flag": "", "enc": "x%26y"}

    def test_url_parts_of_a_direct_request(self, host: FunctionHost) -> None:
        """Scheme defaults to http; host and port come from the Host header; the URL keeps the port."""
        request = echo(host, "/echo?x=1")["request"]
        assert request["scheme"] == "http"
        assert request["host"] == "127.0.0.1"
        assert request["port"] == host.port
        assert request["url"] == f"http://127.0.0.1:{host.port}/echo?x=1"

    def test_url_parts_behind_a_proxy(self, host: FunctionHost) -> None:
        """`x-forwarded-proto: https` and a Host without port give port 443 and no port in the URL."""
        request = echo(host, headers={"Host": "alerts.example.com", "X-Forwarded-Proto": "https"})["request"]
        assert (request["scheme"], request["host"], request["port"]) == ("https", "alerts.example.com", 443)
        assert request["url"] == "https://alerts.example.com/echo"


class TestResponse:
    @pytest.mark.parametrize(
        ("kind", "status", "body", "content_type"),
        [
            ("text", 201, "héllo".encode(), "text/plain; charset=utf-8"),
            ("binary", 200, b"\x00\x01\xff", "application/octet-stream; charset=utf-8"),
            ("send", 202, b"sent as is", "text/plain; charset=utf-8"),
            ("json", 200, b'{"a":[1,2]}', "application/json; charset=utf-8"),
            ("empty", 204, b"", "text/plain; charset=utf-8"),
            ("redirect", 301, b"", "text/plain; charset=utf-8"),
            ("multipart", 200, b"--b--", "multipart/form-data; boundary=b"),
            ("charset", 200, b"latin", "text/html; charset=iso-8859-1"),
        ],
    )
    def test_each_response_helper(
        self, host: FunctionHost, kind: str, status: int, body: bytes, content_type: str
    ) -> None:
        """Each `context.res` helper gives its status and body; charset=utf-8 is added unless multipart or set."""
        reply = send(host.url, f"/respond?kind={kind}")
        assert (reply.status, reply.body, reply.header("content-type")) == (status, body, content_type)

    def test_header_names_are_lower_cased_and_runtime_headers_dropped(self, host: FunctionHost) -> None:
        """Response header names go out lower-cased and `x-open-runtimes-*` ones are dropped."""
        reply = send(host.url, "/respond?kind=text")
        names = [name for name, _ in reply.headers]
        assert ("x-custom", "Yes") in reply.headers
        assert not [name for name in names if name.lower().startswith("x-open-runtimes-")]

    def test_json_keeps_the_callers_headers(self, host: FunctionHost) -> None:
        """`res.json` adds the JSON content type to the headers it was given."""
        reply = send(host.url, "/respond?kind=json")
        assert reply.header("x-extra") == "1"
        assert json.loads(reply.body) == {"a": [1, 2]}

    def test_redirect_sets_location(self, host: FunctionHost) -> None:
        """`res.redirect` answers 301 with a `location` header."""
        assert send(host.url, "/respond?kind=redirect").header("location") == "https://example.com/next"

    def test_capitalised_content_type_is_replaced_like_the_runtime_does(self, host: FunctionHost) -> None:
        """A "Content-Type" key (not lower case) loses to the text/plain default, as on Open Runtimes."""
        assert send(host.url, "/respond?kind=capitalised").header("content-type") == "text/plain; charset=utf-8"
