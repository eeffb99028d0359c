"""Where tests keep their stores: SQLite files (the default), or PostgreSQL databases when
CORRIDOR_TEST_DATABASE_URL names a PostgreSQL + PostGIS database (scripts/pg-test-cluster.sh starts a throwaway
cluster and sets it; `make test` runs the suite both ways).

On PostgreSQL every store a test asks for is a database of its own, copied from a template (CREATE DATABASE ...
TEMPLATE copies files, about 0.1 s, where running the migrations takes seconds): one template with the
migrations applied, one with PostGIS only (for tests of the migrations themselves). Templates are named after a
hash of the migration files, so a changed migration never meets a stale template. Each test's databases are
dropped after it; the cluster itself is removed after the run.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import sqlalchemy as sa

from corridor.store.db import MIGRATIONS, Store

ENV = "CORRIDOR_TEST_DATABASE_URL"


def _migrations_digest() -> str:
    h = hashlib.sha256()
    for p in sorted((MIGRATIONS / "versions").glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


class TestDatabases:
    """Hands out store URLs: `url(path)` is sqlite:///path on SQLite, a fresh database on PostgreSQL."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, server_url: str | None) -> None:
        self.server = sa.make_url(server_url) if server_url else None
        if self.server is not None and self.server.get_backend_name() != "postgresql":
            raise ValueError(f"{ENV} must be a PostgreSQL URL (postgresql+psycopg://...), got {self.server!r}")
        self._admin: sa.Engine | None = None
        self._templates: dict[bool, str] = {}
        self._names = (f"t{os.getpid()}_{n}" for n in itertools.count())

    @classmethod
    def from_environment(cls) -> TestDatabases:
        return cls(os.environ.get(ENV) or None)

    @property
    def postgres(self) -> bool:
        return self.server is not None

    @property
    def kind(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def url(self, path: Path, *, empty: bool = False) -> str:
        """A store URL for one use. SQLite: the file at `path` (created on first connection). PostgreSQL: a new
        database with the migrations applied, or, with empty=True, with PostGIS only (as a fresh deployment)."""
        if self.server is None:
            return f"sqlite:///{path}"
        name = next(self._names)
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template(empty)}" STRATEGY FILE_COPY')
        return self._url_of(name)

    def drop(self, url: str) -> None:
        """Remove a database `url` gave out (its connections are closed first); SQLite files go with tmp_path."""
        if self.server is None:
            return
        name = sa.make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()

    # ------------------------------------------------------------------ PostgreSQL

    def _url_of(self, database: str) -> str:
        assert self.server is not None
        return self.server.set(database=database).render_as_string(hide_password=False)

    def _engine(self) -> sa.Engine:
        """Connected to the maintenance database: CREATE DATABASE needs its template free of connections."""
        if self._admin is None:
            self._admin = sa.create_engine(
                self._url_of("postgres"), isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=2
            )
        return self._admin

    def _execute(self, sql: str) -> None:
        with self._engine().connect() as conn:
            conn.exec_driver_sql(sql)

    def _template(self, empty: bool) -> str:
        """The PostGIS-only database the cluster script made, or a migrated copy of it (made once)."""
        assert self.server is not None and self.server.database
        if empty:
            return self.server.database
        if False not in self._templates:
            name = f"tpl_{_migrations_digest()}"
            with self._engine().connect() as conn:
                # concurrent test runs against one server: one of them builds the template, the others wait
                conn.exec_driver_sql("SELECT pg_advisory_lock(7406123)")
                try:
                    found = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
                    if found is None:
                        building = f"{name}_build"
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                        conn.exec_driver_sql(f'CREATE DATABASE "{building}" TEMPLATE "{self.server.database}"')
                        store = Store(self._url_of(building))
                        try:
                            store.upgrade()
                        finally:
                            store.dispose()
                        conn.exec_driver_sql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
                finally:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(7406123)")
            self._templates[False] = name
        return self._templates[False]
