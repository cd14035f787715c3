"""A counting HTTP relay between the function and the emulator, to see how many Appwrite calls overlap.

The SDK opens one connection per call and sends a body with a Content-Length, so a plain threaded
relay suffices: each request is forwarded on a fresh connection and its answer is returned whole. The
relay records how many requests were in flight at once and, per request, when it started and ended. It
adds a little time per call, so it is used only for the overlap probe, never for the timed table.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
                         "te", "trailer", "upgrade"})


@dataclass
class Traffic:
    in_flight: int = 0
    max_in_flight: int = 0
    # (request line, start, end) of every request relayed, in the order they ended.
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.in_flight = 0
            self.max_in_flight = 0
            self.spans = []

    def busy_seconds(self) -> float:
        """The sum of every request's own duration: the time a one-at-a-time client would have waited."""
        with self.lock:
            return sum(end - start for _, start, end in self.spans)


class CountingRelay:
    """Relays `http://127.0.0.1:<port>/<path>` to the same path on `upstream`'s host and port; `endpoint` is
    `upstream` with the relay's address (same path, such as `/v1`)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._base_path = parts.path.rstrip("/")
        self.traffic = Traffic()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _relay(self) -> None:
                relay.forward(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-relay", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self._base_path}"

    def forward(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        payload = request.rfile.read(length) if length else None
        traffic = self.traffic
        with traffic.lock:
            traffic.in_flight += 1
            traffic.max_in_flight = max(traffic.max_in_flight, traffic.in_flight)
        started = time.perf_counter()
        try:
            upstream = http.client.HTTPConnection(self._host, self._port, timeout=60)
            try:
                headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream.request(request.command, request.path, body=payload, headers=headers)
                answer = upstream.getresponse()
                content = answer.read()
                reply_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
                status = answer.status
            finally:
                upstream.close()
        finally:
            ended = time.perf_counter()
            with traffic.lock:
                traffic.in_flight -= 1
                traffic.spans.append((f"{request.command} {request.path}", started, ended))
        request.send_response(status)
        for name, value in reply_headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(content)))
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(content)
        request.close_connection = True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
