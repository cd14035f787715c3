"""The `/_emulator/...` test hooks (no auth; the server only listens on loopback).

They answer JSON; a malformed request is 400 `{"error": "..."}`. `EmulatorControl` is their client.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .errors import ApiError
from .hooks import FAULT_MODES, PROVIDER_TYPES, Fault
from .services import Services

ControlHandler = Callable[[Services, dict[str, Any]], dict[str, Any]]


class ControlError(Exception):
    pass


def _field(body: dict[str, Any], name: str, kinds: type | tuple[type, ...], default: Any = ...) -> Any:
    if name not in body or body[name] is None:
        if default is ...:
            raise ControlError(f"missing field {name!r}")
        return default
    value = body[name]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise ControlError(f"field {name!r} has the wrong type")
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _reset(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    services.reset()
    return {"ok": True}


def _latency(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    milliseconds = float(_field(body, "ms", (int, float)))
    if milliseconds < 0:
        raise ControlError("latency must not be negative")
    services.hooks.latency_seconds = milliseconds / 1000.0
    return {"ok": True}


def _add_fault(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    try:
        pattern = re.compile(_field(body, "path", str))
    except re.error as error:
        raise ControlError(f"invalid path pattern: {error}") from error
    mode = _field(body, "mode", str, "status")
    if mode not in FAULT_MODES:
        raise ControlError(f"mode must be one of {', '.join(FAULT_MODES)}")
    method = _field(body, "method", str, None)
    count = _field(body, "count", int, 1)
    status = _field(body, "status", int, 503)
    if count < 1 or not 100 <= status <= 599:
        raise ControlError("count must be positive and status an HTTP status")
    services.hooks.add_fault(Fault(
        path=pattern,
        method=method.upper() if method else None,
        remaining=count,
        mode=mode,
        status=status,
        retry_after=_field(body, "retry_after", int, None),
        delay_seconds=float(_field(body, "delay_seconds", (int, float), 0.0)),
    ))
    return {"ok": True}


def _clear_faults(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    services.hooks.clear_faults()
    return {"ok": True}


def _calls(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    return {"calls": services.hooks.calls(), "byTable": services.hooks.calls_by_table()}


def _reset_calls(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    services.hooks.reset_calls()
    return {"ok": True}


def _add_key(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    key = _field(body, "key", str)
    scopes = _field(body, "scopes", list)
    if not key or not all(isinstance(scope, str) for scope in scopes):
        raise ControlError("key must be non-empty and scopes a list of strings")
    services.keys.add(key, scopes)
    return {"ok": True}


def _fail_schema(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    kind = _field(body, "kind", str)
    outcome = _field(body, "outcome", str)
    if kind not in ("column", "index") or outcome not in ("stuck", "failed"):
        raise ControlError("kind must be column|index and outcome stuck|failed")
    services.hooks.fail_schema(kind, _field(body, "key", str), outcome, _field(body, "error", str, ""))
    return {"ok": True}


def _enable_provider(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    provider_type = _field(body, "type", str)
    if provider_type not in PROVIDER_TYPES:
        raise ControlError(f"type must be one of {', '.join(PROVIDER_TYPES)}")
    services.hooks.enable_provider(provider_type)
    return {"ok": True}


def _add_subscribers(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    provider_type = _field(body, "providerType", str)
    count = _field(body, "count", int)
    if provider_type not in PROVIDER_TYPES or count < 0:
        raise ControlError("providerType must be push|sms|email and count not negative")
    return services.messaging.add_subscribers(_field(body, "topicId", str), provider_type, count)


def _health(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok"}


_HANDLERS: list[tuple[str, str, ControlHandler]] = [
    ("GET", "/_emulator/health", _health),
    ("POST", "/_emulator/reset", _reset),
    ("POST", "/_emulator/latency", _latency),
    ("POST", "/_emulator/faults", _add_fault),
    ("DELETE", "/_emulator/faults", _clear_faults),
    ("GET", "/_emulator/calls", _calls),
    ("DELETE", "/_emulator/calls", _reset_calls),
    ("POST", "/_emulator/keys", _add_key),
    ("POST", "/_emulator/schema-failures", _fail_schema),
    ("POST", "/_emulator/providers", _enable_provider),
    ("POST", "/_emulator/subscribers", _add_subscribers),
]


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _wrap(services: Services, handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        if not _is_loopback(request.remote):
            return web.json_response({"error": "control hooks answer loopback clients only"}, status=403)
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ControlError("the body must be a JSON object")
            return web.json_response(handler(services, body))
        except (ControlError, ValueError) as error:
            return web.json_response({"error": str(error)}, status=400)
        except ApiError as error:
            return web.json_response({"error": error.message}, status=error.status)

    return handle


def register(app: web.Application, services: Services) -> None:
    for method, path, handler in _HANDLERS:
        app.router.add_route(method, path, _wrap(services, handler))
