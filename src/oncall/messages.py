"""Messages of the on-call rules (escalation, flapping, stable again, SMS summary) and the acknowledge link
every critical firing message carries. Pure: no I/O, no clock (the issue time is given).

Every message ID is derived from a key naming the announcement (the episode and level, the flapping
episode, the summary's first held SMS), so two executions that decide the same announcement create the
same message and Appwrite refuses the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..core.events import event_id
from ..core.rows import cut_chars
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
from ..messages.routing import Channel, Target
from .links import make_link
from .rules import Summary, Text, is_critical, summary_text

# More on-call announcements than this to one topic and channel in one run become a single digest.
DIGEST_THRESHOLD = 5


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


def announce(text: Text, notice: Notice, target: Target, key: str, link: str) -> OutgoingMessage:
    """One on-call announcement about one alert to one topic and channel. Its ID comes from `key`; it carries
    the notice's occurrence key, so the history can tell which change or episode it announced."""
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
    return OutgoingMessage(message_id(channel, topic, [key]), channel, topic, title, body, _data(notice, text),
                           (notice.occurrence_key,), action)


def announce_digest(items: Sequence[tuple[Text, Notice, str, str]], target: Target, tag: str) -> OutgoingMessage:
    """Many on-call announcements to one topic and channel as one message; `items` are (text, notice, key,
    link). Push and email list each alert with its acknowledge link; the SMS counts them."""
    channel, topic = target.channel, target.topic
    keys = [key for _, _, key, _ in items]
    occurrence_keys = tuple(notice.occurrence_key for _, notice, _, _ in items)
    title = f"[{tag}] {len(items)} alerts ({topic})"
    if channel == "sms":
        names = ", ".join(n.alertname or "unnamed" for _, n, _, _ in items[:5])
        more = f" +{len(items) - 5} more" if len(items) > 5 else ""
        body, title = cut_chars(f"[{tag}] {len(items)} alerts: {names}", SMS_MAX_CHARS - len(more)) + more, ""
    else:
        lines: list[str] = []
        for text, notice, _, link in items[:DIGEST_LISTED]:
            lines.append(text.title or headline(notice))
            if link:
                lines.append(f"  {ack_line(link)}")
        if len(items) > DIGEST_LISTED:
            lines.append(f"... and {len(items) - DIGEST_LISTED} more")
        limit = EMAIL_BODY_MAX_CHARS if channel == "email" else PUSH_BODY_MAX_CHARS
        body = cut_chars("\n".join(lines), limit)
        title = cut_chars(title, EMAIL_SUBJECT_MAX_CHARS if channel == "email" else PUSH_TITLE_MAX_CHARS)
    return OutgoingMessage(message_id(channel, topic, keys), channel, topic, title, body,
                           {"digest": str(len(items)), "kind": tag.lower()}, occurrence_keys)


def group_announcements(items: Sequence[tuple[Text, Notice, tuple[Target, ...], str, str]],
                        tag: str) -> list[OutgoingMessage]:
    """(text, notice, targets, key, link) per announcement: one message per target, or a digest per target
    above the threshold."""
    by_target: dict[Target, list[tuple[Text, Notice, str, str]]] = {}
    for text, notice, targets, key, link in items:
        for target in targets:
            by_target.setdefault(target, []).append((text, notice, key, link))
    messages: list[OutgoingMessage] = []
    for target, entries in by_target.items():
        if len(entries) > DIGEST_THRESHOLD:
            messages.append(announce_digest(entries, target, tag))
        else:
            messages.extend(announce(text, notice, target, key, link) for text, notice, key, link in entries)
    return messages


def summary_message(summary: Summary) -> OutgoingMessage:
    channel: Channel = "sms"
    return OutgoingMessage(message_id(channel, summary.topic, [summary.key]), channel, summary.topic, "",
                           summary_text(summary), {"kind": "sms-summary"}, (summary.key,))
