"""What every response carries and every request is held to, as a plain ASGI middleware.

A request id (the caller's X-Request-ID, cut to 64 characters, or a new one) for logs, problems and audit; a
body limit checked on the declared Content-Length before anything reads the body; and the headers every answer
gets (X-Request-ID, nosniff, no-store unless a route says otherwise).

Plain ASGI rather than Starlette's `@app.middleware("http")`: that one runs the rest of the app in a task of its
own and copies every response through a memory stream, which cost about a third of a small request's time
under load (bench/scale.py api)."""

from __future__ import annotations

import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.web import problems

MAX_BODY = 12 * 1024 * 1024


class RequestEnvelope:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = rid = None
        length = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given = value.decode("latin-1")
            elif key == b"content-length":
                length = value.decode("latin-1")
        rid = (given or uuid.uuid4().hex)[:64]
        scope.setdefault("state", {})["request_id"] = rid

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            response = problems.problem_response(
                Request(scope),
                413,
                "Content too large",
                f"request bodies are limited to {self.max_body // (1024 * 1024)} MB",
            )
            await response(scope, receive, stamped)
            return
        await self.app(scope, receive, stamped)
