"""The Functions API (and the bits of Health and Proxy the Appwrite CLI needs to push a function).

Functions, deployments, variables, executions and proxy rules live in memory. A deployment arrives as a
multipart `tar.gz` (chunked over 5 MB with `Content-Range` and `x-appwrite-id`, as the SDKs send it), is
built in the background (`waiting` -> `processing` -> `building` -> `ready` or `failed`, build log kept)
and, when it is activated, served by the local runtime host; its HTTP address is printed on stderr.
Secret variables are set in the function's environment but their value is never returned.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from . import cron, datetimes, ids
from .auth import Caller
from .builds import BuildResult, DeployedFunction, build_deployment
from .errors import ApiError, param_missing
from .services import Services

CHUNK_SIZE = 5 * 1024 * 1024
RUNTIMES = frozenset({"python-3.8", "python-3.9", "python-3.10", "python-3.11", "python-3.12", "python-ml-3.11"})
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")

_FUNCTION_FIELDS = ("name", "execute", "events", "schedule", "timeout", "enabled", "logging", "entrypoint",
                    "commands", "scopes", "specification")  # fmt: skip
_DEFAULTS: dict[str, Any] = {
    "execute": [], "events": [], "schedule": "", "timeout": 15, "enabled": True, "logging": True,
    "entrypoint": "", "commands": "", "scopes": [], "specification": "s-1vcpu-512mb",
}  # fmt: skip

_MESSAGES = {
    "function_not_found": (404, "Function with the requested ID could not be found."),
    "function_already_exists": (409, "Function with the requested ID already exists."),
    "function_runtime_unsupported": (400, "Entrypoint for the function is not supported."),
    "deployment_not_found": (404, "Deployment with the requested ID could not be found."),
    "build_not_ready": (400, "Build with the requested ID is building and not ready for execution."),
    "variable_not_found": (404, "Variable with the requested ID could not be found."),
    "variable_already_exists": (
        409, "Variable with the same ID already exists in this project. Try again with a different ID."
    ),
    "execution_not_found": (404, "Execution with the requested ID could not be found."),
    "storage_invalid_content_range": (400, "The content range is invalid."),
}


class FunctionsError(ApiError):
    """An error of the Functions API, with the server's status and message for its type."""

    def __init__(self, error_type: str, message: str | None = None) -> None:
        status, default = _MESSAGES[error_type]
        super().__init__(error_type, message or default)
        self.status = status
        self.message = message or default


@dataclass
class Deployment:
    id: str
    function_id: str
    entrypoint: str
    commands: str
    activate: bool
    size: int
    created_at: str
    chunks_total: int
    chunks: dict[int, bytes] = field(default_factory=dict)
    status: str = "waiting"
    build_logs: str = ""
    build_duration: int = 0
    updated_at: str = ""
    archive: Path | None = None
    build: BuildResult | None = None

    def model(self) -> dict[str, Any]:
        return {
            "$id": self.id, "$createdAt": self.created_at, "$updatedAt": self.updated_at or self.created_at,
            "type": "manual", "resourceId": self.function_id, "resourceType": "functions",
            "entrypoint": self.entrypoint, "sourceSize": self.size, "buildSize": 0, "totalSize": self.size,
            "buildId": self.id, "activate": self.activate, "screenshotLight": "", "screenshotDark": "",
            "status": self.status, "buildLogs": self.build_logs, "buildDuration": self.build_duration,
            "providerRepositoryName": "", "providerRepositoryOwner": "", "providerRepositoryUrl": "",
            "providerCommitHash": "", "providerCommitAuthorUrl": "", "providerCommitAuthor": "",
            "providerCommitMessage": "", "providerCommitUrl": "", "providerBranch": "", "providerBranchUrl": "",
            "chunksTotal": self.chunks_total, "chunksUploaded": len(self.chunks),
        }  # fmt: skip


@dataclass
class Function:
    id: str
    runtime: str
    settings: dict[str, Any]
    created_at: str
    updated_at: str
    deployment_id: str = ""
    deployments: dict[str, Deployment] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    running: DeployedFunction | None = None
    project: str = ""
    endpoint: str = ""

    def model(self) -> dict[str, Any]:
        latest = max(self.deployments.values(), key=lambda d: d.created_at, default=None)
        active = self.deployments.get(self.deployment_id)
        return {
            "$id": self.id, "$createdAt": self.created_at, "$updatedAt": self.updated_at,
            **self.settings, "runtime": self.runtime, "live": True,
            "deploymentId": self.deployment_id, "deploymentCreatedAt": active.created_at if active else "",
            "latestDeploymentId": latest.id if latest else "",
            "latestDeploymentCreatedAt": latest.created_at if latest else "",
            "latestDeploymentStatus": latest.status if latest else "",
            "vars": [_variable_model(v) for v in self.variables.values()],
            "version": "v5", "installationId": "", "providerRepositoryId": "", "providerBranch": "",
            "providerRootDirectory": "", "providerSilentMode": False,
        }  # fmt: skip


def _check_schedule(body: dict[str, Any]) -> None:
    schedule = body.get("schedule")
    if not schedule:
        return
    try:
        cron.matches(str(schedule), datetime.now(UTC))
    except cron.CronError:
        message = "Invalid `schedule` param: String must be a valid cron expression"
        raise ApiError("general_argument_invalid", message) from None


def _fires(schedule: str, minute: datetime) -> bool:
    if not schedule.strip():
        return False
    try:
        return cron.matches(schedule, minute)
    except cron.CronError:
        return False


def _variable_model(variable: dict[str, Any]) -> dict[str, Any]:
    shown = dict(variable)
    if shown["secret"]:
        shown["value"] = ""
    return shown


class FunctionsService:
    """All function state of one emulator, plus the builds and hosts it started."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.RLock()
        self._functions: dict[str, Function] = {}
        self._rules: dict[str, dict[str, Any]] = {}
        self._root = Path(tempfile.mkdtemp(prefix="emulator-functions-"))
        self._closing = threading.Event()
        self._scheduler: threading.Thread | None = None

    def close(self) -> None:
        self._closing.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)
        with self._lock:
            running = [f.running for f in self._functions.values() if f.running is not None]
        for host in running:
            host.stop()
        shutil.rmtree(self._root, ignore_errors=True)

    # -- functions ------------------------------------------------------------------------------

    def get(self, function_id: str) -> Function:
        with self._lock:
            function = self._functions.get(function_id)
        if function is None:
            raise FunctionsError("function_not_found")
        return function

    def create(self, body: dict[str, Any], project: str) -> dict[str, Any]:
        for required in ("functionId", "name", "runtime"):
            if not body.get(required):
                raise param_missing(required)
        function_id = ids.resolve_custom_id(str(body["functionId"]))
        if body["runtime"] not in RUNTIMES:
            choices = ", ".join(sorted(RUNTIMES))
            raise ApiError("general_argument_invalid", f"Invalid `runtime` param: Value must be one of ({choices})")
        _check_schedule(body)
        now = datetimes.now()
        settings = {key: body.get(key, _DEFAULTS.get(key)) for key in _FUNCTION_FIELDS}
        with self._lock:
            if function_id in self._functions:
                raise FunctionsError("function_already_exists")
            function = Function(function_id, str(body["runtime"]), settings, now, now, project=project)
            self._functions[function_id] = function
            return function.model()

    def update(self, function_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("name"):
            raise param_missing("name")
        _check_schedule(body)
        with self._lock:
            function = self.get(function_id)
            for key in _FUNCTION_FIELDS:
                if key in body and body[key] is not None:
                    function.settings[key] = body[key]
            function.updated_at = datetimes.now()
            return function.model()

    def list_functions(self) -> dict[str, Any]:
        with self._lock:
            models = [f.model() for f in self._functions.values()]
        return {"total": len(models), "functions": models}

    # -- variables ------------------------------------------------------------------------------

    def create_variable(self, function_id: str, body: dict[str, Any]) -> dict[str, Any]:
        for required in ("key", "value"):
            if body.get(required) is None:
                raise param_missing(required)
        with self._lock:
            function = self.get(function_id)
            if any(v["key"] == body["key"] for v in function.variables.values()):
                raise FunctionsError("variable_already_exists")
            now = datetimes.now()
            variable_id = ids.resolve_custom_id(str(body.get("variableId") or "unique()"))
            variable = {
                "$id": variable_id, "$createdAt": now, "$updatedAt": now, "key": str(body["key"]),
                "value": str(body["value"]), "secret": bool(body.get("secret", False)),
                "resourceType": "function", "resourceId": function_id,
            }  # fmt: skip
            function.variables[variable_id] = variable
            return _variable_model(variable)

    def variable(self, function_id: str, variable_id: str) -> dict[str, Any]:
        with self._lock:
            variable = self.get(function_id).variables.get(variable_id)
        if variable is None:
            raise FunctionsError("variable_not_found")
        return variable

    def update_variable(self, function_id: str, variable_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("key"):
            raise param_missing("key")
        with self._lock:
            variable = self.variable(function_id, variable_id)
            variable["key"] = str(body["key"])
            if body.get("value") is not None:
                variable["value"] = str(body["value"])
            if body.get("secret") is not None:
                if variable["secret"] and not body["secret"]:
                    raise ApiError("general_argument_invalid", "Cannot change a secret variable to non-secret")
                variable["secret"] = bool(body["secret"])
            variable["$updatedAt"] = datetimes.now()
            return _variable_model(variable)

    def delete_variable(self, function_id: str, variable_id: str) -> None:
        with self._lock:
            self.variable(function_id, variable_id)
            del self.get(function_id).variables[variable_id]

    def list_variables(self, function_id: str) -> dict[str, Any]:
        with self._lock:
            models = [_variable_model(v) for v in self.get(function_id).variables.values()]
        return {"total": len(models), "variables": models}

    # -- deployments ----------------------------------------------------------------------------

    def receive_chunk(
        self,
        function_id: str,
        fields: dict[str, str],
        chunk: bytes,
        content_range: str | None,
        upload_id: str | None,
        endpoint: str,
    ) -> dict[str, Any]:
        if content_range is None:
            start, size = 0, len(chunk)
        else:
            match = _CONTENT_RANGE.match(content_range)
            if match is None:
                raise FunctionsError("storage_invalid_content_range")
            start, end, size = (int(group) for group in match.groups())
            if end < start or end >= size or end - start + 1 != len(chunk):
                raise FunctionsError("storage_invalid_content_range")
        total = max(1, -(-size // CHUNK_SIZE))
        with self._lock:
            function = self.get(function_id)
            function.endpoint = endpoint
            deployment = function.deployments.get(upload_id or "")
            if deployment is None:
                deployment = Deployment(
                    ids.unique_id(), function_id, fields.get("entrypoint") or function.settings["entrypoint"],
                    fields.get("commands") or function.settings["commands"],
                    fields.get("activate", "false").lower() == "true", size, datetimes.now(), total,
                )
                function.deployments[deployment.id] = deployment
            deployment.chunks[start // CHUNK_SIZE] = chunk
            complete = len(deployment.chunks) == deployment.chunks_total
            if complete:
                archive = self._root / f"{deployment.id}.tar.gz"
                archive.write_bytes(b"".join(deployment.chunks[i] for i in range(deployment.chunks_total)))
                deployment.archive = archive
                deployment.status = "processing"
            model = deployment.model()
        if complete:
            threading.Thread(target=self._build, args=(function, deployment), daemon=True).start()
        return model

    def deployment(self, function_id: str, deployment_id: str) -> Deployment:
        with self._lock:
            deployment = self.get(function_id).deployments.get(deployment_id)
        if deployment is None:
            raise FunctionsError("deployment_not_found")
        return deployment

    def list_deployments(self, function_id: str) -> dict[str, Any]:
        with self._lock:
            models = [d.model() for d in self.get(function_id).deployments.values()]
        return {"total": len(models), "deployments": models}

    def _build(self, function: Function, deployment: Deployment) -> None:
        with self._lock:
            deployment.status = "building"
            deployment.updated_at = datetimes.now()
            variables = {v["key"]: v["value"] for v in function.variables.values()}
        assert deployment.archive is not None
        result = build_deployment(
            deployment.archive, self._root / function.id / deployment.id, deployment.commands, variables
        )
        with self._lock:
            deployment.build = result
            deployment.build_logs = result.logs
            deployment.build_duration = round(result.seconds)
            deployment.status = "ready" if result.ok else "failed"
            deployment.updated_at = datetimes.now()
        if result.ok and deployment.activate:
            self.activate(function.id, deployment.id)

    def activate(self, function_id: str, deployment_id: str) -> dict[str, Any]:
        """Serve `deployment_id` (it must be ready); the previous deployment's host stops."""
        deployment = self.deployment(function_id, deployment_id)
        if deployment.status != "ready" or deployment.build is None:
            raise FunctionsError("build_not_ready")
        function = self.get(function_id)
        with self._lock:
            environment = {v["key"]: v["value"] for v in function.variables.values()}
            timeout = float(function.settings.get("timeout") or 15)
            scopes = list(function.settings.get("scopes") or [])
        environment["APPWRITE_FUNCTION_API_ENDPOINT"] = function.endpoint
        environment["APPWRITE_FUNCTION_PROJECT_ID"] = function.project
        key = "dynamic_" + secrets.token_hex(16)
        self._services.keys.add(key, scopes)
        host = DeployedFunction(
            deployment.build, function_id=function_id, deployment_id=deployment_id, entrypoint=deployment.entrypoint,
            timeout_seconds=timeout, environment=environment, api_key=key,
        )  # fmt: skip
        host.start()
        with self._lock:
            previous, function.running = function.running, host
            function.deployment_id = deployment_id
            function.updated_at = datetimes.now()
        if previous is not None:
            previous.stop()
        self._start_scheduler()
        print(f"emulator: function {function_id} deployment {deployment_id} serves at {host.url}",
              file=sys.stderr, flush=True)  # fmt: skip
        return function.model()

    def url(self, function_id: str) -> str:
        running = self.get(function_id).running
        if running is None:
            raise FunctionsError("build_not_ready")
        return running.url

    # -- executions -----------------------------------------------------------------------------

    async def execute(self, function_id: str, body: dict[str, Any]) -> dict[str, Any]:
        function = self.get(function_id)
        base = self.url(function_id)
        method = str(body.get("method") or "POST")
        path = str(body.get("path") or "/")
        headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
        started = datetimes.now()
        data = str(body.get("body") or "")
        async with aiohttp.ClientSession() as session, session.request(
            method, base + path, data=data, headers=headers
        ) as answer:
            text = await answer.text()
            status = answer.status
            response_headers = [{"name": k, "value": v} for k, v in answer.headers.items()]
        execution_id = ids.unique_id()
        execution = {
            "$id": execution_id, "$createdAt": started, "$updatedAt": datetimes.now(), "$permissions": [],
            "functionId": function_id, "deploymentId": function.deployment_id, "trigger": "http",
            "status": "completed" if status < 500 else "failed", "requestMethod": method, "requestPath": path,
            "requestHeaders": [{"name": k, "value": v} for k, v in headers.items()],
            "responseStatusCode": status, "responseBody": text, "responseHeaders": response_headers,
            "logs": "", "errors": "", "duration": 0.0, "scheduledAt": None,
        }  # fmt: skip
        with self._lock:
            function.executions[execution_id] = execution
        return execution

    async def run_schedule(self, function_id: str) -> dict[str, Any]:
        """Fire the function's scheduled execution now, as Appwrite's scheduler does for its cron."""
        url = self.url(function_id) + "/_host/schedule"
        async with aiohttp.ClientSession() as session, session.post(url) as response:
            return {"status": response.status, "body": await response.text()}

    def _start_scheduler(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                return
            self._scheduler = threading.Thread(target=self._schedule_loop, name="functions-cron", daemon=True)
        self._scheduler.start()

    def _schedule_loop(self) -> None:
        """At the start of every minute, run each served function whose `schedule` matches it."""
        while not self._closing.wait(60 - time.time() % 60 + 0.01):
            minute = datetime.now(UTC).replace(second=0, microsecond=0)
            with self._lock:
                due = [(f.id, f.running.url) for f in self._functions.values()
                       if f.running is not None and f.settings.get("enabled", True)
                       and _fires(str(f.settings.get("schedule") or ""), minute)]  # fmt: skip
            for function_id, url in due:
                try:
                    with urllib.request.urlopen(urllib.request.Request(url + "/_host/schedule", method="POST"),
                                                timeout=60) as answer:  # fmt: skip
                        print(f"emulator: scheduled run of {function_id}: {answer.status}", file=sys.stderr)
                except OSError as error:
                    print(f"emulator: scheduled run of {function_id} failed: {error}", file=sys.stderr)

    # -- proxy rules ----------------------------------------------------------------------------

    def create_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        for required in ("domain", "functionId"):
            if not body.get(required):
                raise param_missing(required)
        self.get(str(body["functionId"]))
        now = datetimes.now()
        rule = {
            "$id": ids.unique_id(), "$createdAt": now, "$updatedAt": now, "domain": str(body["domain"]),
            "type": "deployment", "trigger": "manual", "redirectUrl": "", "redirectStatusCode": 301,
            "deploymentId": "", "deploymentResourceType": "function", "deploymentResourceId": body["functionId"],
            "deploymentVcsProviderBranch": "", "status": "verified", "logs": "", "renewAt": now,
        }  # fmt: skip
        with self._lock:
            self._rules[rule["$id"]] = rule
        return rule

    def list_rules(self, queries: list[str]) -> dict[str, Any]:
        with self._lock:
            rules = list(self._rules.values())
        limit = 25
        for text in queries:
            query = json.loads(text)
            if query.get("method") == "equal":
                rules = [r for r in rules if r.get(query["attribute"]) in query["values"]]
            elif query.get("method") == "limit":
                limit = int(query["values"][0])
        return {"total": len(rules), "rules": rules[:limit]}


FUNCTIONS_KEY = web.AppKey("functions", FunctionsService)
RouteHandler = Callable[[FunctionsService, Caller, web.Request], Awaitable[web.StreamResponse]]


def _response_format_major(request: web.Request) -> int:
    """The major version of `X-Appwrite-Response-Format` (none: the server's own, 2.x)."""
    match = re.match(r"\s*(\d+)", request.headers.get("x-appwrite-response-format", ""))
    return int(match.group(1)) if match else 2


def _as_v2(value: Any) -> Any:
    """Models as the 2.x server formats them: the fields 1.x lacked, executions by resource."""
    if isinstance(value, list):
        return [_as_v2(item) for item in value]
    if not isinstance(value, dict):
        return value
    shaped = {key: _as_v2(item) for key, item in value.items()}
    if "runtime" in shaped and "vars" in shaped:  # a function
        specification = shaped.pop("specification", _DEFAULTS["specification"])
        shaped.update({"description": "", "deploymentRetention": 0, "providerBranches": [], "providerPaths": [],
                       "buildSpecification": specification, "runtimeSpecification": specification,
                       "emailEnabled": False})  # fmt: skip
    elif "trigger" in shaped and "functionId" in shaped:  # an execution
        shaped["resourceId"] = shaped.pop("functionId")
        shaped["resourceType"] = "functions"
    elif shaped.get("resourceType") == "function" and "secret" in shaped:  # a variable
        shaped["description"] = ""
    return shaped


def _respond(body: dict[str, Any] | None, status: int = 200, request: web.Request | None = None) -> web.Response:
    if body is not None and request is not None and _response_format_major(request) >= 2:
        body = _as_v2(body)
    if body is None:
        return web.Response(status=204, headers={"Content-Type": "text/html; charset=UTF-8"})
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, separators=(",", ":")))


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


def _wrap(scope: str | None, handler: RouteHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        from .http import SERVICES_KEY  # http imports this module's register

        services = request.app[SERVICES_KEY]
        try:
            hostname = (request.host or "localhost").rsplit(":", 1)[0]
            caller = services.keys.identify({k.lower(): v for k, v in request.headers.items()}, hostname)
            if scope is not None:
                caller.require([scope])
            return await handler(request.app[FUNCTIONS_KEY], caller, request)
        except ApiError as error:
            body = error.body()
            return web.json_response(body, status=int(body["code"]))

    return handle


async def _create_deployment(f: FunctionsService, c: Caller, r: web.Request) -> web.StreamResponse:
    form = await r.post()
    code = form.get("code")
    if not isinstance(code, web.FileField):
        raise param_missing("code")
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    model = f.receive_chunk(
        r.match_info["functionId"], fields, code.file.read(), r.headers.get("content-range"),
        r.headers.get("x-appwrite-id"), f"{r.scheme}://{r.host}/v1",
    )  # fmt: skip
    return _respond(model, 202, r)


async def _download(f: FunctionsService, c: Caller, r: web.Request) -> web.StreamResponse:
    deployment = f.deployment(r.match_info["functionId"], r.match_info["deploymentId"])
    if deployment.archive is None:
        raise FunctionsError("deployment_not_found")
    return web.Response(
        body=deployment.archive.read_bytes(), content_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{deployment.id}.tar.gz"'},
    )  # fmt: skip


async def _update_active(f: FunctionsService, c: Caller, r: web.Request) -> web.StreamResponse:
    body = await _json_body(r)
    if not body.get("deploymentId"):
        raise param_missing("deploymentId")
    return _respond(f.activate(r.match_info["functionId"], str(body["deploymentId"])), 200, r)


def _m(r: web.Request, name: str) -> str:
    return r.match_info[name]


def _sync(call: Callable[[FunctionsService, web.Request, dict[str, Any]], dict[str, Any] | None],
          status: int = 200) -> RouteHandler:  # fmt: skip
    async def handler(f: FunctionsService, c: Caller, r: web.Request) -> web.StreamResponse:
        body = await _json_body(r) if r.method != "GET" else {}
        return _respond(call(f, r, body), status, r)

    return handler


async def _create_function(f: FunctionsService, c: Caller, r: web.Request) -> web.StreamResponse:
    return _respond(f.create(await _json_body(r), c.project), 201, r)


async def _execute(f: FunctionsService, c: Caller, r: web.Request) -> web.StreamResponse:
    return _respond(await f.execute(_m(r, "functionId"), await _json_body(r)), 201, r)


_F = "/v1/functions/{functionId}"
_V = _F + "/variables/{variableId}"
_ROUTES: list[tuple[str, str, str | None, RouteHandler]] = [
    ("GET", "/v1/functions", "functions.read", _sync(lambda f, r, b: f.list_functions())),
    ("POST", "/v1/functions", "functions.write", _create_function),
    ("GET", _F, "functions.read", _sync(lambda f, r, b: f.get(_m(r, "functionId")).model())),
    ("PUT", _F, "functions.write", _sync(lambda f, r, b: f.update(_m(r, "functionId"), b))),
    ("PATCH", _F + "/deployment", "functions.write", _update_active),
    ("POST", _F + "/deployments", "functions.write", _create_deployment),
    ("GET", _F + "/deployments", "functions.read", _sync(lambda f, r, b: f.list_deployments(_m(r, "functionId")))),
    ("GET", _F + "/deployments/{deploymentId}", "functions.read",
     _sync(lambda f, r, b: f.deployment(_m(r, "functionId"), _m(r, "deploymentId")).model())),
    ("GET", _F + "/deployments/{deploymentId}/download", "functions.read", _download),
    ("GET", _F + "/variables", "functions.read", _sync(lambda f, r, b: f.list_variables(_m(r, "functionId")))),
    ("POST", _F + "/variables", "functions.write",
     _sync(lambda f, r, b: f.create_variable(_m(r, "functionId"), b), 201)),
    ("GET", _V, "functions.read",
     _sync(lambda f, r, b: _variable_model(f.variable(_m(r, "functionId"), _m(r, "variableId"))))),
    ("PUT", _V, "functions.write",
     _sync(lambda f, r, b: f.update_variable(_m(r, "functionId"), _m(r, "variableId"), b))),
    ("DELETE", _V, "functions.write",
     _sync(lambda f, r, b: f.delete_variable(_m(r, "functionId"), _m(r, "variableId")), 204)),
    ("POST", _F + "/executions", "execution.write", _execute),
    ("GET", "/v1/proxy/rules", "rules.read",
     _sync(lambda f, r, b: f.list_rules(r.query.getall("queries[]", []) + r.query.getall("queries", [])))),
    ("POST", "/v1/proxy/rules/function", "rules.write", _sync(lambda f, r, b: f.create_rule(b), 201)),
]  # fmt: skip


async def _control_url(request: web.Request) -> web.StreamResponse:
    functions = request.app[FUNCTIONS_KEY]
    try:
        return web.json_response({"url": functions.url(request.match_info["functionId"])})
    except ApiError as error:
        return web.json_response({"error": error.message}, status=error.status)


async def _control_schedule(request: web.Request) -> web.StreamResponse:
    functions = request.app[FUNCTIONS_KEY]
    try:
        return web.json_response(await functions.run_schedule(request.match_info["functionId"]))
    except ApiError as error:
        return web.json_response({"error": error.message}, status=error.status)


def register(app: web.Application, services: Services) -> FunctionsService:
    """Add the Functions routes (and their `/_emulator/functions/...` hooks) to `app`."""
    functions = FunctionsService(services)
    app[FUNCTIONS_KEY] = functions
    for method, path, scope, handler in _ROUTES:
        app.router.add_route(method, path, _wrap(scope, handler))
    app.router.add_route("GET", "/_emulator/functions/{functionId}/url", _control_url)
    app.router.add_route("POST", "/_emulator/functions/{functionId}/schedule", _control_schedule)

    async def _close(_: web.Application) -> None:
        functions.close()

    app.on_cleanup.append(_close)
    return functions
