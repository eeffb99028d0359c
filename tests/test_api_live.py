"""The API under a real uvicorn on loopback: concurrent editors and the OpenAPI contract (schemathesis)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from corridor.store.db import Store
from corridor.store.tables import IncidentEdit

from .api_world import World, build_world
from .conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(new_store_url: Callable[..., str]) -> Iterator[tuple[str, World]]:
    url = new_store_url("live")
    store = Store(url)
    store.upgrade()
    world = build_world(store)
    port = _free_port()
    env = {**os.environ, "CORRIDOR_DATABASE_URL": url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "corridor.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield base, world
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        store.dispose()


def test_twenty_parallel_editors_one_winner_per_version(live: tuple[str, World]) -> None:
    base, world = live
    iid = world.incidents["GREEN"]
    headers = world.auth("A", "analyst")
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        for round_no in range(3):
            etag = c.get(f"/api/v1/incidents/{iid}").headers["etag"]
            barrier = threading.Barrier(20)
            results: list[tuple[int, int]] = []
            lock = threading.Lock()

            def edit(
                n: int,
                etag: str = etag,
                barrier: threading.Barrier = barrier,
                results: list[tuple[int, int]] = results,
                lock: threading.Lock = lock,
            ) -> None:
                barrier.wait()
                with httpx.Client(base_url=base, headers=headers, timeout=30) as cc:
                    r = cc.patch(
                        f"/api/v1/incidents/{iid}",
                        json={"killed_total": 100 + n, "reason": f"editor {n}"},
                        headers={"If-Match": etag},
                    )
                with lock:
                    results.append((n, r.status_code))

            threads = [threading.Thread(target=edit, args=(n,)) for n in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            codes = sorted(code for _, code in results)
            assert codes.count(200) == 1 and codes.count(412) == 19, codes
            winner = next(n for n, code in results if code == 200)
            after = c.get(f"/api/v1/incidents/{iid}").json()
            assert after["killed_total"] == 100 + winner, round_no  # the winner's value, not lost
    with world.store.sessions() as s:
        edits = s.scalars(sa.select(IncidentEdit).where(IncidentEdit.incident_id == iid)).all()
        assert len(edits) == 3  # one recorded edit per round, none lost, none doubled


def test_openapi_contract_holds_under_generated_requests(live: tuple[str, World]) -> None:
    """schemathesis drives every operation with generated input (bounded): no 5xx, and every response matches
    the OpenAPI schema (body schema and content type); errors are problem+json."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

    base, world = live
    schema = schemathesis.openapi.from_url(base + "/api/v1/openapi.json")
    auth = world.auth("A", "admin")
    failures: list[str] = []
    ran = 0

    def run(operation: object) -> None:
        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())  # type: ignore[attr-defined]
        def check(case: object) -> None:
            nonlocal ran
            ran += 1
            try:
                response = case.call_and_validate(  # type: ignore[attr-defined]
                    headers=auth,
                    timeout=30,
                    checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
                )
            except Exception as exc:  # collect, so one run reports every broken operation
                failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:300]}")  # type: ignore[attr-defined]
                return
            ctype = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
            ctype = ctype[0] if isinstance(ctype, list) else ctype
            if response.status_code >= 400 and not ctype.startswith("application/problem+json"):
                failures.append(f"{operation.method.upper()} {operation.path}: {response.status_code} as {ctype}")  # type: ignore[attr-defined]

        check()

    for op in schema.get_all_operations():
        run(op.ok())
    assert ran > 50
    assert failures == [], "\n".join(sorted(set(failures))[:20])


def test_taxii_client_reads_and_adds(live: tuple[str, World]) -> None:
    """The OASIS taxii2-client drives discovery, collections, objects, manifest and add against corridor."""
    import requests
    from taxii2client.v21 import Server

    from corridor.share.stix import TLP_IDS

    base, world = live

    class Bearer(requests.auth.AuthBase):
        def __init__(self, token: str) -> None:
            self.token = token

        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            r.headers["Authorization"] = f"Bearer {self.token}"
            return r

    server = Server(f"{base}/taxii2/", auth=Bearer(world.tokens[("B", "analyst")]))
    assert server.title == "corridor"
    root = server.api_roots[0]
    coll = root.collections[0]
    assert coll.can_read and coll.title == "incidents"
    objs = coll.get_objects()["objects"]
    incidents = [o for o in objs if o["type"] == "incident"]
    # organisation B sees A's CLEAR and GREEN incidents, never A's AMBER (not shared) or stricter
    marks = {m for o in incidents for m in o["object_marking_refs"]}
    assert marks <= {TLP_IDS["CLEAR"], TLP_IDS["GREEN"]} and len(incidents) == 2
    manifest = coll.get_manifest()["objects"]
    assert {m["id"] for m in manifest} >= {o["id"] for o in incidents}
    first = coll.get_objects(limit=3)
    assert len(first["objects"]) == 3 and first["more"] is True
    # B adds A's incidents as its own (a bundle it received): status complete, all succeeded
    writer = Server(f"{base}/taxii2/", auth=Bearer(world.tokens[("B", "admin")])).api_roots[0].collections[0]
    status = writer.add_objects({"objects": objs})
    assert status.status == "complete" and status.failure_count == 0 and status.success_count == len(objs)


def _serve(url: str) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "corridor.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "CORRIDOR_DATABASE_URL": url},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("uvicorn did not start")


def test_two_corridor_servers_sync_a_collection(live: tuple[str, World], new_store_url: Callable[..., str]) -> None:
    """Server A (the live world) and a second corridor server B exchange incidents over TAXII."""
    from corridor.identity.service import add_org, add_user, create_token
    from corridor.share.stix import TLP_IDS
    from corridor.share.sync import Remote, pull, push
    from corridor.store.tables import Incident
    from corridor.store.visibility import Viewer

    base_a, world = live
    url_b = new_store_url("b")
    store_b = Store(url_b)
    store_b.upgrade()
    with store_b.transaction() as s:
        org = add_org(s, "Embassy", "embassy")
        user = add_user(s, org, "embassy.admin", "admin", "a long password")
        token_b = create_token(s, user, "sync", ["read", "write", "admin"], None).token
        viewer_b = Viewer(user_id=user.id, org_id=org.id, role="admin")
    proc, base_b = _serve(url_b)
    try:
        # B's server pulls with the credentials A issued to B's organisation: AMBER records of A are not shared
        # with it, so only CLEAR and GREEN travel
        remote_a = Remote(url=f"{base_a}/taxii2/", token=world.tokens[("B", "admin")])
        with store_b.transaction() as s:
            first = pull(s, viewer_b, remote_a)
        with store_b.transaction() as s:
            again = pull(s, viewer_b, remote_a)  # re-sync: same ids, nothing duplicated
        with store_b.sessions() as s:
            rows = list(s.scalars(sa.select(Incident)))
            assert first == again == len(rows) == 2
            assert {r.tlp for r in rows} == {"CLEAR", "GREEN"}
        # an edit on A arrives on B as a new version
        with world.store.transaction() as s:
            inc = s.get(Incident, world.incidents["GREEN"])
            assert inc is not None
            inc.killed_total, inc.version = 42, inc.version + 1
            inc.updated_at = inc.updated_at + timedelta(hours=1)
        with store_b.transaction() as s:
            pull(s, viewer_b, remote_a)
        with store_b.sessions() as s:
            assert 42 in {r.killed_total for r in s.scalars(sa.select(Incident))}
            assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 2
        # and B pushes back to A: A receives B's view, nothing stricter than AMBER travels
        with store_b.sessions() as s:
            status = push(s, viewer_b, Remote(url=f"{base_a}/taxii2/", token=world.tokens[("B", "admin")]))
        assert status["status"] == "complete" and status["failure_count"] == 0
        with store_b.sessions() as s:
            from corridor.share.stix import export_bundle

            text = str(export_bundle(s, viewer_b))
        assert TLP_IDS["AMBER+STRICT"] not in text and TLP_IDS["RED"] not in text
        # A pulls from B's server: its own incidents come back under the same STIX ids, so nothing is doubled
        with world.store.sessions() as s:
            before = s.scalar(sa.select(sa.func.count()).select_from(Incident))
        viewer_a = Viewer(user_id=world.users[("A", "admin")], org_id=world.orgs["A"], role="admin")
        with world.store.transaction() as s:
            assert pull(s, viewer_a, Remote(url=f"{base_b}/taxii2/", token=token_b)) == 2
        with world.store.sessions() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        store_b.dispose()
