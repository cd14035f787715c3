"""`Emulator`: runs the application on a loopback port in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
import threading
from types import TracebackType
from typing import Any, TextIO

from aiohttp import web

from .access_log import AccessLogger, access_logger
from .auth import DEFAULT_API_KEY
from .control import EmulatorControl
from .http import build_app
from .services import Services

MAX_REQUEST_LINE = 4 * 1024 * 1024
MAX_HEADER_FIELD = 64 * 1024


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator:
    """An Appwrite-compatible server for tests and local runs.

    `with Emulator() as emu:` starts it on a free port; `emu.endpoint` is the `/v1` URL to give the
    SDK, `emu.api_key` the key holding every scope and `emu.control` the test hooks.

    `project_id` makes the emulator one project: any other `X-Appwrite-Project` is 404
    `project_not_found`, as on the server (None accepts every project). `access_log` writes one line
    per request to stderr (True) or to the given stream.
    """

    def __init__(
        self,
        data_path: str | None = None,
        api_key: str = DEFAULT_API_KEY,
        processing_seconds: float = 0.05,
        project_id: str | None = None,
        access_log: bool | TextIO = False,
    ) -> None:
        self.data_path = data_path
        self.api_key = api_key
        self.processing_seconds = processing_seconds
        self.project_id = project_id
        self.access_log: TextIO | None = sys.stderr if access_log is True else (access_log or None)
        self.host = "127.0.0.1"
        self.port = 0
        self._services: Services | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.endpoint)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve in a background thread; returns once the port accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        if not _is_loopback(host):
            raise ValueError(f"the emulator only listens on loopback, not {host!r}")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        self.host = host if host != "localhost" else "127.0.0.1"
        self.port = sock.getsockname()[1]
        self._services = Services(self.data_path, self.api_key, self.processing_seconds, self.project_id)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready, failure), name=f"emulator:{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the emulator failed to start") from failure[0]

    def _serve(self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]) -> None:
        assert self._services is not None
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            logging_options: dict[str, Any] = {"access_log": None}
            if self.access_log is not None:
                logging_options = {"access_log": access_logger(self.access_log, str(self.port)),
                                   "access_log_class": AccessLogger}
            runner = web.AppRunner(
                build_app(self._services),
                **logging_options,
                handle_signals=False,
                shutdown_timeout=0.5,
                # Appwrite accepts long query strings (100 queries of 4096 characters); aiohttp's default is 8 KiB.
                max_line_size=MAX_REQUEST_LINE,
                max_field_size=MAX_HEADER_FIELD,
            )
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
            self._runner = runner
        except BaseException as error:
            failure.append(error)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None
        self._runner = None
        if self._services is not None:
            self._services.close()
            self._services = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
