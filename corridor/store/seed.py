"""Reference data the store carries from the start: the actor list (config as data, versioned in the repo)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.extract.actors import load_actors
from corridor.store.tables import Actor


def seed_actors(session: Session) -> int:
    """Insert or update every actor from actors.yaml; returns how many rows changed."""
    changed = 0
    existing = {a.name: a for a in session.scalars(sa.select(Actor)).all()}
    for a in load_actors():
        row = existing.get(a.name)
        values = {"full_name": a.full_name, "kind": a.kind, "aliases": list(a.aliases), "parent": a.parent}
        if row is None:
            session.add(Actor(name=a.name, **values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed += 1
    return changed
