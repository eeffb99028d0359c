"""STIX 2.1 exchange: valid bundles, stable ids, a faithful round trip, TLP boundaries, malformed input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from corridor.identity.service import add_org
from corridor.ingest.service import Item, ingest_items
from corridor.share.stix import EXT, TLP_IDS, StixError, export_bundle, import_bundle, validate
from corridor.store.db import Store
from corridor.store.seed import seed_actors
from corridor.store.tables import Incident
from corridor.store.visibility import SYSTEM, Viewer

from .reports import write_reports


def _org_store(url: str, name: str) -> tuple[Store, Viewer]:
    s = Store(url)
    s.upgrade()
    with s.transaction() as session:
        seed_actors(session)
        org = add_org(session, name, "agency")
        return s, Viewer(user_id=None, org_id=org.id, role="admin")


@pytest.fixture
def source(tmp_path: Path, new_store_url: Callable[..., str]) -> tuple[Store, Viewer]:
    store, viewer = _org_store(new_store_url("a"), "Liaison Cell")
    reports = write_reports(tmp_path / "r")
    tlps = ["GREEN", "GREEN", "GREEN", "GREEN", "AMBER"]
    items = [
        Item(p, date.fromisoformat(pub), outlet="Wire", owner_org_id=viewer.org_id, tlp=tlp)
        for (p, pub), tlp in zip(reports, tlps, strict=True)
    ]
    ingest_items(store, items)
    return store, viewer


def test_export_validates_and_is_stable(source: tuple[Store, Viewer]) -> None:
    store, viewer = source
    with store.sessions() as s:
        first, second = export_bundle(s, viewer), export_bundle(s, viewer)
    assert validate(first) == []
    assert first == second  # deterministic ids and ordering
    types = {o["type"] for o in first["objects"]}
    assert {
        "incident",
        "location",
        "relationship",
        "threat-actor",
        "report",
        "marking-definition",
        "extension-definition",
        "identity",
    } <= types
    besham = next(o for o in first["objects"] if o["type"] == "incident" and "Besham" in o["name"])
    ext = besham["extensions"][EXT]
    assert ext["killed_foreign"] == 5 and ext["foreign_nationality"] == "Chinese" and ext["date"] == "2024-03-26"
    quetta = next(o for o in first["objects"] if o["type"] == "incident" and "Quetta" in o["name"])
    assert quetta["object_marking_refs"] == [TLP_IDS["AMBER"]]


def test_round_trip_is_equal_field_by_field(source: tuple[Store, Viewer], new_store_url: Callable[..., str]) -> None:
    store, viewer = source
    with store.sessions() as s:
        bundle = export_bundle(s, viewer)
    other, importer = _org_store(new_store_url("b"), "Embassy")
    with other.transaction() as s:
        ids = import_bundle(s, importer, json.dumps(bundle))
    assert len(ids) == sum(o["type"] == "incident" for o in bundle["objects"])
    with other.sessions() as s:
        again = export_bundle(s, importer)

    def comparable(b: dict) -> dict:  # type: ignore[type-arg]
        # reports and notes stay with the documents and edits they describe
        return {o["id"]: o for o in b["objects"] if o["type"] not in ("report", "note")}

    assert comparable(again) == comparable(bundle)
    with other.transaction() as s:  # importing the same bundle again changes nothing
        import_bundle(s, importer, json.dumps(bundle))
    with other.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == len(ids)


def test_strict_and_red_records_never_leave(source: tuple[Store, Viewer]) -> None:
    store, viewer = source
    with store.transaction() as s:
        incs = list(s.scalars(sa.select(Incident).order_by(Incident.id)))
        incs[0].tlp, incs[1].tlp = "AMBER+STRICT", "RED"
        hidden = {incs[0].id, incs[1].id}
    for who in (viewer, SYSTEM):
        with store.sessions() as s:
            text = json.dumps(export_bundle(s, who))
        assert TLP_IDS["AMBER+STRICT"] not in text and TLP_IDS["RED"] not in text
        assert not any(h in text for h in hidden)


def test_malformed_bundles_are_refused_and_store_nothing(
    source: tuple[Store, Viewer], new_store_url: Callable[..., str]
) -> None:
    store, viewer = source
    with store.sessions() as s:
        good = export_bundle(s, viewer)
    other, importer = _org_store(new_store_url("b"), "Embassy")
    no_id = copy.deepcopy(good)
    next(o for o in no_id["objects"] if o["type"] == "incident").pop("id")
    wrong_type = copy.deepcopy(good)
    next(o for o in wrong_type["objects"] if o["type"] == "location")["latitude"] = "north"
    red = copy.deepcopy(good)
    next(o for o in red["objects"] if o["type"] == "incident")["object_marking_refs"] = [TLP_IDS["RED"]]
    cases = [
        (b"{not json", "not JSON"),
        (json.dumps({"type": "bundle"}).encode(), "not a STIX bundle"),
        (json.dumps({"type": "bundle", "objects": [{"type": "incident"}]}).encode(), "invalid STIX"),
        (json.dumps(no_id).encode(), "invalid STIX"),
        (json.dumps(wrong_type).encode(), "invalid STIX"),
        (json.dumps(red).encode(), "TLP:RED"),
        (b" " * (11 * 1024 * 1024), "MB"),
    ]
    for data, why in cases:
        with pytest.raises(StixError, match=why), other.transaction() as s:
            import_bundle(s, importer, data)
    with other.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_push_and_pull_with_the_oasis_medallion_server(
    source: tuple[Store, Viewer], tmp_path: Path, new_store_url: Callable[..., str]
) -> None:
    """corridor exchanges a collection with medallion, a TAXII 2.1 server we did not write (memory back-end)."""
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from corridor.share.sync import Remote, pull, push

    exe = shutil.which("medallion", path=os.path.dirname(sys.executable)) or shutil.which("medallion")
    if exe is None:
        pytest.skip("medallion is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    collection = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4"
    data = {
        "/discovery": {"title": "medallion", "default": f"{base}/trustgroup1/", "api_roots": [f"{base}/trustgroup1/"]},
        "trustgroup1": {
            "information": {
                "title": "test",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10485760,
            },
            "status": [],
            "collections": [
                {
                    "id": collection,
                    "title": "corridor",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "backend": {
                    "module_class": "MemoryBackend",
                    "module": "medallion.backends.memory_backend",
                    "filename": str(tmp_path / "data.json"),
                },
                "users": {"corridor": "a long password"},
                "taxii": {"max_page_size": 100},
            }
        )
    )
    proc = subprocess.Popen(
        [exe, "--host", "127.0.0.1", "--port", str(port), str(tmp_path / "config.json")],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "medallion.log").open("w"),
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/taxii2/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        remote = Remote(url=f"{base}/taxii2/", user="corridor", password="a long password", collection="corridor")
        store, viewer = source
        with store.sessions() as s:
            status = push(s, viewer, remote)
            sent = export_bundle(s, viewer)
        assert status["status"] == "complete" and status["failure_count"] == 0
        other, importer = _org_store(new_store_url("c"), "Company")
        with other.transaction() as s:
            pulled = pull(s, importer, remote)
        assert pulled == sum(o["type"] == "incident" for o in sent["objects"])
        with other.sessions() as s:
            back = {o["id"]: o for o in export_bundle(s, importer)["objects"] if o["type"] == "incident"}
        for o in sent["objects"]:
            if o["type"] == "incident":
                assert back[o["id"]]["extensions"] == o["extensions"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
