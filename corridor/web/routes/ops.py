"""Operations over the API: sites, people (personal data, own organisation only), movements with their SOP
evaluation and workflow, and the alerts inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from corridor.ops import service as ops
from corridor.store.tables import Alert, Movement, Site
from corridor.store.visibility import Viewer
from corridor.web.access import ALL, EDITORS, access
from corridor.web.deps import db, db_write, viewer
from corridor.web.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["operations"])
PLANNERS = frozenset({"admin", "analyst", "coordinator", "staff"})


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kind: str = Field("site", max_length=30)
    radius_m: float = Field(500.0, gt=0, le=50_000)
    security_force: str | None = Field(None, max_length=120)


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    nationality: str | None = Field(None, max_length=60)
    site_id: str | None = Field(None, max_length=36)
    phone: str | None = Field(None, max_length=60)
    email: str | None = Field(None, max_length=200)
    emergency_contact: str | None = Field(None, max_length=500)


class MovementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["road", "airport_transfer", "site_visit"]
    origin: str = Field(min_length=2, max_length=200)
    destination: str = Field(min_length=2, max_length=200)
    via: list[str] = Field(default_factory=list, max_length=10)
    depart: datetime
    people: list[str] = Field(min_length=1, max_length=200)
    vehicles: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    escort: str | None = Field(None, max_length=120)
    notice_given_at: datetime | None = None
    check_in_minutes: int | None = Field(None, ge=5, le=1440)


def _fail(exc: ops.OpsError) -> Problem:
    titles = {403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Validation failed"}
    return Problem(exc.status, titles.get(exc.status, "Error"), str(exc))


def _site(s: Site) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "kind": s.kind,
        "lat": s.lat,
        "lon": s.lon,
        "radius_m": s.radius_m,
        "security_force": s.security_force,
    }


def _movement(m: Movement) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "origin": m.origin,
        "destination": m.destination,
        "via": m.via,
        "depart": m.depart.isoformat(),
        "people": m.people,
        "vehicles": m.vehicles,
        "escort": m.escort,
        "status": m.status,
        "evaluation": m.evaluation,
        "last_check_in": m.last_check_in.isoformat() if m.last_check_in else None,
    }


@router.get("/sites", **access(ALL, "read"))
def list_sites(who: Viewer = Depends(viewer), session: Session = Depends(db)) -> list[dict[str, Any]]:
    """Your organisation's sites."""
    return [_site(s) for s in session.scalars(sa.select(Site).where(Site.org_id == who.org_id).order_by(Site.name))]


@router.post("/sites", status_code=201, **access(EDITORS | {"coordinator"}, "write"))
def create_site(body: SiteIn, who: Viewer = Depends(viewer), session: Session = Depends(db_write)) -> dict[str, Any]:
    try:
        site = ops.add_site(session, who, **body.model_dump())
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return _site(site)


@router.get("/people", **access(ALL, "read"))
def list_people(who: Viewer = Depends(viewer), session: Session = Depends(db)) -> list[dict[str, Any]]:
    """People you may see: your organisation's, and others' shared with you by name."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "nationality": p.nationality,
            "site_id": p.site_id,
            "phone": p.phone,
            "email": p.email,
            "emergency_contact": p.emergency_contact,
        }
        for p in session.scalars(ops.people_query(who))
    ]


@router.post("/people", status_code=201, **access(EDITORS | {"coordinator"}, "write"))
def create_person(
    body: PersonIn, who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> dict[str, Any]:
    try:
        p = ops.add_person(session, who, **body.model_dump())
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return {"id": p.id, "name": p.name}


@router.get("/people/{person_id}/export", **access(frozenset({"admin"}), "admin"))
def export_person(
    person_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> dict[str, Any]:
    """Everything held on a person (subject-access request); the export is audited."""
    try:
        data = ops.export_person(session, who, person_id)
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return data


@router.delete("/people/{person_id}", status_code=204, **access(frozenset({"admin"}), "admin"))
def erase_person(person_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db_write)) -> Response:
    """Erase a person on request (record, alerts, place on movements)."""
    try:
        ops.erase_person(session, who, person_id)
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return Response(status_code=204)


@router.get("/movements", **access(ALL, "read"))
def list_movements(who: Viewer = Depends(viewer), session: Session = Depends(db)) -> list[dict[str, Any]]:
    q = sa.select(Movement).where(Movement.org_id == who.org_id).order_by(Movement.depart)
    return [_movement(m) for m in session.scalars(q)]


@router.post("/movements", status_code=201, **access(PLANNERS, "write"))
def request_movement(
    body: MovementIn, request: Request, who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> dict[str, Any]:
    """Request a movement; it is evaluated against the SOPs and the route's risk at once."""
    from corridor.geo.roads import RoadError, get_network
    from corridor.risk.service import RiskError
    from corridor.web.routes.risk import _model

    try:
        mv = ops.request_movement(session, who, **body.model_dump())
        ops.evaluate_movement(session, mv, _model(request), get_network())
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    except (RiskError, RoadError) as exc:
        raise Problem(422, "Validation failed", str(exc)) from None
    return _movement(mv)


@router.post("/movements/{movement_id}/status/{status}", **access(PLANNERS, "write"))
def advance_movement(
    movement_id: str,
    status: Literal["submitted", "approved", "rejected", "acknowledged", "under_way", "completed", "cancelled"],
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> dict[str, Any]:
    """Move a movement through its workflow (who may do which step depends on the role)."""
    try:
        mv = ops.advance(session, who, movement_id, status)
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return _movement(mv)


@router.post("/movements/{movement_id}/check-in", **access(PLANNERS, "write"))
def movement_check_in(
    movement_id: str, who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> dict[str, Any]:
    try:
        mv = ops.check_in(session, who, movement_id)
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return _movement(mv)


@router.get("/alerts", **access(ALL, "read"))
def list_alerts(
    status: Literal["open", "acknowledged", "safe", "escalated"] | None = None,
    who: Viewer = Depends(viewer),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    """Your organisation's alerts, newest first."""
    q = sa.select(Alert).where(Alert.org_id == who.org_id)
    if status:
        q = q.where(Alert.status == status)
    return [
        {
            "id": a.id,
            "incident_id": a.incident_id,
            "target_kind": a.target_kind,
            "target_id": a.target_id,
            "distance_km": a.distance_km,
            "reason": a.reason,
            "status": a.status,
            "created_at": a.created_at.isoformat(),
        }
        for a in session.scalars(q.order_by(Alert.created_at.desc()))
    ]


@router.post("/alerts/{alert_id}/{action}", **access(PLANNERS, "write"))
def answer_alert(
    alert_id: str, action: Literal["ack", "safe"], who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> dict[str, Any]:
    """Acknowledge an alert, or check in as safe."""
    try:
        a = ops.acknowledge(session, who, alert_id, safe=action == "safe")
        session.commit()
    except ops.OpsError as exc:
        raise _fail(exc) from None
    return {"id": a.id, "status": a.status}
