"""`EmulatorControl`: a small stdlib client for the emulator's `/_emulator/...` test hooks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

FaultMode = Literal["status", "drop_before", "drop_after", "delay"]


class EmulatorControlError(RuntimeError):
    pass


class EmulatorControl:
    """Drives the test hooks of the emulator serving `endpoint` (its `/v1` URL or its base URL)."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        parts = urlsplit(endpoint)
        self.base = urlunsplit((parts.scheme, parts.netloc, "", "", "")) + "/_emulator"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload: dict[str, Any] = json.loads(response.read() or b"{}")
                return payload
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise EmulatorControlError(f"{method} {path} failed with {error.code}: {detail}") from error
        except OSError as error:  # refused, reset or timed out: no emulator answering there
            raise EmulatorControlError(f"{method} {path} could not reach {self.base}: {error}") from error

    def health(self) -> bool:
        return self._call("GET", "/health").get("status") == "ok"

    def reset(self) -> None:
        """Wipe all data and every key, fault, latency, call count, schema failure and provider added."""
        self._call("POST", "/reset", {})

    def set_latency(self, ms: float) -> None:
        """Every `/v1` request waits this long before being handled."""
        self._call("POST", "/latency", {"ms": ms})

    def add_fault(
        self,
        path: str,
        *,
        method: str | None = None,
        count: int = 1,
        mode: FaultMode = "status",
        status: int = 503,
        retry_after: int | None = None,
        delay_seconds: float = 0,
    ) -> None:
        """Make the next `count` `/v1` requests whose path (after `/v1`) matches the regex `path` fail."""
        self._call("POST", "/faults", {
            "path": path,
            "method": method,
            "count": count,
            "mode": mode,
            "status": status,
            "retry_after": retry_after,
            "delay_seconds": delay_seconds,
        })

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def calls(self) -> dict[str, int]:
        """`/v1` requests so far by "METHOD /route/template"."""
        calls: dict[str, int] = self._call("GET", "/calls")["calls"]
        return calls

    def calls_by_table(self) -> dict[str, int]:
        """The same counts, with `{tableId}` replaced by the table each request named."""
        calls: dict[str, int] = self._call("GET", "/calls")["byTable"]
        return calls

    def reset_calls(self) -> None:
        self._call("DELETE", "/calls")

    def add_key(self, key: str, scopes: list[str]) -> None:
        self._call("POST", "/keys", {"key": key, "scopes": scopes})

    def fail_schema(
        self,
        kind: Literal["column", "index"],
        key: str,
        outcome: Literal["stuck", "failed"],
        error: str = "Simulated failure of the database worker",
    ) -> None:
        """The next creation of a column/index with this key stays `processing` or ends `failed`."""
        self._call("POST", "/schema-failures", {"kind": kind, "key": key, "outcome": outcome, "error": error})

    def enable_provider(self, provider_type: Literal["push", "sms", "email"]) -> None:
        self._call("POST", "/providers", {"type": provider_type})

    def add_subscribers(self, topic_id: str, provider_type: str, count: int) -> None:
        self._call("POST", "/subscribers", {"topicId": topic_id, "providerType": provider_type, "count": count})
