"""The emulator's optional access log: one line per request with method, path, status and duration.

Only the request line's path is written (no query string, header, key or body), so nothing secret
reaches the log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TextIO

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class AccessLogger(AbstractAccessLogger):
    """`2026-01-02T03:04:05.678Z POST /v1/tablesdb/db/tables/alerts/rows 201 1.4ms`."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self.logger.info("%s %s %s %d %.1fms", stamp, request.method, request.path, response.status, time * 1000)


def access_logger(stream: TextIO, name: str) -> logging.Logger:
    """A logger of its own (not the root's), writing bare lines to `stream`."""
    logger = logging.Logger(f"devkit.emulator.access.{name}", logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger
