"""The emulator's state in one place: storage, keys, hooks and the resource services built on them."""

from __future__ import annotations

from .auth import KeyRing
from .databases import Databases
from .hooks import Hooks
from .messaging import Messaging
from .rows import Rows
from .schema import Schema
from .store import Store
from .transactions import Transactions


class Services:
    def __init__(
        self, data_path: str | None, api_key: str, processing_seconds: float, project_id: str | None = None
    ) -> None:
        self.store = Store(data_path)
        self.keys = KeyRing(api_key, project_id)
        self.hooks = Hooks(processing_seconds)
        self.databases = Databases(self.store)
        self.schema = Schema(self.store, self.hooks)
        self.rows = Rows(self.store)
        self.transactions = Transactions(self.store, self.rows)
        self.rows.transactions = self.transactions
        self.messaging = Messaging(self.store, self.hooks)

    def reset(self) -> None:
        """Wipe all data, added keys, faults, latency, call counts, schema failures and providers."""
        self.store.wipe()
        self.keys.reset()
        self.hooks.reset()

    def close(self) -> None:
        self.store.close()
