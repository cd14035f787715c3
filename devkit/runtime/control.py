"""The channel between the host process and each worker process: a socket pair, one line per message.

The host sends the worker's configuration as one JSON line; the worker answers `ready <pid>` once it is
serving, or `error <message>` if it cannot. The host then keeps its end open until it sends `stop`. End of
file without `stop` means the host died: the worker removes the host's scratch directory and exits, so no
worker and no temporary file outlives a killed host.
The API key travels here rather than on the command line, where `ps` would show it.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass

READY = "ready"
ERROR = "error"
STOP = "stop"
MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs besides its environment (which is the function's environment)."""

    sandbox: str
    entrypoint: str
    port: int
    api_key: str
    timeout_seconds: float
    log_file: str | None
    echo: bool
    scratch: str | None = None
    """The host's temporary directory, removed by the last worker standing if the host dies."""

    def to_line(self) -> bytes:
        return (json.dumps(asdict(self)) + "\n").encode("utf-8")

    @classmethod
    def from_line(cls, line: str) -> WorkerConfig:
        return cls(**json.loads(line))


def send_line(sock: socket.socket, text: str) -> None:
    sock.sendall((text.replace("\n", " ") + "\n").encode("utf-8"))


def receive_line(sock: socket.socket) -> str | None:
    """Read up to and including a newline, blocking; `None` if the peer closed first."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_LINE_BYTES:
            raise ValueError("control line too long")
    return data[:-1].decode("utf-8")
