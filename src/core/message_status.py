"""What Appwrite Messaging says of one message, in the function's terms (read by `delivery`, judged by
`oncall.delivery_status`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What became of a message the function created, as its follow row (and the readiness check) records it.
Outcome = Literal["pending", "delivered", "failed", "undelivered"]
PENDING: Outcome = "pending"
DELIVERED: Outcome = "delivered"
FAILED: Outcome = "failed"
UNDELIVERED: Outcome = "undelivered"


@dataclass(frozen=True)
class MessageStatus:
    """What Appwrite says of a message: its status, how many recipients it reached, and its errors."""

    status: str
    delivered_total: int
    errors: tuple[str, ...]
