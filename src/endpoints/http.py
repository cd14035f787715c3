"""The function's HTTP vocabulary: the request as the endpoints read it, the reply they give, and the two
things every endpoint that talks to Appwrite does alike: open the store, and answer an Appwrite failure.

Status codes follow Alertmanager's retry rule: 2xx done, 5xx retried, 4xx not retried. An Appwrite outage is
503 (retry), a refusal a retry cannot fix (key, scope, missing table) is 500 with a log line saying what to do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..delivery.port import Store
from ..errors import AppwriteError, TransientAppwriteError
from ..messages.render import Linker, no_links
from ..settings import Settings
from .auth import refusal

if TYPE_CHECKING:
    from ..jobs.claims import EpisodeLinker
    from ..oncall.announce import Signer

Log = Callable[[str], None]
StoreFactory = Callable[[Settings, str, float], Store]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Request:
    """An execution's request as the endpoints read it: header names lower-cased, the body as bytes."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: str = ""
    scheme: str = ""

    @property
    def scheduled(self) -> bool:
        """Appwrite's cron trigger. Appwrite sets `x-appwrite-*` itself on every domain request, so a caller
        cannot pose as it; still, only a POST with an empty body is taken for one."""
        return (self.method.upper() == "POST" and not self.body
                and self.headers.get("x-appwrite-trigger", "").strip().lower() == "schedule")

    @property
    def route(self) -> str:
        return self.path.rstrip("/")


@dataclass(frozen=True)
class Reply:
    """A JSON object, or for a `str` body plain text with the content type in `headers`."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What every endpoint is given besides the request: valid settings, the store factory, time and logs."""

    settings: Settings
    make_store: StoreFactory
    now: Clock
    log: Log
    error: Log


# The readiness check (`health`); every other GET but `/metrics` and `/ack` is the liveness check.
HEALTH_PATH = "/health"
NOT_FOUND = Reply(404, {"error": "not found"})
UNAUTHORIZED = Reply(401, {"error": "missing or invalid bearer token"}, {"www-authenticate": "Bearer"})
NO_API_KEY = Reply(500, {"error": "the function has no Appwrite API key; see its error log"})


_UNPRINTABLE = re.compile(r"[^0-9A-Za-z.:\[\]%_-]")


def caller_address(request: Request) -> str:
    """The caller's address as the runtime gives it: Appwrite's `x-appwrite-client-ip`, else the first hop of
    `x-forwarded-for`; cut to what an address can hold, so a forged header cannot forge log lines."""
    raw = (request.headers.get("x-appwrite-client-ip", "").strip()
           or request.headers.get("x-forwarded-for", "").split(",")[0].strip())
    return _UNPRINTABLE.sub("?", raw[:64]) or "unknown"


def refused(request: Request, context: Context, tokens: tuple[str, ...], what: str) -> Reply | None:
    """401 (logged with the reason and the caller's address, never the token) unless a token in `tokens` is
    presented."""
    reason = refusal(request.headers, tokens)
    if reason is None:
        return None
    context.error(f"{what} refused (401): {reason}; caller {caller_address(request)}")
    return UNAUTHORIZED


def open_store(request: Request, context: Context, started: float) -> Store | None:
    """The store for this execution, its time budget counted from `started`; None (logged) without an API key."""
    key = request.headers.get("x-appwrite-key", "") or context.settings.fallback_api_key
    if not key:
        context.error("no Appwrite API key: Appwrite passes one in x-appwrite-key; elsewhere set APPWRITE_API_KEY")
        return None
    return context.make_store(context.settings, key, started + context.settings.time_budget_seconds)


def appwrite_failed(exc: AppwriteError, what: str, *, retry_after: bool = True) -> Reply:
    """The answer to a failed Appwrite call: 503 when a retry can help, else 500 (the log says what to fix)."""
    if isinstance(exc, TransientAppwriteError):
        headers = {"retry-after": "5"} if retry_after else {}
        return Reply(503, {"error": "Appwrite is unavailable; retry later"}, headers)
    return Reply(500, {"error": f"Appwrite refused the {what}; see the function's error log"})


def signer(request: Request, settings: Settings, moment: datetime) -> Signer:
    """Makes the acknowledge links of this execution's messages (none while ACK_SIGNING_KEY is unset)."""
    from ..oncall.announce import Signer
    from ..oncall.links import base_url

    return Signer(settings.ack_signing_key, base_url(settings.public_url, request.scheme,
                                                     request.headers.get("host", "")), moment)


def linkers(request: Request, settings: Settings, moment: datetime) -> tuple[Linker, EpisodeLinker | None]:
    """The acknowledge links of a delivery's messages (`signer`'s), and of the messages a retry rebuilds from
    claims (by episode); none at all while ACK_SIGNING_KEY is unset (then the links' modules are not even
    loaded)."""
    if not settings.ack_signing_key:
        return no_links, None
    links = signer(request, settings, moment)
    return links, links.link


def elapsed_ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f}"
