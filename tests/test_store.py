from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from corridor.store.db import Store, current_revision, head_revision
from corridor.store.spatial import include_object
from corridor.store.tables import Base, Document, Source


def test_upgrade_from_empty_reaches_head(new_store_url: Callable[..., str]) -> None:
    store = Store(new_store_url("x", empty=True))
    assert current_revision(store.engine) is None
    store.upgrade()
    assert current_revision(store.engine) == head_revision()
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"sources", "documents", "mentions", "incidents", "actors", "alembic_version"} <= names
    store.upgrade()  # idempotent
    assert store.is_current()
    store.dispose()


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


@pytest.mark.sqlite_only("WAL and foreign-key pragmas are SQLite settings")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_timestamps_come_back_timezone_aware(store: Store) -> None:
    stamp = datetime(2024, 3, 26, 8, 30, tzinfo=UTC)
    with store.transaction() as s:
        s.add(Document(sha256="a" * 64, fetched_at=stamp, content_type="text", size_bytes=1, text="x"))
    with store.sessions() as s:
        doc = s.scalars(sa.select(Document)).one()
        assert doc.fetched_at == stamp and doc.fetched_at.tzinfo is not None


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError), store.transaction() as s:
        s.add(Source(name="x", kind="outlet", created_at=datetime(2024, 1, 1)))


def test_document_hash_is_unique(store: Store) -> None:
    stamp = datetime(2024, 3, 26, tzinfo=UTC)
    with store.transaction() as s:
        s.add(Document(sha256="b" * 64, fetched_at=stamp, content_type="text", size_bytes=1, text="x"))
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as s:
        s.add(Document(sha256="b" * 64, fetched_at=stamp, content_type="text", size_bytes=1, text="y"))
    with store.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Document)) == 1
