"""What the function needs of Appwrite, in its own terms: the port `appwrite_store.AppwriteStore` implements
(and the benchmarks' in-memory stores). Everything above `delivery` depends on these, never on the SDK."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..messages.render import OutgoingMessage

T = TypeVar("T")

if TYPE_CHECKING:  # named in annotations only: a webhook's cold start skips these modules
    from ..core.message_status import MessageStatus
    from ..core.metrics import Count
    from ..core.readiness import Observations


@dataclass(frozen=True)
class SendReport:
    sent: tuple[OutgoingMessage, ...]
    already_sent: tuple[OutgoingMessage, ...]


class OncallStore(Protocol):
    """What the on-call rules read and write: alert rows, the history, the SMS log; and messages."""

    def fetch_alerts(self, fingerprints: list[str]) -> dict[str, dict[str, Any]]: ...
    def send_messages(self, messages: list[OutgoingMessage], sms_log: list[dict[str, Any]] = ...,
                      alert_rows: list[dict[str, Any]] = ...) -> SendReport: ...
    def write_events(self, rows: list[dict[str, Any]]) -> None: ...
    def create_event(self, row: dict[str, Any]) -> bool: ...
    def fetch_history(self, fingerprints: Sequence[str], since: datetime) -> list[dict[str, Any]]: ...
    def find_events(self, *, kinds: Sequence[str], since: datetime, severities: Sequence[str] = (),
                    limit: int) -> list[dict[str, Any]]: ...
    def sms_sent_since(self, limits: Mapping[str, int], since: datetime) -> dict[str, list[str]]: ...
    def held_sms(self, limit: int) -> list[dict[str, Any]]: ...
    def summarised_topics(self, since: datetime) -> set[str]: ...
    def record_sms(self, rows: list[dict[str, Any]]) -> None: ...
    def update_sms(self, rows: list[dict[str, Any]]) -> None: ...


class SettleStore(Protocol):
    """What settling pending claims needs: which messages went out, the SMS log, sending, completing."""

    def message_statuses(self, message_ids: Sequence[str]) -> dict[str, MessageStatus]: ...
    def sms_states(self, message_ids: Sequence[str]) -> dict[str, str]: ...
    def sms_sent_since(self, limits: Mapping[str, int], since: datetime) -> dict[str, list[str]]: ...
    def send_messages(self, messages: list[OutgoingMessage], sms_log: list[dict[str, Any]] = ...,
                      alert_rows: list[dict[str, Any]] = ...) -> SendReport: ...
    def update_events(self, rows: list[dict[str, Any]]) -> None: ...


class AlertStore(OncallStore, SettleStore, Protocol):
    """What a delivery needs: the on-call reads, and writing alert rows and claims."""

    def at_once(self, first: Callable[[], T], *others: Callable[[], Any]) -> tuple[T, list[Any]]:
        """The calls, overlapped where the store can; the first failure fails them all."""
        ...

    def fetch_alerts_with_history(self, fingerprints: list[str], history_of: Sequence[str], since: datetime
                                  ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """`fetch_alerts` and, overlapped with it, `fetch_history` of other alerts."""
        ...

    def claim_events(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]: ...
    def claims_of(self, owner: str, limit: int) -> list[dict[str, Any]]: ...
    def update_events(self, rows: list[dict[str, Any]]) -> None: ...


class ClaimStore(SettleStore, Protocol):
    """What completing the claims in the scheduled run needs."""

    def pending_claims(self, limit: int) -> list[dict[str, Any]]: ...
    def fetch_alerts(self, fingerprints: list[str]) -> dict[str, dict[str, Any]]: ...


class FollowStore(Protocol):
    """What following messages to their delivery needs: history reads and writes, message status, sending."""

    def find_events(self, *, kinds: Sequence[str], since: datetime, severities: Sequence[str] = (),
                    limit: int) -> list[dict[str, Any]]: ...
    def message_statuses(self, message_ids: Sequence[str]) -> dict[str, MessageStatus]: ...
    def send_messages(self, messages: list[OutgoingMessage], sms_log: list[dict[str, Any]] = ...,
                      alert_rows: list[dict[str, Any]] = ...) -> SendReport: ...
    def update_events(self, rows: list[dict[str, Any]]) -> None: ...


class MetricsStore(Protocol):
    def measure(self, counts: Sequence[Count]) -> tuple[list[int], datetime | None]: ...


class HeartbeatStore(Protocol):
    """What the dead-man's switch needs: the newest row of the heartbeat alert, its history rows, messages."""

    def newest_alert_named(self, alertname: str) -> dict[str, Any] | None: ...
    def find_events(self, *, kinds: Sequence[str], since: datetime, severities: Sequence[str] = (),
                    limit: int) -> list[dict[str, Any]]: ...
    def create_event(self, row: dict[str, Any]) -> bool: ...
    def write_events(self, rows: list[dict[str, Any]]) -> None: ...
    def send_messages(self, messages: list[OutgoingMessage], sms_log: list[dict[str, Any]] = ...,
                      alert_rows: list[dict[str, Any]] = ...) -> SendReport: ...


class ScheduleStore(AlertStore, ClaimStore, HeartbeatStore, FollowStore, Protocol):
    """What the scheduled run needs: claims, the on-call rules, and deliveries (to repair races)."""


class ReadinessStore(Protocol):
    """What the readiness check asks: do these topics and tables exist, and does the key hold each scope."""

    def observe_readiness(self, topics: Sequence[str], tables: Sequence[str], *, probe_scopes: bool = True,
                          fallback_since: datetime | None = None) -> Observations: ...


class Store(ScheduleStore, MetricsStore, ReadinessStore, Protocol):
    """Everything the function asks of Appwrite: deliveries, metrics, acknowledgements, the scheduled run,
    readiness."""
