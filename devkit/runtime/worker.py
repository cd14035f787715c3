"""A worker process: one aiohttp server on the shared port, running executions of the function.

Started by `FunctionHost` as `python -m devkit.runtime.worker <control-fd>`; like a gunicorn worker of Open
Runtimes it imports the function once and keeps it, so module state lives as long as the process. Several
workers bind the same port with `SO_REUSEPORT` and the kernel spreads connections between them.

Routes: `/__opr/health` (the runtime's own health check), `POST /_host/schedule` (run a scheduled
execution now), and everything else goes to the function as an HTTP-triggered execution.

A request carrying `x-devkit-clock-offset-seconds: N` runs as if N seconds later: the function's clock
(`src/clock.py`) is shifted for that execution (executions of a worker run one at a time) and the header is not
passed on. The benchmark and tests use it to deliver as Alertmanager would minutes later.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from devkit.runtime import capture, control, gateway
from devkit.runtime.loader import activate_sandbox, module_name
from devkit.runtime.records import ExecutionRecord, append_record, format_record
from devkit.runtime.runtime import FunctionRuntime, Invocation, Outcome

HEALTH_PATH = "/__opr/health"
SCHEDULE_PATH = "/_host/schedule"
MAX_BODY_BYTES = 20 * 1024 * 1024  # the runtime's aiohttp client_max_size
SHUTDOWN_GRACE_SECONDS = 2.0

_DEVKIT_ROOT = Path(__file__).resolve().parents[2]
CLOCK_OFFSET_HEADER = "x-devkit-clock-offset-seconds"


@contextmanager
def shifted_clock(offset_seconds: float) -> Iterator[None]:
    """The function's `clock.utc_now` running `offset_seconds` ahead, for the duration."""
    if not offset_seconds:
        yield
        return
    try:
        clock = importlib.import_module(module_name("src/clock.py"))
    except ModuleNotFoundError:  # a function without our clock module runs on the wall clock
        yield
        return
    real: Callable[[], datetime] = getattr(clock, "utc_now")  # noqa: B009 (the module is the function's, untyped here)

    def later() -> datetime:
        return real() + timedelta(seconds=offset_seconds)

    setattr(clock, "utc_now", later)  # noqa: B010
    try:
        yield
    finally:
        setattr(clock, "utc_now", real)  # noqa: B010


class Worker:
    """Serves executions for one worker process."""

    def __init__(self, config: control.WorkerConfig) -> None:
        self._config = config
        self._runtime = FunctionRuntime(
            Path(config.sandbox), entrypoint=config.entrypoint, timeout_seconds=config.timeout_seconds
        )
        self._log_file = Path(config.log_file) if config.log_file else None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == HEALTH_PATH:
            return web.Response(text="OK")
        execution_id = gateway.new_execution_id()
        offset = float(request.headers.get(CLOCK_OFFSET_HEADER) or 0)
        if request.path == SCHEDULE_PATH and request.method == "POST":
            invocation = gateway.scheduled_invocation(
                host=request.host, api_key=self._config.api_key, execution_id=execution_id
            )
            trigger = gateway.Trigger.SCHEDULE.value
        else:
            try:
                body = await request.read()
            except web.HTTPClientError as exc:  # body over the size limit
                return exc
            invocation = gateway.http_invocation(
                method=request.method,
                path=request.path,
                query_string=request.rel_url.query_string,
                caller_headers=[(k, v) for k, v in request.headers.items() if k.lower() != CLOCK_OFFSET_HEADER],
                body=body,
                api_key=self._config.api_key,
                execution_id=execution_id,
                client_ip=request.remote or "",
            )
            trigger = gateway.Trigger.HTTP.value
        started = time.perf_counter()
        with shifted_clock(offset):
            outcome = await self._runtime.execute(invocation)
        duration_ms = (time.perf_counter() - started) * 1000
        # Written before the response leaves, so a client that got its answer can already read the record.
        self._record(execution_id, invocation, trigger, outcome, duration_ms)
        return web.Response(body=outcome.body, status=outcome.status, headers=outcome.headers)

    def _record(
        self, execution_id: str, invocation: Invocation, trigger: str, outcome: Outcome, duration_ms: float
    ) -> None:
        record = ExecutionRecord(
            executionId=execution_id,
            method=invocation.method,
            path=invocation.path,
            trigger=trigger,
            statusCode=outcome.status,
            durationMs=round(duration_ms, 1),
            logs=outcome.logs,
            errors=outcome.errors,
            pid=os.getpid(),
        )
        if self._log_file is not None:
            append_record(self._log_file, record)
        if self._config.echo and sys.__stdout__ is not None:
            sys.__stdout__.write(format_record(record))
            sys.__stdout__.flush()


async def serve(config: control.WorkerConfig, channel: socket.socket) -> bool:
    """Serve until SIGTERM, `stop` or the end of the control channel; True if the host vanished."""
    runner = web.AppRunner(Worker(config).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, "127.0.0.1", config.port, reuse_port=True, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    try:
        await site.start()
    except OSError as exc:
        control.send_line(channel, f"{control.ERROR} cannot listen on 127.0.0.1:{config.port}: {exc}")
        await runner.cleanup()
        return False

    stop = asyncio.Event()
    host_vanished = False
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def on_channel_readable() -> None:
        nonlocal host_vanished
        try:
            data = channel.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            host_vanished = True
        stop.set()  # `stop` is the only message the host sends after the configuration

    control.send_line(channel, f"{control.READY} {os.getpid()}")
    channel.setblocking(False)
    loop.add_reader(channel.fileno(), on_channel_readable)
    await stop.wait()
    loop.remove_reader(channel.fileno())
    await runner.cleanup()
    return host_vanished


def _remove_scratch(scratch: Path) -> None:
    """Remove the dead host's temporary directory, never following the link into the function."""
    (scratch / "sandbox" / "function").unlink(missing_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)


def _isolate_import_path() -> None:
    """Drop the devkit's own directory from `sys.path` so the function cannot import what Appwrite lacks.

    `python -m` put the working directory (the repository holding `devkit`) first; with it, `import src`
    would work here and fail on Appwrite.
    """
    sys.path[:] = [entry for entry in sys.path if entry and Path(entry).resolve() != _DEVKIT_ROOT]


def main(argv: list[str]) -> int:
    channel = socket.socket(fileno=int(argv[1]))
    line = control.receive_line(channel)
    if line is None:
        return 0
    config = control.WorkerConfig.from_line(line)
    # Ctrl-C reaches the whole process group; the host decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _isolate_import_path()
    sandbox = Path(config.sandbox)
    activate_sandbox(sandbox)
    os.chdir(sandbox)  # the runtime's working directory also holds `function/`
    capture.install()
    host_vanished = asyncio.run(serve(config, channel))
    if host_vanished and config.scratch:
        _remove_scratch(Path(config.scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
