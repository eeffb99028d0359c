"""Merge: mentions from many reports become one canonical incident each.

Mentions are clustered by a pairwise rule (dates agree within their precision, places within a radius that
depends on precision, event types of one family) and never with a mention from the same report. Precise
(day) mentions cluster first; coarser ones (month, year: usually back-references) then join the best
precise cluster, so a vague mention cannot bridge two distinct attacks. The clustering of a set of mentions
does not depend on the order they arrived in, and canonical values are a function of the set, so ingesting
a corpus in any order gives the same incidents.

Conflicting figures are kept per source in Incident.provenance and flagged; the canonical value is the one
most sources support, ties going to the latest report (tolls are revised upward as news comes in).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, selectinload

from corridor.clock import now
from corridor.geo.gazetteer import distance_km
from corridor.ids import new_id
from corridor.store.tables import Document, Incident, Mention
from corridor.store.visibility import most_restrictive

FAMILY = {
    "bombing": "explosive",
    "suicide_bombing": "explosive",
    "attack_on_facility": "assault",
    "armed_assault": "assault",
    "targeted_killing": "assault",
    "kidnapping": "kidnap",
    "hijacking": "kidnap",
    "threat": "threat",
    "other": "other",
}
# Radius within which two mentions may be the same incident, by the coarser of their geo precisions.
RADIUS_KM = {"point": 30.0, "city": 30.0, "district": 80.0}
PREC_RANK = {"day": 3, "month": 2, "year": 1}
GEO_RANK = {"point": 5, "city": 4, "district": 3, "province": 2, "country": 1}
TYPE_ORDER = [
    "hijacking",
    "kidnapping",
    "attack_on_facility",
    "suicide_bombing",
    "bombing",
    "targeted_killing",
    "armed_assault",
    "threat",
    "other",
]
FIGURES = ("killed_total", "injured_total", "killed_foreign", "injured_foreign")


@dataclass(frozen=True)
class MentionView:
    """The fields of a Mention that merging reads, with the report's metadata beside them."""

    id: str
    document_id: str
    ordinal: int
    published: date | None
    fetched_at: datetime
    sha256: str
    event_type: str
    date: date | None
    date_precision: str | None
    lat: float | None
    lon: float | None
    geo_precision: str | None
    province: str | None
    country: str | None
    is_new: bool
    confidence: float

    @property
    def key(self) -> tuple[str, int]:
        return (self.sha256, self.ordinal)


def _date_range(m: MentionView) -> tuple[date, date] | None:
    if m.date is None:
        return None
    if m.date_precision == "day":
        return m.date, m.date
    if m.date_precision == "month":
        nxt = (m.date.replace(day=28) + timedelta(days=4)).replace(day=1)
        return m.date, nxt - timedelta(days=1)
    return date(m.date.year, 1, 1), date(m.date.year, 12, 31)


def dates_agree(a: MentionView, b: MentionView) -> bool:
    ra, rb = _date_range(a), _date_range(b)
    if ra is None or rb is None:
        return False
    slack = timedelta(days=1) if a.date_precision == b.date_precision == "day" else timedelta(0)
    return ra[0] - slack <= rb[1] and rb[0] - slack <= ra[1]


def places_agree(a: MentionView, b: MentionView) -> bool:
    coarse = min(GEO_RANK.get(a.geo_precision or "country", 1), GEO_RANK.get(b.geo_precision or "country", 1))
    if coarse <= 2:  # province or country: only the same province, and only if both name one
        return bool(a.province and a.province == b.province)
    if None in (a.lat, a.lon, b.lat, b.lon):
        return False
    name = {5: "point", 4: "city", 3: "district"}[coarse]
    return distance_km(a.lat, a.lon, b.lat, b.lon) <= RADIUS_KM[name]  # type: ignore[arg-type]


def types_agree(a: MentionView, b: MentionView) -> bool:
    fa, fb = FAMILY.get(a.event_type, "other"), FAMILY.get(b.event_type, "other")
    if fa == fb:
        return True
    # a complex attack is a bombing to one outlet and an assault to another
    return {fa, fb} == {"explosive", "assault"}


def compatible(a: MentionView, b: MentionView) -> bool:
    # cheapest tests first (a conjunction: the order changes only the time taken)
    return a.document_id != b.document_id and types_agree(a, b) and dates_agree(a, b) and places_agree(a, b)


def _families(event_type: str) -> tuple[str, ...]:
    """The families whose mentions `types_agree` with one of this event type."""
    fam = FAMILY.get(event_type, "other")
    if fam == "explosive":
        return ("explosive", "assault")
    if fam == "assault":
        return ("assault", "explosive")
    return (fam,)


_CELL_DEG = 1.0  # spatial buckets of the coarse-mention search: 1° of latitude is 111 km, more than any radius


_LON_CELLS = int(360 / _CELL_DEG)


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG) % _LON_CELLS  # 179.9° and -179.9° are near


def _near_cells(lat: float, lon: float) -> list[tuple[int, int]]:
    """The cells that can hold a point within the largest merge radius of (lat, lon), with a cell to spare: a
    degree of longitude shrinks towards the poles, so the band is widened by latitude."""
    reach = max(RADIUS_KM.values()) / 111.19  # degrees of latitude
    shrink = math.cos(math.radians(min(89.0, abs(lat) + reach + _CELL_DEG)))
    dlat = math.ceil(reach / _CELL_DEG) + 1
    dlon = min(math.ceil(reach / max(shrink, 1e-6) / _CELL_DEG) + 1, _LON_CELLS // 2)
    ci, cj = _cell(lat, lon)
    lons = sorted({(cj + j) % _LON_CELLS for j in range(-dlon, dlon + 1)})
    return [(ci + i, c) for i in range(-dlat, dlat + 1) for c in lons]


class _DayIndex:
    """Day mentions in buckets (by family and province, by family and spatial cell), each sorted by date, so a
    coarse mention meets only the day mentions that can agree with it in type and place, inside its period."""

    def __init__(self, fine: list[MentionView]) -> None:
        self.by_prov: dict[tuple[str, str], tuple[list[date], list[MentionView]]] = {}
        self.by_cell: dict[tuple[str, tuple[int, int]], tuple[list[date], list[MentionView]]] = {}
        prov: dict[tuple[str, str], list[MentionView]] = {}
        cells: dict[tuple[str, tuple[int, int]], list[MentionView]] = {}
        for f in fine:
            fam = FAMILY.get(f.event_type, "other")
            if f.province:
                prov.setdefault((fam, f.province), []).append(f)
            if _rank(f) >= 3 and f.lat is not None and f.lon is not None:
                cells.setdefault((fam, _cell(f.lat, f.lon)), []).append(f)
        for key, ms in prov.items():
            ms.sort(key=lambda m: (m.date, m.key))
            self.by_prov[key] = ([m.date for m in ms], ms)  # type: ignore[misc]
        for ckey, ms in cells.items():
            ms.sort(key=lambda m: (m.date, m.key))
            self.by_cell[ckey] = ([m.date for m in ms], ms)  # type: ignore[misc]

    @staticmethod
    def _slice(bucket: tuple[list[date], list[MentionView]] | None, span: tuple[date, date]) -> list[MentionView]:
        if bucket is None:
            return []
        days, ms = bucket
        return ms[bisect_left(days, span[0]) : bisect_right(days, span[1])]

    def candidates(self, m: MentionView, span: tuple[date, date]) -> list[MentionView]:
        """Day mentions inside `span` that may agree with `m` in type and place (a superset of those that do)."""
        out: list[MentionView] = []
        coarse_geo = _rank(m) <= 2
        for fam in _families(m.event_type):
            if m.province:  # the province rule: every pair in which one side is only placed in a province
                inside = self._slice(self.by_prov.get((fam, m.province)), span)
                out.extend(inside if coarse_geo else [f for f in inside if _rank(f) <= 2])
            if not coarse_geo and m.lat is not None and m.lon is not None:
                for c in _near_cells(m.lat, m.lon):
                    out.extend(self._slice(self.by_cell.get((fam, c)), span))
        return out


def _rank(m: MentionView) -> int:
    return GEO_RANK.get(m.geo_precision or "country", 1)


def cluster(mentions: Sequence[MentionView]) -> list[list[MentionView]]:
    """Deterministic clusters of mentions (each sorted by key); the result does not depend on input order.

    Only mentions whose dates can agree are compared (day mentions within a day of each other, a coarse mention
    with the day mentions inside its month or year, coarse mentions of one year), so a pool of thousands of
    mentions (a back-fill partition's) clusters in about n log n, with the same result as comparing every pair."""
    ms = sorted(mentions, key=lambda m: m.key)
    fine = [m for m in ms if m.date_precision == "day" and m.date is not None]
    coarse = [m for m in ms if not (m.date_precision == "day" and m.date is not None)]
    parent = {m.id: m.id for m in ms}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_day = sorted(fine, key=lambda m: (m.date, m.key))
    days: list[date] = [m.date for m in by_day if m.date is not None]
    one_day = timedelta(days=1)
    for i, a in enumerate(by_day):
        for b in by_day[i + 1 : bisect_right(days, days[i] + one_day)]:
            if compatible(a, b):
                union(a.id, b.id)
    first_key: dict[str, tuple[str, int]] = {}
    for f in fine:
        root = find(f.id)
        if root not in first_key or f.key < first_key[root]:
            first_key[root] = f.key
    index = _DayIndex(fine)
    for m in coarse:
        span = _date_range(m)
        if span is None:
            continue
        # every candidate's day lies inside m's period, so their dates agree, and its family agrees with m's type
        matches = [f for f in index.candidates(m, span) if f.document_id != m.document_id and places_agree(m, f)]
        if matches:
            agreeing = Counter(find(f.id) for f in matches)
            # join the cluster with the most agreeing mentions; ties to the smallest key
            parent[m.id] = min(agreeing, key=lambda r: (-agreeing[r], first_key[r]))
    pending = [m for m in coarse if find(m.id) == m.id and m.date is not None]
    by_year: dict[int, list[MentionView]] = {}
    for m in pending:  # coarse dates agree only within one calendar year
        by_year.setdefault(m.date.year, []).append(m)  # type: ignore[union-attr]
    for same_year in by_year.values():
        for i, a in enumerate(same_year):
            for b in same_year[i + 1 :]:
                if compatible(a, b) and find(b.id) == b.id:
                    parent[b.id] = find(a.id)
    groups: dict[str, list[MentionView]] = {}
    for m in ms:
        groups.setdefault(find(m.id), []).append(m)
    return sorted(groups.values(), key=lambda g: g[0].key)


# ---------------------------------------------------------------- canonical values


def _report_order(m: Mention) -> tuple[Any, ...]:
    """Later reports last. Publication date, then the content hash: never the time we happened to read a report,
    which would make the picture depend on ingest order (a back-fill in parallel partitions must give what a
    single ingest gives)."""
    d = m.document
    return (d.published or date.min, d.sha256, m.ordinal)


def _vote(values: list[tuple[Any, Mention]], tie_latest: bool = True) -> tuple[Any, dict[str, list[str]], str]:
    """The value most sources support; ties go to the latest report. Returns (value, sources, why)."""
    support: dict[Any, list[Mention]] = {}
    for v, m in values:
        support.setdefault(v, []).append(m)
    if not support:
        return None, {}, "no source states it"

    def rank(v: Any) -> tuple[Any, ...]:
        ms = support[v]
        latest = max(_report_order(m) for m in ms)
        return (len({m.document_id for m in ms}), latest if tie_latest else tuple())

    best = max(support, key=rank)
    sources = {str(v): sorted({m.document_id for m in ms}) for v, ms in support.items()}
    n = len(sources[str(best)])
    if len(support) == 1:
        why = f"stated by {n} source{'s' if n > 1 else ''}"
    else:
        why = f"{n} of {len({m.document_id for _, m in values})} sources; conflicting values kept per source"
    return best, sources, why


def canonical(mentions: list[Mention]) -> dict[str, Any]:
    """Canonical field values of an incident from its mentions, with provenance per field."""
    ms = sorted(mentions, key=_report_order)
    out: dict[str, Any] = {}
    prov: dict[str, Any] = {}

    # event type: votes (news reports count double), ties to the more specific type
    votes: Counter[str] = Counter()
    for m in ms:
        votes[m.event_type] += 2 if m.is_new else 1
    etype = max(votes, key=lambda t: (votes[t], -TYPE_ORDER.index(t) if t in TYPE_ORDER else -99))
    out["event_type"] = etype
    prov["event_type"] = {
        "value": etype,
        "votes": dict(votes),
        "why": "most supported; news over back-references",
    }

    # date: finest precision available, then the most common value, ties to the earliest
    dated = [m for m in ms if m.date is not None]
    if dated:
        finest = max(PREC_RANK.get(m.date_precision or "", 0) for m in dated)
        pool = [m for m in dated if PREC_RANK.get(m.date_precision or "", 0) == finest]
        counts: Counter[date] = Counter(m.date for m in pool if m.date is not None)
        best_date = min(counts, key=lambda d: (-counts[d], d))
        chosen = next(m for m in pool if m.date == best_date)
        out["date"], out["date_precision"] = best_date, chosen.date_precision
        prov["date"] = {
            "value": best_date.isoformat(),
            "precision": chosen.date_precision,
            "sources": {k.isoformat(): sorted({m.document_id for m in pool if m.date == k}) for k in counts},
            "conflict": len(counts) > 1,
            "why": "finest precision, most sources",
        }
    else:
        out["date"], out["date_precision"] = None, None

    # place: finest precision, then the most common place name
    placed = [m for m in ms if m.geo_precision]
    if placed:
        finest = max(GEO_RANK.get(m.geo_precision or "", 0) for m in placed)
        pool = [m for m in placed if GEO_RANK.get(m.geo_precision or "", 0) == finest]
        counts2 = Counter(m.place_name for m in pool)
        name = min(counts2, key=lambda n: (-counts2[n], n or ""))
        pm = next(m for m in pool if m.place_name == name)
        for f in ("place_name", "city", "district", "province", "country", "lat", "lon", "geo_precision"):
            out[f] = getattr(pm, f)
        prov["place"] = {
            "value": name,
            "sources": {str(k): sorted({m.document_id for m in pool if m.place_name == k}) for k in counts2},
            "why": "finest precision, most sources",
        }
    for f in (*FIGURES, "foreign_nationality"):
        # reports of the news itself outrank later back-references, which often round or forget figures
        stated = [(getattr(m, f), m) for m in ms if getattr(m, f) is not None]
        value, sources, why = _vote([(v, m) for v, m in stated if m.is_new] or stated)
        if sources and len(stated) > sum(len(x) for x in sources.values()):
            sources = _vote(stated)[1]
        out[f] = value
        if sources:
            prov[f] = {"value": value, "sources": sources, "conflict": len(sources) > 1, "why": why}
    for kind in ("killed", "injured"):
        total, foreign = out.get(f"{kind}_total"), out.get(f"{kind}_foreign")
        if foreign is not None and (total is None or total < foreign):
            out[f"{kind}_total"] = foreign  # the foreign victims are among the victims
    claimed_by = [(m.perpetrator, m) for m in ms if m.perpetrator and m.claimed]
    value, sources, why = _vote(claimed_by or [(m.perpetrator, m) for m in ms if m.perpetrator])
    out["perpetrator"] = value
    if sources:
        prov["perpetrator"] = {
            "value": value,
            "sources": sources,
            "conflict": len(sources) > 1,
            "why": ("claimed; " if claimed_by else "") + why,
        }
    claims = {m.claimed for m in ms if m.claimed is not None}
    out["claimed"] = True if True in claims else (False if False in claims else None)
    out["confidence"] = round(
        min(0.99, max(m.confidence for m in ms) + 0.05 * (len({m.document_id for m in ms}) - 1)), 2
    )
    out["provenance"] = prov
    return out


# ---------------------------------------------------------------- store side


def _views(mentions: Iterable[Mention]) -> list[MentionView]:
    out = []
    for m in mentions:
        d = m.document
        out.append(
            MentionView(
                m.id,
                m.document_id,
                m.ordinal,
                d.published,
                d.fetched_at,
                d.sha256,
                m.event_type,
                m.date,
                m.date_precision,
                m.lat,
                m.lon,
                m.geo_precision,
                m.province,
                m.country,
                m.is_new,
                m.confidence,
            )
        )
    return out


def _window(m: Mention) -> sa.ColumnElement[bool]:
    """Stored mentions whose dates could agree with m's: near days, and the month and year that contain it."""
    assert m.date is not None
    d = m.date
    month, year = d.replace(day=1), date(d.year, 1, 1)
    if m.date_precision == "day":
        near = Mention.date.between(d - timedelta(days=2), d + timedelta(days=2))
    elif m.date_precision == "month":
        nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        near = Mention.date.between(month - timedelta(days=1), nxt)
    else:
        near = Mention.date.between(year, date(d.year, 12, 31))
    return sa.or_(
        near,
        sa.and_(Mention.date_precision == "month", Mention.date == month),
        sa.and_(Mention.date_precision == "year", Mention.date == year),
    )


# what merging reads of a mention's report, loaded with the mentions in one query (not the report's text)
_DOCUMENT = selectinload(Mention.document).load_only(
    Document.published, Document.fetched_at, Document.sha256, Document.owner_org_id, Document.tlp
)


_NO_EVIDENCE = defer(Mention.evidence)  # merging never reads the evidence spans
# how far (degrees) a stored mention may lie from a new one and still matter to its merge: places agree within
# 80 km, and a stored mention that agrees with one that agrees with the new one lies within twice that
NEAR_DEGREES = 2.0


def _near(m: Mention) -> sa.ColumnElement[bool]:
    """Stored mentions whose place could agree with m's, or with a place that agrees with m's: the same province,
    or within NEAR_DEGREES. A mention placed no finer than the country agrees with nothing (places_agree)."""
    conds: list[sa.ColumnElement[bool]] = []
    if m.province:
        conds.append(Mention.province == m.province)
    if m.lat is not None and m.lon is not None:
        conds.append(
            sa.and_(
                Mention.lat.between(m.lat - NEAR_DEGREES, m.lat + NEAR_DEGREES),
                Mention.lon.between(m.lon - NEAR_DEGREES, m.lon + NEAR_DEGREES),
            )
        )
    return sa.or_(*conds) if conds else sa.false()


BATCH = 16  # from this many new mentions on (a back-fill partition), search date ranges, not mention by mention


def _searches(new: list[Mention]) -> list[sa.Select[Mention]]:
    """Queries for the stored mentions the new ones could cluster with. A few new mentions: one query each, by
    date window and place. Many: one query per run of overlapping date windows (a partition of a date-ordered
    archive is one or a few runs), without the place condition: a wider pool costs clustering little, since only
    mentions whose dates can agree are compared, while one query per mention would cost a round trip each."""
    dated = [m for m in new if m.date is not None]
    if len(dated) < BATCH:
        return [sa.select(Mention).where(_window(m), _near(m)) for m in dated]
    spans = sorted(_search_span(m) for m in dated)
    runs: list[list[date]] = []
    for lo, hi in spans:
        if runs and lo <= runs[-1][1] + timedelta(days=1):
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    months = sorted({m.date.replace(day=1) for m in dated if m.date is not None})
    years = sorted({date(m.date.year, 1, 1) for m in dated if m.date is not None})
    coarse = sa.or_(
        sa.and_(Mention.date_precision == "month", Mention.date.in_(months)),
        sa.and_(Mention.date_precision == "year", Mention.date.in_(years)),
    )
    return [sa.select(Mention).where(Mention.date.between(lo, hi)) for lo, hi in runs] + [
        sa.select(Mention).where(coarse)
    ]


def _search_span(m: Mention) -> tuple[date, date]:
    """The date range `_window` searches around m (without its month and year terms)."""
    assert m.date is not None
    d = m.date
    if m.date_precision == "day":
        return d - timedelta(days=2), d + timedelta(days=2)
    month = d.replace(day=1)
    if m.date_precision == "month":
        return month - timedelta(days=1), (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return date(d.year, 1, 1), date(d.year, 12, 31)


def _neighbourhood(session: Session, new: list[Mention]) -> list[Mention]:
    """Every stored mention whose incident the new mentions could join or reshape.

    Only mentions from reports of the same owner organisation are pooled: one organisation's restricted
    report must never reshape another organisation's incident."""
    found: dict[str, Mention] = {m.id: m for m in new}
    owner = new[0].document.owner_org_id
    # the mentions' date index drives the search; the owner is checked on the (few) candidates, since a join on
    # documents would make the planner walk every report of the owner
    for q in _searches(new):
        for r in session.scalars(q.options(_DOCUMENT, _NO_EVIDENCE)).all():
            if r.document.owner_org_id == owner:
                found.setdefault(r.id, r)
    incident_ids = {m.incident_id for m in found.values() if m.incident_id}
    if incident_ids:
        q = sa.select(Mention).where(Mention.incident_id.in_(incident_ids)).options(_DOCUMENT, _NO_EVIDENCE)
        for r in session.scalars(q).all():
            found.setdefault(r.id, r)
    return list(found.values())


def merge_mentions(session: Session, new: list[Mention]) -> set[str]:
    """Assign new mentions to incidents (creating, joining or merging incidents); returns touched incident ids."""
    if not new:
        return set()
    pool = _neighbourhood(session, new)
    before = {m.incident_id for m in pool if m.incident_id}
    by_id = {m.id: m for m in pool}
    touched: set[str] = set()
    stamp = now()
    claimed_ids: set[str] = set()
    groups = cluster(_views(pool))
    new_ids = {m.id for m in new}
    spread: Counter[str | None] = Counter()  # in how many clusters each incident's mentions lie
    for group_views in groups:
        spread.update({by_id[v.id].incident_id for v in group_views})
    for group_views in groups:
        members = [by_id[v.id] for v in group_views]
        held = {m.incident_id for m in members}
        (only,) = held if len(held) == 1 else (None,)
        if only is not None and spread[only] == 1 and not any(v.id in new_ids for v in group_views):
            # exactly the mentions of one incident, none of them new: nothing to change (canonical values are a
            # function of the set), so the pool's untouched neighbours cost nothing more than their clustering
            claimed_ids.add(only)
            continue
        existing = Counter(m.incident_id for m in members if m.incident_id and m.incident_id not in claimed_ids)
        if existing:
            incs = {i: inc for i in existing if (inc := session.get(Incident, i)) is not None}
            keep = min(incs, key=lambda i: (-existing[i], incs[i].created_at, i))
            incident = incs[keep]
        else:
            incident = Incident(
                id=new_id(),
                created_at=stamp,
                first_seen=stamp,
                last_seen=stamp,
                updated_at=stamp,
                status="draft",
                version=0,
                provenance={},
            )
            session.add(incident)
        claimed_ids.add(incident.id)
        for m in members:
            if m.incident_id != incident.id:
                m.incident_id = incident.id
                m.incident = incident
        _apply(incident, members, stamp)
        touched.add(incident.id)
    session.flush()
    # incidents left without mentions were absorbed into another one; only those that held a pooled mention
    # before can have lost their last one (looking at those alone keeps a merge's cost independent of the store's
    # size)
    emptied = before - touched
    stale = (
        session.scalars(
            sa.select(Incident).where(
                Incident.id.in_(emptied),
                Incident.status != "merged",
                ~sa.exists().where(Mention.incident_id == Incident.id),
            )
        ).all()
        if emptied
        else []
    )
    for inc in stale:
        inc.status = "merged"
        inc.merged_into = next((m.incident_id for m in pool if m.incident_id in touched), None)
        inc.updated_at = stamp
    return touched


def _apply(incident: Incident, members: list[Mention], stamp: datetime) -> None:
    values = canonical(members)
    changed = False
    locked = set(incident.locked_fields or [])
    place_fields = ("place_name", "city", "district", "province", "country", "lat", "lon", "geo_precision")
    for k, v in values.items():
        if k in locked or (k in place_fields and "place" in locked):
            continue  # an analyst's value stands
        if getattr(incident, k, None) != v:
            setattr(incident, k, v)
            changed = True
    incident.owner_org_id = members[0].document.owner_org_id
    incident.tlp = most_restrictive(*(m.document.tlp for m in members))
    seen = [m.document.fetched_at for m in members]
    incident.first_seen = min(seen)
    incident.last_seen = max(seen)
    if changed:
        incident.version = (incident.version or 0) + 1
        incident.updated_at = stamp
