"""Nothing leaks through sharing: every object type served over TAXII and exported in bundles, under every TLP
(CLEAR, GREEN, AMBER, AMBER+STRICT, RED) x every sharing (none, with an organisation, with a sharing group, with
a named user), asked for by every kind of caller (the owner organisation, a group member who is the named user,
another user of the member organisation, an outsider), in the default collection and in the group's.

Each caller must receive exactly the expected objects — no more, no fewer — from the objects list (paged), the
manifest (paged), every single-object GET and every versions request (for every object id in the store, so an
object it may not see answers 404 however it is asked for), and the exported bundle. The raw visibility filter
is checked as well (RED and AMBER+STRICT never travel, so only it shows who may read them at home).

The combinations are stored directly (AMBER+STRICT shared with a group, RED shared with an organisation: the
services refuse to create these, but an incident re-marked after it was shared ends up so)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from corridor.share.stix import EXT, INSTANCE, SHAREABLE, TLP_IDS, export_bundle, incident_objects
from corridor.store.db import Store
from corridor.store.tables import Document, ForeignStixObject, Incident, IncidentEdit, Mention, RecordShare
from corridor.store.visibility import TLP_LEVELS, visible
from corridor.web.routes.taxii import COLLECTION

from .api_world import quetta_incident
from .share_world import FOREIGN_TYPES, Orgs, build_orgs, stix_object

SHARINGS = ("none", "org", "group", "user")
CALLERS = ("owner", "named", "other", "outsider")
STAMP = datetime(2024, 11, 10, tzinfo=UTC)


@dataclass
class Case:
    tlp: str
    sharing: str
    incident: str  # record ids
    document: str
    foreign: list[str]
    objects: set[str]  # every STIX id that exists because of this case (derived objects and foreign ones)


def _store_cases(w: Orgs) -> list[Case]:
    cases = []
    with w.store.transaction() as s:
        for k, (tlp, sharing) in enumerate(itertools.product(TLP_LEVELS, SHARINGS)):
            inc = quetta_incident(
                tlp,
                w.org["OWNER"],
                date(2024, 11, 1 + k),
                perpetrator=f"Group {k}",  # its own threat-actor and victims' identity: nothing shared by chance
                foreign_nationality=f"Nation {k}",
                killed_foreign=1,
            )
            s.add(inc)
            s.flush()
            doc = Document(
                sha256=f"{k:064d}",
                fetched_at=STAMP,
                content_type="text",
                size_bytes=1,
                text="x",
                title=f"report {k}",
                tlp=tlp,
                owner_org_id=w.org["OWNER"],
            )
            s.add(doc)
            s.flush()
            s.add(
                Mention(
                    document_id=doc.id,
                    incident_id=inc.id,
                    ordinal=0,
                    event_type="bombing",
                    is_new=True,
                    confidence=0.8,
                    evidence=[],
                    created_at=STAMP,
                )
            )
            edit = IncidentEdit(incident_id=inc.id, version=1, at=STAMP, action="edit", changes={}, reason="checked")
            s.add(edit)
            foreign = []
            for kind in FOREIGN_TYPES:
                body = stix_object(kind, tlp)
                row = ForeignStixObject(
                    stix_id=body["id"],
                    stix_type=kind,
                    version=body["modified"],
                    owner_org_id=w.org["OWNER"],
                    tlp=tlp,
                    body=body,
                    created_at=STAMP,
                    changed_at=STAMP,
                )
                s.add(row)
                s.flush()
                foreign.append(row)
            s.flush()
            for object_type, object_id in [("incident", inc.id), ("document", doc.id)] + [
                ("stix_object", r.id) for r in foreign
            ]:
                target = {
                    "none": None,
                    "org": {"org_id": w.org["MEMBER"]},
                    "group": {"group_id": w.group},
                    "user": {"user_id": w.user["named"]},
                }[sharing]
                if target:
                    s.add(RecordShare(object_type=object_type, object_id=object_id, created_at=STAMP, **target))
            s.flush()
            s.refresh(inc)
            derived = {o["id"] for o in incident_objects(inc, None, [doc], [edit])}
            assert {o.split("--")[0] for o in derived} == {
                "incident",
                "location",
                "relationship",
                "threat-actor",
                "identity",
                "report",
                "note",
            }
            cases.append(
                Case(tlp, sharing, inc.id, doc.id, [r.id for r in foreign], derived | {r.stix_id for r in foreign})
            )
    return cases


def sees(caller: str, tlp: str, sharing: str) -> bool:
    """The visibility filter, written out: who may read a record at all."""
    member = caller in ("named", "other")
    if tlp in ("CLEAR", "GREEN"):
        return True
    if tlp == "AMBER":
        return caller == "owner" or (member and sharing in ("org", "group"))
    if tlp == "AMBER+STRICT":
        return caller == "owner"
    return caller == "named" and sharing == "user"  # RED: named users only, not even the owner's other users


def served(caller: str, collection: str, tlp: str, sharing: str) -> bool:
    """What a collection holds for a caller: never AMBER+STRICT or RED; a group's only what the whole group may
    see (CLEAR, GREEN, shared with the group)."""
    if tlp not in SHAREABLE or not sees(caller, tlp, sharing):
        return False
    return collection == "default" or tlp in ("CLEAR", "GREEN") or sharing == "group"


def expected(cases: list[Case], caller: str, collection: str) -> set[str]:
    chosen = [c for c in cases if served(caller, collection, c.tlp, c.sharing)]
    ids = {INSTANCE, EXT} | {TLP_IDS[c.tlp] for c in chosen}
    for c in chosen:
        ids |= c.objects
    return ids


class Client:
    """The app in-process over ASGI, without TestClient's thread hop per request (thousands of requests here)."""

    def __init__(self, w: Orgs) -> None:
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=w.client.app), base_url="http://corridor")
        self.w = w

    def get(self, url: str, caller: str, **params: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.get(url, params=params, headers=self.w.h(caller)))

    def get_all(self, urls: list[str], caller: str) -> list[httpx.Response]:
        """Many GETs, eight at a time (the app serves them from its thread pool)."""
        gate = asyncio.Semaphore(8)

        async def one(url: str) -> httpx.Response:
            async with gate:
                return await self.http.get(url, headers=self.w.h(caller))

        async def every() -> list[httpx.Response]:
            return list(await asyncio.gather(*(one(u) for u in urls)))

        return self.loop.run_until_complete(every())

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


def _paged(c: Client, caller: str, url: str, key: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 37}
    while True:
        r = c.get(url, caller, **params)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        got += r.json().get(key, [])
        if not r.json()["more"]:
            return got
        params["next"] = r.json()["next"]


def test_every_object_type_tlp_and_sharing_reaches_exactly_whom_it_should(store: Store) -> None:
    w = build_orgs(store)
    cases = _store_cases(w)
    client = Client(w)
    universe = set().union(*(c.objects for c in cases)) | {INSTANCE, EXT, *TLP_IDS.values()}
    collections = {"default": COLLECTION, "group": w.group}
    problems: list[str] = []
    checked = 0
    for caller, (name, cid) in itertools.product(CALLERS, collections.items()):
        base = f"/taxii2/api/collections/{cid}"
        if caller == "outsider" and name == "group":
            for path in ("/", "/objects/", "/manifest/", f"/objects/{INSTANCE}/", f"/objects/{INSTANCE}/versions/"):
                r = client.get(base + path, caller)
                checked += 1
                if r.status_code != 404:
                    problems.append(f"outsider got {r.status_code} from the group's {path}")
            listed = {
                c["id"] for c in w.client.get("/taxii2/api/collections/", headers=w.h(caller)).json()["collections"]
            }
            if w.group in listed:
                problems.append("the outsider is offered the group's collection")
            continue
        want = expected(cases, caller, name)
        objects = _paged(client, caller, base + "/objects/", "objects")
        manifest = _paged(client, caller, base + "/manifest/", "objects")
        for what, got in (("objects", objects), ("manifest", manifest)):
            ids = [o["id"] for o in got]
            checked += len(ids)
            if len(ids) != len(set(ids)):
                problems.append(f"{caller}/{name} {what}: an object twice")
            if set(ids) != want:
                problems.append(
                    f"{caller}/{name} {what}: extra {sorted(set(ids) - want)[:5]} missing {sorted(want - set(ids))[:5]}"
                )
        # one object at a time, every id in the store: per organisation (the member's other user differs from
        # the named one only on RED, which no collection serves; the lists above cover it)
        paths = [p for oid in sorted(universe) for p in (f"/objects/{oid}/", f"/objects/{oid}/versions/")]
        answers = client.get_all([base + p for p in paths], caller) if caller != "other" else []
        for path, r in zip(paths, answers, strict=False):
            oid = path.split("/")[2]
            checked += 1
            if (r.status_code == 200) != (oid in want) or r.status_code not in (200, 404):
                problems.append(f"{caller}/{name} GET {path}: {r.status_code}")
            elif r.status_code == 200 and "versions" not in path and [o["id"] for o in r.json()["objects"]] != [oid]:
                problems.append(f"{caller}/{name} GET {path}: other objects in the answer")
        with store.sessions() as s:
            bundle = export_bundle(s, w.viewer(caller), w.group if name == "group" else None)
        checked += 1
        if {o["id"] for o in bundle["objects"]} != want:
            problems.append(f"{caller}/{name} export: {sorted({o['id'] for o in bundle['objects']} ^ want)[:5]}")
    # the raw filter, for every marked table, including what never travels (AMBER+STRICT, RED)
    with store.sessions() as s:
        for caller in CALLERS:
            who = w.viewer(caller)
            for object_type, table, ids_of in (
                ("incident", Incident, lambda c: [c.incident]),
                ("document", Document, lambda c: [c.document]),
                ("stix_object", ForeignStixObject, lambda c: c.foreign),
            ):
                got = set(s.scalars(sa.select(table.id).where(visible(who, object_type))))
                want_ids = {i for c in cases if sees(caller, c.tlp, c.sharing) for i in ids_of(c)}
                checked += 1
                if got != want_ids:
                    problems.append(f"{caller} visible({object_type}): differs for {len(got ^ want_ids)} records")
        # the command line acting for an organisation has no user: named on no RED record
        cli = w.admin("MEMBER")
        red = set(s.scalars(sa.select(Incident.id).where(visible(cli, "incident"), Incident.tlp == "RED")))
        if red:
            problems.append("an organisation viewer without a user reads RED records")
    client.close()
    assert problems == [], "\n".join(problems[:40])
    assert len(cases) == 20 and len(universe) == 20 * 15 + 7 and checked > 4000
