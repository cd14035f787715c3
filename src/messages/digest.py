"""Many announcements to one topic and channel in one go become one digest; fewer go out one by one.
Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .render import Linker, Notice, OutgoingMessage, digest, no_links, single
from .routing import Target

# More announcements than this to one topic and channel in one delivery (or one scheduled run) become a
# single digest.
DIGEST_THRESHOLD = 5


class Announcement(NamedTuple):
    """A change people are told about, and where it goes."""

    notice: Notice
    targets: tuple[Target, ...]


def group_messages(announcements: Sequence[Announcement], linker: Linker = no_links) -> list[OutgoingMessage]:
    """One message per announcement and target, or one digest per target above the threshold; each critical
    firing alert carries its acknowledge link when `linker` makes one."""
    by_target: dict[Target, list[Notice]] = {}
    links: dict[str, str] = {}
    for notice, targets in announcements:
        links[notice.occurrence_key] = linker(notice)
        for target in targets:
            by_target.setdefault(target, []).append(notice)
    messages: list[OutgoingMessage] = []
    for target, notices in by_target.items():
        if len(notices) > DIGEST_THRESHOLD:
            messages.append(digest(notices, target.channel, target.topic, links))
        else:
            messages.extend(single(notice, target.channel, target.topic, links[notice.occurrence_key])
                            for notice in notices)
    return messages
