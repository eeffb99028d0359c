"""Documents: upload a report file or give a URL; the extraction pipeline runs and the response lists the
mentions and incidents it created. The document belongs to the uploader's organisation with the TLP given."""

from __future__ import annotations

import ipaddress
import socket
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from corridor.export import incident_record
from corridor.ingest.fetch import fetch_url
from corridor.ingest.reader import InputError, RawDocument, read_bytes
from corridor.ingest.service import Item, Outcome, ingest_raw
from corridor.store import audit
from corridor.store.db import Store
from corridor.store.tables import Document, Incident, Mention
from corridor.store.visibility import Viewer, visible
from corridor.web.access import ALL, EDITORS, access
from corridor.web.deps import db, db_write, get_store, viewer
from corridor.web.problems import Problem
from corridor.web.schemas import DocumentUrl, IngestOut

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


def _check_fetchable(request: Request, url: str) -> None:
    """Refuse URLs that resolve to private, loopback or link-local addresses (server-side request forgery),
    unless the server was started with private fetching allowed (tests, closed networks)."""
    try:
        host = urlparse(url).hostname or ""
    except ValueError as exc:
        raise Problem(422, "Validation failed", f"not a usable URL: {exc}") from None
    if request.app.state.allow_private_fetch:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError, ValueError):
        raise Problem(422, "Validation failed", f"cannot resolve {host!r}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise Problem(422, "Validation failed", f"{host!r} is not a public address")


def _ingest(
    store: Store, session: Session, who: Viewer, raws: list[RawDocument], item: Item, request: Request
) -> IngestOut:
    if not raws:
        raise Problem(422, "Validation failed", "the document has no readable content")
    outcomes: list[Outcome] = [ingest_raw(store, raw, item) for raw in raws]
    first = outcomes[0]
    doc_ids = [o.document_id for o in outcomes if o.document_id]
    if first.status == "duplicate":
        sha = raws[0].sha256
        doc = session.scalar(sa.select(Document).where(Document.sha256 == sha, visible(who, "document")))
        doc_ids = [doc.id] if doc else []
    mentions = list(session.scalars(sa.select(Mention).where(Mention.document_id.in_(doc_ids))).all())
    inc_ids = {m.incident_id for m in mentions if m.incident_id}
    incidents = list(
        session.scalars(sa.select(Incident).where(Incident.id.in_(inc_ids), visible(who, "incident"))).all()
    )
    for o in outcomes:
        if o.document_id:
            audit.record(
                session, who, "document.create", "document", o.document_id, request.state.request_id, {"tlp": item.tlp}
            )
    session.commit()
    return IngestOut(
        status=first.status,
        document_id=doc_ids[0] if doc_ids else None,
        reason=first.reason,
        mentions=[
            {
                "id": m.id,
                "ordinal": m.ordinal,
                "incident_id": m.incident_id,
                "event_type": m.event_type,
                "date": m.date.isoformat() if m.date else None,
                "date_precision": m.date_precision,
                "place": m.place_name,
                "killed_total": m.killed_total,
                "injured_total": m.injured_total,
                "is_new": m.is_new,
                "evidence": m.evidence,
            }
            for m in mentions
        ],
        incidents=[incident_record(i) for i in incidents],
    )


@router.post("", status_code=201, response_model=IngestOut, **access(EDITORS, "write"))
def upload(
    request: Request,
    file: UploadFile = File(..., description="A report: .txt, .html or an RSS/Atom feed"),
    published: date | None = Form(None),
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] = Form("CLEAR"),
    outlet: str | None = Form(None, max_length=200),
    who: Viewer = Depends(viewer),
    store: Store = Depends(get_store),
    session: Session = Depends(db_write),
) -> IngestOut:
    limit = request.app.state.max_document_bytes
    data = file.file.read(limit + 1)
    name = Path(file.filename or "upload").name
    try:
        raws = list(read_bytes(data, path=name, max_bytes=limit))
    except InputError as exc:
        raise Problem(
            422, "Validation failed", str(exc), errors=[{"field": "file", "location": "body", "message": str(exc)}]
        ) from None
    item = Item(Path(name), published, None, outlet, owner_org_id=who.org_id, tlp=tlp)
    return _ingest(store, session, who, raws, item, request)


@router.post("/url", status_code=201, response_model=IngestOut, **access(EDITORS, "write"))
def from_url(
    body: DocumentUrl,
    request: Request,
    who: Viewer = Depends(viewer),
    store: Store = Depends(get_store),
    session: Session = Depends(db_write),
) -> IngestOut:
    _check_fetchable(request, body.url)
    try:
        raws = fetch_url(body.url, max_bytes=request.app.state.max_document_bytes)
    except InputError as exc:
        raise Problem(422, "Validation failed", str(exc)) from None
    item = Item(
        Path("url"),
        body.published,
        body.url,
        body.outlet,
        owner_org_id=who.org_id,
        tlp=body.tlp,
    )
    return _ingest(store, session, who, raws, item, request)


@router.get("/{document_id}", **access(ALL, "read", marked="document"))
def show(
    document_id: str, request: Request, who: Viewer = Depends(viewer), session: Session = Depends(db)
) -> dict[str, Any]:
    """A report with its cleaned text (where the evidence offsets point) and its mentions."""
    doc = session.scalar(sa.select(Document).where(Document.id == document_id, visible(who, "document")))
    if doc is None:
        raise Problem(404, "Not found", f"no document {document_id!r}")
    if doc.tlp == "RED":
        with request.app.state.store.transaction() as ws:
            audit.record(ws, who, "document.read", "document", doc.id, request.state.request_id, {"tlp": "RED"})
    return {
        "id": doc.id,
        "sha256": doc.sha256,
        "title": doc.title,
        "url": doc.url,
        "path": doc.path,
        "published": doc.published.isoformat() if doc.published else None,
        "tlp": doc.tlp,
        "outlet": doc.source.name if doc.source else None,
        "text": doc.text,
        "mentions": [
            {"id": m.id, "incident_id": m.incident_id, "event_type": m.event_type, "evidence": m.evidence}
            for m in doc.mentions
        ],
    }
