"""No NUL characters in what the API is asked to store or look up.

PostgreSQL text cannot hold U+0000 (the driver refuses the whole statement), while SQLite stores it; no
legitimate place name, reason or id contains one. So the API refuses such input the same way on every engine, as
a validation problem (422) rather than a server error: in the path, the query string and JSON bodies. Uploaded
files are bytes and go through the reader, which refuses binary content on its own."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from corridor.web.problems import Problem


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def reject_nul(request: Request) -> None:
    """An app-wide dependency (it runs before the route's own, on the body FastAPI has already read)."""
    where = None
    if any(_has_nul(v) for v in request.path_params.values()):
        where = "path"
    elif any(_has_nul(k) or _has_nul(v) for k, v in request.query_params.multi_items()):
        where = "query"
    elif request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get("content-type", ""):
        body = await request.body()  # JSON bodies only: a multipart stream is the route's to read
        if b"\\u0000" in body:  # the only way JSON spells U+0000; parse only when it is there
            try:
                where = "body" if _has_nul(json.loads(body)) else None
            except (ValueError, UnicodeDecodeError):
                where = None  # not JSON: the route's own parsing reports it
    if where:
        raise Problem(
            422,
            "Validation failed",
            f"{where}: text must not contain NUL (U+0000) characters",
            errors=[{"field": where, "location": where, "message": "NUL character"}],
        )
