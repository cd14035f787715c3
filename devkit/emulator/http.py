"""The aiohttp application: `/v1` request handling (latency, faults, auth, errors, call counts).

Every `/v1` request is counted under "METHOD /route/template", then waits the configured latency,
then meets the first armed fault matching it, then is authenticated and dispatched. Failures
become Appwrite error JSON; unknown routes are 404 `general_route_not_found`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devkit.appwrite_version import SERVER_VERSION

from . import control_routes, functions
from .api import ROUTES, Route
from .errors import ApiError, error_body, error_for_status
from .formats import for_format, warning_for
from .hooks import Fault
from .params import Params
from .services import Services

SERVICES_KEY = web.AppKey("services", Services)
_log = logging.getLogger("devkit.emulator")


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _error(error: ApiError) -> web.Response:
    body = error.body()
    return _json(body, int(body["code"]))


def _fault_response(fault: Fault) -> web.Response:
    error_type, message = error_for_status(fault.status)
    # Not masked like the server's own errors: a fault stands for whatever answered (proxy included).
    body = {"message": message, "code": fault.status, "type": error_type, "version": SERVER_VERSION}
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    return _json(body, fault.status, headers)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without answering; the client sees a dropped connection."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    if template.startswith("/v1"):
        template = template[3:]
    return f"{request.method} {template or '/'}"


async def _params(request: web.Request) -> Params:
    if request.method == "GET":
        return Params.from_query(list(request.query.items()))
    return Params.from_json(await request.read())


def _dispatch(route: Route, request: web.Request, services: Services, params: Params) -> web.Response:
    hostname = (request.host or "localhost").rsplit(":", 1)[0]
    headers = {key.lower(): value for key, value in request.headers.items()}
    caller = services.keys.identify(headers, hostname)
    body = route.handler(services, caller, dict(request.match_info), params)
    if route.status == 204:
        # The SDK reads Content-Type on every answer, so even "no content" carries one.
        return web.Response(status=204, headers={"Content-Type": "text/html; charset=UTF-8"})
    return _json(for_format(body, headers.get("x-appwrite-response-format", "")), route.status)


def _make_handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES_KEY]
        try:
            params = await _params(request)
            return _dispatch(route, request, services, params)
        except ApiError as error:
            return _error(error)

    return handle


@web.middleware
async def v1_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not request.path.startswith("/v1"):
        return await handler(request)
    hooks = request.app[SERVICES_KEY].hooks
    route = _route_name(request)
    table = request.match_info.get("tableId")
    hooks.count_call(route, route.replace("{tableId}", table) if table else None)
    if hooks.latency_seconds > 0:
        await asyncio.sleep(hooks.latency_seconds)
    fault = hooks.take_fault(request.method, request.path[3:])
    if fault is not None:
        if fault.mode == "status":
            return _fault_response(fault)
        if fault.mode == "drop_before":
            return _drop(request)
        if fault.mode == "delay":
            await asyncio.sleep(fault.delay_seconds)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status in (404, 405):
            response = _error(ApiError("general_route_not_found"))
        else:
            raise
    except Exception as error:
        # A bug in the emulator: answer like the server's masked 500, and show the traceback.
        _log.exception("unexpected failure handling %s %s", request.method, request.path)
        response = _json(error_body(500, "general_unknown", str(error)), 500)
    if fault is not None and fault.mode == "drop_after":
        return _drop(request)
    warning = warning_for(request.headers.get("X-Appwrite-Response-Format", ""))
    if warning is not None:
        response.headers["X-Appwrite-Warning"] = warning
    return response


def build_app(services: Services) -> web.Application:
    app = web.Application(middlewares=[v1_middleware], client_max_size=20 * 1024 * 1024)
    app[SERVICES_KEY] = services
    for route in ROUTES:
        app.router.add_route(route.method, "/v1" + route.path, _make_handler(route))
    control_routes.register(app, services)
    functions.register(app, services)
    return app
