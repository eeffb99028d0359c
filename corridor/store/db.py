"""Engine, sessions and schema upgrades. Every schema change goes through Alembic, from the first table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; synchronous=NORMAL is durable across process crashes in WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # a 64 MB page cache and memory-mapped reads: proximity and list queries stay in memory on a server
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()


def make_engine(url: str, immediate: bool = False) -> sa.Engine:
    """An engine for the store at `url`; SQLite gets WAL and foreign keys, its folder is created.

    immediate=True (SQLite): every transaction starts with BEGIN IMMEDIATE, taking the write lock up front.
    A transaction that reads and then writes would otherwise fail with SQLITE_BUSY when another writer got
    there between its read and its write; this way it waits (busy_timeout) instead."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        if immediate:
            sa.event.listen(engine, "connect", _sqlite_manual_begin)
            sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _sqlite_manual_begin(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN IMMEDIATE


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent: a current store is left as it is)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


class Store:
    """The opened store: an engine plus a session factory. One per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_engine = make_engine(url, immediate=True) if self.engine.dialect.name == "sqlite" else self.engine
        self.write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    def upgrade(self) -> None:
        upgrade(self.engine)

    def is_current(self) -> bool:
        return current_revision(self.engine) == head_revision()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: its work commits together or not at all."""
        with self.write_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_engine.dispose()
