"""Who is calling: API keys and their scopes, guests, and the scope check every endpoint makes.

With a configured project ID, any other non-empty `X-Appwrite-Project` is 404 `project_not_found`
(the server's first check); without one, every project is accepted. A known key acts with its
scopes (plus the `keys` role's base scopes) and bypasses row permissions. An unknown key, or none,
makes the caller a guest. A key sent without the project header is refused with 403
`project_id_missing`, as the server does when the key's project and the header differ.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import ApiError

DEFAULT_API_KEY = "standard_local-emulator-key"

GUEST_SCOPES = frozenset({
    "global", "public", "home", "console", "graphql", "sessions.write", "documents.read",
    "documents.write", "rows.read", "rows.write", "embeddings.write", "files.read", "files.write",
    "locale.read", "avatars.read", "executions.write",
})  # fmt: skip
KEY_BASE_SCOPES = frozenset({"global", "health.read", "graphql"})
# Every scope an endpoint of this emulator asks for; the configured key holds them all.
ALL_SCOPES = frozenset({
    "databases.read", "databases.write", "tables.read", "tables.write", "collections.read",
    "collections.write", "columns.read", "columns.write", "attributes.read", "attributes.write",
    "indexes.read", "indexes.write", "rows.read", "rows.write", "documents.read", "documents.write",
    "topics.read", "topics.write", "messages.read", "messages.write", "subscribers.read",
    "subscribers.write", "providers.read", "providers.write", "targets.read", "targets.write",
    "functions.read", "functions.write", "execution.read", "execution.write", "rules.read", "rules.write",
})  # fmt: skip


@dataclass(frozen=True)
class Caller:
    """The resolved identity of one request."""

    is_key: bool
    project: str
    scopes: frozenset[str]
    label: str  # for the missing-scope message
    hostname: str

    @property
    def roles(self) -> tuple[str, ...]:
        """Permission roles for row-level checks (keys skip those checks entirely)."""
        return () if self.is_key else ("any", "guests")

    def require(self, allowed: Iterable[str]) -> None:
        """The server's scope check: any one of `allowed` suffices."""
        accepted = list(allowed)
        if self.scopes.isdisjoint(accepted):
            who = f"app.{self.project}@service.{self.hostname}" if self.is_key else "User"
            scopes_json = "[" + ",".join(f'"{scope}"' for scope in accepted) + "]"
            raise ApiError(
                "general_unauthorized_scope",
                f"{who} (role: {self.label.lower()}) missing scopes ({scopes_json})",
            )


class KeyRing:
    """The keys this emulator knows, each with its scopes."""

    def __init__(self, api_key: str, project_id: str | None = None) -> None:
        self._default = api_key
        self._project_id = project_id
        self._lock = threading.Lock()
        self._keys: dict[str, frozenset[str]] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._keys = {self._default: ALL_SCOPES}

    def add(self, key: str, scopes: Iterable[str]) -> None:
        with self._lock:
            self._keys[key] = frozenset(scopes)

    def identify(self, headers: Mapping[str, str], hostname: str) -> Caller:
        project = headers.get("x-appwrite-project", "")
        key = headers.get("x-appwrite-key", "")
        if project and self._project_id is not None and project != self._project_id:
            raise ApiError("project_not_found")
        if key and not project:
            raise ApiError("project_id_missing")
        with self._lock:
            scopes = self._keys.get(key) if key else None
        if scopes is not None:
            return Caller(True, project, KEY_BASE_SCOPES | scopes, "Applications", hostname)
        return Caller(False, project, GUEST_SCOPES, "Guests", hostname)
