"""The API's hot reads run on the driver's cursor (`store.prepared.fetch`) on PostgreSQL in autocommit: the rows,
their names and their values' types are what SQLAlchemy's execution gives, failures are handled as SQLAlchemy
handles them, and anywhere else (SQLite, a transaction) it is SQLAlchemy's execution itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from corridor.identity.service import _GRANT, add_org, add_user, create_token, digest
from corridor.ingest.service import Item, ingest_items
from corridor.store import prepared, queries
from corridor.store.db import PLAN_EACH_CALL, Store
from corridor.store.tables import Incident
from corridor.store.visibility import Viewer
from corridor.web.routes.incidents import LIST_FIELDS

from .conftest import DATABASES
from .reports import write_reports

postgres_only = pytest.mark.skipif(not DATABASES.postgres, reason="PostgreSQL only: the driver path is its own")


def _reads(store: Store, tmp_path: Path) -> tuple[Viewer, list[tuple[Any, dict[str, Any]]]]:
    """The statements the API runs on every request, with values that find rows: the token check, show's
    incident and its mentions (with their documents: dates, JSON evidence, timestamps), a list page."""
    ingest_items(store, [Item(p, date.fromisoformat(pub)) for p, pub in write_reports(tmp_path / "r")])
    with store.transaction() as s:
        org = add_org(s, "Agency")
        user = add_user(s, org, "ana", "analyst", password="correct horse battery staple")
        token = create_token(s, user, "api", ["read"], timedelta(days=1)).token
        viewer = Viewer(user_id=user.id, org_id=org.id, role="analyst", scopes=frozenset({"read"}))
        ids = [i for (i,) in s.execute(sa.select(Incident.id).order_by(Incident.id))]
    page, values = queries.PageQuery(since=date(2000, 1, 1), limit=51).bind()
    return viewer, [
        (_GRANT, {"token_hash": digest(token)}),
        (queries._incident_statement(viewer), {"ident": ids[0]}),
        (queries._incident_statement(viewer), {"ident": "no such incident"}),
        (queries._mentions_statement(viewer, None), {"incident_id": ids[0]}),
        (queries._mentions_statement(viewer, store.dialect), {"incident_ids": ids}),
        (queries._page_statement(viewer, page, store.dialect == "postgresql", LIST_FIELDS), values),
    ]


def _same(a: list[Any], b: list[Any]) -> None:
    assert [tuple(r) for r in a] == [tuple(r) for r in b]
    assert [[type(v) for v in r] for r in a] == [[type(v) for v in r] for r in b]
    if a:
        assert a[0]._fields == b[0]._fields and a[0]._asdict() == b[0]._asdict()


def test_fetch_gives_what_sqlalchemy_gives(store: Store, tmp_path: Path) -> None:
    _, reads = _reads(store, tmp_path)
    found = []
    with store.read_engine.connect() as c:
        for statement, values in reads:
            got = prepared.fetch(c, statement, values)
            _same(got, c.execute(statement, values).all())
            _same(prepared.fetch(c, statement, values), got)  # the second run: compiled once, kept
            found.append(len(got))
            for row in got:
                stamps = [v for v in row if isinstance(v, datetime)]
                assert all(v.tzinfo is UTC for v in stamps)  # UTCDateTime's result processing applied
    token, incident, nothing, mentions, all_mentions, page = found
    assert (token, incident, nothing) == (1, 1, 0)
    assert 1 <= mentions < all_mentions and page >= 2


@postgres_only
def test_fetch_runs_on_the_driver_in_autocommit_and_through_sqlalchemy_in_a_transaction(
    store: Store, tmp_path: Path
) -> None:
    _, reads = _reads(store, tmp_path)
    statement, values = reads[1]
    prepared.compiled.cache_clear()
    with store.engine.connect() as c, c.begin():  # a transaction: SQLAlchemy keeps track of it
        rows = prepared.fetch(c, statement, values)
    assert prepared.compiled.cache_info().currsize == 0
    with store.read_engine.connect() as c:
        _same(prepared.fetch(c, statement, values), rows)
    assert prepared.compiled.cache_info().currsize == 1


@postgres_only
def test_only_the_list_is_planned_for_each_call_on_the_driver_path(store: Store, tmp_path: Path) -> None:
    """psycopg prepares a statement after its fifth run; the list (PLAN_EACH_CALL) must never be."""
    _, reads = _reads(store, tmp_path)
    (shown, show_values), (listed, list_values) = reads[1], reads[-1]
    assert listed.get_execution_options().get(PLAN_EACH_CALL)
    with store.read_engine.connect() as c:
        for _ in range(8):
            prepared.fetch(c, shown, show_values)
            prepared.fetch(c, listed, list_values)
        texts = c.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("incidents.id = $" in t and "ORDER BY" not in t for t in texts), texts
    assert not any("ORDER BY incidents.date DESC" in t for t in texts), texts


@postgres_only
def test_a_connection_dropped_under_fetch_fails_as_under_sqlalchemy_and_is_replaced(
    new_store_url: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping of a connection in steady use: the request that meets a dropped one fails with SQLAlchemy's own
    error, the connection is invalidated (with every older one), and the next read gets a new backend."""
    monkeypatch.setenv("CORRIDOR_DB_PING_AFTER", "3600")
    store = Store(new_store_url())
    store.upgrade()
    _, reads = _reads(store, tmp_path)
    statement, values = reads[0]
    with store.read_engine.connect() as c:
        pid = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        assert len(prepared.fetch(c, statement, values)) == 1
    admin = sa.create_engine(store.engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as a:
        assert a.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar() is True
    admin.dispose()
    with store.read_engine.connect() as c, pytest.raises(sa.exc.OperationalError) as failed:
        prepared.fetch(c, statement, values)
    assert failed.value.connection_invalidated
    with store.read_engine.connect() as c:
        assert c.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
        assert len(prepared.fetch(c, statement, values)) == 1
    store.dispose()


def test_a_per_call_list_is_refused_rather_than_compiled_for_one_length(store: Store) -> None:
    """An expanding IN list given per call would change the SQL text with its length: refused, not cached."""
    statement = sa.select(Incident.id).where(Incident.id.in_(sa.bindparam("ids", expanding=True)))
    with store.read_engine.connect() as c:
        if store.dialect == "postgresql":
            with pytest.raises(ValueError, match="expanding"):
                prepared.fetch(c, statement, {"ids": ["a", "b"]})
        else:
            assert prepared.fetch(c, statement, {"ids": ["a", "b"]}) == []
