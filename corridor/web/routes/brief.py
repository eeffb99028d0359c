"""The daily security brief over the API: `GET /api/v1/brief?date=&format=html|pdf` gives the caller's
organisation's brief, read with the caller's own Viewer (so a RED record shared with this user by name may
appear in it, and then the brief is marked RED and its delivery is audited like a RED read)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from corridor.brief.render import file_name, render_html, render_pdf
from corridor.brief.service import RADIUS_KM, BriefError, gather
from corridor.clock import now
from corridor.ops.service import LOCAL
from corridor.risk.service import RiskError
from corridor.store import audit
from corridor.store.visibility import Viewer
from corridor.web.access import ALL, access
from corridor.web.deps import db, viewer
from corridor.web.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["brief"])


@router.get(
    "/brief",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
    **access(ALL, "read"),
)
def daily_brief(
    request: Request,
    on: date | None = Query(None, alias="date", description="Day of the brief (default: today, Asia/Karachi)"),
    fmt: Literal["html", "pdf"] = Query("html", alias="format"),
    radius_km: float = Query(RADIUS_KM, gt=0, le=500, description="What counts as near a site"),
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> Response:
    """Your organisation's daily security brief: incidents near its sites (last 24 hours, last 7 days) and in
    their provinces, risk-rating changes at each site, tomorrow's movements with their SOP evaluation, a map
    and a 30-day chart; marked with the most restrictive TLP of what it contains."""
    from corridor.web.routes.risk import _model

    day = on or now().astimezone(LOCAL).date()
    try:
        model = _model(request)
    except RiskError:
        model = None  # gather() fits one itself and, failing that, says in the brief why ratings are missing
    try:
        b = gather(session, who, day, model, radius_km=radius_km)
    except BriefError as exc:
        raise Problem(422, "Validation failed", str(exc)) from None
    session.rollback()  # the read is over; render without holding it
    body: bytes | str = render_pdf(b) if fmt == "pdf" else render_html(b)
    if b.marking == "RED":
        with request.app.state.store.transaction() as ws:
            detail = {"tlp": "RED", "date": day.isoformat(), "format": fmt}
            audit.record(ws, who, "brief.read", "organisation", b.org_id, request.state.request_id, detail)
    name = file_name(b, fmt)
    return Response(
        body,
        media_type="application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'{"attachment" if fmt == "pdf" else "inline"}; filename="{name}"',
            "X-TLP": b.marking,
        },
    )
