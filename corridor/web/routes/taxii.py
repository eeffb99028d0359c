"""TAXII 2.1 server (read and add) over the incident picture.

One API root, `/taxii2/api/`, with the collection "incidents" (everything the caller's organisation may see and
pass on: TLP CLEAR, GREEN, AMBER) and one collection per sharing group the organisation belongs to (what the
whole group may see: CLEAR, GREEN and what was shared with the group; its id is the group's). Every object of
every collection, incidents and everything derived from them as well as other producers' objects, passes the
one visibility filter; a collection of a group the caller is not in answers 404.

Objects can be filtered with `added_after` (TAXII date_added: when this server stored the object or last changed
who may see it), `match[id]`, `match[type]`, `match[version]` (last, first, all or a version), paged with
`limit`/`next`; one object, the manifest and an object's versions are served too. POSTed envelopes are imported
all-or-nothing (objects that are not incidents are kept as foreign objects) and answered with a status resource;
what is POSTed to a group's collection is shared with the group. Callers authenticate with API tokens (Bearer).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.share.groups import GroupError, groups_of, is_member
from corridor.share.importer import import_objects
from corridor.share.stix import MAX_BYTES, Entry, StixError, collection_entries, parse_ts, ts, version_of
from corridor.store.tables import SharingGroup
from corridor.store.visibility import Viewer
from corridor.web.access import ALL, EDITORS, access
from corridor.web.deps import db, viewer
from corridor.web.problems import Problem

TAXII = "application/taxii+json;version=2.1"
STIX_MEDIA = "application/stix+json;version=2.1"
_TAXII_BODY = {"content": {TAXII: {"schema": {"type": "object"}}}}
router = APIRouter(prefix="/taxii2", tags=["taxii"], responses={200: _TAXII_BODY, 202: _TAXII_BODY})
COLLECTION = "9f3c1b0e-6d0e-5a8f-8c4b-3f1e2d7a9c55"  # stable id of the "incidents" collection
_statuses: dict[str, dict[str, Any]] = {}  # the latest statuses, kept in this process only
MAX_STATUSES = 10000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _taxii(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=TAXII, headers=headers)


def _collection(group: SharingGroup | None = None) -> dict[str, Any]:
    if group is None:
        return {
            "id": COLLECTION,
            "title": "incidents",
            "description": "Incidents this organisation may see and pass on",
            "can_read": True,
            "can_write": True,
            "media_types": [STIX_MEDIA],
        }
    return {
        "id": group.id,
        "title": group.name,
        "description": f"Sharing group {group.name}: what the whole group may see",
        "can_read": True,
        "can_write": True,
        "media_types": [STIX_MEDIA],
    }


def _scope(session: Session, who: Viewer, collection_id: str) -> SharingGroup | None:
    """The sharing group a collection id names (None: the "incidents" collection); 404 for anything else,
    a group the caller's organisation is not in included."""
    if collection_id == COLLECTION:
        return None
    group = session.get(SharingGroup, collection_id)
    if group is None or not is_member(session, group.id, who.org_id):
        raise Problem(404, "Not found", f"no collection {collection_id!r}")
    return group


def _after(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise Problem(400, "Bad request", f"added_after: {exc}") from None


def _versions(entries: list[Entry], which: str) -> list[Entry]:
    """Apply match[version]: last (the default), first, all, or versions named (comma-separated)."""
    if which == "all":
        return entries
    wanted = set(which.split(","))
    by_id: dict[str, list[Entry]] = {}
    for e in entries:
        by_id.setdefault(e[1]["id"], []).append(e)
    out: list[Entry] = []
    for found in by_id.values():
        found.sort(key=lambda e: _version_key(version_of(e[1])))
        keep = [e for e in found if version_of(e[1]) in wanted]
        keep += [found[0]] if "first" in wanted else []
        keep += [found[-1]] if "last" in wanted else []
        out += list({version_of(e[1]): e for e in keep}.values())
    return sorted(out, key=lambda e: (e[0], e[1]["id"], version_of(e[1])))


def _version_key(version: str) -> datetime:
    try:
        return parse_ts(version)
    except ValueError:
        return EARLIEST


def _select(
    session: Session,
    who: Viewer,
    collection_id: str,
    added_after: str | None = None,
    ids: str | None = None,
    types: str | None = None,
    version: str | None = None,
) -> list[Entry]:
    group = _scope(session, who, collection_id)
    after = _after(added_after)
    wanted = set(ids.split(",")) if ids else None
    entries = collection_entries(session, who, group.id if group else None, wanted)
    if after is not None:
        entries = [e for e in entries if e[0] > after]
    if types:
        kinds = set(types.split(","))
        entries = [e for e in entries if e[1]["type"] in kinds]
    return _versions(entries, version or "last")


def _page(entries: list[Entry], limit: int | None, nxt: str | None) -> tuple[list[Entry], str | None]:
    """A page of entries after the `next` token of the previous page. The token names the last entry served
    (date_added, id, version), not a position: an object whose date_added moves while a client pages (a new
    version, a share) lands after the token and is served later instead of shifting others out of sight."""
    if nxt:
        try:
            after_added, after_id, after_version = json.loads(base64.urlsafe_b64decode(nxt + "=" * (-len(nxt) % 4)))
            after = (parse_ts(after_added), str(after_id), str(after_version))
        except (ValueError, TypeError):
            raise Problem(400, "Bad request", "next is not a token this server issued") from None
        entries = [e for e in entries if (e[0], e[1]["id"], version_of(e[1])) > after]
    page = entries[:limit] if limit else entries
    if len(page) == len(entries):
        return page, None
    last = page[-1]
    token = json.dumps([ts(last[0]), last[1]["id"], version_of(last[1])]).encode()
    return page, base64.urlsafe_b64encode(token).decode().rstrip("=")


def _added_headers(page: list[Entry]) -> dict[str, str]:
    if not page:
        return {}
    return {"X-TAXII-Date-Added-First": ts(page[0][0]), "X-TAXII-Date-Added-Last": ts(page[-1][0])}


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
    return _taxii({"title": "corridor incidents", "versions": [TAXII], "max_content_length": MAX_BYTES})


@router.get("/api/collections/", **access(ALL, "read"))
def collections(who: Viewer = Depends(viewer), session: Session = Depends(db)) -> Response:
    """The "incidents" collection and one per sharing group of the caller's organisation."""
    return _taxii({"collections": [_collection()] + [_collection(g) for g in groups_of(session, who.org_id)]})


@router.get("/api/collections/{collection_id}/", **access(ALL, "read"))
def collection(collection_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db)) -> Response:
    return _taxii(_collection(_scope(session, who, collection_id)))


@router.get("/api/collections/{collection_id}/objects/", **access(ALL, "read"))
def get_objects(
    collection_id: str,
    added_after: str | None = Query(None, max_length=40),
    limit: int | None = Query(None, ge=1, le=10000),
    next: str | None = Query(None, max_length=800),
    match_id: str | None = Query(None, alias="match[id]", max_length=100000),
    match_type: str | None = Query(None, alias="match[type]", max_length=10000),
    match_version: str | None = Query(None, alias="match[version]", max_length=10000),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> Response:
    entries = _select(session, who, collection_id, added_after, match_id, match_type, match_version)
    page, more = _page(entries, limit, next)
    body: dict[str, Any] = {"more": more is not None, "objects": [o for _, o in page]}
    if more:
        body["next"] = more
    return _taxii(body, headers=_added_headers(page))


@router.get("/api/collections/{collection_id}/objects/{object_id}/", **access(ALL, "read"))
def get_object(
    collection_id: str,
    object_id: str,
    match_version: str | None = Query(None, alias="match[version]", max_length=10000),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> Response:
    """One object (its newest version unless match[version] says otherwise); 404 when the caller may not see it."""
    found = _select(session, who, collection_id, ids=object_id, version=match_version)
    if not found:
        raise Problem(404, "Not found", f"no object {object_id!r}")
    return _taxii({"more": False, "objects": [o for _, o in found]}, headers=_added_headers(found))


@router.get("/api/collections/{collection_id}/manifest/", **access(ALL, "read"))
def manifest(
    collection_id: str,
    added_after: str | None = Query(None, max_length=40),
    limit: int | None = Query(None, ge=1, le=10000),
    next: str | None = Query(None, max_length=800),
    match_id: str | None = Query(None, alias="match[id]", max_length=100000),
    match_type: str | None = Query(None, alias="match[type]", max_length=10000),
    match_version: str | None = Query(None, alias="match[version]", max_length=10000),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> Response:
    entries = _select(session, who, collection_id, added_after, match_id, match_type, match_version)
    page, more = _page(entries, limit, next)
    body: dict[str, Any] = {
        "more": more is not None,
        "objects": [
            {"id": o["id"], "date_added": ts(added), "version": version_of(o) or ts(added), "media_type": STIX_MEDIA}
            for added, o in page
        ],
    }
    if more:
        body["next"] = more
    return _taxii(body, headers=_added_headers(page))


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/", **access(ALL, "read"))
def versions(
    collection_id: str, object_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db)
) -> Response:
    found = _select(session, who, collection_id, ids=object_id, version="all")
    if not found:
        raise Problem(404, "Not found", f"no object {object_id!r}")
    return _taxii(
        {"more": False, "versions": [version_of(o) or ts(added) for added, o in found]}, headers=_added_headers(found)
    )


@router.post("/api/collections/{collection_id}/objects/", status_code=202, **access(EDITORS, "write"))
async def add_objects(collection_id: str, request: Request) -> Response:
    """Add an envelope of STIX objects; all or nothing; answered with a status resource. Objects added to a
    sharing group's collection are shared with the group."""
    who: Viewer = request.state.viewer
    with request.app.state.store.sessions() as session:
        group = _scope(session, who, collection_id)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES:
        raise Problem(413, "Content too large", f"TAXII envelopes are limited to {MAX_BYTES // (1024 * 1024)} MB")
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise Problem(413, "Content too large", f"TAXII envelopes are limited to {MAX_BYTES // (1024 * 1024)} MB")
    return _add(raw, request, who, group.id if group else None)


def _add(raw: bytes, request: Request, who: Viewer, group_id: str | None) -> Response:
    try:
        envelope = json.loads(raw)
        objects = envelope.get("objects") if isinstance(envelope, dict) else None
        if not isinstance(objects, list):
            raise StixError("an envelope with a list of objects is required")
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, StixError) as exc:
        raise Problem(422, "Validation failed", f"not a TAXII envelope: {exc}") from None
    store = request.app.state.store

    def oid(o: Any) -> Any:
        return o.get("id") if isinstance(o, dict) else None

    try:
        with store.transaction() as session:
            import_objects(session, who, json.dumps(bundle), group_id=group_id, request_id=request.state.request_id)
        ok, failed = [oid(o) for o in objects], []
    except (StixError, GroupError) as exc:
        ok, failed = [], [{"id": oid(o), "message": str(exc)} for o in objects]
    sid = str(uuid.uuid4())
    while len(_statuses) >= MAX_STATUSES:
        _statuses.pop(next(iter(_statuses)))
    _statuses[sid] = {
        "id": sid,
        "status": "complete",
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
