"""Risk ratings over the API. The model is fitted on the bundled history and the public (CLEAR/GREEN)
incidents of the store, cached for a few minutes; restricted incidents never shape a rating shown to all."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request

from corridor.clock import now
from corridor.geo import get_gazetteer
from corridor.risk.service import RiskError, RiskModel, build_model, store_incidents
from corridor.web.access import ALL, access
from corridor.web.deps import get_store
from corridor.web.problems import Problem

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])
CACHE_SECONDS = 600
_lock = threading.Lock()


def _model(request: Request) -> RiskModel:
    state = request.app.state
    with _lock:
        cached = getattr(state, "risk_model", None)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        store = get_store(request)
        with store.sessions() as session:
            extra = store_incidents(session)
        model = build_model(extra)
        state.risk_model = (time.monotonic(), model)
        return model


def _refuse(exc: RiskError) -> Problem:
    return Problem(422, "Validation failed", str(exc))


@router.get("/at", **access(ALL, "read"))
def risk_at(
    request: Request,
    lat: float | None = Query(None, ge=-90, le=90),
    lon: float | None = Query(None, ge=-180, le=180),
    place: str | None = Query(None, min_length=2, max_length=120),
    on: date | None = Query(None, alias="date"),
) -> dict[str, Any]:
    """Rating 1-5 of a point (lat & lon) or a place, with the incidents that raised it and the trend."""
    if place:
        found = [p for p in get_gazetteer().lookup(place) if p.is_domestic and p.lat is not None]
        if not found:
            raise Problem(422, "Validation failed", f"no place {place!r} in Pakistan's gazetteer")
        lat, lon = found[0].lat, found[0].lon
    if lat is None or lon is None:
        raise Problem(
            422,
            "Validation failed",
            "give lat and lon, or place",
            errors=[{"field": "lat", "location": "query", "message": "required without place"}],
        )
    try:
        return _model(request).rate(lat, lon, on or now().date())
    except RiskError as exc:
        raise _refuse(exc) from None


@router.get("/route", **access(ALL, "read"))
def risk_route(
    request: Request,
    start: str = Query(..., alias="from", min_length=2, max_length=120),
    end: str = Query(..., alias="to", min_length=2, max_length=120),
    via: list[str] = Query(default_factory=list, max_length=10),
    on: date | None = Query(None, alias="date"),
    least_risk: bool = False,
) -> dict[str, Any]:
    """A road route rated along its length: exposure, worst segment, legs, travel time."""
    from corridor.geo.roads import RoadError, get_network
    from corridor.risk.routes import plan

    try:
        return plan(_model(request), get_network(), start, end, on or now().date(), via=via, least_risk=least_risk)
    except (RiskError, RoadError) as exc:
        raise Problem(422, "Validation failed", str(exc)) from None


@router.get("/area", **access(ALL, "read"))
def risk_area(
    request: Request, name: str = Query(..., min_length=2, max_length=120), on: date | None = Query(None, alias="date")
) -> dict[str, Any]:
    """Rating of a province or district: mean over its cells, worst cell, spread of ratings."""
    try:
        return _model(request).area(name, on or now().date())
    except RiskError as exc:
        raise _refuse(exc) from None


@router.get("/cells", **access(ALL, "read"))
def risk_cells(
    request: Request,
    on: date | None = Query(None, alias="date"),
    min_rating: int = Query(2, ge=1, le=5),
    bbox: str | None = Query(None, max_length=100, description="minlon,minlat,maxlon,maxlat"),
) -> dict[str, Any]:
    """The risk layer: h3 hexagons (resolution 5) rated 1-5 on a day, as GeoJSON, with the legend."""
    box = None
    if bbox:
        try:
            parts = [float(x) for x in bbox.split(",")]
        except ValueError:
            parts = []
        if len(parts) != 4:
            raise Problem(422, "Validation failed", "bbox: expected minlon,minlat,maxlon,maxlat")
        box = (parts[0], parts[1], parts[2], parts[3])
    try:
        return _model(request).layer(on or now().date(), min_rating, box)
    except RiskError as exc:
        raise _refuse(exc) from None
