"""What Appwrite Messaging says of one message, in the function's terms (read by `delivery`, judged by
`oncall.delivery_status`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageStatus:
    status: str
    delivered_total: int
    errors: tuple[str, ...]
