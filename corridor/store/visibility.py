"""The one visibility filter. Which records a caller may see is decided here and nowhere else.

TLP 2.0 (FIRST): CLEAR and GREEN are visible to every member of the exchange; AMBER to the owning
organisation, the organisations it is shared with and the members of the sharing groups it is shared with;
AMBER+STRICT to the owning organisation only (whatever shares exist); RED to the named users only. Every query
of markable records (incidents, documents and, through documents, mentions; foreign STIX objects) takes its
WHERE clause from `visible()`; tests assert that no route reads around it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sqlalchemy as sa

from corridor.store.tables import Document, ForeignStixObject, Incident, RecordShare, SharingGroupMember

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

Markable = type[Incident] | type[Document] | type[ForeignStixObject]
_TABLES: dict[str, Markable] = {"incident": Incident, "document": Document, "stix_object": ForeignStixObject}


@functools.lru_cache(maxsize=4096)
def visible(viewer: Viewer, object_type: str) -> sa.ColumnElement[bool]:
    """SQL condition: the records of `object_type` ('incident', 'document', 'stix_object') `viewer` may read.

    Built once per viewer and type and kept (SQLAlchemy expressions are immutable, and building this one was a
    third of a small API request's Python time); a viewer is its ids, role and scopes, so a cached condition
    never outlives a change of who may see what: shares and group memberships are read by the SQL itself.

    A viewer without a user (the command line acting for an organisation) is named on no RED record, and one
    without an organisation owns nothing and is shared nothing: a missing id never matches a share row's
    missing id (SQL would read `= NULL` as IS NULL)."""
    table = _TABLES[object_type]
    if viewer.system:
        return sa.true()
    share = sa.and_(RecordShare.object_type == object_type, RecordShare.object_id == table.id)
    if viewer.org_id:
        own: sa.ColumnElement[bool] = table.owner_org_id == viewer.org_id
        shared_org: sa.ColumnElement[bool] = sa.exists().where(share, RecordShare.org_id == viewer.org_id)
        shared_group: sa.ColumnElement[bool] = sa.exists().where(
            share,
            RecordShare.group_id == SharingGroupMember.group_id,
            SharingGroupMember.org_id == viewer.org_id,
        )
    else:
        own = shared_org = shared_group = sa.false()
    named = sa.exists().where(share, RecordShare.user_id == viewer.user_id) if viewer.user_id else sa.false()
    return sa.or_(
        table.tlp.in_(("CLEAR", "GREEN")),
        sa.and_(table.tlp == "AMBER", sa.or_(own, shared_org, shared_group)),
        sa.and_(table.tlp == "AMBER+STRICT", own),
        sa.and_(table.tlp == "RED", named),
    )


def shared_with_group(group_id: str, object_type: str) -> sa.ColumnElement[bool]:
    """SQL condition: the records a sharing group as a whole may see, that is the group's TAXII collection
    before `visible()` applies: CLEAR and GREEN ones, and those shared with the group. It only ever narrows
    `visible()`, never widens it."""
    table = _TABLES[object_type]
    return sa.or_(
        table.tlp.in_(("CLEAR", "GREEN")),
        sa.exists().where(
            RecordShare.object_type == object_type,
            RecordShare.object_id == table.id,
            RecordShare.group_id == group_id,
        ),
    )


def may_write(viewer: Viewer, owner_org_id: str | None) -> bool:
    """Analysts and admins edit their own organisation's records (and unowned public ones)."""
    if viewer.system:
        return True
    return viewer.role in ("admin", "analyst") and owner_org_id in (None, viewer.org_id) and viewer.can("write")
