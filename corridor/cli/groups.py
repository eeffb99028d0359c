"""`corridor groups add|members|list`: sharing groups, managed by the local operator.

A group is owned by an organisation (always one of its members); AMBER records shared with the group are
visible to every member organisation. Mistakes end with one line on stderr and exit status 2, like the rest of
the CLI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Sharing groups: organisations that share AMBER records as one audience.", no_args_is_help=True)
T = TypeVar("T")


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def _in_transaction(fn: Callable[..., T]) -> T:
    from corridor.config import load_settings
    from corridor.identity.service import IdentityError
    from corridor.share.groups import GroupError
    from corridor.store.db import Store

    store = Store(load_settings().database_url)
    try:
        store.upgrade()
        with store.transaction() as session:
            return fn(session)
    except (GroupError, IdentityError) as exc:
        _fail(str(exc))
    finally:
        store.dispose()


def _org_id(session: Session, name_or_id: str) -> str:
    from corridor.identity.service import find_org

    return find_org(session, name_or_id).id


def _show(session: Session, group_id: str) -> None:
    from corridor.share.groups import members
    from corridor.store.tables import Organisation, SharingGroup

    g = session.get(SharingGroup, group_id)
    assert g is not None
    owner = session.get(Organisation, g.owner_org_id)
    assert owner is not None
    names = ", ".join(o.name for o in members(session, g.id))
    sys.stdout.write(f"{g.id}  {g.name}  (owner {owner.name}; members: {names})\n")


@app.command("add")
def groups_add(
    name: Annotated[str, typer.Argument(help="The group's name, e.g. 'CPEC security liaison'")],
    org: Annotated[str, typer.Option("--org", help="The owner organisation (name or id), its first member")],
) -> None:
    """Create a sharing group owned by an organisation."""
    from corridor.share.groups import create_group
    from corridor.store.visibility import Viewer

    def run(session: Session) -> None:
        owner = Viewer(user_id=None, org_id=_org_id(session, org), role="admin")
        group = create_group(session, owner, name)
        _show(session, group.id)

    _in_transaction(run)


@app.command("members")
def groups_members(
    group: Annotated[str, typer.Argument(help="Group name or id")],
    add: Annotated[list[str] | None, typer.Option("--add", help="Organisation to add (repeatable)")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Organisation to remove (repeatable)")] = None,
) -> None:
    """Add or remove member organisations, then show the group."""
    from corridor.share.groups import add_member, get_group, remove_member
    from corridor.store.visibility import SYSTEM

    def run(session: Session) -> None:
        g = get_group(session, SYSTEM, group)
        for org in add or []:
            add_member(session, SYSTEM, g.id, _org_id(session, org))
        for org in remove or []:
            remove_member(session, SYSTEM, g.id, _org_id(session, org))
        _show(session, g.id)

    _in_transaction(run)


@app.command("list")
def groups_list(
    org: Annotated[str | None, typer.Option("--org", help="Only the groups this organisation belongs to")] = None,
) -> None:
    """Sharing groups with their owner and members."""
    import sqlalchemy as sa

    from corridor.share.groups import groups_of
    from corridor.store.tables import SharingGroup

    def run(session: Session) -> None:
        if org:
            found = groups_of(session, _org_id(session, org))
        else:
            found = list(session.scalars(sa.select(SharingGroup).order_by(SharingGroup.name)))
        for g in found:
            _show(session, g.id)

    _in_transaction(run)
