"""The FastAPI application: `create_app(store)`; `corridor serve` runs it under uvicorn."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response

from corridor import __version__
from corridor.config import load_settings
from corridor.store.db import Store
from corridor.web import observability, problems, ui
from corridor.web.nul import reject_nul
from corridor.web.routes import auth, brief, documents, groups, incidents, ops, reference, risk, taxii

MAX_BODY = 12 * 1024 * 1024


def create_app(
    store: Store | None = None, *, allow_private_fetch: bool = False, max_document_bytes: int | None = None
) -> FastAPI:
    settings = load_settings()
    if store is None:
        store = Store(settings.database_url)
        store.upgrade()
    app = FastAPI(
        title="corridor",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        description="Protective-security information exchange: incidents with evidence, under TLP 2.0.",
        dependencies=[Depends(reject_nul)],
    )
    app.state.store = store
    app.state.allow_private_fetch = allow_private_fetch
    app.state.max_document_bytes = max_document_bytes or settings.max_document_bytes
    problems.install(app)

    @app.middleware("http")
    async def request_id_and_limits(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = rid[:64]
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return problems.problem_response(
                request, 413, "Content too large", f"request bodies are limited to {MAX_BODY // (1024 * 1024)} MB"
            )
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    observability.install(app)  # after the middleware above: its timing and request log wrap everything
    for r in (auth.router, incidents.router, documents.router, reference.router, risk.router, ops.router, taxii.router):
        app.include_router(r, responses=problems.PROBLEM_RESPONSES)
    app.include_router(brief.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(groups.router, responses=problems.PROBLEM_RESPONSES)
    ui.install(app)
    return app
