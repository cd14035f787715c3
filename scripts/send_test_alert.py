#!/usr/bin/env python3
"""Send a test alert to the alert-processor function, shaped exactly like an Alertmanager webhook.

Posts one Alertmanager "version 4" webhook payload (the JSON Alertmanager's `webhook_configs` send) to a
deployed or local function, with `Authorization: Bearer <token>`, and prints the HTTP status and the
function's answer. With --resolve the same alerts are then sent again as resolved, as Alertmanager does
when they end.

    WEBHOOK_TOKEN=... python3 scripts/send_test_alert.py --url https://<your-function-domain>/
    python3 scripts/send_test_alert.py --token-file /etc/alertmanager/alert-processor.token \\
        --severity warning --count 3 --resolve

Exit status: 0 when every delivery got a 2xx answer, 1 otherwise (including an unreachable URL),
2 for usage errors such as a missing token. The token is never printed.

Standard library only, so it runs with any Python 3.11 or later, without the project's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPException, HTTPMessage
from typing import IO, Any, NoReturn

DEFAULT_URL = "http://127.0.0.1:3000/"
TOKEN_ENV = "WEBHOOK_TOKEN"
DEFAULT_RECEIVER = "alert-processor"
EXTERNAL_URL = "http://alertmanager.example.internal:9093"
PROMETHEUS_URL = "http://prometheus.example.internal:9090"
RUNBOOK_BASE = "https://runbooks.example.com/alert-processor"
# Prometheus links each alert to its rule's expression; a test alert has no rule behind it.
GENERATOR_EXPR = urllib.parse.quote_plus("vector(1)")
# Receiver and route of each severity in examples/alertmanager.yml, so the payload's `receiver` and
# `groupKey` look like those that configuration produces (group_by alertname, cluster, job).
SEVERITY_RECEIVERS = {
    "emergency": "alert-processor-emergency",
    "critical": "alert-processor-critical",
    "warning": "alert-processor-warning",
    "info": "alert-processor",
}
# Alertmanager's "no end" for firing alerts: Go's zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"
MAX_ANSWER_CHARS = 4000

# FNV-1a, 64 bit (github.com/prometheus/common/model/fnv.go).
_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_FNV64_MASK = 0xFFFFFFFFFFFFFFFF
_LABEL_SEPARATOR = 0xFF


class UsageError(Exception):
    """A problem with the command line or the token: exit status 2."""


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set, as 16 lower-case hex digits.

    FNV-1a 64 over the labels sorted by name, each name and each value followed by the byte 0xFF
    (Prometheus' `model.LabelSet.Fingerprint`). Annotations do not take part.
    """
    value = _FNV64_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                value = ((value ^ byte) * _FNV64_PRIME) & _FNV64_MASK
            value = ((value ^ _LABEL_SEPARATOR) * _FNV64_PRIME) & _FNV64_MASK
    return f"{value:016x}"


def go_timestamp(epoch_ns: int) -> str:
    """UTC time in Go's RFC 3339 with nanoseconds, as Alertmanager writes it (trailing zeros trimmed)."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def _go_quote(value: str) -> str:
    """A label value quoted the way Go's %q does for printable text (used in groupKey)."""
    return json.dumps(value, ensure_ascii=False)


def _label_set_string(labels: Mapping[str, str]) -> str:
    """Prometheus' LabelSet.String(): `{a="1", b="2"}`, sorted by name."""
    return "{" + ", ".join(f"{name}={_go_quote(labels[name])}" for name in sorted(labels)) + "}"


def nth_instance(base: str, index: int, count: int) -> str:
    """The instance label of alert `index` (1-based) of `count`: distinct when count > 1.

    `web:9100` becomes `web-1:9100`, `web-2:9100`, ... so each alert is a different target.
    """
    if count == 1:
        return base
    host, sep, port = base.rpartition(":")
    if sep and port.isdigit() and host:
        return f"{host}-{index}:{port}"
    return f"{base}-{index}"


@dataclass(frozen=True)
class AlertSpec:
    alertname: str
    severity: str
    instance: str
    job: str
    count: int


def build_alerts(spec: AlertSpec, starts_at: str) -> list[dict[str, Any]]:
    """`count` distinct firing alerts of one group (same alertname, different instances)."""
    alerts: list[dict[str, Any]] = []
    for index in range(1, spec.count + 1):
        instance = nth_instance(spec.instance, index, spec.count)
        labels = {"alertname": spec.alertname, "instance": instance, "job": spec.job}
        if spec.severity:
            labels["severity"] = spec.severity
        severity_text = spec.severity or "no severity"
        annotations = {
            "summary": f"Test alert {spec.alertname} ({severity_text}) on {instance}",
            "description": (
                f"{spec.alertname} was sent by send_test_alert.py to check the alert-processor "
                f"function end to end: {severity_text} alert for {instance} (job {spec.job}). "
                "No action is needed."
            ),
            "runbook_url": f"{RUNBOOK_BASE}/test-alert",
        }
        alerts.append(
            {
                "status": "firing",
                # Alertmanager (Go) writes the keys of these maps sorted.
                "labels": dict(sorted(labels.items())),
                "annotations": dict(sorted(annotations.items())),
                "startsAt": starts_at,
                "endsAt": ZERO_TIME,
                "generatorURL": f"{PROMETHEUS_URL}/graph?g0.expr={GENERATOR_EXPR}&g0.tab=1",
                "fingerprint": fingerprint(labels),
            }
        )
    return alerts


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The name/value pairs every map has (Alertmanager's commonLabels / commonAnnotations)."""
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def build_payload(alerts: Sequence[Mapping[str, Any]], severity: str) -> dict[str, Any]:
    """The whole webhook body around `alerts`, with every top-level field Alertmanager sends."""
    first_labels = alerts[0]["labels"]
    group_labels = {name: str(first_labels[name]) for name in ("alertname", "job") if name in first_labels}
    if severity in SEVERITY_RECEIVERS:
        receiver = SEVERITY_RECEIVERS[severity]
        route_key = f"{{}}/{{severity={_go_quote(severity)}}}"
    else:
        receiver, route_key = DEFAULT_RECEIVER, "{}"
    firing = any(alert["status"] == "firing" for alert in alerts)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": group_labels,
        "commonLabels": _common([alert["labels"] for alert in alerts]),
        "commonAnnotations": _common([alert["annotations"] for alert in alerts]),
        "externalURL": EXTERNAL_URL,
        "version": "4",
        "groupKey": f"{route_key}:{_label_set_string(group_labels)}",
        "truncatedAlerts": 0,
    }


def resolved(alerts: Sequence[Mapping[str, Any]], ends_at: str) -> list[dict[str, Any]]:
    """The same alerts (same labels, startsAt and fingerprint), resolved at `ends_at`."""
    return [{**alert, "status": "resolved", "endsAt": ends_at} for alert in alerts]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Do not follow redirects: urllib would resend the Authorization header to the new location."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    body: bytes
    location: str | None = None


def post(url: str, token: str, payload: Mapping[str, Any], timeout: float) -> Answer:
    """POST the payload as Alertmanager does; any HTTP status is an Answer, transport errors raise OSError."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "alert-processor-send-test-alert/1",
        },
    )
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=timeout) as response:
            return Answer(response.status, response.reason, response.read())
    except urllib.error.HTTPError as error:
        with error:
            body = error.read()
        return Answer(error.code, str(error.reason), body, error.headers.get("Location"))
    except HTTPException as error:  # e.g. the server closed the connection without answering
        raise OSError(f"bad HTTP answer ({type(error).__name__})") from error


def mask(text: str, token: str) -> str:
    """`text` with the token, as is or JSON-escaped, replaced by `<token>`."""
    for form in (token, json.dumps(token)[1:-1]):
        text = text.replace(form, "<token>")
    return text


def describe_answer(answer: Answer, token: str) -> str:
    """The answer's body for humans: indented JSON when it is JSON, else the (shortened) text.

    Should the server echo the request's headers back, the token is masked.
    """
    text = answer.body.decode("utf-8", errors="replace")
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        shown = text.strip() or "(empty body)"
    shown = mask(shown, token)
    if len(shown) > MAX_ANSWER_CHARS:
        shown = shown[:MAX_ANSWER_CHARS] + f"... ({len(shown) - MAX_ANSWER_CHARS} more characters)"
    return shown


def read_token(token_file: str | None, environ: Mapping[str, str]) -> str:
    """The bearer token from --token-file (surrounding whitespace removed, as Alertmanager does) or env."""
    if token_file is not None:
        try:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as error:
            raise UsageError(f"cannot read token file {token_file}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"token file {token_file} is not UTF-8 text") from None
        if not token:
            raise UsageError(f"token file {token_file} is empty")
    else:
        token = environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise UsageError(f"no token: pass --token-file FILE or set {TOKEN_ENV}")
    # An HTTP header carries visible ASCII only; say so without quoting the token.
    if not all("!" <= char <= "~" for char in token):
        raise UsageError("the token has spaces or non-ASCII characters and cannot be sent in a header")
    return token


def _label_value(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _alertname(text: str) -> str:
    # Label values may be anything, but an alert name is a metric-like identifier in practice.
    if not re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:.-]*", text):
        raise argparse.ArgumentTypeError(f"not a valid alert name: {text!r}")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be between 1 and 10000")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600")
    return value


def _timeout(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _http_url(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like the other usage errors (argparse would print the whole usage first).
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog="send_test_alert.py",
        description="Send an Alertmanager-shaped test alert (webhook payload version 4) to alert-processor.",
        epilog=f"The token comes from --token-file or the {TOKEN_ENV} environment variable; it is never "
        "printed. Exit status: 0 if every delivery got a 2xx answer, 1 otherwise, 2 for usage errors.",
    )
    parser.add_argument("--url", type=_http_url, default=DEFAULT_URL, help="function URL (default: %(default)s)")
    parser.add_argument("--token-file", metavar="FILE", help=f"file holding the bearer token (else ${TOKEN_ENV})")
    parser.add_argument(
        "--severity",
        default="critical",
        help="severity label: emergency, critical, warning, info, ...; '' sends no severity label "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--count", type=_positive_int, default=1, help="number of distinct alerts in the group (default: 1)"
    )
    parser.add_argument(
        "--resolve", action="store_true", help="after the firing delivery, send the same alerts resolved"
    )
    parser.add_argument(
        "--resolve-delay",
        type=_non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before the resolved delivery (default: 0)",
    )
    parser.add_argument(
        "--alertname",
        type=_alertname,
        default="AlertProcessorTest",
        help="alertname label (default: %(default)s)",
    )
    parser.add_argument(
        "--instance",
        type=_label_value,
        default="test-host:9100",
        help="instance label; with --count N each alert gets a numbered one (default: %(default)s)",
    )
    parser.add_argument("--job", type=_label_value, default="node", help="job label (default: %(default)s)")
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=10.0,
        metavar="SECONDS",
        help="per request (default: 10)",
    )
    return parser.parse_args(argv)


def deliver(label: str, url: str, token: str, payload: Mapping[str, Any], timeout: float) -> bool:
    """Send one payload and print what happened; True on a 2xx answer."""
    count = len(payload["alerts"])
    print(f"{label}: POST {url} ({count} alert{'' if count == 1 else 's'}, status {payload['status']})")
    try:
        answer = post(url, token, payload, timeout)
    except urllib.error.URLError as error:  # no connection: refused, unknown host, TLS failure, timeout
        print(f"error: cannot reach {url}: {error.reason}", file=sys.stderr)
        return False
    except (OSError, ValueError) as error:  # connected, but no usable answer (or an unusable URL)
        print(f"error: no valid answer from {url}: {error}", file=sys.stderr)
        return False
    print(f"HTTP {answer.status} {answer.reason}")
    print(describe_answer(answer, token))
    if answer.location is not None:
        location = mask(answer.location, token)
        print(f"note: the function answered with a redirect to {location}; use that URL", file=sys.stderr)
    return 200 <= answer.status < 300


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    try:
        token = read_token(args.token_file, os.environ if environ is None else environ)
    except UsageError as error:
        print(f"send_test_alert.py: error: {error}", file=sys.stderr)
        return 2

    spec = AlertSpec(args.alertname, args.severity, args.instance, args.job, args.count)
    alerts = build_alerts(spec, go_timestamp(time.time_ns()))
    for alert in alerts:
        print(f"alert {alert['fingerprint']} {json.dumps(alert['labels'], sort_keys=True)}")
    if not deliver("firing", args.url, token, build_payload(alerts, args.severity), args.timeout):
        if args.resolve:
            print("not sending the resolved delivery: the firing one failed", file=sys.stderr)
        return 1
    if args.resolve:
        if args.resolve_delay:
            time.sleep(args.resolve_delay)
        ended = resolved(alerts, go_timestamp(time.time_ns()))
        if not deliver("resolved", args.url, token, build_payload(ended, args.severity), args.timeout):
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
