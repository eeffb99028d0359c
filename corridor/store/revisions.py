"""Where a store's schema stands against this code's migrations: at head, behind (an upgrade is due), or at a
revision this code does not know (a newer corridor migrated it). Readiness probes and restore ask; neither may
change the schema to find out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from corridor.store.db import alembic_config


@lru_cache(maxsize=1)
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def heads() -> frozenset[str]:
    """The head revision(s) of this code's migrations."""
    return frozenset(scripts().get_heads())


def is_known(revision: str) -> bool:
    try:
        return scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or malformed id
        return False


@dataclass(frozen=True)
class SchemaState:
    current: frozenset[str]  # empty: no schema at all (never migrated)
    heads: frozenset[str]

    @property
    def at_head(self) -> bool:
        return self.current == self.heads

    @property
    def unknown(self) -> frozenset[str]:
        return frozenset(r for r in self.current if not is_known(r))

    def problem(self) -> str | None:
        """Why the store is not at head, in one line; None when it is."""
        if self.at_head:
            return None
        want = ", ".join(sorted(self.heads))
        if not self.current:
            return f"the store has no schema (migrations not run; head is {want}): run `corridor init`"
        have = ", ".join(sorted(self.current))
        if self.unknown:
            return f"the store is at revision {have}, which this corridor does not know (migrated by a newer one?)"
        return f"the store is behind its migrations: at {have}, head is {want} (run `corridor init` to upgrade)"


def schema_state(connectable: sa.Engine | sa.Connection) -> SchemaState:
    """Read the store's alembic revision(s); never writes (alembic_version is not created when missing)."""
    if isinstance(connectable, sa.Engine):
        with connectable.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    else:
        current = MigrationContext.configure(connectable).get_current_heads()
    return SchemaState(frozenset(current), heads())
