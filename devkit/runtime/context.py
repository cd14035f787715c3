"""The `context` object a function's `main(context)` receives, shaped like Open Runtimes' Python `Context`.

Attribute and method names (`req.body_json`, `res.json(obj, statusCode, headers)`, ...) are the runtime's,
camelCase included, because the function is written against them. The response helpers return plain
dicts that `main` must return; `devkit.runtime.runtime` turns them into the HTTP response.

Depends on nothing but the standard library and `devkit.runtime.logs`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from devkit.runtime.logs import ExecutionLog

ResponseSpec = dict[str, Any]
"""What a response helper returns: `{"body": bytes | str, "statusCode": int, "headers": dict}`."""


class Request:
    """`context.req`: the incoming request as the function sees it (headers already filtered)."""

    def __init__(
        self,
        *,
        body_binary: bytes,
        method: str,
        headers: dict[str, str],
        path: str,
        query_string: str,
        query: dict[str, str],
        scheme: str,
        host: str,
        port: int,
        url: str,
    ) -> None:
        self.body_binary = body_binary
        self.method = method
        self.headers = headers
        self.path = path
        self.query_string = query_string
        self.query = query
        self.scheme = scheme
        self.host = host
        self.port = port
        self.url = url

    @property
    def body_text(self) -> str:
        """The body decoded as UTF-8 (raises `UnicodeDecodeError` on invalid bytes, like the runtime)."""
        return self.body_binary.decode("utf-8")

    @property
    def body_raw(self) -> str:
        """Alias of `body_text`."""
        return self.body_text

    @property
    def body_json(self) -> Any:
        """The body parsed as JSON; raises `json.JSONDecodeError` when it is not JSON."""
        return json.loads(self.body_text)

    @property
    def body(self) -> Any:
        """Parsed JSON for an `application/json` content type (`{}` when empty), else the text."""
        content_type = self.headers.get("content-type", "text/plain").lower()
        if content_type.startswith("application/json"):
            return self.body_json if self.body_binary else {}
        return self.body_text


class Response:
    """`context.res`: builders for the dict `main` returns."""

    def binary(
        self, bytes: bytes, statusCode: int = 200, headers: Mapping[str, Any] | None = None
    ) -> ResponseSpec:
        return {"body": bytes, "statusCode": statusCode, "headers": dict(headers or {})}

    def text(self, body: str, statusCode: int = 200, headers: Mapping[str, Any] | None = None) -> ResponseSpec:
        return self.binary(body.encode("utf-8"), statusCode, headers)

    def send(self, body: Any, statusCode: int = 200, headers: Mapping[str, Any] | None = None) -> ResponseSpec:
        return {"body": body, "statusCode": statusCode, "headers": dict(headers or {})}

    def json(self, obj: Any, statusCode: int = 200, headers: Mapping[str, Any] | None = None) -> ResponseSpec:
        merged = {**(headers or {}), "content-type": "application/json"}
        return self.text(json.dumps(obj, separators=(",", ":")), statusCode, merged)

    def empty(self) -> ResponseSpec:
        return self.text("", 204, {})

    def redirect(
        self, url: str, statusCode: int = 301, headers: Mapping[str, Any] | None = None
    ) -> ResponseSpec:
        return self.text("", statusCode, {**(headers or {}), "location": url})


class Context:
    """The single argument of `main`: `req`, `res`, `log(...)` and `error(...)`."""

    def __init__(self, req: Request, log: ExecutionLog) -> None:
        self.req = req
        self.res = Response()
        self._log = log

    def log(self, *messages: Any) -> None:
        """Append one entry to the execution's logs."""
        self._log.log(*messages)

    def error(self, *messages: Any) -> None:
        """Append one entry to the execution's errors."""
        self._log.error(*messages)
