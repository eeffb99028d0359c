"""Sharing groups: list the caller's organisation's groups, create one (admins), add and remove members (admins
of the owner organisation). Records are shared with a group through `POST /incidents/{id}/shares` with a
group_id, or by adding them to the group's TAXII collection. Groups the caller's organisation is not in answer
404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from corridor.share import groups
from corridor.store.tables import SharingGroup
from corridor.store.visibility import Viewer
from corridor.web.access import ADMINS, ALL, access
from corridor.web.deps import db, db_write, viewer
from corridor.web.problems import Problem
from corridor.web.schemas import GroupIn, GroupOut, MemberIn

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])
_TITLES = {403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Validation failed"}


def _out(session: Session, group: SharingGroup) -> GroupOut:
    return GroupOut(
        id=group.id,
        name=group.name,
        owner_org_id=group.owner_org_id,
        members=[{"id": o.id, "name": o.name, "kind": o.kind} for o in groups.members(session, group.id)],
    )


def _run(session: Session, fn: Any, *args: Any) -> Any:
    try:
        out = fn(session, *args)
        session.commit()
        return out
    except groups.GroupError as exc:
        session.rollback()
        raise Problem(exc.status, _TITLES.get(exc.status, "Error"), str(exc)) from None


@router.get("", response_model=list[GroupOut], **access(ALL, "read"))
def list_groups(who: Viewer = Depends(viewer), session: Session = Depends(db)) -> list[GroupOut]:
    """The sharing groups the caller's organisation belongs to, with their members."""
    return [_out(session, g) for g in groups.groups_of(session, who.org_id)]


@router.post("", status_code=201, response_model=GroupOut, **access(ADMINS, "admin"))
def create_group(
    body: GroupIn, request: Request, who: Viewer = Depends(viewer), session: Session = Depends(db_write)
) -> GroupOut:
    """A new group owned by the caller's organisation (its first member)."""
    group = _run(session, groups.create_group, who, body.name, request.state.request_id)
    return _out(session, group)


@router.post("/{group_id}/members", status_code=201, response_model=GroupOut, **access(ADMINS, "admin"))
def add_member(
    group_id: str,
    body: MemberIn,
    request: Request,
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> GroupOut:
    """Add an organisation to a group the caller's organisation owns: it sees the group's AMBER records."""
    _run(session, groups.add_member, who, group_id, body.org_id, request.state.request_id)
    return _out(session, groups.get_group(session, who, group_id))


@router.delete("/{group_id}/members/{org_id}", response_model=GroupOut, **access(ADMINS, "admin"))
def remove_member(
    group_id: str,
    org_id: str,
    request: Request,
    who: Viewer = Depends(viewer),
    session: Session = Depends(db_write),
) -> GroupOut:
    """Remove an organisation: it no longer sees the group's AMBER records."""
    _run(session, groups.remove_member, who, group_id, org_id, request.state.request_id)
    return _out(session, groups.get_group(session, who, group_id))
