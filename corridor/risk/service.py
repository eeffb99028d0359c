"""Risk service: fit the Hawkes model on the incident history, rate places and areas 1-5 with reasons, and
backtest against simple baselines.

Data: the bundled history of documented attacks (corridor/data/history/attacks_pk.csv) plus the incidents in
the store (not retracted or merged, with coordinates and at least month precision), de-duplicated. The bundled
table is a documented sample, not a census: expected counts are calibrated to the annual totals of the PIPS
security reports (annual_counts.csv) before they are mapped to ratings.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import h3
import numpy as np

from corridor.geo.gazetteer import Place, distance_km, get_gazetteer
from corridor.risk.hawkes import Events, HawkesModel, fit, log_likelihood, with_events

log = logging.getLogger(__name__)
HISTORY = Path(__file__).resolve().parents[1] / "data" / "history"
RES = 5
COVER_RINGS = 4  # cells within ~40 km of a populated place are where attacks can happen
RADIUS_KM = 25.0  # ratings speak of the expected attacks per year within this distance
# expected attacks per year within 25 km (calibrated to national totals) -> rating
THRESHOLDS = [(0.25, 1, "minimal"), (1.0, 2, "low"), (4.0, 3, "moderate"), (12.0, 4, "high"), (math.inf, 5, "extreme")]


# How strongly an attack of each type raises the risk around it, relative to the others (set, not fitted:
# the history is too small to learn them; mass-casualty and complex attacks are the ones followed by more).
TYPE_WEIGHTS = {
    "suicide_bombing": 1.5,
    "attack_on_facility": 1.4,
    "hijacking": 1.3,
    "bombing": 1.2,
    "armed_assault": 1.0,
    "kidnapping": 0.8,
    "targeted_killing": 0.7,
    "other": 0.5,
    "threat": 0.3,
}


class RiskError(ValueError):
    """A question the model cannot answer (outside the country, unknown place, no data): say so, never guess."""


@dataclass(frozen=True)
class Incident:
    id: str
    day: date
    lat: float
    lon: float
    place: str
    event_type: str
    killed: int | None
    foreign: bool
    source: str


def load_history(path: Path = HISTORY / "attacks_pk.csv") -> list[Incident]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            d = date.fromisoformat(row["date"])
            if row.get("date_precision") == "month":
                d = d.replace(day=15)
            out.append(
                Incident(
                    row["id"],
                    d,
                    float(row["lat"]),
                    float(row["lon"]),
                    row["city"],
                    row["event_type"],
                    int(row["killed"]) if row["killed"] else None,
                    bool(row["killed_foreign"]) or row["target"] == "foreign_nationals",
                    row["source_name"],
                )
            )
    return out


def calibration(history: Sequence[Incident], path: Path = HISTORY / "annual_counts.csv") -> float:
    """How many attacks the national count records for each attack in the bundled table (mean over years)."""
    per_year: dict[int, int] = defaultdict(int)
    for inc in history:
        per_year[inc.day.year] += 1
    ratios = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["region"] == "Pakistan" and row["source_name"].startswith("PIPS") and row["attacks"]:
                y = int(row["year"])
                if per_year.get(y):
                    ratios.append(int(row["attacks"]) / per_year[y])
    return float(np.median(ratios)) if ratios else 1.0


@lru_cache(maxsize=1)
def load_history_cached() -> tuple[Incident, ...]:
    """The bundled history, read once per process (it is package data and does not change)."""
    return tuple(load_history())


@lru_cache(maxsize=1)
def covered_cells() -> dict[str, Place]:
    """Cells where attacks can happen (near Pakistan's towns), each with its nearest place for area queries."""
    places = [
        p
        for p in get_gazetteer().places
        if p.is_domestic
        and p.lat is not None
        and p.lon is not None
        and p.base_kind in ("city", "town", "facility", "neighbourhood")
    ]
    out: dict[str, tuple[float, Place]] = {}
    for p in places:
        assert p.lat is not None and p.lon is not None
        home = h3.latlng_to_cell(p.lat, p.lon, RES)
        for c in h3.grid_disk(home, COVER_RINGS):
            lat, lon = h3.cell_to_latlng(c)
            d = distance_km(lat, lon, p.lat, p.lon)
            if c not in out or d < out[c][0]:
                out[c] = (d, p)
    return {c: v[1] for c, v in out.items()}


@dataclass
class RiskModel:
    model: HawkesModel
    incidents: list[Incident]
    scale: float  # national attacks per table attack
    foreign: HawkesModel | None = None  # the intensity of attacks on foreign nationals, fitted on those alone

    def check_point(self, lat: float, lon: float) -> str:
        cell = h3.latlng_to_cell(lat, lon, RES)
        if cell not in covered_cells():
            raise RiskError(f"{lat:.4f},{lon:.4f} is outside the area the model covers (Pakistan's populated areas)")
        return cell

    def check_day(self, day: date) -> float:
        ev = self.model.events
        first = ev.origin
        last = ev.origin + timedelta(days=int(ev.t.max()))
        if day < first:
            raise RiskError(f"{day} is before the incident history starts ({first})")
        if day > last + timedelta(days=366):
            raise RiskError(f"{day} is more than a year after the last incident in the data ({last})")
        return self.model.day_of(day)

    def expected_per_year(self, lat: float, lon: float, t: float) -> tuple[float, float, np.ndarray]:
        """Calibrated expected attacks per year within RADIUS_KM, its background part, and contributions."""
        cell = self.check_point(lat, lon)
        bg = self.model.background(cell)
        trig, contrib = self.model.triggered(lat, lon, t, disk_km=RADIUS_KM)
        k = math.pi * RADIUS_KM**2 * 365.0 * self.scale
        return (bg + trig) * k, bg * k, contrib * k

    def rate(self, lat: float, lon: float, day: date) -> dict[str, Any]:
        t = self.check_day(day)
        total, bg, contrib = self.expected_per_year(lat, lon, t)
        before, _, _ = self.expected_per_year(lat, lon, t - 90)
        level, label = rating(total)
        top = np.argsort(contrib)[::-1][:5]
        raised = [
            {
                "id": self.incidents_by_id[self.model.events.ids[i]].id,
                "date": self.incidents_by_id[self.model.events.ids[i]].day.isoformat(),
                "place": self.incidents_by_id[self.model.events.ids[i]].place,
                "event_type": self.incidents_by_id[self.model.events.ids[i]].event_type,
                "distance_km": round(
                    distance_km(lat, lon, float(self.model.events.lat[i]), float(self.model.events.lon[i])), 1
                ),
                "share": round(float(contrib[i] / total), 3),
            }
            for i in top
            if contrib[i] > 0.01 * total
        ]
        trend = "rising" if total > before * 1.25 else "falling" if total < before / 1.25 else "steady"
        foreigners = None
        if self.foreign is not None:
            cell = h3.latlng_to_cell(lat, lon, RES)
            f = (self.foreign.background(cell) + self.foreign.triggered(lat, lon, t, disk_km=RADIUS_KM)[0]) * (
                math.pi * RADIUS_KM**2 * 365
            )
            foreigners = {
                "expected_attacks_per_year_within_25km": round(f, 3),
                "rating": rating(f)[0],
                "label": rating(f)[1],
            }
        return {
            "targeting_foreigners": foreigners,
            "lat": lat,
            "lon": lon,
            "date": day.isoformat(),
            "rating": level,
            "label": label,
            "expected_attacks_per_year_within_25km": round(total, 2),
            "background_share": round(bg / total, 3) if total else 1.0,
            "raised_by": raised,
            "trend": trend,
            "ninety_days_earlier": round(before, 2),
        }

    @property
    def incidents_by_id(self) -> dict[str, Incident]:
        return {i.id: i for i in self.incidents}

    def area(self, name: str, day: date) -> dict[str, Any]:
        gaz = get_gazetteer()
        target = gaz.province(name) or gaz.district(name)
        if target is None:
            raise RiskError(f"no province or district called {name!r}")
        key = "province" if target.base_kind == "province" else "district"
        cells = [c for c, p in covered_cells().items() if getattr(p, key) == target.name]
        if not cells:
            raise RiskError(f"{target.name}: no covered cells")
        t = self.check_day(day)
        rates = []
        for c in cells:
            lat, lon = h3.cell_to_latlng(c)
            rates.append((self.expected_per_year(lat, lon, t)[0], c))
        rates.sort(reverse=True)
        mean = float(np.mean([r for r, _ in rates]))
        worst_lat, worst_lon = h3.cell_to_latlng(rates[0][1])
        level, label = rating(mean)
        return {
            "area": target.name,
            "kind": key,
            "date": day.isoformat(),
            "cells": len(cells),
            "rating": level,
            "label": label,
            "mean_expected_attacks_per_year_within_25km": round(mean, 2),
            "worst": {
                "lat": round(worst_lat, 4),
                "lon": round(worst_lon, 4),
                **dict(zip(("rating", "label"), rating(rates[0][0]), strict=True)),
                "expected_attacks_per_year_within_25km": round(rates[0][0], 2),
            },
            "share_of_cells_by_rating": {
                str(k): round(sum(1 for r, _ in rates if rating(r)[0] == k) / len(rates), 3) for k in range(1, 6)
            },
        }

    def layer(
        self, day: date, min_rating: int = 1, bbox: tuple[float, float, float, float] | None = None
    ) -> dict[str, Any]:
        """The risk layer of a map: every covered h3 cell (resolution RES) with its rating on `day`, as a
        GeoJSON FeatureCollection of hexagons. Cells below `min_rating` are left out so the layer stays light
        (most of the country is rated 1)."""
        t = self.check_day(day)
        feats = []
        for cell, place in covered_cells().items():
            lat, lon = h3.cell_to_latlng(cell)
            if bbox and not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
                continue
            expected = self.expected_per_year(lat, lon, t)[0]
            level, label = rating(expected)
            if level < min_rating:
                continue
            ring = [[round(b, 4), round(a, 4)] for a, b in h3.cell_to_boundary(cell)]
            ring.append(ring[0])
            feats.append(
                {
                    "type": "Feature",
                    "id": cell,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {
                        "rating": level,
                        "label": label,
                        "expected_attacks_per_year_within_25km": round(expected, 2),
                        "near": place.name,
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "date": day.isoformat(),
            "resolution": RES,
            "legend": [{"rating": lv, "label": lb} for _, lv, lb in THRESHOLDS],
            "features": feats,
        }


def rating(expected: float) -> tuple[int, str]:
    for limit, level, label in THRESHOLDS:
        if expected < limit:
            return level, label
    return 5, "extreme"


def _events(incidents: list[Incident], origin: date | None = None) -> Events:
    return Events.build(
        [(i.id, i.day, i.lat, i.lon) for i in incidents],
        origin=origin,
        res=RES,
        weights=[TYPE_WEIGHTS.get(i.event_type, 1.0) for i in incidents],
    )


def build_model(extra: list[Incident] | None = None, until: date | None = None) -> RiskModel:
    history = load_history_cached()
    incidents = _merge(history, extra or [])
    if until is not None:
        incidents = [i for i in incidents if i.day < until]
    cap = max_events()
    if len(incidents) > cap:
        log.warning("risk model: %d incidents, fit on the newest %d (CORRIDOR_RISK_MAX_EVENTS)", len(incidents), cap)
        incidents = incidents[-cap:]
    if len(incidents) < 10:
        raise RiskError("not enough incidents with dates and coordinates to fit the model")
    ev = _events(incidents)
    t_end = ev.t.max() + 1.0 if until is None else float((until - ev.origin).days)
    model = fit(ev, set(covered_cells()), t_end=t_end)
    foreign = None
    on_foreigners = [i for i in incidents if i.foreign]
    if len(on_foreigners) >= 10:
        fev = _events(on_foreigners, origin=ev.origin)
        # few events: the triggering shape is taken from the full model, only the levels are learnt
        foreign = fit(fev, set(covered_cells()), t_end=t_end, init=(model.alpha, model.omega, model.sigma))
    return RiskModel(model, incidents, calibration(history), foreign)


def _merge(history: Sequence[Incident], extra: Sequence[Incident]) -> list[Incident]:
    """Store incidents join the history unless the history already has them (same day ±1, within 30 km).

    The history is indexed by day, so each store incident is compared with the few history rows of its three
    days rather than with all of them (that was 400 × 1,000,000 distances on a large store)."""
    by_day: dict[date, list[Incident]] = defaultdict(list)
    for h in history:
        by_day[h.day].append(h)
    out = list(history)
    for inc in extra:
        near = (h for d in (-1, 0, 1) for h in by_day.get(inc.day + timedelta(days=d), ()))
        if not any(distance_km(h.lat, h.lon, inc.lat, inc.lon) <= 30 for h in near):
            out.append(inc)
    return sorted(out, key=lambda i: (i.day, i.id))


def max_events() -> int:
    """The most incidents one fit takes (CORRIDOR_RISK_MAX_EVENTS, default 50,000): the newest ones. The fit
    pairs every incident with those of the weeks and kilometres before it, so its memory grows with the density
    of the picture; a store far beyond Pakistan's real few thousand attacks a year (a load test, a GDELT-size
    intake of unreviewed reports) would otherwise take minutes and gigabytes on the first risk request."""
    raw = os.environ.get("CORRIDOR_RISK_MAX_EVENTS", "")
    try:
        value = int(raw) if raw else 50_000
    except ValueError as exc:
        raise RiskError(f"CORRIDOR_RISK_MAX_EVENTS must be an integer, got {raw!r}") from exc
    return max(value, 10)


def check_inputs() -> int:
    """What every fit needs and what readiness checks: the bundled history and the covered cells load (both
    cached after the first call). Returns the number of history rows."""
    history = load_history_cached()
    if not covered_cells():
        raise RiskError("the gazetteer gives the model no populated places to cover")
    return len(history)


# ---------------------------------------------------------------- backtest


@dataclass
class Backtest:
    cutoff: date
    until: date
    train_events: int
    test_events: int
    params: dict[str, float]
    loglik_per_event: dict[str, float]
    hit_rate: dict[str, dict[str, float]]


def backtest(cutoff: date, months: int = 12, extra: list[Incident] | None = None) -> Backtest:
    """Fit before `cutoff`, score the next `months`: predictive log-likelihood per event against baselines
    (uniform over covered cells, per-province rate, historical kernel density) and hit rates at 1/5/10% of the
    covered area flagged."""
    incidents = _merge(load_history_cached(), extra or [])
    until = cutoff + timedelta(days=int(months * 30.44))
    train = [i for i in incidents if i.day < cutoff]
    test = [i for i in incidents if cutoff <= i.day < until]
    if len(train) < 10 or not test:
        raise RiskError(f"backtest needs incidents before {cutoff} and between {cutoff} and {until}")
    full = _events([i for i in incidents if i.day < until])
    tr = _events(train, origin=full.origin)
    t0, t1 = float((cutoff - full.origin).days), float((until - full.origin).days)
    cells = covered_cells()
    hawkes = with_events(fit(tr, set(cells), t_end=t0), full)
    ll_h, n = log_likelihood(hawkes, t0, t1)
    area = hawkes.cell_area
    total_area = area * len(cells)
    dur = t1 - t0
    rate_train = len(train) / t0
    test_pts = [(i.lat, i.lon) for i in test]
    # uniform baseline
    lam_u = rate_train / total_area
    ll_u = sum(math.log(lam_u) for _ in test) - rate_train * dur
    # per-province baseline
    prov_cells: dict[str | None, int] = defaultdict(int)
    for p in cells.values():
        prov_cells[p.province] += 1
    prov_count: dict[str | None, int] = defaultdict(int)
    for i in train:
        c = h3.latlng_to_cell(i.lat, i.lon, RES)
        prov_count[cells[c].province if c in cells else None] += 1

    def prov_lam(lat: float, lon: float) -> float:
        c = h3.latlng_to_cell(lat, lon, RES)
        p = cells[c].province if c in cells else None
        return max(prov_count[p], 0.5) / t0 / (max(prov_cells[p], 1) * area)

    ll_p = (
        sum(math.log(prov_lam(a, b)) for a, b in test_pts) - sum(max(prov_count[p], 0.5) / t0 for p in prov_cells) * dur
    )
    # kernel density baseline (bandwidth 25 km), the long-run hot spots
    tx, ty = np.array([i.lat for i in train]), np.array([i.lon for i in train])
    from corridor.risk.hawkes import project

    px, py = project(tx, ty)

    def kde(lat: float, lon: float, h: float = 25.0) -> float:
        qx, qy = project(np.array([lat]), np.array([lon]))
        d2 = (px - qx[0]) ** 2 + (py - qy[0]) ** 2
        return float(np.exp(-d2 / (2 * h * h)).sum() / (2 * math.pi * h * h) / t0) + 1e-12

    ll_k = sum(math.log(kde(a, b)) for a, b in test_pts) - rate_train * dur
    # hit rates: cells ranked by each method's expected count over the test window
    centres = {c: h3.cell_to_latlng(c) for c in cells}
    mid = (t0 + t1) / 2
    scores = {
        "hawkes": {
            c: hawkes.background(c) + hawkes.triggered(la, lo, mid, before=t0)[0] for c, (la, lo) in centres.items()
        },
        "province": {c: prov_lam(la, lo) for c, (la, lo) in centres.items()},
        "kde": {c: kde(la, lo) for c, (la, lo) in centres.items()},
    }
    test_cells = [h3.latlng_to_cell(a, b, RES) for a, b in test_pts]
    hits: dict[str, dict[str, float]] = {}
    for name, sc in scores.items():
        ranked = sorted(sc, key=lambda c: -sc[c])
        hits[name] = {}
        for frac in (0.01, 0.05, 0.10):
            flagged = set(ranked[: max(1, int(len(ranked) * frac))])
            hits[name][f"{int(frac * 100)}%"] = round(sum(1 for c in test_cells if c in flagged) / len(test_cells), 3)
    return Backtest(
        cutoff,
        until,
        len(train),
        n,
        {"alpha": hawkes.alpha, "omega_per_day": hawkes.omega, "sigma_km": hawkes.sigma},
        {"hawkes": ll_h / n, "uniform": ll_u / n, "province": ll_p / n, "kde": ll_k / n},
        hits,
    )


def store_incidents(session: Any, public_only: bool = True) -> list[Incident]:
    """Incidents from the store for the model. With public_only, only CLEAR and GREEN ones: a rating (and the
    incidents it names as its reasons) is shown to every member, so restricted incidents must not shape it."""
    import sqlalchemy as sa

    from corridor.store.tables import Incident as Row

    q = sa.select(Row).where(
        Row.status.notin_(("merged", "retracted")),
        Row.lat.is_not(None),
        Row.lon.is_not(None),
        Row.date.is_not(None),
        Row.date_precision.in_(("day", "month")),
    )
    if public_only:
        q = q.where(Row.tlp.in_(("CLEAR", "GREEN")))
    out = []
    for r in session.scalars(q):
        day = r.date if r.date_precision == "day" else r.date.replace(day=15)
        out.append(
            Incident(
                r.id,
                day,
                float(r.lat),
                float(r.lon),
                r.city or r.place_name or "?",
                r.event_type,
                r.killed_total,
                bool(r.killed_foreign or r.injured_foreign),
                "store",
            )
        )
    return out
