"""Route risk: a path over the road network rated along its length.

Each segment is sampled every 5 km on the straight line between its ends (the bundled network has no road
geometry); at each sample the model's calibrated expected attacks per year within 25 km is read. A route's
exposure is the length-weighted mean of that figure, its worst segment the highest. The least-risk path
minimises length × (1 + exposure), so a detour must buy a real fall in exposure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from corridor.geo.roads import Edge, RoadNetwork
from corridor.risk.service import RiskError, RiskModel, rating

STEP_KM = 5.0


@dataclass
class SegmentRisk:
    edge: Edge
    mean: float
    worst: float
    worst_at: tuple[float, float]


def segment_risk(model: RiskModel, net: RoadNetwork, e: Edge, t: float) -> SegmentRisk:
    a, b = net.nodes[e.a], net.nodes[e.b]
    n = max(2, math.ceil(e.length_km / STEP_KM) + 1)
    vals = []
    for k in range(n):
        f = k / (n - 1)
        lat, lon = a.lat + f * (b.lat - a.lat), a.lon + f * (b.lon - a.lon)
        try:
            vals.append((model.expected_per_year(lat, lon, t)[0], (lat, lon)))
        except RiskError:
            continue  # a stretch outside the covered area (empty desert, sea): no attacks modelled there
    if not vals:
        return SegmentRisk(e, 0.0, 0.0, (a.lat, a.lon))
    worst = max(vals, key=lambda v: v[0])
    return SegmentRisk(e, sum(v for v, _ in vals) / len(vals), worst[0], worst[1])


def plan(
    model: RiskModel,
    net: RoadNetwork,
    start: str,
    end: str,
    day: date,
    via: list[str] | None = None,
    depart: datetime | None = None,
    least_risk: bool = False,
) -> dict[str, Any]:
    """A route from start to end (through `via`), rated, with its worst segment and travel time."""
    t = model.check_day(day)
    stops = [net.locate(start), *(net.locate(v) for v in via or []), net.locate(end)]
    cache: dict[tuple[str, str, str], SegmentRisk] = {}

    def risk_of(e: Edge) -> SegmentRisk:
        key = (e.a, e.b, e.road)
        if key not in cache:
            cache[key] = segment_risk(model, net, e, t)
        return cache[key]

    weight = (lambda e: e.length_km * (1.0 + risk_of(e).mean)) if least_risk else None
    edges: list[Edge] = []
    for a, b in pairwise(stops):
        if a.id != b.id:
            edges += net.path(a.id, b.id, weight)
    if not edges:
        raise RiskError("start and end are the same place")
    risks = [risk_of(e) for e in edges]
    km = sum(e.length_km for e in edges)
    hours = sum(e.length_km / e.speed for e in edges)
    exposure = sum(r.mean * r.edge.length_km for r in risks) / km
    worst = max(risks, key=lambda r: r.worst)
    level, label = rating(exposure)
    wl, wlabel = rating(worst.worst)
    node = stops[0].id
    legs = []
    for r in risks:
        nxt = r.edge.other(node)
        legs.append(
            {
                "from": net.nodes[node].name,
                "to": net.nodes[nxt].name,
                "road": r.edge.road,
                "km": round(r.edge.length_km, 1),
                "rating": rating(r.mean)[0],
                "expected_attacks_per_year_within_25km": round(r.mean, 2),
            }
        )
        node = nxt
    out: dict[str, Any] = {
        "from": stops[0].name,
        "to": stops[-1].name,
        "via": [s.name for s in stops[1:-1]],
        "date": day.isoformat(),
        "km": round(km, 1),
        "hours": round(hours, 1),
        "rating": level,
        "label": label,
        "exposure_attacks_per_year_within_25km": round(exposure, 2),
        "worst_segment": {
            "road": worst.edge.road,
            "between": [net.nodes[worst.edge.a].name, net.nodes[worst.edge.b].name],
            "at": [round(worst.worst_at[0], 4), round(worst.worst_at[1], 4)],
            "rating": wl,
            "label": wlabel,
            "expected_attacks_per_year_within_25km": round(worst.worst, 2),
        },
        "legs": legs,
        "least_risk": least_risk,
    }
    if depart is not None:
        arrive = depart + timedelta(hours=hours)
        out["depart"], out["arrive"] = depart.isoformat(), arrive.isoformat()
        # daylight rule of thumb for the SOPs (06:00-18:00 local); the operations issue makes this a rule
        out["night_travel"] = any(h < 6 or h >= 18 for h in _hours_between(depart, arrive))
    return out


def _hours_between(a: datetime, b: datetime) -> list[int]:
    hours = []
    t = a
    while t <= b:
        hours.append(t.hour)
        t += timedelta(minutes=30)
    return hours
