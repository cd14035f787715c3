"""Appwrite, spoken in domain terms: look up alert rows, write them, send messages, record and read the
alert history, count rows for the metrics.

The only module that imports the Appwrite SDK. Every `AppwriteException` is converted here into the
errors of `errors.py`. Calls that do not depend on each other (lookup batches, write batches,
messages) overlap on a small shared thread pool; each call is retried a few times on transient
failures, and nothing runs past the delivery's deadline.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import appwrite.client as appwrite_client_module
import requests
from appwrite.client import Client
from appwrite.exception import AppwriteException
from appwrite.query import Query
from appwrite.services.messaging import Messaging
from appwrite.services.tables_db import TablesDB

from ..core.events import RULE_COLUMNS
from ..core.kinds import RECORDED_KINDS, Kind
from ..errors import AppwriteError, PermanentAppwriteError, TransientAppwriteError
from ..formats import format_datetime, parse_datetime
from ..messages.render import OutgoingMessage
from ..messages.routing import Channel
from .port import SendReport
from .sdk_errors import convert

if TYPE_CHECKING:
    # Only the metrics endpoint builds counts, only /health observes readiness and only the scheduled run follows
    # messages: a webhook's cold start skips these modules (imported where used).
    from ..core.message_status import MessageStatus
    from ..core.metrics import Count, Filter
    from ..core.readiness import Failed, Observations, Trouble

T = TypeVar("T")
U = TypeVar("U")


class _KeepAliveRequests:
    """Stands in for the `requests` module inside the SDK, which opens a new connection (TCP, and TLS on
    https) for every call and passes no timeout ("wait forever"). Same `request()` signature, but each
    thread reuses one session, so calls ride on kept-alive connections, also across executions of a warm
    function; and a call made by a store gets what is left of that store's delivery budget as timeout.
    Other SDK users in the same process (scripts, tests) keep the SDK's behaviour but for the kept-alive
    connection."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def deadline(self, deadline: float) -> Iterator[None]:
        self._local.deadline = deadline
        try:
            yield
        finally:
            self._local.deadline = None

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is not None:
            kwargs.setdefault("timeout", max(0.05, deadline - time.monotonic()))
        return session.request(method, url, **kwargs)


_HTTP = _KeepAliveRequests()
appwrite_client_module.requests = _HTTP

# Appwrite's limits: 100 rows per bulk write, 4,096 characters per query string.
BATCH_SIZE = 100
_QUERY_MAX_CHARS = 4096
# One TablesDB transaction holds at most 100 operations, a bulk create of 100 rows counting as one; it expires
# unused after this long (the server's minimum), writing nothing.
TRANSACTION_ROWS = BATCH_SIZE * 100
TRANSACTION_TTL_SECONDS = 60
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="appwrite")
_ATTEMPTS = 3
# History rows read per call (per 100 alerts) by the on-call rules: the newest first.
HISTORY_LIMIT = 1000


def _batches(rows: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows in bulk writes of at most 100."""
    return [[dict(row) for row in rows[i:i + BATCH_SIZE]] for i in range(0, len(rows), BATCH_SIZE)]


def id_batches(ids: Sequence[str]) -> list[list[str]]:
    """Batches of at most 100 IDs whose `equal("$id", ...)` query stays under Appwrite's 4,096 characters."""
    batches: list[list[str]] = []
    current: list[str] = []
    length = 0
    for row_id in ids:
        cost = len(row_id) + 3
        if current and (len(current) == BATCH_SIZE or length + cost > _QUERY_MAX_CHARS - 100):
            batches.append(current)
            current, length = [], 0
        current.append(row_id)
        length += cost
    if current:
        batches.append(current)
    return batches


class AppwriteStore:
    def __init__(self, *, endpoint: str, project_id: str, api_key: str, database_id: str, table_id: str,
                 deadline: float, events_table_id: str = "alert_events", sms_table_id: str = "sms_log",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        client = Client().set_endpoint(endpoint).set_project(project_id).set_key(api_key)
        self._host = urlsplit(endpoint).netloc  # named in errors when Appwrite does not answer
        self._tables = TablesDB(client)
        self._messaging = Messaging(client)
        self._database_id = database_id
        self._table_id = table_id
        self._events_table_id = events_table_id
        self._sms_table_id = sms_table_id
        self._deadline = deadline
        self._sleep = sleep
        # Set once the delivery has given up (an error or the deadline): calls still queued or between
        # retries then stop instead of acting after the answer was sent.
        self._abandoned = threading.Event()

    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _call(self, action: str, call: Callable[[], T], attempts: int = _ATTEMPTS) -> T:
        for attempt in range(1, attempts + 1):
            if self._abandoned.is_set():
                raise TransientAppwriteError(f"gave up before trying to {action}: the delivery already failed")
            try:
                with _HTTP.deadline(self._deadline):
                    return call()
            except AppwriteException as exc:
                error = convert(exc, action, host=self._host)
                if not isinstance(error, TransientAppwriteError) or attempt == attempts:
                    raise error from exc
                pause = 0.2 * 2 ** (attempt - 1) * (0.5 + random.random())
                if self._remaining() - pause < 0.5:
                    raise error from exc
                self._sleep(pause)
        raise AssertionError("unreachable")

    def _all(self, tasks: Iterable[Callable[[], T]]) -> list[T]:
        futures: list[Future[T]] = [_POOL.submit(task) for task in tasks]
        done, pending = wait(futures, timeout=max(0.0, self._remaining()), return_when=FIRST_EXCEPTION)
        failed = next((f.exception() for f in done if f.exception() is not None), None)
        if failed is not None or pending:
            self._abandoned.set()
            for other in pending:
                other.cancel()
        if failed is not None:
            raise failed
        if pending:
            raise TransientAppwriteError("the delivery ran out of its time budget waiting for Appwrite")
        return [future.result() for future in futures]

    def at_once(self, first: Callable[[], T], *others: Callable[[], Any]) -> tuple[T, list[Any]]:
        """Calls of this store that do not depend on each other, overlapped: `others` on the pool (so each must not
        wait on the pool itself: a single `_call` or a sequence of them), `first` in this thread. Returns what
        `first` gave, and what each of `others` gave, in order."""
        futures = [_POOL.submit(other) for other in others]
        try:
            result = first()
        except BaseException:
            self._abandoned.set()
            for future in futures:
                future.cancel()
            raise
        done, pending = wait(futures, timeout=max(0.0, self._remaining()), return_when=FIRST_EXCEPTION)
        failed = next((f.exception() for f in done if f.exception() is not None), None)
        if failed is not None or pending:
            self._abandoned.set()
        if failed is not None:
            raise failed
        if pending:
            raise TransientAppwriteError("the delivery ran out of its time budget waiting for Appwrite")
        return result, [future.result() for future in futures]

    def fetch_alerts(self, fingerprints: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of these alerts, by fingerprint; alerts never seen are absent."""
        found, _ = self.fetch_alerts_with_history(fingerprints, (), None)
        return found

    def fetch_alerts_with_history(self, fingerprints: Sequence[str], history_of: Sequence[str],
                                  since: datetime | None) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """`fetch_alerts`, and overlapped with its lookups `fetch_history(history_of, since)`."""
        def lookup(batch: list[str]) -> Callable[[], Any]:
            return lambda: self._call("look up alert rows", lambda: self._tables.list_rows(
                self._database_id, self._table_id,
                queries=[Query.equal("$id", batch), Query.limit(len(batch))], total=False,
            ))

        lookups = [lookup(batch) for batch in id_batches(list(dict.fromkeys(fingerprints)))]
        reads = self._history_reads(history_of, since) if since is not None and history_of else []
        answers = self._all([*lookups, *reads])
        found: dict[str, dict[str, Any]] = {}
        for result in answers[:len(lookups)]:
            for row in result.rows:
                found[row.id] = dict(row.data)
        return found, [row for rows in answers[len(lookups):] for row in rows]

    def newest_alert_named(self, alertname: str) -> dict[str, Any] | None:
        """The row of this alertname received last (the dead-man's switch's heartbeat): one call."""
        rows = self._rows(self._table_id, [Query.equal("alertname", alertname), Query.order_desc("lastReceivedAt"),
                                           Query.limit(1)], "read the heartbeat's alert row")
        return rows[0] if rows else None

    def _send_one(self, message: OutgoingMessage) -> bool:
        """True when created now, False when Appwrite already had this message ID (sent before)."""
        def create() -> Any:
            if message.channel == "sms":
                return self._messaging.create_sms(message.message_id, message.body, topics=[message.topic])
            if message.channel == "email":
                return self._messaging.create_email(message.message_id, message.title, message.body,
                                                    topics=[message.topic])
            return self._messaging.create_push(message.message_id, title=message.title, body=message.body,
                                               topics=[message.topic], data=message.data,
                                               action=message.action or None)

        try:
            self._call(f"create a {message.channel} message", create)
        except PermanentAppwriteError as error:
            if error.type == "message_already_exists":
                return False
            raise
        return True

    def send_messages(self, messages: Sequence[OutgoingMessage], sms_log: Sequence[Mapping[str, Any]] = (),
                      alert_rows: Sequence[Mapping[str, Any]] = ()) -> SendReport:
        """Create the messages, overlapping, and alongside them record `sms_log` rows (the SMS budget's), each row
        once (a retry sending the same messages records them if this attempt did not), and create or update
        `alert_rows` by `$id` (bulk upserts: a retried write is harmless)."""
        tasks: list[Callable[[], object]] = [partial(self._send_one, message) for message in messages]
        tasks += [partial(self._create_once, batch, self._sms_table_id) for batch in _batches(sms_log)]
        tasks += [partial(self._upsert, "write alert rows", self._table_id, batch) for batch in _batches(alert_rows)]
        created = self._all(tasks)[:len(messages)]
        return SendReport(
            sent=tuple(m for m, new in zip(messages, created, strict=True) if new),
            already_sent=tuple(m for m, new in zip(messages, created, strict=True) if not new),
        )

    def message_statuses(self, message_ids: Sequence[str]) -> dict[str, MessageStatus]:
        """What Appwrite Messaging says of these messages: one list call per 100, overlapping; a message it
        does not have is left out."""
        from ..core.message_status import MessageStatus

        def read(batch: list[str]) -> Callable[[], Any]:
            return partial(self._call, "read message statuses", partial(
                self._messaging.list_messages, queries=[Query.equal("$id", batch), Query.limit(len(batch))],
                total=False))

        found: dict[str, MessageStatus] = {}
        for result in self._all(read(batch) for batch in id_batches(list(dict.fromkeys(message_ids)))):
            for message in result.messages:
                # The SDK gives an enum; its value is Appwrite's word.
                status = str(getattr(message.status, "value", message.status))
                found[message.id] = MessageStatus(status, int(message.deliveredtotal or 0),
                                                  tuple(str(error) for error in message.deliveryerrors or ()))
        return found

    # -- the alert history -------------------------------------------------------------------------

    def _existing(self, ids: Sequence[str], table_id: str, columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The rows among these IDs that exist, with these columns, by ID."""
        found: dict[str, dict[str, Any]] = {}
        for batch in id_batches(ids):
            result = self._call("look up alert events", partial(
                self._tables.list_rows, self._database_id, table_id,
                queries=[Query.equal("$id", batch), Query.select(["$id", *columns]), Query.limit(len(batch))],
                total=False,
            ))
            found.update((row.id, dict(row.data)) for row in result.rows)
        return found

    def _create_once(self, batch: list[dict[str, Any]], table_id: str = "") -> dict[str, dict[str, Any]]:
        """Create the rows of one batch that do not exist yet (in the history table unless `table_id` says);
        returns the rows found existing instead, by ID, with their `claim` and `channels` (history only).

        A bulk create is all-or-nothing: one existing ID (a retried delivery, a racing copy) refuses the whole
        batch with 409 row_already_exists. Then one lookup says which IDs exist, and only the rest is created.
        """
        table_id = table_id or self._events_table_id
        columns = ["claim", "channels"] if table_id == self._events_table_id else []
        pending = batch
        existing: dict[str, dict[str, Any]] = {}
        # Each round either creates the batch or learns that some of it exists; racing copies can keep
        # claiming IDs, so go on while the batch shrinks (the deadline bounds it), not a fixed number of times.
        while True:
            before = len(pending)
            try:
                self._call("record alert events", partial(
                    self._tables.create_rows, self._database_id, table_id, rows=pending,
                ))
                return existing
            except PermanentAppwriteError as error:
                if error.type != "row_already_exists":
                    raise
            existing.update(self._existing([row["$id"] for row in pending], table_id, columns))
            pending = [row for row in pending if row["$id"] not in existing]
            if not pending:
                return existing
            if len(pending) == before:
                raise TransientAppwriteError("alert events kept colliding with a concurrent writer; retry the delivery")

    def claim_events(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Create the history rows that do not exist yet, all or nothing; returns the ones that existed (another
        attempt or delivery made them first), by ID, with their `claim` and `channels`.

        Up to 100 rows are one bulk create, atomic by itself. More take one TablesDB transaction: staged as one
        bulk create per 100 in one call and committed in another, so a delivery failing in between leaves no
        part of its claims behind (beyond `TRANSACTION_ROWS`, one transaction per that many)."""
        if len(rows) <= BATCH_SIZE:
            return self._create_once([dict(row) for row in rows]) if rows else {}
        existing: dict[str, dict[str, Any]] = {}
        for chunk in range(0, len(rows), TRANSACTION_ROWS):
            existing.update(self._claim_atomically([dict(row) for row in rows[chunk:chunk + TRANSACTION_ROWS]]))
        return existing

    def _claim_atomically(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """`_create_once` for more than 100 rows, in one transaction. A commit refused with 409
        transaction_conflict means some of the rows exist (another delivery, or an earlier attempt of this one,
        claimed those changes first): as with a refused bulk create, one lookup per 100 says which, and the rest
        is claimed again, atomically."""
        pending = rows
        existing: dict[str, dict[str, Any]] = {}
        while True:
            before = len(pending)
            if before <= BATCH_SIZE:
                existing.update(self._create_once(pending))
                return existing
            if self._create_in_transaction(pending):
                return existing
            ids = [row["$id"] for row in pending]
            existing.update(self._existing(ids, self._events_table_id, ["claim", "channels"]))
            pending = [row for row in pending if row["$id"] not in existing]
            if not pending:
                return existing
            if len(pending) == before:
                raise TransientAppwriteError("the claims' transaction kept conflicting with a concurrent writer; "
                                             "retry the delivery")

    def _create_in_transaction(self, rows: list[dict[str, Any]]) -> bool:
        """Create these history rows in one transaction (at most `TRANSACTION_ROWS`): three calls. False when the
        commit conflicts (a row exists), and then nothing was written."""
        operations = [{"action": "bulkCreate", "databaseId": self._database_id, "tableId": self._events_table_id,
                       "data": batch} for batch in _batches(rows)]
        transaction_id = self._staged(operations)
        try:
            self._call("commit the claims", partial(self._tables.update_transaction, transaction_id, commit=True))
            return True
        except PermanentAppwriteError as error:
            if error.type == "transaction_conflict":
                return False
            if error.type != "transaction_not_ready":
                raise
        # A retried commit whose first attempt went through (its answer was lost): the transaction says how.
        state = self._call("read the claims' transaction", partial(self._tables.get_transaction, transaction_id))
        if state.status in ("failed", "rolled_back"):
            return False
        if state.status != "committed":
            raise TransientAppwriteError(f"the claims' transaction is {state.status}; retry the delivery")
        return True

    def _staged(self, operations: list[dict[str, Any]]) -> str:
        """A new transaction holding these operations. Staging is not repeated into the same transaction (an
        attempt whose answer was lost may have staged them): a failed attempt leaves its transaction to expire
        unused and stages into a new one."""
        for attempt in range(1, _ATTEMPTS + 1):
            transaction = self._call("start a transaction for the claims", partial(
                self._tables.create_transaction, ttl=TRANSACTION_TTL_SECONDS))
            try:
                self._call("stage the claims", partial(self._tables.create_operations, transaction.id, operations),
                           attempts=1)
                return str(transaction.id)
            except TransientAppwriteError:
                if attempt == _ATTEMPTS or self._remaining() < 1.0:
                    raise
        raise AssertionError("unreachable")

    def _upsert(self, action: str, table_id: str, batch: list[dict[str, Any]]) -> None:
        self._call(action, partial(self._tables.upsert_rows, self._database_id, table_id, rows=batch))

    def update_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite history rows this delivery owns (its claims), by `$id`."""
        self._all(partial(self._upsert, "complete alert events", self._events_table_id, batch)
                  for batch in _batches(rows))

    def write_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create history rows by `$id`, each at most once, in batches of 100 that overlap."""
        self._all(partial(self._create_once, batch) for batch in _batches(rows))

    def _paged(self, action: str, queries: list[str], limit: int,
               page_size: int = BATCH_SIZE) -> list[dict[str, Any]]:
        """History rows matching `queries` (which set the order), page after page, at most `limit`."""
        found: list[dict[str, Any]] = []
        cursor: list[str] = []
        while len(found) < limit:
            size = min(page_size, limit - len(found))
            page = self._rows(self._events_table_id, [*queries, Query.limit(size), *cursor], action)
            found.extend(page)
            if len(page) < size:
                break
            cursor = [Query.cursor_after(str(page[-1]["$id"]))]
        return found

    def pending_claims(self, limit: int) -> list[dict[str, Any]]:
        """History rows still claimed (not known yet to have had their messages go out), oldest first, at most
        `limit`: one call per 1,000."""
        return self._paged("read the pending claims", [Query.is_not_null("claim"), Query.order_asc("at")],
                           limit, page_size=1000)

    def claims_of(self, owner: str, limit: int) -> list[dict[str, Any]]:
        """The pending claims one delivery made (its `claim_owner`), oldest first, at most `limit`: one call per
        1,000."""
        return self._paged("read this delivery's pending claims", [Query.equal("claim", owner), Query.order_asc("at")],
                           limit, page_size=1000)

    def list_events(self, *, fingerprint: str | None = None, alertname: str | None = None,
                    since: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """History rows of one alert (by fingerprint) or one alert name, oldest first, at most `limit`."""
        filters = [Query.equal("fingerprint", fingerprint)] if fingerprint else []
        if alertname:
            filters.append(Query.equal("alertname", alertname))
        if since is not None:
            filters.append(Query.greater_than_equal("at", format_datetime(since)))
        return self._paged("list alert events", [*filters, Query.order_asc("at")], limit)

    # -- the on-call rules (issue 10) ----------------------------------------------------------------

    def create_event(self, row: Mapping[str, Any]) -> bool:
        """Create one history row; False when its ID exists already (another execution recorded it first)."""
        try:
            self._call("record an alert event", partial(
                self._tables.create_row, self._database_id, self._events_table_id, str(row["$id"]),
                {key: value for key, value in row.items() if key != "$id"},
            ))
        except PermanentAppwriteError as error:
            if error.type == "row_already_exists":
                return False
            raise
        return True

    def _rows(self, table_id: str, queries: list[str], action: str) -> list[dict[str, Any]]:
        result = self._call(action, partial(
            self._tables.list_rows, self._database_id, table_id, queries=queries, total=False))
        return [{"$id": row.id, **row.data} for row in result.rows]

    def fetch_history(self, fingerprints: Sequence[str], since: datetime,
                      limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
        """The history rows of these alerts since `since`, with the columns the on-call rules read: one call per
        100 alerts, overlapping, at most `limit` rows each (the newest)."""
        return [row for rows in self._all(self._history_reads(fingerprints, since, limit)) for row in rows]

    def _history_reads(self, fingerprints: Sequence[str], since: datetime,
                       limit: int = HISTORY_LIMIT) -> list[Callable[[], list[dict[str, Any]]]]:
        return [partial(self._rows, self._events_table_id, [
            Query.equal("fingerprint", batch), Query.greater_than_equal("at", format_datetime(since)),
            Query.select(["$id", *RULE_COLUMNS]), Query.order_desc("at"), Query.limit(limit)],
            "read the alert history") for batch in id_batches(list(dict.fromkeys(fingerprints)))]

    def find_events(self, *, kinds: Sequence[str], since: datetime, severities: Sequence[str] = (),
                    limit: int) -> list[dict[str, Any]]:
        """The newest history rows of these kinds (and severities) since `since`: one call."""
        queries = [Query.equal("kind", list(kinds)), Query.greater_than_equal("at", format_datetime(since))]
        if severities:
            queries.append(Query.equal("severity", list(severities)))
        return self._rows(self._events_table_id, [*queries, Query.order_desc("at"), Query.limit(limit)],
                          "read the alert history")

    def sms_sent_since(self, limits: Mapping[str, int], since: datetime) -> dict[str, list[str]]:
        """Per topic, the IDs of at most `limits[topic]` SMS recorded as sent since `since`: one call per topic,
        overlapping."""
        def read(topic: str, limit: int) -> Callable[[], list[dict[str, Any]]]:
            return partial(self._rows, self._sms_table_id, [
                Query.equal("topic", topic), Query.equal("state", ["sent", "summary"]),
                Query.greater_than_equal("at", format_datetime(since)), Query.select(["$id"]),
                Query.limit(limit)], "count the SMS sent in the last hour")

        topics = sorted(limits)
        answers = self._all(read(topic, limits[topic]) for topic in topics)
        return {topic: [str(row["$id"]) for row in rows] for topic, rows in zip(topics, answers, strict=True)}

    def sms_states(self, message_ids: Sequence[str]) -> dict[str, str]:
        """The SMS log's state (`sent`, `held`, ...) of these SMS, by message ID; SMS never logged are absent."""
        return {row_id: str(row.get("state") or "") for row_id, row in
                self._existing(list(dict.fromkeys(message_ids)), self._sms_table_id, ["state"]).items()}

    def held_sms(self, limit: int) -> list[dict[str, Any]]:
        """The oldest SMS held back by the budget and not yet summarised: one call."""
        return self._rows(self._sms_table_id, [
            Query.equal("state", "held"), Query.order_asc("at"), Query.limit(limit)], "read the held SMS")

    def summarised_topics(self, since: datetime) -> set[str]:
        """Topics that got a summary SMS since `since`: one call."""
        rows = self._rows(self._sms_table_id, [
            Query.equal("state", "summary"), Query.greater_than_equal("at", format_datetime(since)),
            Query.select(["topic"]), Query.limit(1000)], "read the SMS summaries")
        return {str(row.get("topic")) for row in rows}

    def record_sms(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record SMS sent or held, each once (the first record of a message ID stands)."""
        self._all(partial(self._create_once, batch, self._sms_table_id) for batch in _batches(rows))

    def update_sms(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create or update SMS log rows by ID (a summary, and the held SMS it covered)."""
        self._all(partial(self._upsert, "update the SMS log", self._sms_table_id, batch)
                  for batch in _batches(rows))

    # -- metrics -----------------------------------------------------------------------------------

    def _count(self, count: Count) -> int:
        table_id = self._table_id if count.table == "alerts" else self._events_table_id
        queries = [_query(f) for f in count.filters]
        result = self._call("count rows for the metrics", lambda: self._tables.list_rows(
            self._database_id, table_id, queries=[*queries, Query.limit(1)], total=True,
        ))
        return int(result.total)

    def _newest_event_at(self) -> datetime | None:
        result = self._call("read the newest alert event", lambda: self._tables.list_rows(
            self._database_id, self._events_table_id,
            # Changes of state only: acknowledgements, escalations and flapping rows are no change.
            queries=[Query.equal("kind", [kind.value for kind in RECORDED_KINDS]), Query.order_desc("at"),
                     Query.select(["at"]), Query.limit(1)], total=False,
        ))
        return parse_datetime(result.rows[0].data.get("at")) if result.rows else None

    def measure(self, counts: Sequence[Count]) -> tuple[list[int], datetime | None]:
        """Every count and the time of the newest event: one call each, overlapping on the pool."""
        tasks: list[Callable[[], int | datetime | None]] = [partial(self._count, count) for count in counts]
        answers = self._all([*tasks, self._newest_event_at])
        return cast(list[int], answers[:-1]), cast(datetime | None, answers[-1])

    # -- readiness ---------------------------------------------------------------------------------

    def observe_readiness(self, topics: Sequence[str], tables: Sequence[str], *, probe_scopes: bool = True,
                          fallback_since: datetime | None = None) -> Observations:
        """First the topics (topics.read): after an unreachable Appwrite or a rejected key nothing more is asked.
        Then, overlapped: the tables (tables.read); with `fallback_since`, the fallback pages followed to failure
        since then (rows.read); with `probe_scopes`, one row (rows.read), one message (messages.read), and a row
        and an email with an invalid ID (rows.write, messages.write; Appwrite checks the scope before the
        arguments, so those two answer 400 when the scope is held and create nothing). Two calls in two round
        trips at least, six (seven) at most."""
        from ..core.readiness import Failed, Observations

        found_topics = _attempt(partial(self._topic_subscribers, list(dict.fromkeys(topics))))
        if isinstance(found_topics, Failed) and found_topics.trouble in ("unavailable", "rejected_key"):
            return Observations(topics=found_topics)
        probes: dict[str, Callable[[], object]] = {
            "tables": partial(_attempt, partial(self._existing_tables, list(dict.fromkeys(tables))))}
        if fallback_since is not None:
            probes["fallback"] = partial(_attempt, partial(self._failed_fallbacks, fallback_since))
        if probe_scopes:
            probes.update({
                "rows.read": partial(_attempt, lambda: self._call("read a row", lambda: self._tables.list_rows(
                    self._database_id, self._table_id, queries=[Query.select(["$id"]), Query.limit(1)],
                    total=False))),
                "messages.read": partial(_attempt, lambda: self._call(
                    "read a message", lambda: self._messaging.list_messages(queries=[Query.limit(1)], total=False))),
                "rows.write": partial(_attempt, lambda: _refused_argument(lambda: self._call(
                    "try writing a row", lambda: self._tables.create_row(
                        self._database_id, self._sms_table_id, _NO_ID, {})))),
                "messages.write": partial(_attempt, lambda: _refused_argument(lambda: self._call(
                    "try creating a message", lambda: self._messaging.create_email(
                        _NO_ID, "readiness check", "readiness check", draft=True)))),
            })
        try:
            answers = dict(zip(probes, self._all(probes.values()), strict=True))
        except TransientAppwriteError as exc:  # out of time waiting
            return Observations(topics=found_topics, tables=Failed("unavailable", str(exc)))
        found_tables = cast("frozenset[str] | Failed", answers.pop("tables"))
        fallbacks = cast("tuple[str, ...] | Failed | None", answers.pop("fallback", None))
        scopes: dict[str, Failed | None] = {"topics.read": _scope(found_topics), "tables.read": _scope(found_tables),
                                            **{scope: _scope(answer) for scope, answer in answers.items()}}
        if fallbacks is not None:
            scopes.setdefault("rows.read", _scope(fallbacks))
        return Observations(topics=found_topics, tables=found_tables, scopes=scopes, failed_fallbacks=fallbacks)

    def _failed_fallbacks(self, since: datetime) -> tuple[str, ...]:
        from ..core.message_status import FAILED, UNDELIVERED

        rows = self._rows(self._events_table_id, [
            Query.equal("kind", Kind.FALLBACK.value), Query.equal("outcome", [FAILED, UNDELIVERED]),
            Query.greater_than_equal("at", format_datetime(since)), Query.order_desc("at"), Query.limit(3)],
            "read the failed fallback pages")
        return tuple(f'{row.get("channel")} to topic "{row.get("topic")}" at {row.get("at")}: {row.get("reason")}'
                     for row in rows)

    def _topic_subscribers(self, topics: list[str]) -> dict[str, dict[Channel, int]]:
        if not topics:
            return {}
        found = self._call("list the topics", lambda: self._messaging.list_topics(
            queries=[Query.equal("$id", topics), Query.limit(len(topics))], total=False))
        return {topic.id: _subscribers(topic) for topic in found.topics}

    def _existing_tables(self, tables: list[str]) -> frozenset[str]:
        found = self._call("list the tables", lambda: self._tables.list_tables(
            self._database_id, queries=[Query.equal("$id", tables), Query.limit(len(tables))], total=False))
        return frozenset(table.id for table in found.tables)


# Never a valid ID, so a create call with it is refused by argument validation, after the scope check.
_NO_ID = "!"


def _refused_argument(call: Callable[[], object]) -> None:
    try:
        call()
    except PermanentAppwriteError as exc:
        if exc.type != "general_argument_invalid":
            raise


def _attempt(call: Callable[[], T]) -> T | Failed:
    """The call's answer, or why it failed, as the readiness judgement names it."""
    from ..core.readiness import Failed

    try:
        return call()
    except AppwriteError as exc:
        return Failed(_trouble(exc), str(exc))


def _trouble(exc: AppwriteError) -> Trouble:
    if isinstance(exc, TransientAppwriteError):
        return "unavailable"
    if exc.code in (401, 403):
        cause = exc.__cause__
        server_text = str(getattr(cause, "message", "") or "")
        # As in `sdk_errors.convert`: Appwrite takes an unknown key for no key, a guest, which it names.
        if exc.type == "general_unauthorized_scope" and "role: guests" not in server_text:
            return "missing_scope"
        return "rejected_key"
    if exc.type == "database_not_found":
        return "missing_database"
    if exc.type == "table_not_found":
        return "missing_table"
    return "other"


def _subscribers(topic: Any) -> dict[Channel, int]:
    return {"email": int(topic.emailtotal), "sms": int(topic.smstotal), "push": int(topic.pushtotal)}


def _scope(answer: object) -> Failed | None:
    """A call's finding about the scope it needs: held unless it failed for a missing scope or otherwise (a
    missing table or database is the tables check's finding)."""
    from ..core.readiness import Failed

    if isinstance(answer, Failed) and answer.trouble in ("missing_scope", "other"):
        return answer
    return None


def _query(condition: Filter) -> str:
    if condition.op == "equal":
        return str(Query.equal(condition.column, condition.value))
    if condition.op == "lessThan":
        return str(Query.less_than(condition.column, condition.value))
    if condition.op == "isNotNull":
        return str(Query.is_not_null(condition.column))
    return str(Query.greater_than_equal(condition.column, condition.value))
