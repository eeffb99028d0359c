"""Other producers' STIX objects are kept and served back under their TLP; an incident of another organisation is
never taken over; malformed STIX is refused with the reason and stores nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from corridor.identity.service import add_org
from corridor.share.markings import TLP1_IDS
from corridor.share.stix import EXT, TLP_IDS, StixError, export_bundle, import_bundle
from corridor.store.db import Store
from corridor.store.tables import AuditEntry, ForeignStixObject, Incident, RecordShare
from corridor.store.visibility import Viewer
from corridor.web.routes.taxii import COLLECTION

from .share_world import FOREIGN_TYPES, build_orgs, envelope, stix_object

OBJECTS = f"/taxii2/api/collections/{COLLECTION}/objects/"
TLP1_AMBER = next(k for k, v in TLP1_IDS.items() if v == "AMBER")


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """A URL for another store of this test's own: the suite's `new_store_url` (SQLite or PostgreSQL), or a
    SQLite file where the suite has none."""
    try:
        make: Callable[[str], str] = request.getfixturevalue("new_store_url")
    except pytest.FixtureLookupError:
        return lambda name: f"sqlite:///{tmp_path / name}.db"
    return make


def _producer_bundle() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What another producer sends: an AMBER incident with its own location and relationship (unmarked), every
    generic type, a TLP 1.0 marking, a custom type, relationships between them; with the TLP each must get."""
    producer = stix_object("identity", None)
    incident = stix_object("incident", "AMBER", name="Attack on a convoy", created_by_ref=producer["id"])
    location = stix_object("location", None)
    located = stix_object(
        "relationship", None, relationship_type="located-at", source_ref=incident["id"], target_ref=location["id"]
    )
    note = stix_object("note", None, content="seen twice", object_refs=[incident["id"]])
    generic = {kind: stix_object(kind, "GREEN", created_by_ref=producer["id"]) for kind in FOREIGN_TYPES}
    generic["malware"]["object_marking_refs"] = [TLP_IDS["AMBER"]]
    generic["campaign"]["object_marking_refs"] = [TLP1_AMBER]  # TLP 1.0 amber is AMBER
    generic["attack-pattern"]["object_marking_refs"] = [TLP_IDS["CLEAR"]]
    generic["x-acme-widget"].pop("object_marking_refs")  # unmarked, linked to nothing marked: GREEN
    indicates = stix_object(
        "relationship",
        None,
        relationship_type="indicates",
        source_ref=generic["indicator"]["id"],
        target_ref=generic["malware"]["id"],
    )
    objects = [producer, incident, location, located, note, *generic.values(), indicates]
    tlp = {o["id"]: "GREEN" for o in objects}
    tlp |= {incident["id"]: "AMBER", location["id"]: "AMBER", located["id"]: "AMBER", note["id"]: "AMBER"}
    tlp |= {generic["malware"]["id"]: "AMBER", generic["campaign"]["id"]: "AMBER", indicates["id"]: "AMBER"}
    tlp |= {generic["attack-pattern"]["id"]: "CLEAR"}
    return objects, tlp


def test_foreign_objects_are_kept_under_their_tlp_and_served_back(
    store: Store, store_url: Callable[[str], str]
) -> None:
    w = build_orgs(store)
    objects, tlp = _producer_bundle()
    r = w.client.post(OBJECTS, json=envelope(*objects), headers=w.h("named"))
    assert r.status_code == 202 and r.json()["failure_count"] == 0, r.text
    incident_id = next(o["id"] for o in objects if o["type"] == "incident")
    with store.sessions() as s:
        rows = {f.stix_id: f for f in s.scalars(sa.select(ForeignStixObject))}
        kept_at = {i: f.changed_at for i, f in rows.items()}
        assert set(rows) == {o["id"] for o in objects} - {incident_id}  # everything but the incident, as sent
        assert {i: f.tlp for i, f in rows.items()} == {i: t for i, t in tlp.items() if i != incident_id}
        assert all(f.owner_org_id == w.org["MEMBER"] and f.body == next(o for o in objects if o["id"] == i)
                   for i, f in rows.items())  # fmt: skip
        inc = s.scalars(sa.select(Incident).where(Incident.stix_id == incident_id)).one()
        assert inc.tlp == "AMBER" and inc.lat == 25.12 and inc.owner_org_id == w.org["MEMBER"]

    def served(who: str, **params: str) -> dict[str, dict[str, Any]]:
        r = w.client.get(OBJECTS, params=params, headers=w.h(who))
        assert r.status_code == 200, r.text
        return {o["id"]: o for o in r.json()["objects"]}

    mine = served("other")
    assert all(mine[o["id"]] == o for o in objects if o["type"] != "incident")  # served back as received
    outside = served("outsider")
    assert {i for i in tlp if i in outside} == {i for i, t in tlp.items() if t in ("CLEAR", "GREEN")}

    # sending the same again changes nothing (no new date_added: no echo between syncing servers)
    w.client.post(OBJECTS, json=envelope(*objects), headers=w.h("named"))
    with store.sessions() as s:
        assert {f.stix_id: f.changed_at for f in s.scalars(sa.select(ForeignStixObject))} == kept_at
    # a new version is kept next to the old one
    indicator = next(o for o in objects if o["type"] == "indicator")
    newer = {**indicator, "modified": "2025-04-01T00:00:00.000Z", "name": "C2 address, moved"}
    assert w.client.post(OBJECTS, json=envelope(newer), headers=w.h("named")).json()["success_count"] == 1
    versions = w.client.get(f"{OBJECTS}{indicator['id']}/versions/", headers=w.h("outsider")).json()["versions"]
    assert versions == [indicator["modified"], newer["modified"]]
    assert served("outsider")[indicator["id"]]["name"] == "C2 address, moved"
    both = w.client.get(f"{OBJECTS}{indicator['id']}/", params={"match[version]": "all"}, headers=w.h("named"))
    assert [o["name"] for o in both.json()["objects"]] == ["C2 address", "C2 address, moved"]

    # a bundle export carries them, and another server imports them all: nothing of the producer's is lost
    member = Viewer(user_id=None, org_id=w.org["MEMBER"], role="admin")
    with store.sessions() as s:
        bundle = export_bundle(s, member)
    other = Store(store_url("other"))
    other.upgrade()
    with other.transaction() as s:
        importer = Viewer(user_id=None, org_id=add_org(s, "Embassy", "embassy").id, role="admin")
        import_bundle(s, importer, json.dumps(bundle))
    with other.sessions() as s:
        again = {o["id"]: o for o in export_bundle(s, importer)["objects"]}
    latest = [newer if o["id"] == newer["id"] else o for o in objects if o["type"] != "incident"]
    assert all(again[o["id"]] == o for o in latest)
    assert again[incident_id]["name"] == "Attack on a convoy"
    other.dispose()


def test_an_incident_of_another_organisation_is_never_taken_over(store: Store) -> None:
    w = build_orgs(store)
    r = w.client.post("/api/v1/incidents", json={"event_type": "bombing", "tlp": "GREEN", "killed_total": 4},
                      headers=w.h("owner"))  # fmt: skip
    theirs = w.client.get(OBJECTS, params={"match[type]": "incident"}, headers=w.h("outsider")).json()["objects"]
    forged = {**theirs[0], "modified": "2030-01-01T00:00:00.000Z", "object_marking_refs": [TLP_IDS["GREEN"]]}
    forged["extensions"] = {EXT: {"extension_type": "property-extension", "event_type": "hoax", "killed_total": 0}}
    r2 = w.client.post(OBJECTS, json=envelope(forged), headers=w.h("outsider"))
    assert r2.status_code == 202
    with store.sessions() as s:
        inc = s.get(Incident, r.json()["id"])
        assert inc is not None
        assert (inc.owner_org_id, inc.event_type, inc.killed_total) == (w.org["OWNER"], "bombing", 4)


def _counts(store: Store) -> tuple[int, ...]:
    with store.sessions() as s:
        return tuple(
            s.scalar(sa.select(sa.func.count()).select_from(t)) or 0
            for t in (Incident, ForeignStixObject, RecordShare, AuditEntry)
        )


def test_malformed_stix_is_refused_with_the_reason_and_stores_nothing(store: Store) -> None:
    w = build_orgs(store)
    good = [stix_object("incident", "GREEN", name="Attack"), stix_object("indicator", "GREEN")]

    def spoilt(change: Callable[[dict[str, Any]], object], at: int = 1) -> list[dict[str, Any]]:
        objs = copy.deepcopy(good)
        change(objs[at])
        return objs

    cases: list[tuple[list[Any], str]] = [
        (spoilt(lambda o: o.update(pattern=42)), "not of type 'string'"),  # a wrong type
        (spoilt(lambda o: o.pop("id")), "no 'id'"),
        (spoilt(lambda o: o.update(type=7)), "'type' must be a STIX type name"),
        (spoilt(lambda o: o.update(id=o["id"].replace("indicator", "malware"))), "the id must be 'indicator--'"),
        (spoilt(lambda o: o.update(id="indicator--not-a-uuid")), "a UUID"),
        (spoilt(lambda o: o.update(extensions={"x-acme-ext": {"score": 1}})), "unknown extension 'x-acme-ext'"),
        (spoilt(lambda o: o.update(spec_version="2.0")), "STIX 2.1 only"),
        (spoilt(lambda o: o.update(created="yesterday")), "timestamp"),
        (
            spoilt(
                lambda o: o.update(extensions={EXT: {"extension_type": "property-extension", "killed_total": "x"}}), 0
            ),
            "killed_total must be a whole number",
        ),
        (spoilt(lambda o: o.update(object_marking_refs=[TLP_IDS["AMBER+STRICT"]])), "TLP:AMBER+STRICT"),
        (spoilt(lambda o: o.update(object_marking_refs=[TLP_IDS["RED"]])), "TLP:RED"),
        ([*good, "not an object"], "object 2 is not a JSON object"),
    ]
    before = _counts(store)
    for objects, why in cases:
        r = w.client.post(OBJECTS, json={"objects": objects}, headers=w.h("named"))
        status = r.json()
        assert r.status_code == 202 and status["failure_count"] == len(objects) and status["success_count"] == 0
        assert all(why in f["message"] for f in status["failures"]), (why, status["failures"][0]["message"])
    for body, code in ((b"{not json", 422), (b'{"objects": {}}', 422), (b"[]", 422)):
        r = w.client.post(OBJECTS, content=body, headers={**w.h("named"), "Content-Type": "application/json"})
        assert r.status_code == code and r.headers["content-type"].startswith("application/problem+json")
    # over TAXII's 10 MB: refused before it is read, with the limit named
    big = json.dumps(
        envelope(*good, stix_object("note", "GREEN", content="x" * (10 * 1024 * 1024), object_refs=[good[0]["id"]]))
    )
    r = w.client.post(OBJECTS, content=big, headers={**w.h("named"), "Content-Type": "application/json"})
    assert r.status_code == 413 and "10 MB" in r.json()["detail"]
    assert _counts(store) == before
    with store.transaction() as s, pytest.raises(StixError, match="over the 10 MB limit"):
        import_bundle(
            s, w.admin("MEMBER"), json.dumps({"type": "bundle", "id": "bundle--x", "objects": []}) + " " * 11_000_000
        )
    assert _counts(store) == before
