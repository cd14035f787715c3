"""`GET /ack?...`: acknowledging a page through the signed link its message carried. The link is its own
credential (ACK_SIGNING_KEY; 404 while it is unset); the answer is a small HTML page saying what happened."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..core.rows import events_shaper
from ..errors import AppwriteError, TransientAppwriteError
from ..formats import format_datetime, parse_datetime
from ..oncall.acknowledge import AckJudgement, AckVerdict, acknowledge
from ..oncall.links import PAGE_HEADERS, LinkProblem, page, verify_link
from .http import NOT_FOUND, Context, Reply, Request, open_store


def _ack_page(status: int, heading: str, *lines: str) -> Reply:
    return Reply(status, page(heading, list(lines)), dict(PAGE_HEADERS))


def _when(moment: datetime | None) -> str:
    return format_datetime(moment)[:19].replace("T", " ") + " UTC" if moment else "an unknown time"


def _ack_answer(judged: AckJudgement, alert: Mapping[str, Any]) -> Reply:
    what = (f"{alert.get('alertname') or 'An unnamed alert'}"
            f"{' on ' + str(alert['instance']) if alert.get('instance') else ''} ({alert.get('severity') or 'none'})")
    unchanged = "Nothing was changed."
    if judged.verdict is AckVerdict.ACKNOWLEDGED:
        return _ack_page(200, "Acknowledged", f"{what}, firing since {_when(parse_datetime(alert.get('startsAt')))}, "
                         f"was acknowledged at {_when(judged.at)}.", "No further escalations will be sent for it.")
    if judged.verdict is AckVerdict.ALREADY:
        return _ack_page(200, "Already acknowledged", f"{what} was acknowledged at {_when(judged.at)}.", unchanged)
    if judged.verdict is AckVerdict.RESOLVED:
        return _ack_page(200, "Already resolved", f"{what} resolved at {_when(judged.at)}.", unchanged)
    if judged.verdict is AckVerdict.REFIRED:
        return _ack_page(200, "Fired again since", f"{what} resolved at {_when(judged.at)} and fired again since "
                         "this link was sent; acknowledge it from the newest message.", unchanged)
    if judged.verdict is AckVerdict.SUPERSEDED:
        return _ack_page(200, "A newer occurrence", f"{what} resolved; a newer occurrence started at "
                         f"{_when(judged.at)}. Acknowledge it from its own message.", unchanged)
    return _ack_page(404, "Unknown alert", "No alert matches this link.", unchanged)


def acknowledge_link(request: Request, context: Context) -> Reply:
    settings = context.settings
    if not settings.ack_signing_key:
        return NOT_FOUND
    moment = context.now()
    verified = verify_link(request.query, settings.ack_signing_key, moment)
    if isinstance(verified, LinkProblem):
        context.log(f"acknowledge link refused: {verified.value}")
        if verified is LinkProblem.EXPIRED:
            return _ack_page(403, "Link expired", "This acknowledge link has expired; use the link in a newer "
                             "message.", "Nothing was changed.")
        return _ack_page(403, "Invalid link", "This acknowledge link is not valid.", "Nothing was changed.")
    store = open_store(request, context, time.monotonic())
    if store is None:
        return _ack_page(500, "Not available", "The function has no Appwrite API key; see its error log.")
    try:
        judged, alert = acknowledge(verified, store, shaper=events_shaper(), now=moment,
                                    client_ip=request.headers.get("x-appwrite-client-ip", ""))
    except AppwriteError as exc:
        context.error(f"acknowledgement of {verified.fingerprint} not recorded: {exc}")
        transient = isinstance(exc, TransientAppwriteError)
        return _ack_page(503 if transient else 500, "Not recorded", "The acknowledgement could not be recorded; "
                         "try the link again in a moment." if transient else "See the function's error log.")
    context.log(f"acknowledge fingerprint={verified.fingerprint} result={judged.verdict.value}")
    return _ack_answer(judged, alert)
