"""Foreign STIX objects: what other producers send that corridor keeps no record of its own for.

Indicators, malware, attack patterns, campaigns, sightings, custom objects, another producer's reports and
notes, a location a producer gave its incident: none of it maps onto corridor's incidents, and none of it is
dropped. Each version is stored as received (`foreign_stix_objects`), owned by the organisation that brought it
in, under the TLP `markings.resolve` gave it, and served back through the same visibility filter as incidents.
Each receiving organisation keeps its own copy, so nobody can overwrite or re-mark another organisation's.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.store.tables import ForeignStixObject
from corridor.store.visibility import Viewer, shared_with_group, visible

SHAREABLE = ("CLEAR", "GREEN", "AMBER")


def version_of(obj: dict[str, Any]) -> str:
    """The version of a STIX object: its `modified` (SDOs, SROs), else `created` (marking definitions), else ""
    (cyber observables have no versions)."""
    return str(obj.get("modified") or obj.get("created") or "")


def keep(
    session: Session, viewer: Viewer, obj: dict[str, Any], tlp: str, group_id: str | None = None
) -> tuple[ForeignStixObject, bool]:
    """Store one object version for the viewer's organisation; returns the row and whether anything changed.

    Storing the same version again is a no-op. So is receiving a copy of a version already here, the same
    content under the same TLP, that the viewer may see (in the group's collection, when it goes to a group):
    the row returned is then another organisation's, and the copy is not kept twice (a server syncing back what
    it received would otherwise add a copy, and a new date_added, every round)."""
    version = version_of(obj)
    same = sa.select(ForeignStixObject).where(
        ForeignStixObject.stix_id == obj["id"], ForeignStixObject.version == version
    )
    found = session.scalar(
        same.where(
            ForeignStixObject.owner_org_id.is_(None)
            if viewer.org_id is None
            else ForeignStixObject.owner_org_id == viewer.org_id
        )
    )
    if found is None:
        seen = same.where(visible(viewer, "stix_object"), ForeignStixObject.tlp == tlp)
        if group_id is not None:
            seen = seen.where(shared_with_group(group_id, "stix_object"))
        for row in session.scalars(seen.order_by(ForeignStixObject.created_at, ForeignStixObject.id)):
            if row.body == obj:
                return row, False
    stamp = now()
    if found is None:
        row = ForeignStixObject(
            stix_id=obj["id"],
            stix_type=obj["type"],
            version=version,
            owner_org_id=viewer.org_id,
            tlp=tlp,
            body=obj,
            created_at=stamp,
            changed_at=stamp,
        )
        session.add(row)
        return row, True
    if found.body == obj and found.tlp == tlp:
        return found, False
    found.body, found.tlp, found.changed_at = obj, tlp, stamp
    return found, True


def served(
    session: Session, viewer: Viewer, group_id: str | None = None, ids: Collection[str] | None = None
) -> list[ForeignStixObject]:
    """Every stored version the viewer may see and pass on (CLEAR, GREEN, AMBER), in one collection: all of
    them (group_id None) or a sharing group's (what the whole group may see: CLEAR, GREEN and what was shared
    with the group); with `ids`, of those STIX ids only."""
    q = sa.select(ForeignStixObject).where(visible(viewer, "stix_object"), ForeignStixObject.tlp.in_(SHAREABLE))
    if group_id is not None:
        q = q.where(shared_with_group(group_id, "stix_object"))
    if ids is not None:
        q = q.where(ForeignStixObject.stix_id.in_(list(ids)))
    return list(session.scalars(q.order_by(ForeignStixObject.stix_id, ForeignStixObject.version, ForeignStixObject.id)))
