"""The function's configuration, read once from a mapping of variables and validated as a whole.

Only `main` passes `os.environ` here; every other module receives a `Settings`. Every problem is
reported together in one `ConfigurationError`, and no message ever contains a secret's value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pydantic import ValidationError

from .errors import ConfigurationError
from .ids import is_appwrite_id
from .messages.routing import CHANNELS, Channel, Route, default_routes, parse_routes
from .oncall.policy import Policy

# The dead-man's switch and the fallback are off unless configured: their modules load when they are.
if TYPE_CHECKING:
    from .oncall.delivery_status import FallbackTarget
    from .oncall.heartbeat import Heartbeat

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
# Alertmanager gives up on a receiver after max(group_interval, 10 s) and sends again: answer before that.
DEFAULT_TIME_BUDGET_SECONDS = 8.0
# Severities `GET /metrics` counts one by one; every other severity is counted as "other".
DEFAULT_METRICS_SEVERITIES = ("emergency", "critical", "warning", "info")
_MAX_METRICS_SEVERITIES = 20
_SEVERITY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
# An HMAC key shorter than this is too easy to guess offline from one genuine link.
ACK_KEY_MIN_CHARS = 32
_DEFAULT_POLICY = Policy()
# How old a row's `lastReceivedAt` may get before a re-delivery that changes nothing rewrites it (minutes).
DEFAULT_RECEIVED_RESOLUTION_MINUTES = 60
_MAX_RECEIVED_RESOLUTION_MINUTES = 1440
# The variables naming the function's resources, and their defaults; the bootstrap (ops/) reads the same ones,
# so renamed resources match.
ENV_DATABASE_ID = "ALERTS_DATABASE_ID"
ENV_TABLE_ID = "ALERTS_TABLE_ID"
ENV_EVENTS_TABLE_ID = "EVENTS_TABLE_ID"
ENV_SMS_TABLE_ID = "SMS_LOG_TABLE_ID"
ENV_CRITICAL_TOPIC_ID = "CRITICAL_TOPIC_ID"
ENV_MONITORING_TOPIC_ID = "MONITORING_TOPIC_ID"
DEFAULT_DATABASE_ID = "monitoring"
DEFAULT_TABLE_ID = "alerts"
DEFAULT_EVENTS_TABLE_ID = "alert_events"
DEFAULT_SMS_TABLE_ID = "sms_log"
DEFAULT_CRITICAL_TOPIC_ID = "critical-alerts"
DEFAULT_MONITORING_TOPIC_ID = "monitoring-alerts"
RESOURCE_ID_DEFAULTS: Mapping[str, str] = {
    ENV_DATABASE_ID: DEFAULT_DATABASE_ID,
    ENV_TABLE_ID: DEFAULT_TABLE_ID,
    ENV_EVENTS_TABLE_ID: DEFAULT_EVENTS_TABLE_ID,
    ENV_SMS_TABLE_ID: DEFAULT_SMS_TABLE_ID,
    ENV_CRITICAL_TOPIC_ID: DEFAULT_CRITICAL_TOPIC_ID,
    ENV_MONITORING_TOPIC_ID: DEFAULT_MONITORING_TOPIC_ID,
}
TABLE_ID_VARIABLES = (ENV_TABLE_ID, ENV_EVENTS_TABLE_ID, ENV_SMS_TABLE_ID)


@dataclass(frozen=True, repr=False)  # its own __repr__ hides the secrets
class Settings:
    """The function's configuration, read and validated once (`load_settings`)."""

    webhook_tokens: tuple[str, ...]
    endpoint: str
    project_id: str
    fallback_api_key: str
    database_id: str
    table_id: str
    events_table_id: str
    critical_topic_id: str
    monitoring_topic_id: str
    routes: tuple[Route, ...]
    max_body_bytes: int
    time_budget_seconds: float
    # Empty: `GET /metrics` answers 404.
    metrics_tokens: tuple[str, ...] = ()
    metrics_severities: tuple[str, ...] = DEFAULT_METRICS_SEVERITIES
    sms_table_id: str = DEFAULT_SMS_TABLE_ID
    # Empty: no acknowledge links, and `GET /ack` answers 404.
    ack_signing_key: str = field(default="", repr=False)
    # Where acknowledge links point; empty: the scheme and host of the request being handled.
    public_url: str = ""
    policy: Policy = _DEFAULT_POLICY
    # A re-delivery that changes nothing writes a row only once its `lastReceivedAt` is this old.
    received_resolution: timedelta = timedelta(minutes=DEFAULT_RECEIVED_RESOLUTION_MINUTES)
    # None: no dead-man's switch (HEARTBEAT_ALERT empty).
    heartbeat: Heartbeat | None = None
    # ALERT_FALLBACK: where a failed page of a critical alert is re-sent once; empty: off.
    alert_fallback: tuple[FallbackTarget, ...] = ()

    def topic_uses(self) -> dict[str, tuple[str, ...]]:
        """Every topic the function sends to, each with what names it (`route critical`, ...): what the
        bootstrap creates, `--check` and the readiness check look for."""
        return topic_uses(self.routes, self.heartbeat, self.alert_fallback)

    def __repr__(self) -> str:  # never print tokens or keys by accident
        return (
            f"Settings(endpoint={self.endpoint!r}, project_id={self.project_id!r}, "
            f"database_id={self.database_id!r}, table_id={self.table_id!r}, "
            f"events_table_id={self.events_table_id!r}, tokens={len(self.webhook_tokens)}, "
            f"metrics_tokens={len(self.metrics_tokens)}, routes={[r.name for r in self.routes]}, "
            f"ack_links={bool(self.ack_signing_key)}, policy={self.policy}, heartbeat={self.heartbeat})"
        )


def _number(env: Mapping[str, str], name: str, default: float, problems: list[str],
            minimum: float, maximum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number, got {raw!r}")
        return default
    if not minimum <= value <= maximum:
        problems.append(f"{name} must be between {minimum:g} and {maximum:g}, got {raw!r}")
        return default
    return value


def _integer(env: Mapping[str, str], name: str, default: int, problems: list[str], minimum: int,
             maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        problems.append(f"{name} must be a whole number from {minimum} to {maximum}, got {raw!r}")
        return default
    return int(raw)


def _public_url(env: Mapping[str, str], problems: list[str]) -> str:
    raw = env.get("PUBLIC_URL", "").strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        problems.append(f"PUBLIC_URL must be the http(s) address of the function's domain, without query or "
                        f"fragment (e.g. https://alerts.example.com), got {raw!r}")
        return ""
    return raw.rstrip("/")


def _policy(env: Mapping[str, str], problems: list[str]) -> Policy:
    default = _DEFAULT_POLICY
    after = _number(env, "ESCALATE_AFTER", default.escalate_after.total_seconds() / 60, problems, 1, 1440)
    window = _number(env, "FLAP_WINDOW", default.flap_window.total_seconds() / 60, problems, 1, 1440)
    flap_count = _integer(env, "FLAP_COUNT", default.flap_count, problems, 0, 100)
    if flap_count == 1:
        problems.append("FLAP_COUNT must be 0 (off) or at least 2: one change is not flapping")
    return Policy(
        escalate_after=timedelta(minutes=after),
        escalate_max=_integer(env, "ESCALATE_MAX", default.escalate_max, problems, 0, 10),
        flap_count=flap_count,
        flap_window=timedelta(minutes=window),
        sms_budget_per_hour=_integer(env, "SMS_BUDGET_PER_HOUR", default.sms_budget_per_hour, problems, 0, 1000),
    )


# The dead-man's switch: Alertmanager re-sends an always-firing alert every HEARTBEAT_INTERVAL minutes (its
# repeat_interval); it is overdue HEARTBEAT_GRACE minutes after that.
DEFAULT_HEARTBEAT_INTERVAL_MINUTES = 5
DEFAULT_HEARTBEAT_GRACE_MINUTES = 10
_ALERTNAME_MAX_CHARS = 255


def _heartbeat(env: Mapping[str, str], ids: Mapping[str, str], problems: list[str]) -> Heartbeat | None:
    """HEARTBEAT_ALERT and its interval, grace and topic; None when HEARTBEAT_ALERT is empty (the default)."""
    name = env.get("HEARTBEAT_ALERT", "").strip()
    if not name:
        for variable in ("HEARTBEAT_INTERVAL", "HEARTBEAT_GRACE", "HEARTBEAT_TOPIC_ID"):
            if env.get(variable, "").strip():
                problems.append(f"{variable} is set but HEARTBEAT_ALERT is empty: set HEARTBEAT_ALERT to the "
                                "always-firing alert's name (e.g. Watchdog) to turn the dead-man's switch on")
        return None
    if len(name) > _ALERTNAME_MAX_CHARS or any(char in name for char in "\r\n\t"):
        problems.append(f"HEARTBEAT_ALERT must be an alert name of at most {_ALERTNAME_MAX_CHARS} characters on "
                        "one line (the alertname label of the always-firing alert, e.g. Watchdog)")
        return None
    from .oncall.heartbeat import Heartbeat

    interval = _integer(env, "HEARTBEAT_INTERVAL", DEFAULT_HEARTBEAT_INTERVAL_MINUTES, problems, 1, 1440)
    grace = _integer(env, "HEARTBEAT_GRACE", DEFAULT_HEARTBEAT_GRACE_MINUTES, problems, 1, 1440)
    topic = env.get("HEARTBEAT_TOPIC_ID", "").strip() or ids[ENV_CRITICAL_TOPIC_ID]
    if not is_appwrite_id(topic):
        problems.append(f"HEARTBEAT_TOPIC_ID must be 1-36 characters of a-z, A-Z, 0-9, '.', '_', '-' and not start "
                        f"with a symbol, got {topic!r}")
    return Heartbeat(name, timedelta(minutes=interval), timedelta(minutes=grace), topic)


def _tokens(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(token.strip() for token in env.get(name, "").split(",") if token.strip())


def _severities(env: Mapping[str, str], problems: list[str]) -> tuple[str, ...]:
    raw = env.get("METRICS_SEVERITIES", "").strip()
    if not raw:
        return DEFAULT_METRICS_SEVERITIES
    values = tuple(dict.fromkeys(value.strip().lower() for value in raw.split(",") if value.strip()))
    if not values or len(values) > _MAX_METRICS_SEVERITIES or any(
        len(value) > 32 or not set(value) <= _SEVERITY_CHARS or value == "other" for value in values
    ):
        problems.append(f"METRICS_SEVERITIES must be 1-{_MAX_METRICS_SEVERITIES} comma-separated severities of "
                        f"a-z, 0-9, '_' and '-' (at most 32 characters each, not 'other'), got {raw!r}")
        return DEFAULT_METRICS_SEVERITIES
    return values


def _read_tokens(env: Mapping[str, str], problems: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The webhook tokens, the metrics tokens and the acknowledge signing key, each checked against the others."""
    tokens = _tokens(env, "WEBHOOK_TOKEN")
    if not tokens:
        problems.append("WEBHOOK_TOKEN is not set: every POST is refused until it is (comma-separate several "
                        "tokens to rotate)")
    elif any(len(token) < 16 for token in tokens):
        problems.append("WEBHOOK_TOKEN: each token must be at least 16 characters long")

    # Prometheus holds the metrics token; it must not also be able to post alerts.
    metrics_tokens = _tokens(env, "METRICS_TOKEN")
    if any(len(token) < 16 for token in metrics_tokens):
        problems.append("METRICS_TOKEN: each token must be at least 16 characters long")
    elif set(metrics_tokens) & set(tokens):
        problems.append("METRICS_TOKEN must differ from WEBHOOK_TOKEN: whoever scrapes the metrics must not be "
                        "able to post alerts")

    # Whoever holds this key can acknowledge any alert: a key of its own, long enough not to be guessed.
    ack_key = env.get("ACK_SIGNING_KEY", "").strip()
    if ack_key and len(ack_key) < ACK_KEY_MIN_CHARS:
        problems.append(f"ACK_SIGNING_KEY must be at least {ACK_KEY_MIN_CHARS} characters long (e.g. "
                        "`openssl rand -base64 32`)")
    elif ack_key and ack_key in (*tokens, *metrics_tokens):
        problems.append("ACK_SIGNING_KEY must differ from WEBHOOK_TOKEN and METRICS_TOKEN")
    return tokens, metrics_tokens, ack_key


def _read_connection(env: Mapping[str, str], problems: list[str]) -> tuple[str, str]:
    """The Appwrite endpoint and project ID, as Appwrite sets them for an execution (or as a developer does)."""
    endpoint = env.get("APPWRITE_FUNCTION_API_ENDPOINT", "").strip() or env.get("APPWRITE_ENDPOINT", "").strip()
    parsed = urlparse(endpoint)
    if not endpoint:
        problems.append("APPWRITE_FUNCTION_API_ENDPOINT is not set (Appwrite sets it for every execution)")
    elif parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"APPWRITE_FUNCTION_API_ENDPOINT must be an http(s) URL, got {endpoint!r}")

    project_id = (env.get("APPWRITE_FUNCTION_PROJECT_ID", "").strip()
                  or env.get("APPWRITE_PROJECT_ID", "").strip())
    if not project_id:
        problems.append("APPWRITE_FUNCTION_PROJECT_ID is not set (Appwrite sets it for every execution)")
    return endpoint, project_id


def _read_ids(env: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """The resource IDs by variable name, each a valid Appwrite ID, the three tables distinct."""
    ids: dict[str, str] = {}
    for name, default in RESOURCE_ID_DEFAULTS.items():
        value = env.get(name, "").strip() or default
        if not is_appwrite_id(value):
            problems.append(f"{name} must be 1-36 characters of a-z, A-Z, 0-9, '.', '_', '-' and not start "
                            f"with a symbol, got {value!r}")
        ids[name] = value

    for index, name in enumerate(TABLE_ID_VARIABLES):
        for other in TABLE_ID_VARIABLES[index + 1:]:
            if ids[name] == ids[other]:
                problems.append(f"{name} and {other} both name table {ids[name]!r}; give the two tables different IDs")
    return ids


def _read_routes(env: Mapping[str, str], ids: Mapping[str, str], problems: list[str]) -> tuple[Route, ...]:
    """ALERT_ROUTES when set, else the default routes to the two configured topics."""
    routes = default_routes(ids[ENV_CRITICAL_TOPIC_ID], ids[ENV_MONITORING_TOPIC_ID])
    raw_routes = env.get("ALERT_ROUTES", "").strip()
    if raw_routes:
        try:
            routes = parse_routes(raw_routes)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(value)'}: {error['msg']}"
                for error in exc.errors(include_url=False, include_input=False)[:10]
            )
            problems.append(f"ALERT_ROUTES is not a valid list of routes: {details}")
    return routes


def _read_limits(env: Mapping[str, str], problems: list[str]) -> tuple[int, float]:
    """The largest request body accepted and the time budget of one execution."""
    max_body = _number(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, problems, 1024, 20 * 1024 * 1024)
    budget = _number(env, "TIME_BUDGET_SECONDS", DEFAULT_TIME_BUDGET_SECONDS, problems, 1, 900)
    return int(max_body), budget


def _received_resolution(env: Mapping[str, str], problems: list[str]) -> timedelta:
    """`RECEIVED_RESOLUTION_MINUTES`: 0 refreshes `lastReceivedAt` on every delivery (one write per alert)."""
    minutes = _integer(env, "RECEIVED_RESOLUTION_MINUTES", DEFAULT_RECEIVED_RESOLUTION_MINUTES, problems, 0,
                       _MAX_RECEIVED_RESOLUTION_MINUTES)
    return timedelta(minutes=minutes)


def load_settings(env: Mapping[str, str]) -> Settings:
    problems: list[str] = []
    tokens, metrics_tokens, ack_key = _read_tokens(env, problems)
    endpoint, project_id = _read_connection(env, problems)
    ids = _read_ids(env, problems)
    routes = _read_routes(env, ids, problems)
    max_body, budget = _read_limits(env, problems)
    severities = _severities(env, problems)
    public_url = _public_url(env, problems)
    policy = _policy(env, problems)
    received_resolution = _received_resolution(env, problems)
    heartbeat = _heartbeat(env, ids, problems)
    fallback = read_fallback(env, problems)
    if problems:
        raise ConfigurationError(problems)
    return Settings(
        webhook_tokens=tokens,
        endpoint=endpoint,
        project_id=project_id,
        fallback_api_key=env.get("APPWRITE_API_KEY", "").strip(),
        database_id=ids[ENV_DATABASE_ID],
        table_id=ids[ENV_TABLE_ID],
        events_table_id=ids[ENV_EVENTS_TABLE_ID],
        critical_topic_id=ids[ENV_CRITICAL_TOPIC_ID],
        monitoring_topic_id=ids[ENV_MONITORING_TOPIC_ID],
        routes=routes,
        max_body_bytes=max_body,
        time_budget_seconds=budget,
        metrics_tokens=metrics_tokens,
        metrics_severities=severities,
        sms_table_id=ids[ENV_SMS_TABLE_ID],
        ack_signing_key=ack_key,
        public_url=public_url,
        policy=policy,
        received_resolution=received_resolution,
        heartbeat=heartbeat,
        alert_fallback=fallback,
    )



def read_fallback(env: Mapping[str, str], problems: list[str]) -> tuple[FallbackTarget, ...]:
    """ALERT_FALLBACK: a JSON list of {"topic": ..., "channel": "email"|"sms"|"push"}; empty: no fallback."""
    raw = env.get("ALERT_FALLBACK", "").strip()
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        problems.append(f"ALERT_FALLBACK is not JSON: {exc}")
        return ()
    if not isinstance(entries, list):
        problems.append('ALERT_FALLBACK must be a JSON list of {"topic": ..., "channel": ...}')
        return ()
    from .oncall.delivery_status import FallbackTarget

    targets: list[FallbackTarget] = []
    for index, entry in enumerate(entries):
        topic = entry.get("topic") if isinstance(entry, dict) else None
        channel = entry.get("channel") if isinstance(entry, dict) else None
        if not isinstance(topic, str) or not topic.strip() or len(topic) > 36:
            problems.append(f"ALERT_FALLBACK[{index}].topic must be a topic ID (1 to 36 characters)")
        elif channel not in CHANNELS:
            problems.append(f"ALERT_FALLBACK[{index}].channel must be one of {', '.join(CHANNELS)}")
        else:
            targets.append(FallbackTarget(topic.strip(), channel))
    return tuple(targets)


def topic_uses(routes: Iterable[Route], heartbeat: Heartbeat | None = None,
               fallback: Iterable[FallbackTarget] = ()) -> dict[str, tuple[str, ...]]:
    """Each topic the function sends to (the routes, the heartbeat's page, the fallback), with the names of
    what uses it, in order."""
    uses: dict[str, list[str]] = {}
    for named in routes:
        uses.setdefault(named.topic, []).append(f"route {named.name}")
    if heartbeat is not None:
        uses.setdefault(heartbeat.topic, []).append("heartbeat")
    for target in fallback:
        uses.setdefault(target.topic, []).append("fallback")
    return {topic: tuple(names) for topic, names in uses.items()}


def read_topic_uses(env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """`Settings.topic_uses` for the operator's tools, which have no webhook token: only the variables
    that name topics are read (and must be valid)."""
    problems: list[str] = []
    ids = _read_ids(env, problems)
    routes = _read_routes(env, ids, problems)
    heartbeat = _heartbeat(env, ids, problems)
    fallback = read_fallback(env, problems)
    if problems:
        raise ConfigurationError(problems)
    return topic_uses(routes, heartbeat, fallback)


def topic_channels(routes: Iterable[Route], heartbeat: Heartbeat | None = None,
                   fallback: Iterable[FallbackTarget] = ()) -> dict[str, dict[str, tuple[Channel, ...]]]:
    """`topic_uses` with the channels each user sends on: {topic: {"route critical": ("push", "sms"), ...}}."""
    uses: dict[str, dict[str, tuple[Channel, ...]]] = {}

    def add(topic: str, name: str, channels: Iterable[Channel]) -> None:
        sent = uses.setdefault(topic, {})
        sent[name] = tuple(dict.fromkeys((*sent.get(name, ()), *channels)))

    for named in routes:
        add(named.topic, f"route {named.name}", named.channels)
    if heartbeat is not None:
        from .oncall.heartbeat import HEARTBEAT_CHANNELS

        add(heartbeat.topic, "heartbeat", HEARTBEAT_CHANNELS)
    for target in fallback:
        add(target.topic, "fallback", (target.channel,))
    return uses


def read_topic_channels(env: Mapping[str, str]) -> dict[str, dict[str, tuple[Channel, ...]]]:
    """`topic_channels` from the variables, as `read_topic_uses` reads them (and with the same errors)."""
    problems: list[str] = []
    ids = _read_ids(env, problems)
    routes = _read_routes(env, ids, problems)
    heartbeat = _heartbeat(env, ids, problems)
    fallback = read_fallback(env, problems)
    if problems:
        raise ConfigurationError(problems)
    return topic_channels(routes, heartbeat, fallback)
