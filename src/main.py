"""Appwrite Function entrypoint: wiring only. Appwrite imports this file as `function.src.main`,
which is why every sibling module is imported relatively."""

from __future__ import annotations

import os
from typing import Any

from . import clock
from .delivery.appwrite_store import AppwriteStore
from .endpoints.http import Request
from .endpoints.router import handle
from .errors import ConfigurationError
from .settings import Settings, load_settings


def _settings() -> Settings | ConfigurationError:
    try:
        return load_settings(os.environ)
    except ConfigurationError as exc:
        return exc


def _store(settings: Settings, api_key: str, deadline: float) -> AppwriteStore:
    return AppwriteStore(endpoint=settings.endpoint, project_id=settings.project_id, api_key=api_key,
                         database_id=settings.database_id, table_id=settings.table_id,
                         events_table_id=settings.events_table_id, sms_table_id=settings.sms_table_id,
                         deadline=deadline)


def main(context: Any) -> Any:
    req = context.req
    request = Request(method=req.method, path=req.path, headers=req.headers, body=req.body_binary or b"",
                      query=getattr(req, "query_string", "") or "", scheme=getattr(req, "scheme", "") or "")
    reply = handle(request, _settings(), make_store=_store, now=clock.utc_now, log=context.log, error=context.error)
    if isinstance(reply.body, str):
        return context.res.text(reply.body, reply.status, reply.headers)
    return context.res.json(reply.body, reply.status, reply.headers)
