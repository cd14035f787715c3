"""Appwrite's errors for the operator: the function's SDK error mapping (`convert`) with advice naming the flag or
variable to fix; a refusal of one resource becomes `Rejected`, reported for that resource alone."""

from __future__ import annotations

import re

from appwrite.exception import AppwriteException

from src.delivery.sdk_errors import convert, network_reason
from src.errors import AppwriteError

from .settings import ENV_ENDPOINT, ENV_KEY, ENV_PROJECT, REQUIRED_SCOPES, Settings


class Rejected(Exception):
    """Appwrite refused to create one resource (a 4xx answer); reported for that resource alone."""


class NotFound(Rejected):
    pass


class AlreadyExists(Rejected):
    pass


_NOT_FOUND_TYPES = frozenset({"database_not_found", "table_not_found", "topic_not_found"})


def classify(exc: AppwriteException, doing: str, settings: Settings) -> Exception:
    """The function's mapping (`convert`) with the operator's message; not found / already exists / other 4xx
    on one resource become `Rejected` so the run can report that resource alone."""
    converted = convert(exc, doing)
    code, kind = converted.code, converted.type or ""
    text = _one_line(str(exc.message))

    def stop(message: str) -> AppwriteError:
        return type(converted)(message, code=code, type=converted.type)

    if code == 0 and isinstance(exc.message, BaseException):
        return stop(
            f"cannot reach Appwrite at {settings.endpoint} while {doing} ({network_reason(text)}); check "
            f"--endpoint / {ENV_ENDPOINT} and that Appwrite is running, then run again (it is safe to repeat)"
        )
    if code == 0:
        return stop(f"unexpected answer from Appwrite while {doing}: {text[:300]}")
    if code == 401 and kind == "general_unauthorized_scope" and "role: guests" not in text:
        wanted = re.search(r"missing scopes? \((.*?)\)", text)
        needed = f" (this step needs one of {wanted.group(1)})" if wanted else ""
        return stop(
            f"the API key lacks a scope for {doing}{needed}; give the key these scopes: {', '.join(REQUIRED_SCOPES)}"
        )
    if code in (401, 403):
        reason = "it has expired" if kind == "project_key_expired" else "it was not accepted"
        return stop(
            f"Appwrite refused the API key for project {settings.project_id!r} ({reason}: {kind or code}); "
            f"check --key / {ENV_KEY} and that the key belongs to project --project / {ENV_PROJECT}"
        )
    if code == 404 and kind == "project_not_found":
        return stop(
            f"Appwrite has no project {settings.project_id!r} at {settings.endpoint}; check --project / {ENV_PROJECT}"
        )
    if code == 404 and kind in _NOT_FOUND_TYPES:
        return NotFound(text)
    if code == 404:
        return stop(
            f"{settings.endpoint} answered 404 while {doing} ({kind or text[:100]}); check that --endpoint / "
            f"{ENV_ENDPOINT} is the Appwrite API address, usually ending in /v1"
        )
    if code == 409:
        return AlreadyExists(text)
    if 400 <= code < 500:
        return Rejected(f"{text} ({kind})" if kind else text)
    return stop(
        f"Appwrite failed while {doing} (HTTP {code}: {text[:200]}); nothing was deleted, run again to finish"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
