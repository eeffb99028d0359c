"""Reference data: actors, gazetteer search, the audit log (admins), health."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from corridor.geo import get_gazetteer
from corridor.store.audit import verify
from corridor.store.tables import Actor, AuditEntry
from corridor.store.visibility import Viewer
from corridor.web.access import ADMINS, ALL, access
from corridor.web.deps import db, viewer

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/actors", **access(ALL, "read"))
def actors(session: Session = Depends(db)) -> list[dict[str, Any]]:
    return [
        {"name": a.name, "full_name": a.full_name, "kind": a.kind, "aliases": a.aliases, "parent": a.parent}
        for a in session.scalars(sa.select(Actor).order_by(Actor.name)).all()
    ]


@router.get("/gazetteer", **access(ALL, "read"))
def gazetteer(
    q: str = Query(..., min_length=2, max_length=120), limit: int = Query(10, ge=1, le=50)
) -> list[dict[str, Any]]:
    """Places a name may mean, most likely first, with their hierarchy."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "kind": p.kind,
            "city": p.city,
            "district": p.district,
            "province": p.province,
            "country": p.country,
            "lat": p.lat,
            "lon": p.lon,
            "precision": p.precision.value,
        }
        for p in get_gazetteer().lookup(q)[:limit]
    ]


@router.get("/audit", **access(ADMINS, "admin"))
def audit_log(
    limit: int = Query(100, ge=1, le=1000), who: Viewer = Depends(viewer), session: Session = Depends(db)
) -> dict[str, Any]:
    """The latest audit entries of the caller's organisation, and whether the whole chain verifies."""
    rows = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.org_id == who.org_id).order_by(AuditEntry.seq.desc()).limit(limit)
    ).all()
    check = verify(session)
    return {
        "chain_ok": check.ok,
        "entries": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "user_id": e.user_id,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "request_id": e.request_id,
                "detail": e.detail,
            }
            for e in rows
        ],
    }


@router.get("/health", **access(public=True))
def health() -> dict[str, str]:
    return {"status": "ok"}
