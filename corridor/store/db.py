"""Engine, sessions and schema upgrades. Every schema change goes through Alembic, from the first table.

Two engines are supported with the same `Store` API:

- SQLite (the default): WAL, and write transactions that take the database's single write lock up front
  (BEGIN IMMEDIATE), so every write transaction runs alone.
- PostgreSQL 15 + PostGIS (`postgresql+psycopg://...`): a connection pool and ordinary READ COMMITTED
  transactions, so writers run side by side. What SQLite got from its single writer is held explicitly where it
  matters: edits claim an incident's next version with a compare-and-swap UPDATE (review), alerts are inserted
  with ON CONFLICT DO NOTHING, the audit chain locks its table, and work that reads the incident picture and
  then changes it (ingest's merge) takes `serialize()`'s lock.
"""

from __future__ import annotations

import hashlib
import os
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


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def postgres_pool_options() -> dict[str, Any]:
    """Connection pool settings for PostgreSQL (a server process runs many requests in threads at once).

    CORRIDOR_DB_POOL_SIZE connections are kept open (default 10), up to CORRIDOR_DB_MAX_OVERFLOW more are opened
    under load (default 20); a request waits at most CORRIDOR_DB_POOL_TIMEOUT seconds for one (default 30).
    Connections are checked before use and renewed after 30 minutes, so a restarted database or a dropped idle
    connection costs a reconnect, not a failed request.

    The planner is told that a random page read costs about what a sequential one does (random_page_cost 1.1,
    CORRIDOR_PG_RANDOM_PAGE_COST; PostgreSQL's default of 4 is for spinning disks). With the default, a list of
    the newest incidents in a box and a time window sorted every match (12,000 rows, 90 ms on 1,000,000
    incidents) instead of walking the date-ordered index until the page was full (4 ms)."""
    cost = os.environ.get("CORRIDOR_PG_RANDOM_PAGE_COST", "1.1")
    try:
        float(cost)
    except ValueError as exc:
        raise ValueError(f"CORRIDOR_PG_RANDOM_PAGE_COST must be a number, got {cost!r}") from exc
    return {
        "pool_size": _int_env("CORRIDOR_DB_POOL_SIZE", 10),
        "max_overflow": _int_env("CORRIDOR_DB_MAX_OVERFLOW", 20),
        "pool_timeout": _int_env("CORRIDOR_DB_POOL_TIMEOUT", 30),
        "pool_recycle": 1800,
        "pool_pre_ping": True,
        "isolation_level": "READ COMMITTED",
        "connect_args": {"application_name": "corridor", "options": f"-c random_page_cost={cost}"},
    }


def make_engine(url: str, immediate: bool = False) -> sa.Engine:
    """An engine for the store at `url`; SQLite gets WAL and foreign keys, its folder is created; PostgreSQL
    gets a connection pool (`postgres_pool_options`).

    immediate=True (SQLite): every transaction starts with BEGIN IMMEDIATE, taking the write lock up front.
    A transaction that reads and then writes would otherwise fail with SQLITE_BUSY when another writer got
    there between its read and its write; this way it waits (busy_timeout) instead. PostgreSQL ignores it."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    options = postgres_pool_options() if sa.make_url(url).get_backend_name() == "postgresql" else {}
    engine = sa.create_engine(url, **options)
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


def serialize(session: Session, key: str) -> None:
    """Hold `key` until the session's transaction ends: writers that read the store and then change it on what
    they read (ingest merging reports into incidents) take turns instead of both acting on the same picture.

    PostgreSQL: a transaction-level advisory lock (released at commit or rollback). SQLite: nothing to do, its
    write transactions already run one at a time (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        n = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(n)))


class Store:
    """The opened store: an engine plus a session factory. One per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_engine = make_engine(url, immediate=True) if self.engine.dialect.name == "sqlite" else self.engine
        self.write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

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
