"""The alert history as a person reads it: a timeline of the changes the function decided for one alert
(or every alert of one name), from the rows of the `alert_events` table. Pure formatting; the rows are
read by `store.AppwriteStore.list_events` and the command line is `scripts/alert_history.py`.

The rows that follow a message to its delivery (kind `delivery`) are not lines of their own: each message an
announcement names shows its outcome there ("delivered 3", "failed: <Appwrite's error>", "sent to nobody (no
subscribers)", "pending"). A fallback message keeps its own line (kind `fallback`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from src.core.kinds import Kind
from src.core.message_status import DELIVERED, FAILED, UNDELIVERED
from src.formats import parse_datetime
from src.oncall.delivery_status import NO_RECIPIENT

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """`30m`, `24h`, `7d`, `2w` (or `s`): how far back the timeline goes."""
    found = _DURATION.match(text)
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"--since takes a positive duration such as 90m, 24h, 7d or 2w, not {text!r}")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def _time(value: Any) -> str:
    moment = parse_datetime(value)
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def outcome_text(follow: Mapping[str, Any] | None) -> str:
    """What became of one message, from its follow row: `delivered 3`, `failed: <Appwrite's error>`, `sent to
    nobody (no subscribers)`, or `pending` (not settled, or not followed yet)."""
    outcome = (follow or {}).get("outcome")
    reason = str((follow or {}).get("reason") or "")
    if outcome == DELIVERED:
        return f"delivered {int((follow or {}).get('delivered') or 0)}"
    if outcome == UNDELIVERED or (outcome == FAILED and reason == NO_RECIPIENT):
        return "sent to nobody (no subscribers)"
    if outcome == FAILED:
        return f"failed: {reason or 'no error given'}"
    return "pending"


def channels_text(raw: Any, follows: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """`critical-alerts/push sent, critical-alerts/sms already sent`, or `-` when nothing went out; with the
    follow rows by message ID, each message sent adds its outcome (`critical-alerts/sms sent, failed: ...`)."""
    try:
        channels = json.loads(raw) if isinstance(raw, str) and raw else []
    except ValueError:
        return "(unreadable)"
    if not isinstance(channels, list):
        return "(unreadable)"
    shown = []
    for c in channels:
        if not isinstance(c, dict):
            continue
        text = f"{c.get('topic', '?')}/{c.get('channel', '?')} {str(c.get('result', '?')).replace('-', ' ')}"
        if follows is not None and c.get("messageId") and c.get("result") in ("sent", "already-sent"):
            text += f" ({outcome_text(follows.get(str(c['messageId'])))})"
        shown.append(text)
    return ", ".join(shown) or "-"


def _fallback_text(row: Mapping[str, Any]) -> str:
    return f"{row.get('topic') or '?'}/{row.get('channel') or '?'} ({outcome_text(row)})"


def with_outcomes(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The changes (no `delivery` rows), each channel entry carrying its message's outcome (`outcome`,
    `delivered`, `error`): what `--json` prints."""
    follows = {str(row.get("messageId")): row for row in events if row.get("kind") == Kind.DELIVERY}
    out = []
    for event in events:
        if event.get("kind") == Kind.DELIVERY:
            continue
        try:
            channels = json.loads(event["channels"]) if isinstance(event.get("channels"), str) else []
        except ValueError:
            channels = []
        for entry in channels if isinstance(channels, list) else []:
            if isinstance(entry, dict) and entry.get("messageId") and entry.get("result") in ("sent", "already-sent"):
                follow = follows.get(str(entry["messageId"])) or {}
                entry["outcome"] = follow.get("outcome") or "pending"
                entry["delivered"] = int(follow.get("delivered") or 0)
                entry["error"] = str(follow.get("reason") or "") if follow.get("outcome") == FAILED else None
        out.append({**event, "channels": channels})
    return out


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [headers, *rows]]


def _subject(events: Sequence[Mapping[str, Any]], fingerprint: str | None, alertname: str | None) -> str:
    if alertname:
        return f"alerts named {alertname}"
    first = events[-1] if events else {}
    name = first.get("alertname") or "an unnamed alert"
    where = f" on {first['instance']}" if first.get("instance") else ""
    severity = f" ({first['severity']})" if first.get("severity") else ""
    return f"{name}{where}{severity}, fingerprint {fingerprint}" if events else f"fingerprint {fingerprint}"


def timeline(events: Sequence[Mapping[str, Any]], *, since: datetime, fingerprint: str | None = None,
             alertname: str | None = None, limit: int | None = None) -> str:
    """The events (oldest first) as a heading, one line per change, and a count."""
    heading = (f"History of {_subject(events, fingerprint, alertname)}: changes decided since "
               f"{since.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    follows = {str(row.get("messageId")): row for row in events if row.get("kind") == Kind.DELIVERY}
    limited = limit is not None and len(events) >= limit
    events = [event for event in events if event.get("kind") != Kind.DELIVERY]
    if not events:
        return f"{heading}\n\nNo change of state recorded in that time."
    by_name = alertname is not None
    headers = ["time (UTC)", "kind", *(["instance"] if by_name else []), "started", "reason", "channels"]
    rows = [
        [_time(event.get("at")), str(event.get("kind") or "?"),
         *([str(event.get("instance") or "-")] if by_name else []),
         _time(event.get("startsAt"))[:19], str(event.get("reason") or ""),
         _fallback_text(event) if event.get("kind") == Kind.FALLBACK else channels_text(event.get("channels"), follows)]
        for event in events
    ]
    count = f"{len(events)} change{'s' if len(events) != 1 else ''}"
    if limited:
        count += f" (the first {limit}; narrow --since or raise --limit to see more)"
    return "\n".join([heading, "", *_table(headers, rows), "", count])
