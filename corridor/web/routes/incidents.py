"""Incidents: list (filters, cursor pagination, JSON/GeoJSON/CSV), show with sources and evidence, and the
review workflow (create, edit, verify, retract, merge, split, share) with ETag / If-Match."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.orm import Session

from corridor.export import COLUMNS, incident_record, list_record, to_csv, to_geojson
from corridor.review import service as review
from corridor.store import audit
from corridor.store.queries import (
    MentionView,
    PageQuery,
    get_incident,
    incident_page,
    incident_row,
    mention_views,
    mention_views_of,
)
from corridor.store.tables import Incident
from corridor.store.visibility import Viewer
from corridor.web.access import ALL, EDITORS, access
from corridor.web.deps import db, db_write, get_store, viewer
from corridor.web.problems import Problem
from corridor.web.schemas import IncidentCreate, IncidentPage, IncidentPatch, MergeIn, Reason, ShareIn, SplitIn

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


LIST_FIELDS = tuple(c for c in COLUMNS if c != "sources")  # what a list's record shows


def _cursor_encode(inc: sa.Row[Any]) -> str:
    raw = json.dumps([inc.date.isoformat() if inc.date else None, inc.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[date | None, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        d, i = json.loads(raw)
        return (date.fromisoformat(d) if d else None), str(i)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise Problem(400, "Bad request", "cursor is not one this server issued") from None


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        parts = [float(x) for x in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not (-180 <= parts[0] <= parts[2] <= 180 and -90 <= parts[1] <= parts[3] <= 90):
        raise Problem(
            422,
            "Validation failed",
            "bbox: expected minlon,minlat,maxlon,maxlat",
            errors=[{"field": "bbox", "location": "query", "message": "minlon,minlat,maxlon,maxlat"}],
        )
    return parts[0], parts[1], parts[2], parts[3]


@router.get(
    "",
    response_model=IncidentPage,
    responses={
        200: {
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
    **access(ALL, "read"),
)
def list_incidents(
    request: Request,
    since: date | None = None,
    until: date | None = None,
    bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
    province: str | None = Query(None, max_length=60),
    district: str | None = Query(None, max_length=120),
    event_type: str | None = Query(None, max_length=30),
    actor: str | None = Query(None, max_length=40),
    status: Literal["draft", "verified", "retracted"] | None = None,
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] | None = None,
    q: str | None = Query(None, max_length=200, description="free text over place, perpetrator and report titles"),
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=500),
    format: Literal["json", "geojson", "csv"] = "json",
    who: Viewer = Depends(viewer),
) -> Any:
    page = PageQuery(
        since=since,
        until=until,
        bbox=_bbox(bbox),
        province=province,
        district=district,
        event_type=event_type,
        perpetrator=actor,
        status=status,
        tlp=tlp,
        text=q,
        after=_cursor_decode(cursor) if cursor else None,
        limit=limit + 1,  # one more than shown: whether a next page exists
    )
    with get_store(request).read_engine.connect() as conn:  # a read connection, not an ORM session: see Store
        # rows of the columns a list shows, not ORM objects (bench/api_cpu.py: a third of the page's Python time)
        rows = incident_page(conn, who, page, LIST_FIELDS)
        more = len(rows) > limit
        rows = rows[:limit]
        # the list names only the sources the caller may see (one query for the page); details come with show
        seen = mention_views_of(conn, who, [r.id for r in rows])
    nxt = _cursor_encode(rows[-1]) if more and rows else None
    headers = {"Link": f'<{request.url.include_query_params(cursor=nxt)}>; rel="next"'} if nxt else {}
    if format == "geojson":
        return Response(to_geojson(rows, seen), media_type="application/geo+json", headers=headers)
    if format == "csv":
        return Response(to_csv(rows, seen), media_type="text/csv; charset=utf-8", headers=headers)
    # serialised here: what IncidentPage would validate and dump (the model still documents the answer)
    body = {"items": [list_record(r, seen.get(r.id, [])) for r in rows], "next_cursor": nxt}
    return Response(_json(body), media_type="application/json", headers=headers)


def _json(body: Any) -> bytes:
    """The list's and show's JSON, by orjson: compact, the same values as json.dumps in a tenth of the time (a page
    of 50 incidents is ~25 kB)."""
    return orjson.dumps(body, default=str)


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.strip().removeprefix("W/").strip('"')
    try:
        return int(v)
    except ValueError:
        raise Problem(412, "Precondition failed", "If-Match must be an ETag this server issued") from None


def _detail(
    session: Session, who: Viewer, inc: Incident | sa.Row[Any], request: Request, status: int = 200
) -> Response:
    """The answer about one incident after a change. The record is read first: the session's transaction then
    ends (releasing SQLite's write lock) before the audit, and a rolled-back ORM object would load itself again."""
    body = _record(inc, mention_views(session.connection(), who, inc.id))
    session.rollback()
    return _answer(who, body, request, status)


def _record(inc: Incident | sa.Row[Any], mentions: list[MentionView]) -> dict[str, Any]:
    body = incident_record(inc, detail=True, mentions=mentions)
    body["merged_into"] = inc.merged_into
    body["locked_fields"] = inc.locked_fields
    return body


def _answer(who: Viewer, body: dict[str, Any], request: Request, status: int = 200) -> Response:
    """The answer about one incident (show and every change): the record with its visible sources, the ETag; a
    RED incident's read is audited."""
    if body["tlp"] == "RED":
        with request.app.state.store.transaction() as ws:
            audit.record(ws, who, "incident.read", "incident", body["id"], request.state.request_id, {"tlp": "RED"})
    return Response(
        _json(body),
        status_code=status,
        media_type="application/json",
        headers={"ETag": f'W/"{body["version"]}"'},
    )


def _get(session: Session, who: Viewer, incident_id: str) -> Incident:
    inc = get_incident(session, who, incident_id)
    if inc is None:
        raise Problem(404, "Not found", f"no incident {incident_id!r}")
    return inc


def _run(session: Session, fn: Any, *args: Any) -> Incident:
    try:
        out = fn(session, *args)
        session.commit()
        return out
    except review.ReviewError as exc:
        session.rollback()
        raise Problem(
            exc.status,
            {
                403: "Forbidden",
                404: "Not found",
                409: "Conflict",
                412: "Precondition failed",
                422: "Validation failed",
                428: "Precondition required",
            }.get(exc.status, "Error"),
            str(exc),
        ) from None


@router.get("/{incident_id}", **access(ALL, "read", marked="incident"))
def show(incident_id: str, request: Request, who: Viewer = Depends(viewer)) -> Response:
    """One incident: the canonical record, every visible source with its figures, and the evidence sentences."""
    with get_store(request).read_engine.connect() as conn:  # a read connection, not an ORM session: see Store
        row = incident_row(conn, who, incident_id)  # a row, not an ORM object: nothing here changes it
        if row is None:
            raise Problem(404, "Not found", f"no incident {incident_id!r}")
        body = _record(row, mention_views(conn, who, row.id))
    return _answer(who, body, request)


@router.post("", status_code=201, **access(EDITORS, "write"))
def create(
    body: IncidentCreate, request: Request, who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> Response:
    data = body.model_dump(mode="python")
    data["event_type"] = str(body.event_type.value)
    data["date_precision"] = body.date_precision.value if body.date_precision else None
    inc = _run(session, review.create, who, data, request.state.request_id)
    return _detail(session, who, inc, request, status=201)


@router.patch("/{incident_id}", **access(EDITORS, "write", marked="incident", writes=True))
def edit(
    incident_id: str,
    body: IncidentPatch,
    request: Request,
    if_match: str | None = Header(None),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> Response:
    """Change fields (needs If-Match; a stale ETag gives 412). The previous values are kept with the reason."""
    inc = _get(session, who, incident_id)
    data = body.model_dump(mode="python", exclude_unset=True)
    if "event_type" in data and data["event_type"] is not None:
        data["event_type"] = str(body.event_type.value)  # type: ignore[union-attr]
    if "date_precision" in data and data["date_precision"] is not None:
        data["date_precision"] = body.date_precision.value  # type: ignore[union-attr]
    inc = _run(session, review.edit, who, inc.id, _if_match(if_match), data, request.state.request_id)
    return _detail(session, who, inc, request)


def _status_route(status: str, doc: str) -> None:
    """verify and retract: one status transition each, the same rules (If-Match, reason, audit)."""

    def change(
        incident_id: str,
        body: Reason,
        request: Request,
        if_match: str | None = Header(None),
        who: Viewer = Depends(viewer),
        session: Session = Depends(db_write),
    ) -> Response:
        inc = _get(session, who, incident_id)
        inc = _run(
            session, review.set_status, who, inc.id, _if_match(if_match), status, body.reason, request.state.request_id
        )
        return _detail(session, who, inc, request)

    change.__doc__ = doc
    name = {"verified": "verify", "retracted": "retract"}[status]
    router.add_api_route(
        f"/{{incident_id}}/{name}",
        change,
        methods=["POST"],
        name=name,
        **access(EDITORS, "write", marked="incident", writes=True),
    )


_status_route("verified", "Mark the incident verified (draft -> verified), with the reason.")
_status_route("retracted", "Retract the incident (it stays, marked retracted), with the reason.")


@router.post("/{incident_id}/merge", **access(EDITORS, "write", marked="incident", writes=True))
def merge(
    incident_id: str,
    body: MergeIn,
    request: Request,
    if_match: str | None = Header(None),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> Response:
    """Absorb another incident (its mentions move here; it becomes `merged` and points here)."""
    inc = _get(session, who, incident_id)
    other = _get(session, who, body.other_id)
    inc = _run(session, review.merge, who, inc.id, _if_match(if_match), other.id, body.reason, request.state.request_id)
    return _detail(session, who, inc, request)


@router.post("/{incident_id}/split", status_code=201, **access(EDITORS, "write", marked="incident", writes=True))
def split(
    incident_id: str,
    body: SplitIn,
    request: Request,
    if_match: str | None = Header(None),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> Response:
    """Move some mentions to a new incident; returns the new incident."""
    inc = _get(session, who, incident_id)
    new = _run(
        session, review.split, who, inc.id, _if_match(if_match), body.mention_ids, body.reason, request.state.request_id
    )
    return _detail(session, who, new, request, status=201)


@router.post("/{incident_id}/shares", status_code=201, **access(EDITORS, "write", marked="incident", writes=True))
def add_share(
    incident_id: str,
    body: ShareIn,
    request: Request,
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> dict[str, Any]:
    """Share an AMBER incident with an organisation or a sharing group, or a RED one with a named user."""
    inc = _get(session, who, incident_id)
    try:
        rec = review.share(session, who, inc.id, body.org_id, body.user_id, request.state.request_id, body.group_id)
        session.commit()
    except review.ReviewError as exc:
        session.rollback()
        raise Problem(exc.status, "Conflict" if exc.status == 409 else "Error", str(exc)) from None
    return {
        "id": rec.id,
        "object_id": rec.object_id,
        "org_id": rec.org_id,
        "user_id": rec.user_id,
        "group_id": rec.group_id,
    }


@router.get("/{incident_id}/history", **access(ALL, "read", marked="incident"))
def history(incident_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db)) -> list[dict[str, Any]]:
    """Every change to the incident: who, when, what (old and new values) and why."""
    from corridor.store.tables import IncidentEdit

    inc = _get(session, who, incident_id)
    edits = session.scalars(
        sa.select(IncidentEdit)
        .where(IncidentEdit.incident_id == inc.id)
        .order_by(IncidentEdit.at, IncidentEdit.version)
    ).all()
    return [
        {
            "version": e.version,
            "at": e.at.isoformat(),
            "user_id": e.user_id,
            "action": e.action,
            "changes": e.changes,
            "reason": e.reason,
        }
        for e in edits
    ]
