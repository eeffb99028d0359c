"""The FastAPI application: `create_app(store)`; `corridor serve` runs it under uvicorn."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from corridor import __version__
from corridor.config import load_settings
from corridor.store.db import Store
from corridor.web import observability, problems, ui
from corridor.web.admission import Admission
from corridor.web.envelope import MAX_BODY, RequestEnvelope
from corridor.web.nul import reject_nul
from corridor.web.routes import auth, brief, documents, groups, incidents, ops, reference, risk, taxii

__all__ = ["MAX_BODY", "create_app"]


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

    app.add_middleware(Admission)  # innermost: a refused body or a probe never waits for a turn
    app.add_middleware(RequestEnvelope)
    observability.install(app)  # after the middleware above: its timing and request log wrap everything
    for r in (auth.router, incidents.router, documents.router, reference.router, risk.router, ops.router, taxii.router):
        app.include_router(r, responses=problems.PROBLEM_RESPONSES)
    app.include_router(brief.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(groups.router, responses=problems.PROBLEM_RESPONSES)
    ui.install(app)
    return app
