"""Message text for push, SMS and email, for one alert or a digest of several. Pure: no I/O.

Limits follow Appwrite Messaging (push title 256, email subject 998 characters) and phones (one SMS
segment: 160 characters).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..formats import cut_chars, format_datetime
from .routing import Channel

SMS_MAX_CHARS = 160
# Appwrite's limit for a push notification's action (where tapping it leads).
PUSH_ACTION_MAX_CHARS = 256
PUSH_TITLE_MAX_CHARS = 256
PUSH_BODY_MAX_CHARS = 4000
EMAIL_SUBJECT_MAX_CHARS = 998
EMAIL_BODY_MAX_CHARS = 60_000
DIGEST_LISTED = 20


@dataclass(frozen=True)
class Notice:
    """One announcement about one alert: what the message must say."""

    occurrence_key: str
    status: str
    refired: bool
    fingerprint: str
    alertname: str
    severity: str
    instance: str
    summary: str
    description: str
    link: str
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one topic and channel; its ID comes from what it announces (`message_id`)."""

    message_id: str
    channel: Channel
    topic: str
    title: str
    body: str
    data: dict[str, str]
    occurrence_keys: tuple[str, ...]
    # Push only: the acknowledge link, opened when the notification is tapped.
    action: str = ""


# The acknowledge link of a notice ("" for none): see `oncall_messages.Signer`.
Linker = Callable[["Notice"], str]


def no_links(_: Notice) -> str:
    return ""


def ack_line(link: str) -> str:
    return f"Acknowledge: {link}" if link else ""


def push_action(link: str) -> str:
    return link if len(link) <= PUSH_ACTION_MAX_CHARS else ""


def sms_line(text: str, link: str = "") -> str:
    """One SMS line of at most 160 characters, ending with the link when there is room for it."""
    return sms_with_link(text, link, SMS_MAX_CHARS)


def message_id(channel: Channel, topic: str, keys: Sequence[str]) -> str:
    """Deterministic, so a second attempt at the same announcement hits Appwrite's duplicate-ID check."""
    material = "\n".join([channel, topic, *sorted(keys)]).encode("utf-8", "replace")
    return hashlib.sha256(material).hexdigest()[:36]


def headline(notice: Notice) -> str:
    label = "FIRING" if notice.status == "firing" else "RESOLVED"
    where = f" on {notice.instance}" if notice.instance else ""
    return f"[{label}] {notice.alertname or 'unnamed alert'}{where} ({notice.severity})"


def _push_body(notice: Notice, link: str) -> str:
    lines = [notice.summary]
    if notice.description and notice.description != notice.summary:
        lines.append(notice.description)
    if notice.status == "resolved" and notice.ends_at:
        lines.append(f"Resolved at {format_datetime(notice.ends_at)}")
    elif notice.refired:
        lines.append("Firing again.")
    if notice.link:
        lines.append(notice.link)
    body = "\n".join(line for line in lines if line) or f"Severity {notice.severity}, no summary given."
    if link:  # kept whole: the body is cut before it
        return cut_chars(body, PUSH_BODY_MAX_CHARS - len(ack_line(link)) - 1) + "\n" + ack_line(link)
    return cut_chars(body, PUSH_BODY_MAX_CHARS)


def _sms(notice: Notice, link: str) -> str:
    text = headline(notice)
    if notice.summary:
        text += f": {notice.summary}"
    return sms_line(text, link)


def _email_body(notice: Notice, link: str) -> str:
    lines = [
        headline(notice),
        "",
        f"Status:      {notice.status}{' (again)' if notice.refired else ''}",
        f"Severity:    {notice.severity}",
        f"Instance:    {notice.instance or '-'}",
        f"Started:     {format_datetime(notice.starts_at)}",
    ]
    if notice.ends_at:
        lines.append(f"Resolved:    {format_datetime(notice.ends_at)}")
    lines += ["", notice.summary, "", notice.description, ""]
    if notice.link:
        lines += [f"Link: {notice.link}", ""]
    if link:
        lines += [ack_line(link), ""]
    lines.append("Labels:")
    lines += [f"  {name}={value}" for name, value in sorted(notice.labels.items())]
    lines.append(f"\nFingerprint: {notice.fingerprint}")
    return cut_chars("\n".join(lines), EMAIL_BODY_MAX_CHARS)


def single(notice: Notice, channel: Channel, topic: str, link: str = "") -> OutgoingMessage:
    """One announcement; `link` (the acknowledge link, if any) goes in the push action, the email body and
    the end of the SMS."""
    title = headline(notice)
    action = ""
    if channel == "sms":
        title, body = "", _sms(notice, link)
    elif channel == "email":
        title, body = cut_chars(title, EMAIL_SUBJECT_MAX_CHARS), _email_body(notice, link)
    else:
        title, body = cut_chars(title, PUSH_TITLE_MAX_CHARS), _push_body(notice, link)
        action = push_action(link)
    data = {"fingerprint": notice.fingerprint, "status": notice.status, "severity": notice.severity}
    keys = (notice.occurrence_key,)
    return OutgoingMessage(message_id(channel, topic, keys), channel, topic, title, body, data, keys, action)


def _counts(notices: Sequence[Notice]) -> str:
    firing = sum(1 for notice in notices if notice.status == "firing")
    resolved = len(notices) - firing
    parts = [f"{firing} firing"] if firing else []
    if resolved:
        parts.append(f"{resolved} resolved")
    return ", ".join(parts)


def digest(notices: Sequence[Notice], channel: Channel, topic: str,
           links: Mapping[str, str] | None = None) -> OutgoingMessage:
    """One message standing for many announcements to the same topic and channel. Push and email list each
    listed alert's acknowledge link (`links`, by occurrence key) under it; the SMS has no room for them."""
    counts = _counts(notices)
    title = f"[ALERTS] {counts} ({topic})"
    listed: list[str] = []
    for notice in notices[:DIGEST_LISTED]:
        listed.append(headline(notice))
        link = (links or {}).get(notice.occurrence_key, "")
        if link:
            listed.append(f"  {ack_line(link)}")
    rest = len(notices) - min(len(notices), DIGEST_LISTED)
    if channel == "sms":
        short = ", ".join(
            f"{n.alertname}@{n.instance}" if n.instance else n.alertname for n in notices[:5]
        )
        more = f" +{len(notices) - 5} more" if len(notices) > 5 else ""
        body = cut_chars(f"{counts}: {short}", SMS_MAX_CHARS - len(more)) + more
        title = ""
    else:
        lines = listed + ([f"... and {rest} more"] if rest else [])
        body = "\n".join(lines)
        limit = EMAIL_BODY_MAX_CHARS if channel == "email" else PUSH_BODY_MAX_CHARS
        body = cut_chars(body, limit)
        title = cut_chars(title, EMAIL_SUBJECT_MAX_CHARS if channel == "email" else PUSH_TITLE_MAX_CHARS)
    keys = tuple(notice.occurrence_key for notice in notices)
    data = {"digest": str(len(notices))}
    return OutgoingMessage(message_id(channel, topic, keys), channel, topic, title, body, data, keys)


# The shortest SMS text worth sending next to a link; below it the SMS goes out without the link.
SMS_MIN_TEXT = 20


def sms_with_link(text: str, link: str, limit: int) -> str:
    """One SMS line ending with the link, cut to `limit` characters; without the link when it leaves too
    little room for the text."""
    text = " ".join(text.split())
    suffix = f" Ack: {link}"
    if not link or limit - len(suffix) < SMS_MIN_TEXT:
        return cut_chars(text, limit)
    return cut_chars(text, limit - len(suffix)) + suffix
