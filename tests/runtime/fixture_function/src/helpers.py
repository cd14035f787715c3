"""Sibling module of the fixture entrypoint, reachable only through a relative import (as on Appwrite)."""

from __future__ import annotations

import os
from typing import Any

ENV_NAMES = (
    "APPWRITE_FUNCTION_API_ENDPOINT",
    "APPWRITE_FUNCTION_PROJECT_ID",
    "APPWRITE_FUNCTION_ID",
    "APPWRITE_FUNCTION_NAME",
    "APPWRITE_FUNCTION_RUNTIME_NAME",
    "APPWRITE_FUNCTION_RUNTIME_VERSION",
    "APPWRITE_FUNCTION_CPUS",
    "APPWRITE_VERSION",
    "FIXTURE_GREETING",
    "WEBHOOK_TOKEN",
)


def describe_request(req: Any) -> dict[str, Any]:
    """Every `context.req` member that is not the body, as JSON-friendly values."""
    return {
        "method": req.method,
        "path": req.path,
        "query_string": req.query_string,
        "query": req.query,
        "scheme": req.scheme,
        "host": req.host,
        "port": req.port,
        "url": req.url,
        "headers": req.headers,
    }


def describe_body(req: Any) -> dict[str, Any]:
    """The body through each of its accessors."""
    return {
        "binary_hex": req.body_binary.hex(),
        "text": req.body_text,
        "raw": req.body_raw,
        "body": req.body,
    }


def environment() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in ENV_NAMES}
