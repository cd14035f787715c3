"""What Appwrite answered to the readiness calls (`Observations`, gathered by the store), and why a call failed.
`readiness_checks` judges them for `GET /health`; the store, which every delivery loads, needs only these types.

Pure data: no I/O. The words never hold a secret: only IDs, scope names and what Appwrite's errors say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..messages.routing import Channel

# Why a readiness call failed, as the store classifies Appwrite's error.
Trouble = Literal["unavailable", "rejected_key", "missing_scope", "missing_database", "missing_table", "other"]


@dataclass(frozen=True)
class Failed:
    """A readiness call that did not succeed: why, and the error's own words (host, code, type; no key)."""

    trouble: Trouble
    detail: str


@dataclass(frozen=True)
class Observations:
    """What Appwrite answered. `topics`: each existing topic asked for, with its subscribers per channel;
    `tables`: the existing tables asked for; `scopes`: each scope tried, None when it is held;
    `failed_fallbacks`: the fallback messages recently followed to failure, each described (channel, topic,
    time, Appwrite's reason). A value is `Failed` when its call failed, and absent (None, or missing from
    `scopes`) when it was not made."""

    topics: Mapping[str, Mapping[Channel, int]] | Failed | None = None
    tables: frozenset[str] | Failed | None = None
    scopes: Mapping[str, Failed | None] = field(default_factory=dict)
    failed_fallbacks: tuple[str, ...] | Failed | None = None
