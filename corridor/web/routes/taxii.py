"""TAXII 2.1 server (read and add) over the incident picture.

One API root, `/taxii2/api/`, with one collection, "incidents": what the caller's organisation may see and pass
on (TLP CLEAR, GREEN, AMBER; the visibility filter applies to every object). Objects can be filtered with
`added_after`, `match[id]`, `match[type]`, paged with `limit`/`next`; the manifest and versions endpoints list
what is there; POSTed envelopes are imported all-or-nothing and answered with a status resource. Callers
authenticate with API tokens (Bearer)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.share.stix import StixError, export_bundle, import_bundle, ts
from corridor.store.visibility import Viewer
from corridor.web.access import ALL, EDITORS, access
from corridor.web.deps import db, viewer
from corridor.web.problems import Problem

TAXII = "application/taxii+json;version=2.1"
_TAXII_BODY = {"content": {TAXII: {"schema": {"type": "object"}}}}
router = APIRouter(prefix="/taxii2", tags=["taxii"], responses={200: _TAXII_BODY, 202: _TAXII_BODY})
COLLECTION = "9f3c1b0e-6d0e-5a8f-8c4b-3f1e2d7a9c55"  # stable id of the "incidents" collection
_statuses: dict[str, dict[str, Any]] = {}


def _taxii(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=TAXII, headers=headers)


def _collection() -> dict[str, Any]:
    return {
        "id": COLLECTION,
        "title": "incidents",
        "description": "Incidents this organisation may see and pass on",
        "can_read": True,
        "can_write": True,
        "media_types": ["application/stix+json;version=2.1"],
    }


def _added(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "2022-10-01T00:00:00.000Z")


def _objects(
    session: Session, who: Viewer, added_after: str | None, ids: str | None, types: str | None
) -> list[dict[str, Any]]:
    objs = export_bundle(session, who)["objects"]
    if added_after:
        objs = [o for o in objs if _added(o) > added_after]
    if ids:
        wanted = set(ids.split(","))
        objs = [o for o in objs if o["id"] in wanted]
    if types:
        kinds = set(types.split(","))
        objs = [o for o in objs if o["type"] in kinds]
    return sorted(objs, key=lambda o: (_added(o), o["id"]))


def _page(objs: list[dict[str, Any]], limit: int | None, nxt: str | None) -> tuple[list[dict[str, Any]], str | None]:
    start = int(nxt) if nxt and nxt.isdigit() else 0
    end = start + limit if limit else len(objs)
    return objs[start:end], (str(end) if end < len(objs) else None)


def _check_collection(collection_id: str) -> None:
    if collection_id != COLLECTION:
        raise Problem(404, "Not found", f"no collection {collection_id!r}")


@router.get("/", **access(ALL, "read"))
def discovery(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return _taxii(
        {
            "title": "corridor",
            "description": "Protective-security incidents, STIX 2.1 under TLP 2.0",
            "default": f"{base}/taxii2/api/",
            "api_roots": [f"{base}/taxii2/api/"],
        }
    )


@router.get("/api/", **access(ALL, "read"))
def api_root() -> Response:
    return _taxii({"title": "corridor incidents", "versions": [TAXII], "max_content_length": 10 * 1024 * 1024})


@router.get("/api/collections/", **access(ALL, "read"))
def collections() -> Response:
    return _taxii({"collections": [_collection()]})


@router.get("/api/collections/{collection_id}/", **access(ALL, "read"))
def collection(collection_id: str) -> Response:
    _check_collection(collection_id)
    return _taxii(_collection())


@router.get("/api/collections/{collection_id}/objects/", **access(ALL, "read"))
def get_objects(
    collection_id: str,
    added_after: str | None = None,
    limit: int | None = Query(None, ge=1, le=10000),
    next: str | None = Query(None, max_length=20),
    match_id: str | None = Query(None, alias="match[id]"),
    match_type: str | None = Query(None, alias="match[type]"),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> Response:
    _check_collection(collection_id)
    page, more = _page(_objects(session, who, added_after, match_id, match_type), limit, next)
    headers = {}
    if page:
        headers = {"X-TAXII-Date-Added-First": _added(page[0]), "X-TAXII-Date-Added-Last": _added(page[-1])}
    body: dict[str, Any] = {"more": more is not None, "objects": page}
    if more:
        body["next"] = more
    return _taxii(body, headers=headers)


@router.get("/api/collections/{collection_id}/manifest/", **access(ALL, "read"))
def manifest(
    collection_id: str,
    added_after: str | None = None,
    limit: int | None = Query(None, ge=1, le=10000),
    next: str | None = Query(None, max_length=20),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> Response:
    _check_collection(collection_id)
    page, more = _page(_objects(session, who, added_after, None, None), limit, next)
    body: dict[str, Any] = {
        "more": more is not None,
        "objects": [
            {
                "id": o["id"],
                "date_added": _added(o),
                "version": _added(o),
                "media_type": "application/stix+json;version=2.1",
            }
            for o in page
        ],
    }
    if more:
        body["next"] = more
    return _taxii(body)


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/", **access(ALL, "read"))
def versions(
    collection_id: str, object_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db)
) -> Response:
    _check_collection(collection_id)
    found = _objects(session, who, None, object_id, None)
    if not found:
        raise Problem(404, "Not found", f"no object {object_id!r}")
    return _taxii({"more": False, "versions": [_added(o) for o in found]})


@router.post("/api/collections/{collection_id}/objects/", status_code=202, **access(EDITORS, "write"))
async def add_objects(collection_id: str, request: Request) -> Response:
    """Add an envelope of STIX objects; all or nothing; answered with a status resource."""
    _check_collection(collection_id)
    raw = await request.body()
    return _add(raw, request)


def _add(raw: bytes, request: Request) -> Response:
    who: Viewer = request.state.viewer
    try:
        envelope = json.loads(raw)
        objects = envelope.get("objects") if isinstance(envelope, dict) else None
        if not isinstance(objects, list):
            raise StixError("an envelope with a list of objects is required")
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    except (json.JSONDecodeError, UnicodeDecodeError, StixError) as exc:
        raise Problem(422, "Validation failed", f"not a TAXII envelope: {exc}") from None
    store = request.app.state.store
    try:
        with store.transaction() as session:
            import_bundle(session, who, json.dumps(bundle))
        status, ok, failed = "complete", [o.get("id") for o in objects], []
    except StixError as exc:
        status, ok, failed = "complete", [], [{"id": o.get("id"), "message": str(exc)} for o in objects]
    sid = str(uuid.uuid4())
    _statuses[sid] = {
        "id": sid,
        "status": status,
        "request_timestamp": ts(now()),
        "total_count": len(objects),
        "success_count": len(ok),
        "failure_count": len(failed),
        "pending_count": 0,
        "successes": [{"id": i} for i in ok],
        "failures": failed,
        "org": who.org_id,
    }
    body = {k: v for k, v in _statuses[sid].items() if k != "org"}
    return _taxii(body, status=202)


@router.get("/api/status/{status_id}/", **access(ALL, "read"))
def get_status(status_id: str, who: Viewer = Depends(viewer)) -> Response:
    st = _statuses.get(status_id)
    if st is None or st["org"] != who.org_id:
        raise Problem(404, "Not found", f"no status {status_id!r}")
    return _taxii({k: v for k, v in st.items() if k != "org"})
