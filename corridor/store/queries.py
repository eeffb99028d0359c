"""Queries over the incident picture. Every read of incidents goes through `incidents_query`, the one place
where later capabilities (organisation isolation, TLP) add their visibility filter."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, selectinload

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


def _mention_view(row: sa.Row[Any]) -> MentionView:
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


def mention_views(session: Session, viewer: Viewer, incident_id: str) -> list[MentionView]:
    """The mentions of an incident whose reports `viewer` may see, with their documents and outlets."""
    rows = session.connection().execute(_mentions_statement(viewer, None), {"incident_id": incident_id})
    return [_mention_view(r) for r in rows]


def mention_views_of(session: Session, viewer: Viewer, incident_ids: list[str]) -> dict[str, list[MentionView]]:
    """Visible mentions of many incidents at once, by incident id (one statement for a page of results)."""
    if not incident_ids:
        return {}
    out: dict[str, list[MentionView]] = {}
    conn = session.connection()
    for r in conn.execute(_mentions_statement(viewer, conn.dialect.name), {"incident_ids": incident_ids}):
        m = _mention_view(r)
        out.setdefault(m.incident_id or "", []).append(m)
    return out


@functools.lru_cache(maxsize=4096)
def _incident_statement(viewer: Viewer) -> sa.Select[Any]:
    return sa.select(*Incident.__table__.columns).where(
        visible(viewer, "incident"), Incident.id == sa.bindparam("ident")
    )


def incident_row(session: Session, viewer: Viewer, ident: str) -> sa.Row[Any] | None:
    """`get_incident` as one row of the incidents table: by id or unique id prefix, if `viewer` may see it."""
    conn = session.connection()
    row = conn.execute(_incident_statement(viewer), {"ident": ident}).first()
    if row is None and len(ident) >= 4:
        base = sa.select(Incident.id).where(visible(viewer, "incident"))
        found = conn.execute(base.where(Incident.id.like(ident + "%")).limit(2)).scalars().all()
        if len(found) == 1:
            row = conn.execute(_incident_statement(viewer), {"ident": found[0]}).first()
    return row
