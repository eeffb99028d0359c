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
import time
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
    A connection that sat idle in the pool for CORRIDOR_DB_PING_AFTER seconds (default 5) is checked before use
    and renewed after 30 minutes, so a database restarted while the server was quiet, or an idle connection a
    firewall dropped, costs a reconnect, not a failed request (`_ping_when_idle`).

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
    if engine.dialect.name == "postgresql":
        _ping_when_idle(engine, float(_int_env("CORRIDOR_DB_PING_AFTER", 5)))
        sa.event.listen(engine, "do_execute", _plan_each_call)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        if immediate:
            sa.event.listen(engine, "connect", _sqlite_manual_begin)
            sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _ping_when_idle(engine: sa.Engine, after: float) -> None:
    """Check a pooled connection before use when it has been idle for `after` seconds or more.

    SQLAlchemy's pool_pre_ping checks on every checkout: a `SELECT 1` round trip on every API request, a fifth of a
    show's PostgreSQL CPU under load (bench/api_cpu.py). A connection in steady use needs no check; one that sat
    idle is where a restarted server or a dropped connection hides. When the database restarts under load, the
    requests in flight fail (as they would with pre-ping); the first failure marks every older connection in the
    pool for renewal, so the next requests get new ones."""

    @sa.event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # the pool reconnects (up to three times) on DisconnectionError; the cause stays chained
            raise sa.exc.DisconnectionError(f"pooled connection failed its liveness check: {exc}") from exc


PLAN_EACH_CALL = "corridor_plan_each_call"


def _plan_each_call(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """Run a statement marked with the execution option PLAN_EACH_CALL unprepared, so that PostgreSQL plans it for
    the values it is given.

    In autocommit (the API's reads, `Store.read_engine`) psycopg prepares a statement on the server after its fifth
    run and PostgreSQL may then settle on one generic plan for every value. Good for a lookup by id; bad for the
    incident list, whose best plan depends on how many incidents the box and the dates hold: its generic plan cost
    4.3 ms of PostgreSQL CPU a page instead of 1.1 (bench/api_cpu.py). In a transaction nothing is prepared (psycopg
    forgets its prepared statements at every ROLLBACK), so there the option changes nothing."""
    if context is not None and context.execution_options.get(PLAN_EACH_CALL):
        cursor.execute(statement, parameters, prepare=False)
        return True
    return False


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
        # reads that need no snapshot of their own (the API's token check, show and list), as plain connections:
        # on PostgreSQL in autocommit, the same pool without BEGIN and ROLLBACK round trips (a show's PostgreSQL
        # CPU fell from 1.4 to 0.3 ms, bench/api_cpu.py) and without an ORM session's bookkeeping
        self.read_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )

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
