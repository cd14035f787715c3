"""Test-controlled behaviour: latency, injected faults, call counts, schema failures and providers.

The `/_emulator/...` control endpoints change this state; the HTTP layer and the resources read it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Literal

FaultMode = Literal["status", "drop_before", "drop_after", "delay"]
FAULT_MODES: tuple[FaultMode, ...] = ("status", "drop_before", "drop_after", "delay")
SchemaKind = Literal["column", "index"]
SchemaOutcome = Literal["stuck", "failed"]
PROVIDER_TYPES = ("push", "sms", "email")


@dataclass
class Fault:
    path: re.Pattern[str]
    method: str | None
    remaining: int
    mode: FaultMode
    status: int
    retry_after: int | None
    delay_seconds: float

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path.search(path) is not None


@dataclass(frozen=True)
class SchemaFailure:
    outcome: SchemaOutcome
    error: str


class Hooks:
    def __init__(self, processing_seconds: float) -> None:
        self.processing_seconds = processing_seconds
        self._lock = threading.Lock()
        self.latency_seconds = 0.0
        self._faults: list[Fault] = []
        self._calls: Counter[str] = Counter()
        self._table_calls: Counter[str] = Counter()
        self._schema_failures: dict[tuple[str, str], SchemaFailure] = {}
        self._providers: set[str] = set()

    def reset(self) -> None:
        with self._lock:
            self.latency_seconds = 0.0
            self._faults.clear()
            self._calls.clear()
            self._table_calls.clear()
            self._schema_failures.clear()
            self._providers.clear()

    # -- faults ---------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- call counts ----------------------------------------------------------------------------

    def count_call(self, route: str, by_table: str | None = None) -> None:
        """Count one request under its route template and, for table routes, under the concrete table."""
        with self._lock:
            self._calls[route] += 1
            self._table_calls[by_table or route] += 1

    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def calls_by_table(self) -> dict[str, int]:
        with self._lock:
            return dict(self._table_calls)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._table_calls.clear()

    # -- schema failures ------------------------------------------------------------------------

    def fail_schema(self, kind: SchemaKind, key: str, outcome: SchemaOutcome, error: str) -> None:
        with self._lock:
            self._schema_failures[(kind, key)] = SchemaFailure(outcome, error)

    def take_schema_failure(self, kind: SchemaKind, key: str) -> SchemaFailure | None:
        with self._lock:
            return self._schema_failures.pop((kind, key), None)

    # -- messaging providers --------------------------------------------------------------------

    def enable_provider(self, provider_type: str) -> None:
        with self._lock:
            self._providers.add(provider_type)

    def provider_enabled(self, provider_type: str) -> bool:
        with self._lock:
            return provider_type in self._providers
