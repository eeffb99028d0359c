"""The two store engines: SQLite and PostgreSQL + PostGIS give the same answers.

Spatial filters (incidents in a box, sites near an incident) use PostGIS indexes on PostgreSQL and lat/lon or
h3 cells on SQLite; concurrent ingests merge into one picture on both; input PostgreSQL cannot store (NUL
characters) is refused alike. Tests marked postgres_only check what exists only there: the geography columns
and their trigger, the indexes the queries use, the PostGIS migration both ways, the connection pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from corridor.config import load_settings
from corridor.identity.service import add_org
from corridor.ingest.service import Item, ingest_items
from corridor.ops.service import add_site, alert_radius_km, alert_targets
from corridor.store import spatial
from corridor.store.db import Store, alembic_config, postgres_pool_options, upgrade
from corridor.store.tables import Incident, Site
from corridor.store.visibility import Viewer

from .api_world import build_world
from .conftest import DATABASES
from .reports import write_reports
from .test_ingest import _picture

postgres_only = pytest.mark.skipif(not DATABASES.postgres, reason="PostgreSQL only: runs on the PostgreSQL pass")
STAMP = datetime(2024, 10, 1, tzinfo=UTC)


def _incident(lat: float | None, lon: float | None, **kw: object) -> Incident:
    return Incident(
        event_type=kw.pop("event_type", "armed_attack"),
        date=date(2024, 10, 1),
        lat=lat,
        lon=lon,
        status="verified",
        provenance={},
        locked_fields=[],
        first_seen=STAMP,
        last_seen=STAMP,
        created_at=STAMP,
        updated_at=STAMP,
        **kw,
    )


def test_bbox_keeps_exactly_the_points_inside_edges_included(store: Store) -> None:
    box = (66.0, 24.0, 68.0, 26.0)
    points = [
        (25.0, 67.0),  # inside
        (24.0, 66.0),  # corner
        (26.0, 67.5),  # top edge
        (25.5, 68.0),  # right edge
        (23.9999999, 67.0),  # just below
        (25.0, 68.0000001),  # just right
        (30.19, 67.0),  # Quetta, well outside
        (-25.0, -67.0),
    ]
    with store.transaction() as s:
        for lat, lon in points:
            s.add(_incident(lat, lon))
        s.add(_incident(None, None))
    with store.sessions() as s:
        pg = spatial.is_postgis(s.get_bind())
        found = set(s.execute(sa.select(Incident.lat, Incident.lon).where(spatial.in_bbox(Incident, box, pg))))
    assert found == {(25.0, 67.0), (24.0, 66.0), (26.0, 67.5), (25.5, 68.0)}


def test_sites_alerted_are_those_within_the_radius_by_great_circle(store: Store) -> None:
    """Sites just inside and just outside an incident's radius: the spatial index (PostGIS or h3) only narrows,
    the haversine distance decides, so both engines alert the same sites."""
    with store.transaction() as s:
        org = add_org(s, "Harbour Works", "company")
        v = Viewer(user_id=None, org_id=org.id, role="admin")
        inc = _incident(24.86, 67.01, event_type="bombing")
        s.add(inc)
        s.flush()
        radius = alert_radius_km(inc)
        km_per_deg = 12742.0 * 3.141592653589793 / 360  # along a meridian, as haversine measures it
        for name, km in (("in-a", radius - 0.3), ("in-b", radius * 0.5), ("out-a", radius + 0.3), ("far", 300)):
            add_site(s, v, name, 24.86 + km / km_per_deg, 67.01, "site", 100)
        add_site(s, v, "east", 24.86, 67.01 + 0.1, "site", 100)  # ~10 km east
        targets = alert_targets(s, inc)
    assert sorted(t.reason.rsplit("site ", 1)[1] for t in targets if t.kind == "site") == ["east", "in-a", "in-b"]


def test_concurrent_ingests_make_the_same_picture_as_one_after_another(
    tmp_path: Path, new_store_url: Callable[..., str]
) -> None:
    """Five reports, three of one attack, ingested by five threads at once: no incident doubled (SQLite: one
    writer at a time; PostgreSQL: ingest's merge lock)."""
    items = [Item(p, date.fromisoformat(pub)) for p, pub in write_reports(tmp_path / "r")]
    together = Store(new_store_url("together"))
    together.upgrade()
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(items))

    def one(item: Item) -> None:
        try:
            barrier.wait()
            ingest_items(together, [item])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    apart = Store(new_store_url("apart"))
    apart.upgrade()
    ingest_items(apart, items)
    assert _picture(together) == _picture(apart)
    together.dispose()
    apart.dispose()


def test_nul_characters_are_refused_as_a_validation_problem(store: Store) -> None:
    world = build_world(store)
    auth = world.auth("A", "admin")
    r = world.client.get("/api/v1/incidents", params={"q": "Quetta\x00"}, headers=auth)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert "NUL" in r.json()["detail"]
    r = world.client.get("/api/v1/incidents/ab%00cd", headers=auth)
    assert r.status_code == 422
    iid = world.incidents["GREEN"]
    etag = world.client.get(f"/api/v1/incidents/{iid}", headers=auth).headers["etag"]
    r = world.client.patch(
        f"/api/v1/incidents/{iid}",
        json={"place_name": "Quetta\x00 cantonment", "reason": "typo"},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 422 and "body" in r.json()["detail"]
    r = world.client.get("/api/v1/incidents", params={"q": "Quetta"}, headers=auth)
    assert r.status_code == 200  # and text without NUL is untouched


def test_printed_store_urls_hide_the_password() -> None:
    url = "postgresql+psycopg://corridor:s3cret@db.internal:5432/corridor"
    settings = load_settings({"CORRIDOR_DATABASE_URL": url})
    assert "s3cret" not in settings.display_url and "db.internal:5432/corridor" in settings.display_url
    assert load_settings({"CORRIDOR_HOME": "/srv/c"}).display_url == "sqlite:////srv/c/corridor.db"


# ------------------------------------------------------------------ PostgreSQL only


@postgres_only
def test_geography_follows_lat_lon_on_every_write(store: Store) -> None:
    with store.transaction() as s:
        inc = _incident(24.86, 67.01)
        s.add(inc)
        s.flush()
        iid = inc.id

    def point() -> tuple[float | None, float | None]:
        with store.engine.connect() as c:
            row = c.execute(
                sa.text("SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM incidents WHERE id = :i"), {"i": iid}
            ).one()
            return row[0], row[1]

    assert point() == (24.86, 67.01)
    with store.transaction() as s:
        s.execute(sa.update(Incident).where(Incident.id == iid).values(lat=30.19, lon=67.0))
    assert point() == (30.19, 67.0)
    with store.transaction() as s:
        s.execute(sa.update(Incident).where(Incident.id == iid).values(lat=None))
    assert point() == (None, None)
    with store.transaction() as s:  # out of range: no point, and the write still succeeds
        s.execute(sa.update(Incident).where(Incident.id == iid).values(lat=95.0, lon=67.0))
    assert point() == (None, None)


@postgres_only
def test_spatial_queries_use_the_gist_indexes(store: Store) -> None:
    box = (66.0, 24.0, 68.0, 26.0)
    bbox_q = sa.select(Incident.id).where(spatial.in_bbox(Incident, box, True))
    near_q = sa.select(Site.id).where(spatial.within_km(Site, 24.86, 67.01, 25.0))
    with store.engine.connect() as c:
        c.exec_driver_sql("SET enable_seqscan = off")  # empty tables: make the planner show what it can use
        for q, index in ((bbox_q, "ix_incidents_geog_geometry"), (near_q, "ix_sites_geog")):
            sql = str(q.compile(c, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + sql))
            assert index in plan, plan


@postgres_only
def test_geography_migration_goes_down_and_up_with_the_data(store: Store) -> None:
    with store.transaction() as s:
        s.add(_incident(25.11, 62.345))
        org = add_org(s, "Harbour Works", "company")
        add_site(s, Viewer(user_id=None, org_id=org.id, role="admin"), "Gwadar office", 25.11, 62.345, "office", 200)

    def columns() -> set[tuple[str, str]]:
        insp = sa.inspect(store.engine)
        return {(t, c["name"]) for t in ("incidents", "sites") for c in insp.get_columns(t) if c["name"] == "geog"}

    assert columns() == {("incidents", "geog"), ("sites", "geog")}
    cfg = alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert columns() == set()
    store.engine.dispose()  # the connections cached the dropped column's row type
    upgrade(store.engine)
    assert columns() == {("incidents", "geog"), ("sites", "geog")}
    with store.engine.connect() as c:  # rows written before the upgrade got their points
        assert c.exec_driver_sql("SELECT count(*) FROM incidents WHERE geog IS NULL").scalar() == 0
        assert c.exec_driver_sql("SELECT count(*) FROM sites WHERE geog IS NULL").scalar() == 0


@postgres_only
def test_postgres_pool_and_isolation(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.dialect == "postgresql" and store.write_engine is store.engine
    pool = store.engine.pool
    assert isinstance(pool, sa.pool.QueuePool) and pool.size() == 10
    with store.engine.connect() as c:
        assert c.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
    monkeypatch.setenv("CORRIDOR_DB_POOL_SIZE", "3")
    assert postgres_pool_options()["pool_size"] == 3
    monkeypatch.setenv("CORRIDOR_DB_POOL_SIZE", "many")
    with pytest.raises(ValueError, match="CORRIDOR_DB_POOL_SIZE"):
        postgres_pool_options()


def test_concurrent_wrong_passwords_are_all_counted(store: Store) -> None:
    """Guesses at one account in parallel: each failure counts (PostgreSQL: the user's row is locked while it is
    checked), so the account locks after five whatever the concurrency."""
    from corridor.identity.service import IdentityError, add_user, authenticate
    from corridor.store.tables import User

    with store.transaction() as s:
        add_user(s, add_org(s, "Liaison Cell", "agency"), "analyst1", "analyst", "correct horse battery")
    barrier = threading.Barrier(8)
    replies: list[str] = []

    def guess(n: int) -> None:
        barrier.wait()
        try:
            with store.transaction() as s:
                try:
                    authenticate(s, "analyst1", f"wrong {n}")
                except IdentityError as exc:
                    replies.append(str(exc))
        except Exception as exc:  # reported by the main thread
            replies.append(repr(exc))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(replies)) == [
        "account locked after repeated failures; try again later",
        "invalid username or password",
    ], replies
    with store.sessions() as s:
        user = s.scalars(sa.select(User).where(User.username == "analyst1")).one()
        assert user.locked_until is not None


def test_concurrent_workflow_steps_on_one_movement_never_both_apply(store: Store) -> None:
    """Approvals and rejections racing on one submitted movement: exactly one applies, the others are refused
    as conflicts (PostgreSQL: the movement's row is locked while its status is checked and changed). Only
    mutually exclusive decisions race here: an approved movement may still be cancelled, so a cancellation that
    comes after an approval rightly applies too, and which thread wins first is up to the scheduler."""
    from corridor.ops.service import LOCAL as KARACHI
    from corridor.ops.service import OpsError, advance, request_movement
    from corridor.store.tables import AuditEntry, Movement

    with store.transaction() as s:
        org = add_org(s, "Harbour Works", "company")
        v = Viewer(user_id=None, org_id=org.id, role="admin")
        mv = request_movement(
            s, v, "road", "Karachi airport", "Port Qasim", datetime(2024, 10, 9, 10, tzinfo=KARACHI), []
        )
        advance(s, v, mv.id, "submitted")
        mid = mv.id
    steps = ["approved", "rejected", "approved", "rejected", "approved", "rejected"]
    barrier = threading.Barrier(len(steps))
    done: list[str] = []
    refused: list[int] = []

    def step(status: str) -> None:
        barrier.wait()
        try:
            with store.transaction() as s:
                advance(s, v, mid, status)
            done.append(status)
        except OpsError as exc:
            refused.append(exc.status)

    threads = [threading.Thread(target=step, args=(st,)) for st in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 1 and refused == [409] * (len(steps) - 1), (done, refused)
    with store.sessions() as s:
        assert s.get(Movement, mid).status == done[0]  # type: ignore[union-attr]
        logged = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == mid)).all()
        assert sorted(logged) == sorted(["movement.create", "movement.submitted", f"movement.{done[0]}"])


def test_the_incident_list_can_walk_its_order_index_instead_of_sorting(store: Store) -> None:
    """The list is newest first (date DESC NULLS LAST, id) with a limit: migration 0010's index is in exactly
    that order on both engines, so a page of a wide filter needs no sort of every match."""
    from corridor.store.queries import IncidentFilter, incidents_query

    viewer = Viewer(user_id=None, org_id=None, role="analyst")
    q = incidents_query(viewer, IncidentFilter(since=date(2020, 1, 1))).limit(51)
    with store.engine.connect() as c:
        sql = str(q.compile(c, compile_kwargs={"literal_binds": True}))
        if c.dialect.name == "postgresql":
            c.exec_driver_sql("SET enable_sort = off")  # empty tables: make the planner show what it can use
            c.exec_driver_sql("SET enable_bitmapscan = off")
            plan = "\n".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + sql))
            assert "ix_incidents_date_order" in plan and "Sort" not in plan, plan
        else:
            plan = "\n".join(str(r[-1]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "ix_incidents_date_order" in plan and "TEMP B-TREE" not in plan, plan


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as c:
        return int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        assert c.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar() is True
    admin.dispose()


@postgres_only
def test_a_connection_dropped_while_idle_in_the_pool_is_replaced_not_failed(
    new_store_url: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping on every checkout (a round trip per API request): a connection is checked only after sitting
    idle CORRIDOR_DB_PING_AFTER seconds, and one the server dropped meanwhile is replaced without an error."""
    url = new_store_url()
    monkeypatch.setenv("CORRIDOR_DB_PING_AFTER", "0")
    store = Store(url)
    before = _backend_pid(store.read_engine)
    _terminate(url, before)  # what a restarted server or a firewall's idle timeout does
    after = _backend_pid(store.read_engine)
    assert after != before
    store.dispose()


@postgres_only
def test_a_connection_in_steady_use_is_not_pinged(
    new_store_url: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the trade: a connection returned a moment ago is used unchecked, so a request that gets
    one the server has just dropped fails, and the pool replaces it (and every older one) for the next."""
    url = new_store_url()
    monkeypatch.setenv("CORRIDOR_DB_PING_AFTER", "3600")
    store = Store(url)
    pid = _backend_pid(store.read_engine)
    _terminate(url, pid)
    with pytest.raises(sa.exc.OperationalError) as failed:
        _backend_pid(store.read_engine)
    assert failed.value.connection_invalidated
    assert _backend_pid(store.read_engine) != pid
    store.dispose()


@postgres_only
def test_api_reads_autocommit_and_a_list_is_planned_for_its_own_values(store: Store) -> None:
    """The API's reads (token, show, list) run in autocommit, where psycopg prepares a statement after its fifth
    run; the incident list is marked PLAN_EACH_CALL and never is, so PostgreSQL plans each page for its box and
    dates instead of settling on one generic plan (4x the CPU on 100,000 incidents, bench/api_cpu.py)."""
    from corridor.store.db import PLAN_EACH_CALL

    listed = sa.select(Incident.id).where(Incident.date >= sa.bindparam("since"))
    shown = sa.select(Incident.id).where(Incident.id == sa.bindparam("ident"))
    with store.read_engine.connect() as c:
        assert c.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        for _ in range(8):
            c.execute(listed.execution_options(**{PLAN_EACH_CALL: True}), {"since": date(2020, 1, 1)})
            c.execute(shown, {"ident": "x"})
        prepared = c.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("incidents.id = $1" in p for p in prepared), prepared
    assert not any("incidents.date >= $1" in p for p in prepared), prepared
    with store.engine.connect() as c:  # the write side keeps its transactions
        assert c.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
