"""Backups and restores (corridor.store.backup, `corridor backup` / `corridor restore`) on real stores: SQLite files
on the SQLite pass, PostgreSQL databases with pg_dump/pg_restore on the PostgreSQL pass.

What must hold: a backup taken while another writer commits is consistent and complete (it opens, passes
SQLite's integrity check and holds exactly the rows committed up to one instant, none lost); a restore gives back
every row of every table, refuses to overwrite a store holding data without --force, refuses files that are not
corridor stores at a known migration, migrates an older backup to head, and leaves an audit chain that verifies.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from corridor.identity.service import add_org, add_user, create_token
from corridor.ingest.service import Item, ingest_items
from corridor.ops.service import add_site
from corridor.store import audit
from corridor.store import backup as bk
from corridor.store.backup import BackupError, backup, restore
from corridor.store.db import Store, upgrade
from corridor.store.revisions import heads, schema_state, scripts
from corridor.store.seed import seed_actors
from corridor.store.tables import AuditEntry, Base
from corridor.store.visibility import Viewer

from .conftest import DATABASES
from .reports import REPORTS


def populate(store: Store, tmp_path: Path) -> None:
    """A store with something in every corner: organisations, users, tokens, ingested reports merged into
    incidents, a site near them (so alerts), and the audit entries all of that wrote."""
    with store.transaction() as s:
        seed_actors(s)
        org = add_org(s, "Harbour Power Co", "company")
        user = add_user(s, org, "analyst1", "analyst", "correct horse battery")
        create_token(s, user, "backup test", ["read"], timedelta(days=1))
        audit.record(s, None, "org.create", "organisation", org.id, None, {"name": org.name})
        add_site(s, Viewer(user_id=user.id, org_id=org.id, role="admin"), "Dasu camp", 34.93, 72.88, radius_m=500)
    paths = []
    for name, (_published, text) in REPORTS.items():
        p = tmp_path / "reports" / name
        p.parent.mkdir(exist_ok=True)
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    report = ingest_items(store, [Item(p) for p in paths])
    assert report.count("new") == len(paths)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every corridor table, in primary-key order."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                out[table.name] = [tuple(r) for r in rows]
            out["alembic_version"] = [tuple(r) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    finally:
        engine.dispose()
    return out


def verify_audit(url: str) -> audit.Verification:
    store = Store(url)
    try:
        with store.sessions() as s:
            return audit.verify(s)
    finally:
        store.dispose()


def previous_revision() -> str:
    """The revision just before head: a store 'one migration behind'."""
    (head,) = heads()
    down = scripts().get_revision(head).down_revision
    assert isinstance(down, str)
    return down


# ---------------------------------------------------------------- consistency under concurrent writes


@pytest.mark.sqlite_only("the SQLite online backup API and PRAGMA integrity_check")
def test_backup_while_another_writer_commits_is_consistent_and_complete(store: Store, tmp_path: Path) -> None:
    committed = 0  # the writer's last committed entry number
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        nonlocal committed
        # a store of its own, as the server process has: separate connections, separate write lock requests
        other = Store(store.url)
        try:
            i = 0
            while not stop.is_set():
                i += 1
                with other.transaction() as s:
                    audit.record(s, None, "test.write", "test", None, None, {"i": i, "pad": "x" * 2000})
                committed = i
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.dispose()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    seen = []
    try:
        while committed < 50:
            time.sleep(0.01)
        for k in range(3):
            before = committed
            out = tmp_path / f"backup-{k}.db"
            result = backup(store.url, out)
            after = committed
            assert result.engine == "sqlite" and result.bytes == out.stat().st_size
            with sqlite3.connect(out) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
                numbers = [n for (n,) in conn.execute("SELECT json_extract(detail, '$.i') FROM audit_log ORDER BY seq")]
            # every entry committed before the backup began is there, and what is there is a gap-free prefix:
            # the store as of one instant between `before` and `after`
            assert numbers == list(range(1, len(numbers) + 1))
            assert before <= len(numbers) <= after
            assert out.stat().st_mode & 0o777 == 0o600
            assert not list(tmp_path.glob(".backup-*.part"))
            seen.append((before, len(numbers), after))
            assert verify_audit(f"sqlite:///{out}").ok
    finally:
        stop.set()
        t.join(timeout=30)
    assert not errors, errors
    assert seen[-1][1] > seen[0][1], f"the writer made progress between backups: {seen}"


# ---------------------------------------------------------------- round trip


def test_restore_gives_back_every_row_and_a_verifying_audit_chain(
    store: Store, new_store_url: Callable[..., str], tmp_path: Path
) -> None:
    populate(store, tmp_path)
    before = snapshot(store.url)
    assert before["alerts"] and before["incidents"] and before["audit_log"]
    out = tmp_path / "corridor.backup"
    made = backup(store.url, out)
    assert made.revision == sorted(heads())

    target = new_store_url("restored", empty=True)
    result = restore(target, out)
    assert result.migrated_to == sorted(heads())
    assert result.audit_entries == len(before["audit_log"])
    assert snapshot(target) == before
    check = verify_audit(target)
    assert check.ok and check.entries == len(before["audit_log"])


def test_restore_refuses_a_store_with_data_unless_forced(
    store: Store, new_store_url: Callable[..., str], tmp_path: Path
) -> None:
    populate(store, tmp_path)
    out = tmp_path / "a.backup"
    backup(store.url, out)
    other = Store(new_store_url("other"))
    other.upgrade()
    with other.transaction() as s:
        seed_actors(s)  # reference data alone does not make a store "in use"
    restore(other.url, out)  # empty apart from actors: allowed

    with other.transaction() as s:
        add_org(s, "Someone Else", "company")
    before = snapshot(other.url)
    with pytest.raises(BackupError, match=r"not empty .*--force"):
        restore(other.url, out)
    assert snapshot(other.url) == before, "a refused restore changes nothing"
    restore(other.url, out, force=True)
    assert snapshot(other.url) == snapshot(store.url)
    other.dispose()


def test_an_older_backup_is_migrated_to_head(new_store_url: Callable[..., str], tmp_path: Path) -> None:
    old = Store(new_store_url("old", empty=True))
    upgrade(old.engine, previous_revision())
    with old.transaction() as s:
        s.execute(sa.insert(AuditEntry.__table__).values(**_genesis_entry()))
    out = tmp_path / "old.backup"
    assert backup(old.url, out).revision == [previous_revision()]
    old.dispose()

    target = new_store_url("target", empty=True)
    result = restore(target, out)
    assert result.revision == [previous_revision()] and result.migrated_to == sorted(heads())
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    assert schema_state(engine).at_head
    engine.dispose()
    assert verify_audit(target).entries == 1


def _genesis_entry() -> dict[str, Any]:
    """One audit entry written the way audit.record writes it (columns of the oldest schema only)."""
    from datetime import UTC, datetime

    at = datetime(2024, 11, 10, 8, 0, tzinfo=UTC)
    h = audit._hash(audit.GENESIS, at.isoformat(), None, None, "test.old", None, None, None, {})
    return {"seq": 1, "at": at, "action": "test.old", "detail": {}, "prev_hash": audit.GENESIS, "hash": h}


def test_backup_does_not_overwrite_without_force(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "exists.backup"
    out.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup(store.url, out)
    assert out.read_bytes() == b"keep me"
    backup(store.url, out, force=True)
    assert out.read_bytes() != b"keep me"


# ---------------------------------------------------------------- what restore refuses to read


def test_restore_refuses_files_that_are_not_corridor_stores(
    store: Store, new_store_url: Callable[..., str], tmp_path: Path
) -> None:
    target = new_store_url("target", empty=True)
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    with pytest.raises(BackupError, match=r"not an? (SQLite database|pg_dump custom-format file)"):
        restore(target, text)
    with pytest.raises(BackupError, match="no such backup file"):
        restore(target, tmp_path / "missing.backup")


@pytest.mark.sqlite_only("hand-made SQLite files stand in for foreign and future stores")
def test_restore_refuses_foreign_and_future_sqlite_files(store: Store, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    with pytest.raises(BackupError, match="not a corridor store"):
        restore(target, foreign)

    future = tmp_path / "future.db"
    backup(store.url, future)
    with sqlite3.connect(future) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(BackupError, match="9999_from_the_future, which this corridor does not know"):
        restore(target, future)
    assert not (tmp_path / "target.db").exists()


@pytest.mark.sqlite_only("tampering with a copied SQLite file")
def test_restore_refuses_a_backup_whose_audit_chain_is_broken(store: Store, tmp_path: Path) -> None:
    with store.transaction() as s:
        for i in range(3):
            audit.record(s, None, "test", None, None, None, {"i": i})
    out = tmp_path / "tampered.backup"
    backup(store.url, out)
    with sqlite3.connect(out) as conn:
        conn.execute("UPDATE audit_log SET action = 'innocent' WHERE seq = 2")
    target = tmp_path / "target.db"
    with pytest.raises(BackupError, match="audit log does not verify: entry 2"):
        restore(f"sqlite:///{target}", out)
    assert not target.exists(), "nothing is put in place when the check fails"
    assert not list(tmp_path.glob(".target.db.restore-*"))


def test_missing_postgresql_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bk.shutil, "which", lambda _name: None)
    monkeypatch.setattr(bk, "PG_BIN_DIRS", tmp_path)
    with pytest.raises(BackupError, match=r"pg_dump not found: install the PostgreSQL client tools"):
        bk._pg_tool("pg_dump")


def test_an_unreachable_server_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"^backup failed: connection failed: .*127\.0\.0\.1.*refused"):
        backup("postgresql+psycopg://corridor:pw@127.0.0.1:1/corridor?connect_timeout=3", tmp_path / "x.dump")
    assert not list(tmp_path.iterdir())


def test_libpq_environment_keeps_the_password_off_the_command_line() -> None:
    env = bk._pg_env("postgresql+psycopg://corridor:s3cr%40t@db.internal:5433/corridor?sslmode=verify-full")
    assert env["PGPASSWORD"] == "s3cr@t" and env["PGHOST"] == "db.internal" and env["PGPORT"] == "5433"
    assert env["PGDATABASE"] == "corridor" and env["PGUSER"] == "corridor" and env["PGSSLMODE"] == "verify-full"


# ---------------------------------------------------------------- the commands


def test_backup_and_restore_commands(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("orgs", "add", "Liaison Cell", "--kind", "agency").returncode == 0
    out = tmp_path / "store.backup"
    made = cli("backup", str(out))
    assert made.returncode == 0, made.stderr
    assert "written to" in made.stdout and out.is_file()
    again = cli("backup", str(out))
    assert again.returncode == 2 and "already exists (--force replaces it)" in again.stderr

    refused = cli("restore", str(out))
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: the store") and "--force" in refused.stderr

    forced = cli("restore", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "audit log intact" in forced.stdout
    verified = cli("audit", "verify")
    assert verified.returncode == 0 and "audit log intact" in verified.stdout

    if not DATABASES.postgres:  # into a fresh home: the SQLite file is created by the restore
        fresh = cli("restore", str(out), env={"CORRIDOR_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'c.db'}"})
        assert fresh.returncode == 0, fresh.stderr
