"""The one visibility filter. Which records a caller may see is decided here and nowhere else.

TLP 2.0 (FIRST): CLEAR and GREEN are visible to every member of the exchange; AMBER to the owning
organisation and the organisations it is shared with; AMBER+STRICT to the owning organisation only; RED to
the named users only. Every query of markable records (incidents, documents and, through documents, mentions)
takes its WHERE clause from `visible()`; tests assert that no route reads around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from corridor.store.tables import Document, Incident, RecordShare

TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
TLP_RANK = {t: i for i, t in enumerate(TLP_LEVELS)}
ROLES = ("admin", "analyst", "coordinator", "staff", "partner-readonly")


def most_restrictive(*tlps: str) -> str:
    return max((t for t in tlps if t), key=lambda t: TLP_RANK[t], default="CLEAR")


@dataclass(frozen=True)
class Viewer:
    """Who is asking: user, organisation, role and (for API tokens) scopes."""

    user_id: str | None
    org_id: str | None
    role: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    system: bool = False  # the local operator at the command line: sees everything

    def can(self, scope: str) -> bool:
        return not self.scopes or scope in self.scopes


SYSTEM = Viewer(user_id=None, org_id=None, role="admin", system=True)

_TABLES: dict[str, type[Incident] | type[Document]] = {"incident": Incident, "document": Document}


def visible(viewer: Viewer, object_type: str) -> sa.ColumnElement[bool]:
    """SQL condition: the records of `object_type` ('incident' or 'document') that `viewer` may read."""
    table = _TABLES[object_type]
    if viewer.system:
        return sa.true()
    shared_org = sa.exists().where(
        RecordShare.object_type == object_type, RecordShare.object_id == table.id, RecordShare.org_id == viewer.org_id
    )
    named = sa.exists().where(
        RecordShare.object_type == object_type, RecordShare.object_id == table.id, RecordShare.user_id == viewer.user_id
    )
    own = table.owner_org_id == viewer.org_id if viewer.org_id else sa.false()
    return sa.or_(
        table.tlp.in_(("CLEAR", "GREEN")),
        sa.and_(table.tlp == "AMBER", sa.or_(own, shared_org)),
        sa.and_(table.tlp == "AMBER+STRICT", own),
        sa.and_(table.tlp == "RED", named),
    )


def may_write(viewer: Viewer, owner_org_id: str | None) -> bool:
    """Analysts and admins edit their own organisation's records (and unowned public ones)."""
    if viewer.system:
        return True
    return viewer.role in ("admin", "analyst") and owner_org_id in (None, viewer.org_id) and viewer.can("write")
