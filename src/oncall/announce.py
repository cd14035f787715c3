"""How the on-call rules speak: an announcement's words per channel, its messages (one per target, or a
digest), and the acknowledge link a critical firing message carries. Pure: the issue time is given.

Every message ID is derived from a key naming the announcement (the episode and level, the flapping
episode, the summary's first held SMS), so two executions that decide the same announcement create the
same message and Appwrite refuses the second."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..core.events import event_id
from ..core.rows import StoredAlert, stored_object
from ..formats import cut_chars
from ..messages.digest import DIGEST_THRESHOLD
from ..messages.render import (
    DIGEST_LISTED,
    EMAIL_BODY_MAX_CHARS,
    EMAIL_SUBJECT_MAX_CHARS,
    PUSH_BODY_MAX_CHARS,
    PUSH_TITLE_MAX_CHARS,
    SMS_MAX_CHARS,
    Notice,
    OutgoingMessage,
    ack_line,
    headline,
    message_id,
    push_action,
    sms_line,
)
from ..messages.routing import Target
from .links import make_link
from .policy import is_critical


def notice_from_row(row: Mapping[str, Any], occurrence_key: str) -> Notice:
    """What a scheduled message says about an alert, from its stored row."""
    labels, annotations = stored_object(row, "labels") or {}, stored_object(row, "annotations") or {}
    stored = StoredAlert.from_row(row)
    return Notice(
        occurrence_key=occurrence_key,
        status=stored.status,
        refired=False,
        fingerprint=str(row.get("fingerprint") or row.get("$id") or ""),
        alertname=str(row.get("alertname") or ""),
        severity=str(row.get("severity") or "none"),
        instance=str(row.get("instance") or ""),
        summary=str(row.get("summary") or ""),
        description=str(row.get("description") or ""),
        link=annotations.get("runbook_url", "") or str(row.get("generatorURL") or ""),
        starts_at=stored.starts_at,
        ends_at=stored.ends_at,
        labels=labels,
    )


def minutes(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def where(notice: Notice) -> str:
    where = f" on {notice.instance}" if notice.instance else ""
    return f"{notice.alertname or 'unnamed alert'}{where} ({notice.severity})"


@dataclass(frozen=True)
class Text:
    """One announcement in the words of each channel; `announce` adds the acknowledge link."""

    title: str
    body: str
    sms: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Signer:
    """Makes acknowledge links: ACK_SIGNING_KEY, the base URL, and the issue time (the execution's now)."""

    key: str
    base: str
    issued: datetime

    def link(self, notice: Notice, episode: str) -> str:
        """The link acknowledging firing `episode` (an event ID) of a critical alert that is firing; "" else."""
        if not self.key or not self.base or notice.status != "firing" or not is_critical(notice.severity):
            return ""
        return make_link(self.base, self.key, notice.fingerprint, notice.starts_at, self.issued, episode)

    def __call__(self, notice: Notice) -> str:
        """The link for a delivery's announcement: its episode is the change it announces."""
        return self.link(notice, event_id(notice.occurrence_key))


def _data(notice: Notice, text: Text) -> dict[str, str]:
    return {"fingerprint": notice.fingerprint, "status": notice.status, "severity": notice.severity, **text.data}


@dataclass(frozen=True)
class Announced:
    """One on-call announcement about one alert: its words, where it goes, the key its message IDs come from,
    and its acknowledge link ("" for none)."""

    text: Text
    notice: Notice
    targets: tuple[Target, ...]
    key: str
    link: str = ""


def announce(item: Announced, target: Target) -> OutgoingMessage:
    """One on-call announcement to one topic and channel. Its ID comes from the item's key; it carries the
    notice's occurrence key, so the history can tell which change or episode it announced."""
    text, notice, link = item.text, item.notice, item.link
    channel, topic = target.channel, target.topic
    action = ""
    if channel == "sms":
        title, body = "", sms_line(text.sms, link)
    elif channel == "email":
        lines = [text.body, "", ack_line(link), "", f"Fingerprint: {notice.fingerprint}"]
        title = cut_chars(text.title, EMAIL_SUBJECT_MAX_CHARS)
        body = cut_chars("\n".join(lines).replace("\n\n\n", "\n\n"), EMAIL_BODY_MAX_CHARS)
    else:
        title = cut_chars(text.title, PUSH_TITLE_MAX_CHARS)
        body = cut_chars("\n".join(line for line in (text.body, ack_line(link)) if line), PUSH_BODY_MAX_CHARS)
        action = push_action(link)
    return OutgoingMessage(message_id(channel, topic, [item.key]), channel, topic, title, body,
                           _data(notice, text), (notice.occurrence_key,), action)


def announce_digest(items: Sequence[Announced], target: Target, tag: str) -> OutgoingMessage:
    """Many on-call announcements to one topic and channel as one message. Push and email list each alert
    with its acknowledge link; the SMS counts them."""
    channel, topic = target.channel, target.topic
    keys = [item.key for item in items]
    occurrence_keys = tuple(item.notice.occurrence_key for item in items)
    title = f"[{tag}] {len(items)} alerts ({topic})"
    if channel == "sms":
        names = ", ".join(item.notice.alertname or "unnamed" for item in items[:5])
        more = f" +{len(items) - 5} more" if len(items) > 5 else ""
        body, title = cut_chars(f"[{tag}] {len(items)} alerts: {names}", SMS_MAX_CHARS - len(more)) + more, ""
    else:
        lines: list[str] = []
        for item in items[:DIGEST_LISTED]:
            lines.append(item.text.title or headline(item.notice))
            if item.link:
                lines.append(f"  {ack_line(item.link)}")
        if len(items) > DIGEST_LISTED:
            lines.append(f"... and {len(items) - DIGEST_LISTED} more")
        limit = EMAIL_BODY_MAX_CHARS if channel == "email" else PUSH_BODY_MAX_CHARS
        body = cut_chars("\n".join(lines), limit)
        title = cut_chars(title, EMAIL_SUBJECT_MAX_CHARS if channel == "email" else PUSH_TITLE_MAX_CHARS)
    return OutgoingMessage(message_id(channel, topic, keys), channel, topic, title, body,
                           {"digest": str(len(items)), "kind": tag.lower()}, occurrence_keys)


def group_announcements(items: Sequence[Announced], tag: str) -> list[OutgoingMessage]:
    """One message per announcement and target, or a digest per target above the threshold."""
    by_target: dict[Target, list[Announced]] = {}
    for item in items:
        for target in item.targets:
            by_target.setdefault(target, []).append(item)
    messages: list[OutgoingMessage] = []
    for target, entries in by_target.items():
        if len(entries) > DIGEST_THRESHOLD:
            messages.append(announce_digest(entries, target, tag))
        else:
            messages.extend(announce(item, target) for item in entries)
    return messages
