"""Gather an organisation's daily security brief from the store: plain Python, no HTTP, no rendering.

Every incident is read through `incidents_query(viewer, ...)`, so the brief of one organisation holds exactly
the incidents that organisation (or, over the API, that user) may see under TLP 2.0, and the brief's marking
is the most restrictive marking of everything that went into it: the tables, the map, the chart's counts and
the incidents named as the reasons for a risk rating. Dates are days in Asia/Karachi: "the last 24 hours"
of the brief for day D are the incidents dated D, "the last 7 days" those dated D-6 … D.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import h3
import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.ops.service import LOCAL
from corridor.store.queries import IncidentFilter, incidents_query
from corridor.store.tables import Incident, Movement, Organisation, Site
from corridor.store.visibility import Viewer, most_restrictive

if TYPE_CHECKING:
    from corridor.risk.service import RiskModel

log = logging.getLogger(__name__)

RADIUS_KM = 100.0  # "near your sites"
WEEK_DAYS = 7
CHART_DAYS = 30
RATING_GAP_DAYS = 7  # ratings compare D with D-7
RAISED_SHOWN = 3  # incidents named per rating
# statuses that are not part of the picture: retracted reports, and records merged into another one
NOT_SHOWN = ("retracted", "merged")


class BriefError(ValueError):
    """A brief that cannot be made as asked (no such organisation): the caller's mistake, in one line."""


@dataclass(frozen=True)
class SiteRef:
    id: str
    name: str
    kind: str
    lat: float
    lon: float
    province: str | None


@dataclass(frozen=True)
class BriefIncident:
    """One incident as the brief shows it, with its distance to the organisation's nearest site."""

    id: str
    day: date
    event_type: str
    place: str
    province: str | None
    lat: float | None
    lon: float | None
    killed: int | None
    injured: int | None
    killed_foreign: int | None
    injured_foreign: int | None
    nationality: str | None
    perpetrator: str | None
    claimed: bool | None
    status: str
    tlp: str
    distance_km: float | None = None
    nearest_site: str | None = None

    @property
    def casualties(self) -> int:
        return (self.killed or 0) + (self.injured or 0)


@dataclass(frozen=True)
class Contributor:
    """An incident the risk model names as raising a rating (the bundled history or a public store record)."""

    day: str
    place: str
    event_type: str
    distance_km: float
    share: float


@dataclass(frozen=True)
class SiteRating:
    """A site's rating on D against D-7; `note` says why a site has none (outside the modelled area, …)."""

    site: SiteRef
    rating: int | None = None
    label: str | None = None
    rating_before: int | None = None
    label_before: str | None = None
    expected: float | None = None
    expected_before: float | None = None
    trend: str = "steady"  # rising | falling | steady: expected attacks on D against D-7
    raised_by: tuple[Contributor, ...] = ()
    note: str | None = None

    @property
    def change(self) -> int:
        if self.rating is None or self.rating_before is None:
            return 0
        return self.rating - self.rating_before


@dataclass(frozen=True)
class Finding:
    rule: str
    title: str
    met: bool
    missing: tuple[str, ...]


@dataclass(frozen=True)
class BriefMovement:
    """A movement planned for D+1 with the SOP evaluation it was given when requested."""

    id: str
    kind: str
    origin: str
    destination: str
    via: tuple[str, ...]
    depart: datetime  # local time
    status: str
    people: int
    escort: str | None
    armoured: bool
    evaluated: bool
    compliant: bool | None
    findings: tuple[Finding, ...]
    route: dict[str, Any] | None

    @property
    def missing(self) -> list[str]:
        return [m for f in self.findings if not f.met for m in f.missing]


@dataclass(frozen=True)
class DayCount:
    day: date
    near: int
    nationwide: int


@dataclass
class Brief:
    org_id: str
    org_name: str
    day: date
    generated_at: datetime  # local time
    radius_km: float
    sites: list[SiteRef]
    provinces: list[str]
    near_day: list[BriefIncident]  # dated D, within radius_km of a site
    near_week: list[BriefIncident]  # dated D-6 … D, within radius_km
    province_week: list[BriefIncident]  # dated D-6 … D, in the sites' provinces, not within radius_km
    ratings: list[SiteRating]  # biggest rise first
    ratings_note: str | None
    movements: list[BriefMovement]
    daily: list[DayCount]  # D-29 … D
    marking: str
    summary: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def tomorrow(self) -> date:
        return self.day + timedelta(days=1)

    @property
    def week_start(self) -> date:
        return self.day - timedelta(days=WEEK_DAYS - 1)

    @property
    def map_incidents(self) -> list[BriefIncident]:
        return [*self.near_week, *self.province_week]


# ------------------------------------------------------------------ gathering


def organisation_viewer(session: Session, org: str) -> Viewer:
    """The organisation itself as the reader (the CLI's brief): its AMBER and AMBER+STRICT records and what is
    shared with it, never a user's RED records."""
    from corridor.identity.service import IdentityError, find_org

    try:
        o = find_org(session, org)
    except IdentityError as exc:
        raise BriefError(str(exc)) from None
    return Viewer(user_id=None, org_id=o.id, role="admin")


def gather(
    session: Session,
    viewer: Viewer,
    day: date,
    model: RiskModel | None = None,
    radius_km: float = RADIUS_KM,
) -> Brief:
    """The brief of the viewer's organisation for `day`. Without a risk `model` one is fitted here on the
    bundled history and the store's public incidents, as the API does."""
    if viewer.org_id is None:
        raise BriefError("a brief is made for an organisation; the caller has none")
    org = session.get(Organisation, viewer.org_id)
    if org is None:
        raise BriefError(f"no organisation {viewer.org_id!r}")
    if not radius_km > 0:
        raise BriefError(f"the radius must be positive, not {radius_km}")
    notes: list[str] = []
    sites = _sites(session, org.id)
    provinces = sorted({s.province for s in sites if s.province})
    month = _incidents(session, viewer, day - timedelta(days=CHART_DAYS - 1), day, sites)
    week_start = day - timedelta(days=WEEK_DAYS - 1)
    near = [i for i in month if i.distance_km is not None and i.distance_km <= radius_km]
    near_week = sorted((i for i in near if i.day >= week_start), key=_by_day_then_distance)
    near_ids = {i.id for i in near}
    lowered = {p.lower() for p in provinces}
    province_week = sorted(
        (
            i
            for i in month
            if i.day >= week_start and i.id not in near_ids and i.province and i.province.lower() in lowered
        ),
        key=lambda i: (-i.day.toordinal(), i.place),
    )
    unplaced = sum(1 for i in province_week if i.lat is None)
    if unplaced:
        notes.append(f"{_n(unplaced, 'incident')} in your provinces without coordinates: listed without a distance.")
    daily = _daily(month, day, radius_km)
    ratings, ratings_note, rating_tlps = _ratings(session, viewer, sites, day, model)
    movements = _movements(session, org.id, day)
    marking = most_restrictive(*(i.tlp for i in month), *rating_tlps)
    brief = Brief(
        org_id=org.id,
        org_name=org.name,
        day=day,
        generated_at=now().astimezone(LOCAL),
        radius_km=radius_km,
        sites=sites,
        provinces=provinces,
        near_day=[i for i in near_week if i.day == day],
        near_week=near_week,
        province_week=province_week,
        ratings=ratings,
        ratings_note=ratings_note,
        movements=movements,
        daily=daily,
        marking=marking,
        notes=notes,
    )
    brief.summary = summarise(brief)
    return brief


def _by_day_then_distance(i: BriefIncident) -> tuple[int, float]:
    return (-i.day.toordinal(), i.distance_km if i.distance_km is not None else math.inf)


@lru_cache(maxsize=1)
def _province_lookup() -> Callable[[float, float], str | None] | None:
    """The basemap's point-in-polygon province lookup, or None when the basemap is not installed."""
    try:
        from corridor.geo.basemap import province_at
    except ImportError as exc:
        log.info("brief: no basemap; a site's province is its nearest town's: %s", exc)
        return None
    return province_at


def _province(lat: float, lon: float) -> str | None:
    """The province a site lies in: from the basemap's polygons (None outside Pakistan); without a usable
    basemap, the province of the nearest town (the risk model's cell index, else a gazetteer scan)."""
    from corridor.geo.gazetteer import get_gazetteer
    from corridor.risk.service import RES, covered_cells

    lookup = _province_lookup()
    if lookup is not None:
        try:
            return lookup(lat, lon)
        except (OSError, ValueError) as exc:
            log.warning("brief: basemap province lookup failed, using the nearest town: %s", exc)
    place = covered_cells().get(h3.latlng_to_cell(lat, lon, RES)) or get_gazetteer().nearest(lat, lon)
    return place.province if place else None


def _sites(session: Session, org_id: str) -> list[SiteRef]:
    return [
        SiteRef(s.id, s.name, s.kind, s.lat, s.lon, _province(s.lat, s.lon))
        for s in session.scalars(sa.select(Site).where(Site.org_id == org_id).order_by(Site.name))
    ]


def _incidents(session: Session, viewer: Viewer, since: date, until: date, sites: list[SiteRef]) -> list[BriefIncident]:
    """Incidents dated since … until that the viewer may see, with their distance to the nearest site. Only
    day-precise dates: an incident known only to its month cannot be placed in a day's or a week's window."""
    q = incidents_query(viewer, IncidentFilter(since=since, until=until)).where(
        Incident.status.notin_(NOT_SHOWN),
        sa.or_(Incident.date_precision == "day", Incident.date_precision.is_(None)),
    )
    slat = np.radians(np.array([s.lat for s in sites], dtype=float))
    slon = np.radians(np.array([s.lon for s in sites], dtype=float))
    out = []
    for r in session.scalars(q):
        assert r.date is not None  # the date filter above
        dist = nearest = None
        if sites and r.lat is not None and r.lon is not None:
            d = _haversine(math.radians(r.lat), math.radians(r.lon), slat, slon)
            k = int(np.argmin(d))
            dist, nearest = round(float(d[k]), 1), sites[k].name
        out.append(
            BriefIncident(
                id=r.id,
                day=r.date,
                event_type=r.event_type,
                place=r.place_name or r.city or r.district or r.province or "unknown place",
                province=r.province,
                lat=r.lat,
                lon=r.lon,
                killed=r.killed_total,
                injured=r.injured_total,
                killed_foreign=r.killed_foreign,
                injured_foreign=r.injured_foreign,
                nationality=r.foreign_nationality,
                perpetrator=r.perpetrator,
                claimed=r.claimed,
                status=r.status,
                tlp=r.tlp,
                distance_km=dist,
                nearest_site=nearest,
            )
        )
    return out


def _haversine(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle km from one point to many (radians in), as corridor.geo.gazetteer.distance_km does."""
    a = np.sin((lats - lat) / 2) ** 2 + math.cos(lat) * np.cos(lats) * np.sin((lons - lon) / 2) ** 2
    result: np.ndarray = 12742.0 * np.arcsin(np.sqrt(np.minimum(1.0, a)))
    return result


def _daily(month: list[BriefIncident], day: date, radius_km: float) -> list[DayCount]:
    near: dict[date, int] = {}
    every: dict[date, int] = {}
    for i in month:
        every[i.day] = every.get(i.day, 0) + 1
        if i.distance_km is not None and i.distance_km <= radius_km:
            near[i.day] = near.get(i.day, 0) + 1
    days = [day - timedelta(days=k) for k in range(CHART_DAYS - 1, -1, -1)]
    return [DayCount(d, near.get(d, 0), every.get(d, 0)) for d in days]


def _ratings(
    session: Session, viewer: Viewer, sites: list[SiteRef], day: date, model: RiskModel | None
) -> tuple[list[SiteRating], str | None, list[str]]:
    """Each site's rating on D and D-7, biggest rise first, and the markings of the store incidents named as
    reasons. The model is fitted on public incidents only; a store incident it names is shown only when the
    viewer may see it (always, for CLEAR and GREEN)."""
    from corridor.risk.service import RiskError, build_model, store_incidents

    if not sites:
        return [], None, []
    if model is None:
        try:
            model = build_model(store_incidents(session))
        except RiskError as exc:
            log.warning("brief: no risk model: %s", exc)
            return [], f"Risk ratings are not available: {exc}", []
    before_day = day - timedelta(days=RATING_GAP_DAYS)
    raw: list[tuple[SiteRef, dict[str, Any] | None, dict[str, Any] | None, str | None]] = []
    for s in sites:
        try:
            raw.append((s, model.rate(s.lat, s.lon, day), model.rate(s.lat, s.lon, before_day), None))
        except RiskError as exc:
            raw.append((s, None, None, str(exc)))
    store_ids = {i.id for i in model.incidents if i.source == "store"}
    named = {c["id"] for _, r, _, _ in raw if r for c in r["raised_by"][:RAISED_SHOWN] if c["id"] in store_ids}
    tlp_of: dict[str, str] = {}
    if named:
        q = incidents_query(viewer).where(Incident.id.in_(named)).with_only_columns(Incident.id, Incident.tlp)
        tlp_of = {str(i): str(t) for i, t in session.execute(q)}
    out = []
    for s, now_r, before_r, err in raw:
        if now_r is None or before_r is None:
            out.append(SiteRating(site=s, note=err))
            continue
        total = now_r["expected_attacks_per_year_within_25km"]
        earlier = before_r["expected_attacks_per_year_within_25km"]
        trend = "rising" if total > earlier * 1.25 else "falling" if total < earlier / 1.25 else "steady"
        raised = tuple(
            Contributor(c["date"], c["place"], c["event_type"], c["distance_km"], c["share"])
            for c in now_r["raised_by"][:RAISED_SHOWN]
            if c["id"] not in store_ids or c["id"] in tlp_of
        )
        out.append(
            SiteRating(
                site=s,
                rating=now_r["rating"],
                label=now_r["label"],
                rating_before=before_r["rating"],
                label_before=before_r["label"],
                expected=total,
                expected_before=earlier,
                trend=trend,
                raised_by=raised,
            )
        )
    out.sort(key=lambda r: (-r.change, -(r.rating or 0), r.site.name))
    return out, None, list(tlp_of.values())


def _movements(session: Session, org_id: str, day: date) -> list[BriefMovement]:
    """The organisation's movements departing on D+1, local time (cancelled ones left out)."""
    start = datetime.combine(day + timedelta(days=1), time(0), LOCAL)
    q = (
        sa.select(Movement)
        .where(
            Movement.org_id == org_id,
            Movement.depart >= start,
            Movement.depart < start + timedelta(days=1),
            Movement.status != "cancelled",
        )
        .order_by(Movement.depart, Movement.id)
    )
    out = []
    for m in session.scalars(q):
        ev = m.evaluation or {}
        findings = tuple(
            Finding(str(f.get("rule", "")), str(f.get("title", "")), bool(f.get("met")), tuple(f.get("missing") or ()))
            for f in ev.get("rules") or ()
        )
        out.append(
            BriefMovement(
                id=m.id,
                kind=m.kind,
                origin=m.origin,
                destination=m.destination,
                via=tuple(m.via or ()),
                depart=m.depart.astimezone(LOCAL),
                status=m.status,
                people=len(m.people or ()),
                escort=m.escort,
                armoured=any(v.get("armoured") for v in m.vehicles or ()),
                evaluated=bool(ev),
                compliant=ev.get("compliant") if ev else None,
                findings=findings,
                route=ev.get("route"),
            )
        )
    return out


# ------------------------------------------------------------------ the summary line


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# what an SOP finding misses, in a word or two for the summary line (the table gives the whole sentence)
_NEEDS = (
    ("escort", "escort"),
    ("armoured", "armoured vehicle"),
    ("travel outside", "daylight travel"),
    ("notice", "notice"),
    ("group of", "smaller group"),
    ("check-in", "check-ins"),
)


def _need(missing: str) -> str:
    return next((short for prefix, short in _NEEDS if missing.startswith(prefix)), missing)


def summarise(b: Brief) -> str:
    """One line for the top of the brief: what is near, what changed, what tomorrow needs."""
    r = f"{b.radius_km:g} km"
    if not b.sites:
        parts = ["No sites registered for your organisation, so nothing is measured against them"]
    else:
        day = len(b.near_day)
        parts = [
            f"{_n(day, 'incident')} within {r} of your sites in the last 24 hours"
            if day
            else f"No incidents within {r} of your sites in the last 24 hours",
            f"{len(b.near_week)} in the last 7 days",
        ]
        rose = [x for x in b.ratings if x.change > 0]
        if rose:
            named = ", ".join(f"{x.site.name} {x.rating_before}→{x.rating}" for x in rose[:3])
            more = f" and {len(rose) - 3} more" if len(rose) > 3 else ""
            parts.append(f"risk rating up at {_n(len(rose), 'site')} ({named}{more})")
    if not b.movements:
        parts.append("no movements planned for tomorrow")
    else:
        short = [m for m in b.movements if m.missing]
        unchecked = [m for m in b.movements if not m.evaluated]
        text = f"{_n(len(b.movements), 'movement')} tomorrow"
        if short:
            needs = sorted({_need(x) for m in short for x in m.missing})
            verb = "misses its SOPs" if len(short) == 1 else "miss their SOPs"
            text += f", {len(short)} {verb} (needs {', '.join(needs)})"
        if unchecked:
            text += f", {len(unchecked)} not evaluated"
        if not short and not unchecked:
            text += ", all meeting the SOPs"
        parts.append(text)
    return "; ".join(parts) + "."
