"""The Open Runtimes part of an execution: request in, `main(context)` run, response and logs out.

This mirrors `runtimes/python/.../server.py::action`: build `context.req` from the request, import the
entrypoint, run `main` (awaited when async) under a deadline, turn the returned dict into status,
headers and body, and collect logs, errors and native output. It knows nothing about HTTP serving or about
what Appwrite adds to a request (`devkit.runtime.gateway`).
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.runtime import capture
from devkit.runtime.context import Context, Request, ResponseSpec
from devkit.runtime.loader import EntrypointError, is_async, load_main
from devkit.runtime.logs import ExecutionLog

RUNTIME_HEADER_PREFIX = "x-open-runtimes-"
TIMED_OUT = "Execution timed out."
RETURN_MISSING = "Return statement missing. return context.res.empty() if no response is expected."


@dataclass(frozen=True)
class Invocation:
    """One request as it reaches the runtime (headers with Appwrite's additions already applied)."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Outcome:
    """The HTTP response of an execution and what it logged."""

    status: int
    headers: dict[str, str]
    body: bytes
    logs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_query(query_string: str) -> dict[str, str]:
    """Naive `&`/`=` split, no decoding, last value wins (the runtime's rule)."""
    query: dict[str, str] = {}
    for param in query_string.split("&"):
        key, separator, value = param.partition("=")
        if key:
            query[key] = value if separator else ""
    return query


def build_request(invocation: Invocation) -> Request:
    """`context.req` for an invocation."""
    headers = {
        name.lower(): value
        for name, value in invocation.headers.items()
        if not name.lower().startswith(RUNTIME_HEADER_PREFIX)
    }
    scheme = headers.get("x-forwarded-proto", "http")
    default_port = 443 if scheme == "https" else 80
    host_header = headers.get("host", "")
    if ":" in host_header:
        host, _, port_text = host_header.rpartition(":")
        port = int(port_text)
    else:
        host, port = host_header, default_port
    url = f"{scheme}://{host}"
    if port != default_port:
        url += f":{port}"
    url += invocation.path
    if invocation.query_string:
        url += "?" + invocation.query_string
    return Request(
        body_binary=invocation.body,
        method=invocation.method,
        headers=headers,
        path=invocation.path,
        query_string=invocation.query_string,
        query=parse_query(invocation.query_string),
        scheme=scheme,
        host=host,
        port=port,
        url=url,
    )


def _traceback_text(exc: BaseException) -> str:
    return "".join(traceback.TracebackException.from_exception(exc).format())


def _empty(status: int) -> ResponseSpec:
    return {"body": b"", "statusCode": status, "headers": {}}


def _encode_body(body: Any) -> bytes:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"Unsupported response body of type {type(body).__name__}; send str or bytes.")


def _content_type(output_headers: Mapping[str, Any]) -> str:
    # Looked up with this exact lower-case key, as the runtime does: a "Content-Type" key is copied through
    # but then overwritten by the default, so the function must spell it in lower case.
    content_type = str(output_headers.get("content-type", "text/plain")).lower()
    if not content_type.startswith("multipart/") and "charset=" not in content_type:
        content_type += "; charset=utf-8"
    return content_type


def to_outcome(output: Any, log: ExecutionLog) -> Outcome:
    """Turn what `main` returned into the response, or into a 500 when it is not a response dict."""
    try:
        output_headers = output.get("headers", {})
        headers = {
            str(name).lower(): str(value)
            for name, value in output_headers.items()
            if not str(name).lower().startswith(RUNTIME_HEADER_PREFIX)
        }
        headers["content-type"] = _content_type(output_headers)
        body = _encode_body(output.get("body", ""))
        status = int(output.get("statusCode", 200))
    except Exception as exc:
        log.error(_traceback_text(exc))
        return Outcome(500, {"content-type": "text/plain; charset=utf-8"}, b"", log.logs, log.errors)
    return Outcome(status, headers, body, log.logs, log.errors)


class FunctionRuntime:
    """Runs executions of the function imported from `sandbox/function/<entrypoint>`."""

    def __init__(self, sandbox: Path, *, entrypoint: str = "src/main.py", timeout_seconds: float = 15) -> None:
        self._sandbox = sandbox
        self._entrypoint = entrypoint
        self._timeout = timeout_seconds

    async def execute(self, invocation: Invocation) -> Outcome:
        log = ExecutionLog()
        try:
            context = Context(build_request(invocation), log)
        except ValueError as exc:  # a Host header whose port is not a number
            log.error(_traceback_text(exc))
            return to_outcome(_empty(500), log)
        with capture.capturing() as native:
            output = await self._run(context, log)
        log.add_native(native.getvalue())
        if output is None:
            log.error(RETURN_MISSING)
            output = _empty(500)
        return to_outcome(output, log)

    async def _run(self, context: Context, log: ExecutionLog) -> Any:
        try:
            main = load_main(self._sandbox, self._entrypoint)
        except EntrypointError as exc:
            log.error(str(exc))
            return _empty(503)

        async def call() -> Any:
            if is_async(main):
                return await main(context)
            return main(context)

        # The deadline can only fire at an await: a synchronous main that blocks past it runs to the end and
        # its answer stands, exactly as under the runtime's asyncio.wait_for.
        deadline = asyncio.timeout(self._timeout)
        try:
            async with deadline:
                return await call()
        except TimeoutError as exc:
            # Only our deadline is a timeout; a TimeoutError raised by main itself is an ordinary failure.
            if not deadline.expired():
                log.error(_traceback_text(exc))
            else:
                log.error(TIMED_OUT)
            return _empty(500)
        except Exception as exc:
            log.error(_traceback_text(exc))
            return _empty(500)
