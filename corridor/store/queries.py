"""Queries over the incident picture. Every read of incidents goes through `incidents_query`, the one place
where later capabilities (organisation isolation, TLP) add their visibility filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from corridor.store.tables import Document, Incident, Mention
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


def visible_mentions(session: Session, viewer: Viewer, incident: Incident) -> list[Mention]:
    """The mentions of an incident whose reports `viewer` may see."""
    q = (
        sa.select(Mention)
        .join(Document, Mention.document_id == Document.id)
        .where(Mention.incident_id == incident.id, visible(viewer, "document"))
        .options(selectinload(Mention.document).selectinload(Document.source))
    )
    return list(session.scalars(q).all())


def sources_of(incident: Incident, mentions: list[Mention] | None = None) -> list[str]:
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


def visible_mentions_of(session: Session, viewer: Viewer, incident_ids: list[str]) -> dict[str, list[Mention]]:
    """Visible mentions of many incidents at once, by incident id (one query for a page of results)."""
    if not incident_ids:
        return {}
    q = (
        sa.select(Mention)
        .join(Document, Mention.document_id == Document.id)
        .where(Mention.incident_id.in_(incident_ids), visible(viewer, "document"))
        .options(selectinload(Mention.document).selectinload(Document.source))
    )
    out: dict[str, list[Mention]] = {}
    for m in session.scalars(q).all():
        out.setdefault(m.incident_id or "", []).append(m)
    return out
