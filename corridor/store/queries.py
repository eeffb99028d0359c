"""Queries over the incident picture. Every read of incidents goes through `incidents_query` or, for the API's
list, `incident_page` (the same filters as bound parameters, built once per viewer and filter combination): both
put the visibility filter (organisation isolation, TLP) first, and show's `incident_row` does the same."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, selectinload

from corridor.store import spatial
from corridor.store.prepared import Row, fetch
from corridor.store.tables import Document, Incident, Mention, Source
from corridor.store.visibility import Viewer, visible


@dataclass
class IncidentFilter:
    since: date | None = None
    until: date | None = None
    province: str | None = None
    event_type: str | None = None
    perpetrator: str | None = None
    status: str | None = None
    include_merged: bool = False
    limit: int | None = None


def incidents_query(viewer: Viewer, f: IncidentFilter | None = None) -> sa.Select[Incident]:
    """Incidents `viewer` may see, filtered; the visibility filter is applied first, always."""
    f = f or IncidentFilter()
    q = sa.select(Incident).where(visible(viewer, "incident"))
    if not f.include_merged:
        q = q.where(Incident.status != "merged")
    if f.since:
        q = q.where(Incident.date >= f.since)
    if f.until:
        q = q.where(Incident.date <= f.until)
    if f.province:
        q = q.where(sa.func.lower(Incident.province) == f.province.lower())
    if f.event_type:
        q = q.where(Incident.event_type == f.event_type)
    if f.perpetrator:
        q = q.where(Incident.perpetrator == f.perpetrator)
    if f.status:
        q = q.where(Incident.status == f.status)
    q = q.order_by(Incident.date.desc().nulls_last(), Incident.id)
    if f.limit:
        q = q.limit(f.limit)
    return q


def list_incidents(session: Session, viewer: Viewer, f: IncidentFilter | None = None) -> list[Incident]:
    q = incidents_query(viewer, f).options(
        selectinload(Incident.mentions).selectinload(Mention.document).selectinload(Document.source)
    )
    return list(session.scalars(q).all())


def get_incident(session: Session, viewer: Viewer, ident: str) -> Incident | None:
    """An incident `viewer` may see, by id or unique id prefix (as printed by `incidents list`)."""
    base = sa.select(Incident).where(visible(viewer, "incident"))
    inc = session.scalar(base.where(Incident.id == ident))
    if inc is None and len(ident) >= 4:
        found = session.scalars(base.where(Incident.id.like(ident + "%")).limit(2)).all()
        inc = found[0] if len(found) == 1 else None
    return inc


def sources_of(
    incident: Incident | sa.Row[Any], mentions: list[Mention] | list[MentionView] | None = None
) -> list[str]:
    """Outlet names (or file names) of the reports that mention an incident."""
    names = []
    for m in sorted(
        incident.mentions if mentions is None else mentions,
        key=lambda m: (m.document.published or date.min, m.document.sha256),
    ):
        d = m.document
        name = d.source.name if d.source else (d.path.rsplit("/", 1)[-1] if d.path else d.url or d.sha256[:10])
        if name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------- the API's read path, in plain rows
#
# The show and list routes read what they answer with in Core statements (rows, not ORM objects: a tenth of the
# Python per row) built once per viewer (`visible()` is cached the same way) with the incident ids as bound
# parameters, so SQLAlchemy neither rebuilds nor re-keys them per request. Mentions come with their document
# and outlet in one joined statement instead of three (mentions, then documents, then sources), and without the
# documents' text. Every one of them still takes its WHERE clause from `visible()`.


@dataclass(slots=True)
class SourceView:
    name: str


@dataclass(slots=True)
class DocumentView:
    id: str
    sha256: str
    title: str | None
    url: str | None
    path: str | None
    published: date | None
    source: SourceView | None


@dataclass(slots=True)
class MentionView:
    """What `export.incident_record` reads of a mention and its document."""

    id: str
    incident_id: str | None
    event_type: str
    date: date | None
    date_precision: str | None
    place_name: str | None
    killed_total: int | None
    injured_total: int | None
    killed_foreign: int | None
    injured_foreign: int | None
    perpetrator: str | None
    claimed: bool | None
    is_new: bool
    evidence: list[dict[str, Any]]
    document: DocumentView


_MENTION_COLUMNS = [
    getattr(Mention, f)
    for f in (
        "id",
        "incident_id",
        "event_type",
        "date",
        "date_precision",
        "place_name",
        "killed_total",
        "injured_total",
        "killed_foreign",
        "injured_foreign",
        "perpetrator",
        "claimed",
        "is_new",
        "evidence",
    )
]
_DOCUMENT_COLUMNS = [Document.id, Document.sha256, Document.title, Document.url, Document.path, Document.published]


def _mention_view(row: Row) -> MentionView:
    m = len(_MENTION_COLUMNS)
    did, sha256, title, url, path, published, source_id, outlet = row[m:]
    source = SourceView(outlet) if source_id is not None else None
    return MentionView(*row[:m], document=DocumentView(did, sha256, title, url, path, published, source))  # type: ignore[misc]


@functools.lru_cache(maxsize=4096)
def _mentions_statement(viewer: Viewer, many: str | None) -> sa.Select[Any]:
    """Visible mentions with their documents and outlets, of the incident `:incident_id` or (many: the dialect's
    name) of the incidents `:incident_ids`. PostgreSQL takes the ids as one array (`= ANY(...)`): the same SQL
    text for every page, so psycopg prepares it once per connection instead of PostgreSQL planning a new IN list
    of 50 each time."""
    if many == "postgresql":
        which = Mention.incident_id == sa.any_(sa.bindparam("incident_ids", type_=postgresql.ARRAY(sa.String)))
    elif many:
        which = Mention.incident_id.in_(sa.bindparam("incident_ids", expanding=True))
    else:
        which = Mention.incident_id == sa.bindparam("incident_id")
    return (
        sa.select(*_MENTION_COLUMNS, *_DOCUMENT_COLUMNS, Document.source_id, Source.name)
        .join_from(Mention, Document, Mention.document_id == Document.id)
        .outerjoin(Source, Document.source_id == Source.id)
        .where(which, visible(viewer, "document"))
    )


def mention_views(conn: sa.Connection, viewer: Viewer, incident_id: str) -> list[MentionView]:
    """The mentions of an incident whose reports `viewer` may see, with their documents and outlets."""
    return [_mention_view(r) for r in fetch(conn, _mentions_statement(viewer, None), {"incident_id": incident_id})]


def mention_views_of(conn: sa.Connection, viewer: Viewer, incident_ids: list[str]) -> dict[str, list[MentionView]]:
    """Visible mentions of many incidents at once, by incident id (one statement for a page of results)."""
    if not incident_ids:
        return {}
    out: dict[str, list[MentionView]] = {}
    for r in fetch(conn, _mentions_statement(viewer, conn.dialect.name), {"incident_ids": incident_ids}):
        m = _mention_view(r)
        out.setdefault(m.incident_id or "", []).append(m)
    return out


@functools.lru_cache(maxsize=4096)
def _incident_statement(viewer: Viewer) -> sa.Select[Any]:
    return sa.select(*Incident.__table__.columns).where(
        visible(viewer, "incident"), Incident.id == sa.bindparam("ident")
    )


def incident_row(conn: sa.Connection, viewer: Viewer, ident: str) -> Row | None:
    """`get_incident` as one row of the incidents table: by id or unique id prefix, if `viewer` may see it."""
    rows = fetch(conn, _incident_statement(viewer), {"ident": ident})
    if not rows and len(ident) >= 4:
        base = sa.select(Incident.id).where(visible(viewer, "incident"))
        found = conn.execute(base.where(Incident.id.like(ident + "%")).limit(2)).scalars().all()
        if len(found) == 1:
            rows = fetch(conn, _incident_statement(viewer), {"ident": found[0]})
    return rows[0] if rows else None


@dataclass(frozen=True)
class PageQuery:
    """One page of the API's incident list: its filters, where the previous page ended, and its size."""

    since: date | None = None
    until: date | None = None
    bbox: tuple[float, float, float, float] | None = None  # minlon, minlat, maxlon, maxlat
    province: str | None = None
    district: str | None = None
    event_type: str | None = None
    perpetrator: str | None = None
    status: str | None = None
    tlp: str | None = None
    text: str | None = None  # in place, city, perpetrator or a report's title
    after: tuple[date | None, str] | None = None  # (date, id) of the last incident of the previous page
    limit: int = 50

    def bind(self) -> tuple[frozenset[str], dict[str, Any]]:
        """The filters given (what shapes the statement) and the values of its parameters."""
        params: dict[str, Any] = {"limit": self.limit}
        for name in ("since", "until", "event_type", "perpetrator", "status", "tlp"):
            if getattr(self, name):  # an empty value filters nothing
                params[name] = getattr(self, name)
        if self.province:
            params["province"] = self.province.lower()
        if self.district:
            params["district"] = self.district.lower()
        if self.text:
            params["like"] = f"%{self.text.lower()}%"
        if self.bbox:
            params.update(zip(("minlon", "minlat", "maxlon", "maxlat"), self.bbox, strict=True))
        shape = set(params)
        if self.after:
            when, params["after_id"] = self.after
            if when is None:
                shape.add("after_undated")
            else:
                shape.add("after")
                params["after_date"] = when
        return frozenset(shape), params


def incident_page(conn: sa.Connection, viewer: Viewer, page: PageQuery, columns: tuple[str, ...]) -> list[Row]:
    """A page of the incidents `viewer` may see, newest first: rows of `columns` (limit + 1 of them asked for by
    the caller to tell whether a next page exists)."""
    shape, params = page.bind()
    statement = _page_statement(viewer, shape, spatial.is_postgis(conn), columns)
    return fetch(conn, statement, params)


@functools.lru_cache(maxsize=4096)
def _page_statement(viewer: Viewer, shape: frozenset[str], pg: bool, columns: tuple[str, ...]) -> sa.Select[Any]:
    """The list's statement for one viewer and one combination of filters, values as bound parameters: built and
    keyed once, not per request (rebuilding it cost a tenth of a page's Python, bench/api_cpu.py). It holds what
    `incidents_query` holds, `visible()` first, and is planned for each call's own box and dates (PLAN_EACH_CALL:
    its best plan depends on how many incidents they hold)."""
    from corridor.store.db import PLAN_EACH_CALL

    p = sa.bindparam
    q = sa.select(*(Incident.__table__.c[c] for c in columns)).where(
        visible(viewer, "incident"), Incident.status != "merged"
    )
    if "since" in shape:
        q = q.where(Incident.date >= p("since", type_=sa.Date))
    if "until" in shape:
        q = q.where(Incident.date <= p("until", type_=sa.Date))
    if "minlon" in shape:
        box = (
            p("minlon", type_=sa.Float),
            p("minlat", type_=sa.Float),
            p("maxlon", type_=sa.Float),
            p("maxlat", type_=sa.Float),
        )
        q = q.where(spatial.in_bbox(Incident, box, pg))  # type: ignore[arg-type]
    if "province" in shape:
        q = q.where(sa.func.lower(Incident.province) == p("province"))
    if "district" in shape:
        q = q.where(sa.func.lower(Incident.district) == p("district"))
    for name, column in (
        ("event_type", Incident.event_type),
        ("perpetrator", Incident.perpetrator),
        ("status", Incident.status),
        ("tlp", Incident.tlp),  # narrows what the visibility filter already allows
    ):
        if name in shape:
            q = q.where(column == p(name))
    if "like" in shape:
        like = p("like", type_=sa.String)
        titles = (
            sa.select(Mention.incident_id)
            .join(Document, Mention.document_id == Document.id)
            .where(sa.func.lower(Document.title).like(like))
        )
        q = q.where(
            sa.or_(
                sa.func.lower(Incident.place_name).like(like),
                sa.func.lower(Incident.city).like(like),
                sa.func.lower(Incident.perpetrator).like(like),
                Incident.id.in_(titles),
            )
        )
    if "after" in shape:
        d, i = p("after_date", type_=sa.Date), p("after_id", type_=sa.String)
        q = q.where(sa.or_(Incident.date < d, sa.and_(Incident.date == d, Incident.id > i), Incident.date.is_(None)))
    elif "after_undated" in shape:
        q = q.where(Incident.date.is_(None), Incident.id > p("after_id", type_=sa.String))
    q = q.order_by(Incident.date.desc().nulls_last(), Incident.id).limit(p("limit", type_=sa.Integer))
    return q.execution_options(**{PLAN_EACH_CALL: True})
