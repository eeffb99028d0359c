"""Backups and restores of the store, online and consistent.

SQLite: the sqlite3 online backup API copies the database in one step inside one read transaction, so the copy
is the store as of one instant even while the server writes (WAL readers never block the writer, and the writer
never blocks them). The copy is checked (`PRAGMA integrity_check`) and written beside its destination, then
renamed into place: a crash never leaves half a backup under the final name. It is a single file (rollback
journal mode, no -wal beside it), readable by its owner only: it holds everything the store holds.

PostgreSQL: `pg_dump` in its custom format (a consistent snapshot, taken while the server runs) and
`pg_restore`. The client tools must be installed and should match the server's major version.

A restore refuses to overwrite a store that holds data unless forced, refuses a file that is not a corridor store
at a migration this code knows, brings the restored store to the migration head, and checks the audit log's hash
chain; the restored store is then what `corridor audit verify` verifies.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from corridor.store.revisions import is_known

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PG_BIN_DIRS = Path("/usr/lib/postgresql")  # Debian keeps each major version's programs in VERSION/bin
# tables whose rows do not make a store "non-empty": schema bookkeeping, reference data `corridor init` loads,
# PostGIS's own
BOOKKEEPING = frozenset({"alembic_version", "actors", "spatial_ref_sys"})
# a corridor store has at least these (from its first migrations)
CORE_TABLES = frozenset({"alembic_version", "documents", "incidents", "mentions"})


class BackupError(Exception):
    """Why a backup or restore was refused or failed, in one line for the operator."""


@dataclass
class Result:
    engine: str  # sqlite | postgresql
    path: Path
    revision: list[str]  # the backup's migration revision
    bytes: int = 0
    migrated_to: list[str] = field(default_factory=list)  # restore: where the store stands afterwards (head)
    audit_entries: int | None = None


def backend(url: str) -> str:
    try:
        return sa.make_url(url).get_backend_name()
    except sa.exc.ArgumentError as exc:
        raise BackupError(f"not a database URL: {exc}") from None


def backup(url: str, out: Path, force: bool = False) -> Result:
    """Copy the store at `url` to `out`, consistently, while it may be in use."""
    if out.exists() and not force:
        raise BackupError(f"{out} already exists (--force replaces it)")
    kind = backend(url)
    with _plainly("backup"):
        if kind == "sqlite":
            return _sqlite_backup(_sqlite_path(url), out)
        if kind == "postgresql":
            return _pg_backup(url, out)
    raise BackupError(f"backups of {kind} stores are not supported (SQLite and PostgreSQL are)")


def restore(url: str, src: Path, force: bool = False) -> Result:
    """Replace the store at `url` with the backup `src`, then migrate it to head and verify its audit chain."""
    if not src.is_file():
        raise BackupError(f"{src}: no such backup file")
    kind = backend(url)
    with _plainly("restore"):
        if kind == "sqlite":
            return _sqlite_restore(_sqlite_path(url), src, force)
        if kind == "postgresql":
            return _pg_restore(url, src, force)
    raise BackupError(f"restores into {kind} stores are not supported (SQLite and PostgreSQL are)")


@contextmanager
def _plainly(what: str) -> Iterator[None]:
    """Database and file errors (an unreachable server, a full disk) as one line for the operator, not a trace."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise BackupError(f"{what} failed: {cause[0] if cause else type(exc).__name__}") from None
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"{what} failed: {exc}") from None


# ---------------------------------------------------------------- checks shared by both engines


def _check_revision(revision: list[str], what: str) -> None:
    if not revision:
        raise BackupError(f"{what} has no migration revision: not a corridor store")
    unknown = [r for r in revision if not is_known(r)]
    if unknown:
        raise BackupError(
            f"{what} is at migration {', '.join(unknown)}, which this corridor does not know (made by a newer one?)"
        )


def _verify_and_describe(url: str, result: Result) -> Result:
    """Migrate the restored store to head and check its audit chain; a broken chain fails the restore."""
    from corridor.store.audit import verify
    from corridor.store.db import Store
    from corridor.store.revisions import schema_state

    store = Store(url)
    try:
        store.upgrade()
        with store.sessions() as session:
            check = verify(session)
        state = schema_state(store.engine)
    finally:
        store.dispose()
    if not check.ok:
        raise BackupError(f"the restored audit log does not verify: entry {check.first_bad}: {check.reason}")
    result.audit_entries = check.entries
    result.migrated_to = sorted(state.current)
    return result


# ---------------------------------------------------------------- SQLite


def _sqlite_path(url: str) -> Path:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite store has nothing to back up or restore into")
    return Path(database)


def _private_file(path: Path) -> None:
    """Create `path` empty, readable and writable by its owner only (backups hold password hashes and RED data)."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _read_only(path: Path) -> closing[sqlite3.Connection]:
    """Open an SQLite file for reading only: a restore never writes to the backup it reads."""
    return closing(sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_facts(conn: sqlite3.Connection, what: str) -> tuple[list[str], set[str]]:
    """The revision(s) and the table names of an opened SQLite file; a clear error when it is no corridor store."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a readable SQLite database ({exc})") from None
    missing = CORE_TABLES - tables
    if missing:
        raise BackupError(f"{what} is not a corridor store (no {', '.join(sorted(missing))} table)")
    revision = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    return revision, tables


def _integrity(conn: sqlite3.Connection, what: str) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if rows != ["ok"]:
        raise BackupError(f"{what} fails its integrity check: {'; '.join(rows[:3])}")


def _sqlite_backup(db: Path, out: Path) -> Result:
    if not db.is_file():
        raise BackupError(f"no store at {db}")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    _private_file(part)
    try:
        with closing(sqlite3.connect(db, timeout=30)) as src, closing(sqlite3.connect(part)) as dst:
            src.execute("PRAGMA busy_timeout = 30000")
            src.backup(dst)  # every page in one step: one read transaction, one instant
            dst.execute("PRAGMA journal_mode = DELETE")  # a self-contained file, no -wal to carry along
            _integrity(dst, "the copy")
            revision, _ = _sqlite_facts(dst, f"the store at {db}")
        _fsync(part)
        os.replace(part, out)
        with suppress(OSError):  # make the rename durable where the platform lets a folder be fsync'ed
            _fsync(out.parent)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Result("sqlite", out, revision, out.stat().st_size)


def _has_rows(conn: sqlite3.Connection, tables: set[str]) -> list[str]:
    busy = []
    for name in sorted(tables - BOOKKEEPING):
        if name.startswith("sqlite_"):
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        if conn.execute(f"SELECT 1 FROM {quoted} LIMIT 1").fetchone():
            busy.append(name)
    return busy


def _sqlite_restore(db: Path, src: Path, force: bool) -> Result:
    with open(src, "rb") as f:
        if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{src} is not an SQLite database (a PostgreSQL dump restores into PostgreSQL only)")
    with _read_only(src) as conn:
        _integrity(conn, str(src))
        revision, _ = _sqlite_facts(conn, str(src))
    _check_revision(revision, str(src))

    if db.is_file() and not force:
        with closing(sqlite3.connect(db, timeout=30)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            busy = _has_rows(conn, tables)
        if busy:
            raise BackupError(
                f"the store at {db} is not empty ({', '.join(busy[:4])}{' …' if len(busy) > 4 else ''} hold rows); "
                "--force replaces it"
            )

    # Stage: copy, migrate and verify beside the store, so the live store changes only once all of that worked.
    db.parent.mkdir(parents=True, exist_ok=True)
    stage = db.with_name(f".{db.name}.restore-{os.getpid()}")
    _private_file(stage)
    try:
        with _read_only(src) as s, closing(sqlite3.connect(stage)) as d:
            s.backup(d)
        result = _verify_and_describe(f"sqlite:///{stage}", Result("sqlite", db, revision))
        # Into place with the backup API as well: it takes the store's write lock and replaces every page in
        # one transaction, so a reader sees the old store or the new one, and no -wal file is left stale.
        if not db.exists():
            _private_file(db)
        with closing(sqlite3.connect(stage)) as s, closing(sqlite3.connect(db, timeout=30)) as d:
            d.execute("PRAGMA busy_timeout = 30000")
            s.backup(d)
    finally:
        for p in (stage, stage.with_name(stage.name + "-wal"), stage.with_name(stage.name + "-shm")):
            p.unlink(missing_ok=True)
    result.bytes = db.stat().st_size
    return result


# ---------------------------------------------------------------- PostgreSQL


def _pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program, or a clear error saying how to get it."""
    found = shutil.which(name)
    if found is None:
        candidates = sorted(PG_BIN_DIRS.glob(f"*/bin/{name}"), reverse=True)
        found = str(candidates[0]) if candidates else None
    if found is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools matching the server's major version "
            "(Debian: apt-get install postgresql-client-15) or put them on PATH"
        )
    return found


_LIBPQ_QUERY = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "host": "PGHOST",
    "port": "PGPORT",
}


def _pg_env(url: str) -> dict[str, str]:
    """libpq's environment for the URL: the password travels in PGPASSWORD, never on a command line that `ps`
    shows to every user of the machine."""
    u = sa.make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in {
        "PGHOST": u.host,
        "PGPORT": str(u.port) if u.port else None,
        "PGUSER": u.username,
        "PGPASSWORD": u.password if isinstance(u.password, str) else None,
        "PGDATABASE": u.database,
    }.items():
        if value:
            env[key] = value
    for key, var in _LIBPQ_QUERY.items():
        given = u.query.get(key)
        if isinstance(given, str):
            env[var] = given
    env.setdefault("PGAPPNAME", "corridor-backup")
    return env


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit status {proc.returncode}'}")
    return proc


def _pg_revision(url: str) -> list[str]:
    from corridor.store.revisions import schema_state

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return sorted(schema_state(engine).current)
    finally:
        engine.dispose()


def _pg_backup(url: str, out: Path) -> Result:
    revision = _pg_revision(url)
    _check_revision(revision, "the store")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    _private_file(part)
    try:
        _run([_pg_tool("pg_dump"), "--format=custom", f"--file={part}"], _pg_env(url), "pg_dump")
        _fsync(part)
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Result("postgresql", out, revision, out.stat().st_size)


_COPY = re.compile(r"^COPY [\w.\"]*alembic_version \(version_num\) FROM stdin;\n(.*?)^\\\.$", re.M | re.S)


def _pg_dump_revision(src: Path, env: dict[str, str]) -> list[str]:
    """The alembic revision recorded in a custom-format dump, read with pg_restore (no database touched)."""
    listing = _run([_pg_tool("pg_restore"), "--list", str(src)], env, f"reading {src}").stdout
    if not re.search(r"TABLE DATA \S+ alembic_version ", listing):
        raise BackupError(f"{src} is not a dump of a corridor store (no alembic_version table)")
    sql = _run(
        [_pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(src)], env, f"reading {src}"
    ).stdout
    m = _COPY.search(sql)
    return sorted(line for line in (m.group(1).splitlines() if m else []) if line.strip())


def _pg_busy_tables(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names(schema="public")
            busy = []
            for name in sorted(set(names) - BOOKKEEPING):
                quoted = conn.dialect.identifier_preparer.quote(name)
                if conn.exec_driver_sql(f"SELECT 1 FROM public.{quoted} LIMIT 1").first():
                    busy.append(name)
            return busy
    finally:
        engine.dispose()


def _pg_restore(url: str, src: Path, force: bool) -> Result:
    with open(src, "rb") as f:
        if f.read(len(PG_MAGIC)) != PG_MAGIC:
            raise BackupError(f"{src} is not a pg_dump custom-format file (an SQLite backup restores into SQLite only)")
    env = _pg_env(url)
    revision = _pg_dump_revision(src, env)
    _check_revision(revision, str(src))
    busy = _pg_busy_tables(url)
    if busy and not force:
        raise BackupError(
            f"the store is not empty ({', '.join(busy[:4])}{' …' if len(busy) > 4 else ''} hold rows); "
            "--force replaces it"
        )
    # Extensions (PostGIS) stay as the database has them: creating or dropping one needs a superuser, which
    # corridor's role is not (docs/deploy.md creates PostGIS once, as postgres).
    listing = _run([_pg_tool("pg_restore"), "--list", str(src)], env, f"reading {src}").stdout
    keep = [line for line in listing.splitlines() if " EXTENSION " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(keep) + "\n")
        use_list = f.name
    try:
        _run(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",  # all or nothing: a failed restore leaves the store as it was
                "--exit-on-error",
                f"--use-list={use_list}",
                f"--dbname={env.get('PGDATABASE', '')}",
                str(src),
            ],
            env,
            "pg_restore",
        )
    finally:
        os.unlink(use_list)
    return _verify_and_describe(url, Result("postgresql", src, revision, src.stat().st_size))
