"""A function for the runtime host's tests: each path exercises one part of the Open Runtimes contract.

`main` is `async def` when the variable FIXTURE_MAIN is "async" at import time, a plain function otherwise,
so one fixture covers both kinds of entrypoint.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from . import clock
from .helpers import describe_body, describe_request, environment

_calls = 0  # module state: survives between executions served by the same worker


def _echo(context: Any) -> Any:
    return context.res.json({"request": describe_request(context.req), "body": describe_body(context.req)})


def _body_json(context: Any) -> Any:
    return context.res.json({"parsed": context.req.body_json})


def _state(context: Any) -> Any:
    global _calls
    _calls += 1
    return context.res.json({"pid": os.getpid(), "calls": _calls})


def _log(context: Any) -> Any:
    context.log("plain", 42, {"key": "value"}, [1, "two"], ("t",))
    context.log("x" * 9000)
    context.error("something", "went wrong")
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    return context.res.text("logged")


def _respond(context: Any) -> Any:
    res = context.res
    kind = context.req.query.get("kind", "")
    responses: dict[str, Callable[[], Any]] = {
        "text": lambda: res.text("héllo", 201, {"X-Custom": "Yes", "x-open-runtimes-secret": "drop"}),
        "binary": lambda: res.binary(b"\x00\x01\xff", 200, {"content-type": "application/octet-stream"}),
        "send": lambda: res.send("sent as is", 202),
        "json": lambda: res.json({"a": [1, 2]}, 200, {"x-extra": "1"}),
        "empty": lambda: res.empty(),
        "redirect": lambda: res.redirect("https://example.com/next"),
        "multipart": lambda: res.text("--b--", 200, {"content-type": "multipart/form-data; boundary=b"}),
        "charset": lambda: res.text("latin", 200, {"content-type": "text/html; charset=iso-8859-1"}),
        "capitalised": lambda: res.send("{}", 200, {"Content-Type": "application/json"}),
    }
    return responses[kind]()


def _schedule_probe(context: Any) -> Any:
    return context.res.json(
        {
            "request": describe_request(context.req),
            "body_text": context.req.body_text,
            "env": environment(),
        }
    )


def _raise(context: Any) -> Any:
    raise ValueError("fixture exploded")


def _no_return(context: Any) -> Any:
    context.log("about to forget the return")
    return None


def _exit(context: Any) -> Any:
    os._exit(3)


def _sleep(context: Any) -> Any:
    if "started" in context.req.query:  # a file to create first, so a test knows main is running
        open(context.req.query["started"], "w").close()
    time.sleep(float(context.req.query.get("seconds", "0")))
    return context.res.text("slept")


def _clock(context: Any) -> Any:
    return context.res.json({"now": clock.utc_now().isoformat(), "headers": dict(context.req.headers)})


ROUTES: dict[str, Callable[[Any], Any]] = {
    "/clock": _clock,
    "/echo": _echo,
    "/body-json": _body_json,
    "/state": _state,
    "/log": _log,
    "/respond": _respond,
    "/": _schedule_probe,
    "/env": _schedule_probe,
    "/raise": _raise,
    "/no-return": _no_return,
    "/exit": _exit,
    "/sleep": _sleep,
}


if os.environ.get("FIXTURE_MAIN") == "async":

    async def main(context: Any) -> Any:
        if context.req.path == "/async-sleep":
            await asyncio.sleep(float(context.req.query.get("seconds", "0")))
            return context.res.text("awake")
        if context.req.path == "/mode":
            await asyncio.sleep(0)
            return context.res.json({"mode": "async"})
        if context.req.path == "/interleaved-print":
            tag = context.req.query["tag"]
            print(tag, "before")
            await asyncio.sleep(0.2)
            print(tag, "after")
            return context.res.text(tag)
        return ROUTES[context.req.path](context)

else:

    def main(context: Any) -> Any:
        if context.req.path == "/mode":
            return context.res.json({"mode": "sync"})
        return ROUTES[context.req.path](context)
