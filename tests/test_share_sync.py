"""Scheduled sync (`corridor share sync`) between two real corridor servers on loopback: a sharing group's
collection travels, the cursors survive a restart (the second process fetches only what is new), failures back
off and are recorded, and a sync back the other way duplicates nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from corridor.clock import parse_duration
from corridor.identity.service import add_org, add_user, create_token
from corridor.share.schedule import Job, next_wait, run_every, run_once
from corridor.share.sync import Remote
from corridor.store.db import Store
from corridor.store.tables import ForeignStixObject, Incident, SyncState

from .api_world import quetta_incident
from .conftest import run_cli
from .share_world import Orgs, build_orgs, envelope, serve, stix_object

GROUP = "CPEC security liaison"


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """A URL for another store of this test's own: the suite's `new_store_url` (SQLite or PostgreSQL), or a
    SQLite file where the suite has none."""
    try:
        make: Callable[[str], str] = request.getfixturevalue("new_store_url")
    except pytest.FixtureLookupError:
        return lambda name: f"sqlite:///{tmp_path / name}.db"
    return make


def _incident(w: Orgs, tlp: str) -> str:
    """A new incident of A's owner organisation; its record id."""
    r = w.client.post("/api/v1/incidents", json={"event_type": "bombing", "tlp": tlp}, headers=w.h("owner"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _stix_ids(store: Store, *record_ids: str) -> set[str]:
    with store.sessions() as s:
        return {i or "" for i in s.scalars(sa.select(Incident.stix_id).where(Incident.id.in_(record_ids)))}


def test_scheduled_sync_between_two_servers_resumes_from_its_cursor(
    store: Store, store_url: Callable[[str], str], tmp_path: Path
) -> None:
    # server A: the liaison cell's exchange, with a sharing group that the harbour company is in
    w = build_orgs(store)
    green, shared, private = _incident(w, "GREEN"), _incident(w, "AMBER"), _incident(w, "AMBER")
    r = w.client.post(f"/api/v1/incidents/{shared}/shares", json={"group_id": w.group}, headers=w.h("owner"))
    assert r.status_code == 201
    indicator = stix_object("indicator", "AMBER")
    r = w.client.post(f"/taxii2/api/collections/{w.group}/objects/", json=envelope(indicator), headers=w.h("owner"))
    assert r.json()["success_count"] == 1
    # server B: the harbour company's own corridor, with an incident of its own
    url_b = store_url("b")
    store_b = Store(url_b)
    store_b.upgrade()
    with store_b.transaction() as s:
        harbour = add_org(s, "Harbour Works Ltd", "company")
        admin_b = add_user(s, harbour, "harbour.admin", "admin", None)
        token_b = create_token(s, admin_b, "sync", ["read", "write"], timedelta(days=1)).token
        own = quetta_incident("GREEN", harbour.id, date(2024, 11, 20))
        s.add(own)
        s.flush()
        own_stix = own.stix_id
    proc_a, base_a = serve(store.url)
    proc_b, base_b = serve(url_b)
    try:
        # a wrong token: the run fails, is recorded, and the next one waits longer
        bad = run_once(store_b, Job(Remote(f"{base_a}/taxii2/", token="wrong", collection=GROUP), harbour.id))
        assert not bad.ok and bad.failures == 1 and "401" in (bad.error or "")

        env = {"CORRIDOR_DATABASE_URL": url_b, "CORRIDOR_REMOTE_TOKEN": w.token["named"]}
        sync = ("share", "sync", f"{base_a}/taxii2/", "--org", "Harbour Works Ltd", "--collection", GROUP)
        first = run_cli(*sync, "--every", "0.2s", "--runs", "3", "--overlap", "0", home=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        lines = first.stdout.strip().splitlines()
        assert len(lines) == 3 and "(2 incidents, 1 other)" in lines[0] and "next in 200ms" in lines[0], lines
        # the second run receives back only what the first one sent (B's own incident, now in A's group); the
        # third has nothing to move either way: the cursors, and re-received versions leave nothing new
        assert "(1 incidents, 0 other), pushed 0" in lines[1], lines
        assert "pulled 0 objects" in lines[2] and "pushed 0" in lines[2], lines
        with store_b.sessions() as s:
            ids = set(s.scalars(sa.select(Incident.stix_id)))
            assert _stix_ids(store, green, shared) <= ids  # the group's collection...
            assert not _stix_ids(store, private) & ids  # ...not what A's owner keeps to itself
            assert s.scalar(sa.select(ForeignStixObject.stix_id)) == indicator["id"]
            state = s.scalars(sa.select(SyncState)).one()
            assert state.failures == 0 and state.last_error is None and state.pull_cursor and state.push_cursor
        # B's own incident went to the group on A
        with store.sessions() as s:
            arrived = s.scalars(sa.select(Incident).where(Incident.stix_id == own_stix)).one()
            assert arrived.owner_org_id == w.org["MEMBER"]

        # a new incident on A; a restarted sync receives it and nothing it had already
        newer = _incident(w, "GREEN")
        again = run_cli(*sync, "--runs", "1", "--overlap", "0", home=tmp_path, env=env)
        assert again.returncode == 0 and "(1 incidents, " in again.stdout, again.stdout + again.stderr
        with store_b.sessions() as s:
            assert _stix_ids(store, newer) <= set(s.scalars(sa.select(Incident.stix_id)))

        # and A's organisation pulls from B: its own incidents come back as the versions it has, nothing doubles
        with store.sessions() as s:
            before = s.scalar(sa.select(sa.func.count()).select_from(Incident))
        back = run_once(store, Job(Remote(f"{base_b}/taxii2/", token=token_b), w.org["OWNER"], push=False))
        assert back.ok and back.incidents == 3, back  # A's own three; B's own stays the member's on A
        with store.sessions() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == before
    finally:
        for proc in (proc_a, proc_b):
            proc.terminate()
            proc.wait(timeout=10)
        store_b.dispose()


def test_failed_runs_back_off_and_are_recorded(store: Store) -> None:
    with store.transaction() as s:
        org = add_org(s, "Embassy", "embassy").id
    waits: list[float] = []
    dead = Remote("http://127.0.0.1:9/taxii2/", token="t", timeout=2)  # the discard port: nothing listens
    runs = run_every(store, Job(dead, org), every=1.0, runs=4, max_wait=6.0, sleep=waits.append)
    assert [r.ok for r in runs] == [False] * 4 and [r.failures for r in runs] == [1, 2, 3, 4]
    assert waits == [2.0, 4.0, 6.0]  # doubled per failure in a row, capped
    with store.sessions() as s:
        state = s.scalars(sa.select(SyncState)).one()
        assert state.failures == 4 and "Connection" in (state.last_error or "") and state.last_success_at is None
    assert next_wait(900, 0) == 900 and next_wait(900, 1) == 1800 and next_wait(900, 9) == 3600
    assert parse_duration("15m") == 900 and parse_duration("1.5h") == 5400 and parse_duration("200ms") == 0.2
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
