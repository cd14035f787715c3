"""`FunctionHost`: serve a function directory over HTTP the way Appwrite and Open Runtimes would.

The host process starts `workers` worker processes (`devkit.runtime.worker`), each serving the same port,
waits until every one reports it is serving, restarts any that dies while the host runs (as gunicorn does),
and on `stop()` ends them all: SIGTERM, then SIGKILL for one stuck in a synchronous `main`. Each worker also
exits by itself when the host's end of its control channel closes without a `stop`, so none outlives a
killed host; they then remove the host's temporary directory too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devkit.runtime import control
from devkit.runtime.envfile import read_env_file
from devkit.runtime.environment import function_environment
from devkit.runtime.loader import prepare_sandbox
from devkit.runtime.records import read_records

HOST = "127.0.0.1"
_DEVKIT_ROOT = Path(__file__).resolve().parents[2]
_STOP_GRACE_SECONDS = 5.0
_SUPERVISE_INTERVAL_SECONDS = 0.1
_RESTART_BACKOFF_SECONDS = 1.0


class HostError(RuntimeError):
    """The host could not start (port taken, a worker failed to serve, ...)."""


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    channel: socket.socket


def _claim_port(port: int) -> tuple[int, socket.socket]:
    """Check the port is free and hold it until the workers listen on it.

    The probe has no `SO_REUSEPORT`, so it also fails when another reuse-port server (say an earlier
    `serve.py`) listens there: the kernel would otherwise quietly share the port between the two. The
    returned placeholder is bound with `SO_REUSEPORT` but never listens, so it receives no connections.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, port))
        port = probe.getsockname()[1]
    except OSError as exc:
        raise HostError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from exc
    finally:
        probe.close()
    placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    placeholder.bind((HOST, port))
    return port, placeholder


class FunctionHost:
    """Serves `function_dir` (its `src/main.py`) on `http://127.0.0.1:<port>`.

    `env` holds the function's variables as Appwrite would set them (`APPWRITE_FUNCTION_API_ENDPOINT`,
    `APPWRITE_FUNCTION_PROJECT_ID`, `WEBHOOK_TOKEN`, ...) and wins over the process environment and over
    `env_file`. `api_key` is sent to the function as `x-appwrite-key`. Execution records go to `log_file`, or
    to a temporary file removed by `stop()`; `echo` also prints them on stdout.
    """

    def __init__(
        self,
        function_dir: Path,
        *,
        port: int = 0,
        env: Mapping[str, str] | None = None,
        api_key: str | None = None,
        workers: int = 1,
        timeout_seconds: float = 15,
        log_file: Path | None = None,
        env_file: Path | None = None,
        entrypoint: str = "src/main.py",
        function_id: str | None = None,
        echo: bool = True,
        start_timeout_seconds: float = 30,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be greater than 0")
        self._function_dir = Path(function_dir).resolve()
        self._requested_port = port
        self._env = dict(env or {})
        self._api_key = api_key or ""
        self._worker_count = workers
        self._timeout = timeout_seconds
        self._log_file = Path(log_file).resolve() if log_file is not None else None
        self._env_file = env_file
        self._entrypoint = entrypoint
        self._function_id = function_id or self._function_dir.name
        self._echo = echo
        self._start_timeout = start_timeout_seconds

        self._port: int | None = None
        self._scratch: Path | None = None
        self._environment: dict[str, str] = {}
        self._config: control.WorkerConfig | None = None
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._final_records: list[dict[str, Any]] | None = None

    # -- public API -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the host is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        """Where execution records are appended (a temporary file when none was given)."""
        if self._log_file is None:
            raise RuntimeError("the host is not started")
        return self._log_file

    @property
    def pids(self) -> list[int]:
        """Process IDs of the running workers."""
        with self._lock:
            return [worker.process.pid for worker in self._workers]

    def start(self) -> None:
        """Start the workers; returns once every one of them is serving."""
        if self._port is not None:
            raise RuntimeError("the host is already started")
        if not self._function_dir.is_dir():
            raise HostError(f"function directory not found: {self._function_dir}")
        self._scratch = Path(tempfile.mkdtemp(prefix="devkit-runtime-"))
        try:
            self._start_in(self._scratch)
        except BaseException:
            self._shutdown()
            raise

    def stop(self) -> None:
        """Stop every worker and remove temporary files; safe to call more than once."""
        self._shutdown()

    def logs(self) -> list[dict[str, Any]]:
        """The JSON record of every execution so far, oldest first."""
        if self._final_records is not None:
            return list(self._final_records)
        return read_records(self.log_file)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- starting ---------------------------------------------------------------------------------

    def _start_in(self, scratch: Path) -> None:
        sandbox = scratch / "sandbox"
        prepare_sandbox(sandbox, self._function_dir)
        if self._log_file is None:
            self._log_file = scratch / "executions.jsonl"
        self._log_file.parent.mkdir(parents=True, exist_ok=True)
        self._environment = function_environment(
            base=os.environ,
            file_variables=read_env_file(self._env_file) if self._env_file is not None else {},
            overrides=self._env,
            function_id=self._function_id,
            function_name=self._function_id,
            workers=self._worker_count,
        )
        port, placeholder = _claim_port(self._requested_port)
        try:
            self._config = control.WorkerConfig(
                sandbox=str(sandbox),
                entrypoint=self._entrypoint,
                port=port,
                api_key=self._api_key,
                timeout_seconds=self._timeout,
                log_file=str(self._log_file),
                echo=self._echo,
                scratch=str(scratch),
            )
            self._port = port
            pending = [self._spawn() for _ in range(self._worker_count)]
            with self._lock:
                self._workers.extend(pending)
            deadline = time.monotonic() + self._start_timeout
            for worker in pending:
                self._await_ready(worker, deadline)
        finally:
            placeholder.close()
        self._supervisor = threading.Thread(target=self._supervise, name="function-host-supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self) -> _Worker:
        assert self._config is not None
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "devkit.runtime.worker", str(theirs.fileno())],
                cwd=_DEVKIT_ROOT,
                env=self._environment,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        ours.sendall(self._config.to_line())
        return _Worker(process, ours)

    def _await_ready(self, worker: _Worker, deadline: float) -> None:
        worker.channel.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            line = control.receive_line(worker.channel)
        except TimeoutError:
            raise HostError(f"worker {worker.process.pid} did not start within {self._start_timeout} s") from None
        if line is None:
            code = worker.process.wait()
            raise HostError(f"worker {worker.process.pid} exited with code {code} before serving")
        if not line.startswith(control.READY):
            raise HostError(line.removeprefix(control.ERROR).strip())
        worker.channel.settimeout(None)

    # -- supervising ------------------------------------------------------------------------------

    def _supervise(self) -> None:
        while not self._stopping.wait(_SUPERVISE_INTERVAL_SECONDS):
            with self._lock:
                dead = [worker for worker in self._workers if worker.process.poll() is not None]
            for worker in dead:
                if self._stopping.is_set():
                    return
                self._replace(worker)

    def _replace(self, dead: _Worker) -> None:
        print(
            f"function host: worker {dead.process.pid} exited with code {dead.process.returncode}; "
            "starting another",
            file=sys.stderr,
        )
        dead.channel.close()
        worker: _Worker | None = None
        try:
            worker = self._spawn()
            self._await_ready(worker, time.monotonic() + self._start_timeout)
        except (HostError, OSError) as exc:
            print(f"function host: could not restart a worker: {exc}", file=sys.stderr)
            if worker is not None:
                worker.channel.close()
                worker.process.kill()
                worker.process.wait()
            self._stopping.wait(_RESTART_BACKOFF_SECONDS)  # the dead slot is retried on the next round
            return
        with self._lock:
            self._workers[self._workers.index(dead)] = worker

    # -- stopping ---------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            with contextlib.suppress(OSError):  # a worker that already died has closed its end
                control.send_line(worker.channel, control.STOP)
            worker.channel.close()
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for worker in workers:
            try:
                worker.process.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
        if self._scratch is not None:
            if self._log_file is not None and self._log_file.is_relative_to(self._scratch):
                self._final_records = read_records(self._log_file)
            (self._scratch / "sandbox" / "function").unlink(missing_ok=True)  # never walk into the function
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
