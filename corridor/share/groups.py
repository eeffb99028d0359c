"""Sharing groups: an organisation shares a record with a named set of organisations at once.

The owner organisation (its admins) creates a group and manages who is in it; it is always a member itself.
Any member organisation's editors may share their own AMBER records (incidents, documents, foreign STIX objects)
with the group, and every member organisation then sees them through the one visibility filter
(`store/visibility.py`) for as long as it is a member. AMBER+STRICT and RED never go to a group: AMBER+STRICT
stays inside its organisation, RED goes to named users only. Every change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.store import audit
from corridor.store.db import serialize
from corridor.store.tables import Organisation, RecordShare, SharingGroup, SharingGroupMember
from corridor.store.visibility import Viewer

SHAREABLE_WITH_GROUP = ("CLEAR", "GREEN", "AMBER")


class GroupError(Exception):
    """A refused group operation, with the HTTP status it maps to and a reason fit to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def groups_of(session: Session, org_id: str | None) -> list[SharingGroup]:
    """The groups an organisation belongs to, by name."""
    if not org_id:
        return []
    q = (
        sa.select(SharingGroup)
        .join(SharingGroupMember, SharingGroupMember.group_id == SharingGroup.id)
        .where(SharingGroupMember.org_id == org_id)
        .order_by(SharingGroup.name, SharingGroup.id)
    )
    return list(session.scalars(q))


def is_member(session: Session, group_id: str, org_id: str | None) -> bool:
    if not org_id:
        return False
    q = sa.select(SharingGroupMember).where(
        SharingGroupMember.group_id == group_id, SharingGroupMember.org_id == org_id
    )
    return session.scalar(q) is not None


def get_group(session: Session, viewer: Viewer, name_or_id: str) -> SharingGroup:
    """A group the viewer's organisation belongs to (any group for the local operator), by id or name.
    Groups of others answer 404: their existence is not disclosed."""
    q = sa.select(SharingGroup).where(sa.or_(SharingGroup.id == name_or_id, SharingGroup.name == name_or_id))
    found = [g for g in session.scalars(q) if viewer.system or is_member(session, g.id, viewer.org_id)]
    if len(found) != 1:
        raise GroupError(404 if not found else 409, f"no group {name_or_id!r}" if not found else "ambiguous name")
    return found[0]


def members(session: Session, group_id: str) -> list[Organisation]:
    q = (
        sa.select(Organisation)
        .join(SharingGroupMember, SharingGroupMember.org_id == Organisation.id)
        .where(SharingGroupMember.group_id == group_id)
        .order_by(Organisation.name)
    )
    return list(session.scalars(q))


def _owner_admin(viewer: Viewer, group: SharingGroup) -> None:
    if viewer.system:
        return
    if viewer.org_id != group.owner_org_id or viewer.role != "admin" or not viewer.can("admin"):
        raise GroupError(403, "only admins of the group's owner organisation manage its members")


def create_group(session: Session, viewer: Viewer, name: str, request_id: str | None = None) -> SharingGroup:
    """A new group owned by the viewer's organisation, with that organisation as its first member."""
    if not viewer.org_id:
        raise GroupError(422, "a group is owned by an organisation")
    if not viewer.system and (viewer.role != "admin" or not viewer.can("admin")):
        raise GroupError(403, "only an organisation's admins create sharing groups")
    name = name.strip()
    if not name:
        raise GroupError(422, "a group needs a name")
    serialize(session, f"group.create.{viewer.org_id}")
    taken = session.scalar(
        sa.select(SharingGroup).where(SharingGroup.owner_org_id == viewer.org_id, SharingGroup.name == name)
    )
    if taken is not None:
        raise GroupError(409, f"the organisation has a group {name!r} already")
    stamp = now()
    group = SharingGroup(name=name, owner_org_id=viewer.org_id, created_at=stamp)
    session.add(group)
    session.flush()
    session.add(SharingGroupMember(group_id=group.id, org_id=viewer.org_id, added_at=stamp))
    session.flush()
    audit.record(session, viewer, "group.create", "group", group.id, request_id, {"name": name})
    return group


def add_member(
    session: Session, viewer: Viewer, group_id: str, org_id: str, request_id: str | None = None
) -> SharingGroupMember:
    """Add an organisation (idempotent). It sees the group's AMBER records from now on."""
    group = get_group(session, viewer, group_id)
    _owner_admin(viewer, group)
    serialize(session, f"group.members.{group.id}")  # read, then insert: concurrent adds take turns (PostgreSQL)
    if session.get(Organisation, org_id) is None:
        raise GroupError(404, f"no organisation {org_id!r}")
    found = session.get(SharingGroupMember, (group.id, org_id))
    if found is not None:
        return found
    member = SharingGroupMember(group_id=group.id, org_id=org_id, added_at=now())
    session.add(member)
    session.flush()
    _records_changed(session, group.id)
    audit.record(session, viewer, "group.member.add", "group", group.id, request_id, {"org_id": org_id})
    return member


def remove_member(session: Session, viewer: Viewer, group_id: str, org_id: str, request_id: str | None = None) -> None:
    """Remove an organisation: it no longer sees the group's AMBER records (copies it pulled stay with it)."""
    group = get_group(session, viewer, group_id)
    _owner_admin(viewer, group)
    if org_id == group.owner_org_id:
        raise GroupError(409, "the owner organisation stays a member of its group")
    found = session.get(SharingGroupMember, (group.id, org_id))
    if found is None:
        raise GroupError(404, f"organisation {org_id!r} is not a member")
    session.delete(found)
    session.flush()
    audit.record(session, viewer, "group.member.remove", "group", group.id, request_id, {"org_id": org_id})


def share_with_group(
    session: Session,
    viewer: Viewer,
    object_type: str,
    object_id: str,
    tlp: str,
    group_id: str,
    request_id: str | None = None,
) -> RecordShare:
    """Share one record (already loaded and checked writable by the caller) with a group the viewer's
    organisation belongs to. Idempotent."""
    group = get_group(session, viewer, group_id)
    if tlp not in SHAREABLE_WITH_GROUP:
        why = "stay inside their organisation" if tlp == "AMBER+STRICT" else "go to named users only"
        raise GroupError(409, f"{tlp} records {why}")
    rec = share_rows(session, group.id, [(object_type, object_id)])[0]
    audit.record(session, viewer, f"{object_type}.share", object_type, object_id, request_id, {"group_id": group.id})
    return rec


def share_rows(session: Session, group_id: str, records: Sequence[tuple[str, str]]) -> list[RecordShare]:
    """The group's share of each (object_type, object_id), created where missing (the caller checked the group,
    the records' marking and the right to share them, and audits)."""
    out = []
    new = []
    for object_type, object_id in records:
        rec = session.scalar(
            sa.select(RecordShare).where(
                RecordShare.object_type == object_type,
                RecordShare.object_id == object_id,
                RecordShare.group_id == group_id,
            )
        )
        if rec is None:
            rec = RecordShare(object_type=object_type, object_id=object_id, group_id=group_id, created_at=now())
            session.add(rec)
            new.append((object_type, object_id))
        out.append(rec)
    session.flush()
    _records_changed(session, group_id, new)
    return out


def _records_changed(session: Session, group_id: str, records: Sequence[tuple[str, str]] | None = None) -> None:
    """Who may see these records changed: a hook for the TAXII date_added of their objects (see share.stix)."""
    from corridor.share.stix import records_changed

    if records is None:
        records = [
            (t, i)
            for t, i in session.execute(
                sa.select(RecordShare.object_type, RecordShare.object_id).where(RecordShare.group_id == group_id)
            )
        ]
    records_changed(session, records)
