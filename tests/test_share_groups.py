"""Sharing groups: who manages them, who sees what is shared with them (API, TAXII, CLI), and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from corridor.identity.service import add_org
from corridor.store import audit
from corridor.store.db import Store
from corridor.store.tables import AuditEntry, Incident, RecordShare
from corridor.web.routes.taxii import COLLECTION

from .share_world import build_orgs, envelope, stix_object


def _incident(w: Any, who: str, tlp: str) -> str:
    r = w.client.post("/api/v1/incidents", json={"event_type": "bombing", "tlp": tlp}, headers=w.h(who))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _share(w: Any, who: str, incident_id: str, **target: str) -> Any:
    return w.client.post(f"/api/v1/incidents/{incident_id}/shares", json=target, headers=w.h(who))


def test_a_group_shares_amber_with_its_members_for_as_long_as_they_are_members(store: Store) -> None:
    w = build_orgs(store)
    r = w.client.post("/api/v1/groups", json={"name": "Port security"}, headers=w.h("owner.admin"))
    assert r.status_code == 201 and [m["name"] for m in r.json()["members"]] == ["Liaison Cell"]
    port = r.json()["id"]
    # only admins of the owner organisation manage members; others do not even learn the group exists
    add = {"org_id": w.org["MEMBER"]}
    assert w.client.post(f"/api/v1/groups/{port}/members", json=add, headers=w.h("owner")).status_code == 403
    assert w.client.post(f"/api/v1/groups/{port}/members", json=add, headers=w.h("member.admin")).status_code == 404
    r = w.client.post(f"/api/v1/groups/{port}/members", json=add, headers=w.h("owner.admin"))
    assert r.status_code == 201 and {m["id"] for m in r.json()["members"]} == {w.org["OWNER"], w.org["MEMBER"]}
    assert port in {g["id"] for g in w.client.get("/api/v1/groups", headers=w.h("named")).json()}
    assert port not in {g["id"] for g in w.client.get("/api/v1/groups", headers=w.h("outsider")).json()}

    amber = _incident(w, "owner", "AMBER")
    assert w.client.get(f"/api/v1/incidents/{amber}", headers=w.h("named")).status_code == 404
    r = _share(w, "owner", amber, group_id=port)
    assert r.status_code == 201 and r.json()["group_id"] == port
    assert w.client.get(f"/api/v1/incidents/{amber}", headers=w.h("named")).status_code == 200
    assert w.client.get(f"/api/v1/incidents/{amber}", headers=w.h("outsider")).status_code == 404
    listed = w.client.get("/api/v1/incidents", params={"tlp": "AMBER"}, headers=w.h("other")).json()["items"]
    assert [i["id"] for i in listed] == [amber]
    # AMBER+STRICT stays home, RED goes to named users only, and nobody shares into a group they are not in
    for tlp in ("AMBER+STRICT", "RED"):
        assert _share(w, "owner", _incident(w, "owner", tlp), group_id=port).status_code == 409
    assert _share(w, "outsider", _incident(w, "outsider", "AMBER"), group_id=port).status_code == 404
    assert _share(w, "owner", amber, group_id=port, org_id=w.org["MEMBER"]).status_code == 422

    # the group's TAXII collection is offered to members only
    def collections(who: str) -> set[str]:
        r = w.client.get("/taxii2/api/collections/", headers=w.h(who))
        return {c["id"] for c in r.json()["collections"]}

    assert collections("named") == {COLLECTION, port, w.group} and collections("outsider") == {COLLECTION}

    # a member removed sees nothing more of the group; the owner organisation cannot be removed
    removed = w.client.delete(f"/api/v1/groups/{port}/members/{w.org['MEMBER']}", headers=w.h("owner.admin"))
    assert removed.status_code == 200
    assert w.client.get(f"/api/v1/incidents/{amber}", headers=w.h("named")).status_code == 404
    assert port not in collections("named")
    r = w.client.delete(f"/api/v1/groups/{port}/members/{w.org['OWNER']}", headers=w.h("owner.admin"))
    assert r.status_code == 409

    with store.sessions() as s:
        actions = [e.action for e in s.scalars(sa.select(AuditEntry).where(AuditEntry.object_id.in_([port, amber])))]
        assert actions == [
            "group.create",
            "group.member.add",
            "incident.create",
            "incident.share",
            "group.member.remove",
        ]
        assert audit.verify(s).ok


def test_what_is_posted_to_a_group_collection_is_shared_with_the_group(store: Store) -> None:
    w = build_orgs(store)
    incident = stix_object("incident", "AMBER", name="Convoy ambush")
    indicator = stix_object("indicator", "AMBER")
    malware = stix_object("malware", "GREEN")
    group_url = f"/taxii2/api/collections/{w.group}/objects/"
    r = w.client.post(group_url, json=envelope(incident, indicator, malware), headers=w.h("named"))
    assert r.status_code == 202 and r.json()["success_count"] == 3, r.text

    def ids(who: str, collection: str) -> set[str]:
        r = w.client.get(f"/taxii2/api/collections/{collection}/objects/", headers=w.h(who))
        assert r.status_code == 200, r.text
        return {o["id"] for o in r.json()["objects"]}

    posted = {incident["id"], indicator["id"], malware["id"]}
    for who in ("owner", "named", "other"):
        assert posted <= ids(who, w.group) and posted <= ids(who, COLLECTION)
    assert ids("outsider", COLLECTION) & posted == {malware["id"]}  # GREEN: the whole exchange; AMBER: the group
    # an outsider can neither read nor add to the group's collection, and storing nothing is what it gets
    assert w.client.get(group_url, headers=w.h("outsider")).status_code == 404
    extra = stix_object("indicator", "GREEN")
    assert w.client.post(group_url, json=envelope(extra), headers=w.h("outsider")).status_code == 404
    assert extra["id"] not in ids("owner", COLLECTION)
    with store.sessions() as s:
        inc = s.scalars(sa.select(Incident).where(Incident.stix_id == incident["id"])).one()
        assert inc.owner_org_id == w.org["MEMBER"] and inc.tlp == "AMBER"
        groups = {r.group_id for r in s.scalars(sa.select(RecordShare).where(RecordShare.group_id.is_not(None)))}
        assert groups == {w.group}
        assert s.scalar(sa.select(sa.func.count()).select_from(RecordShare)) == 3


def test_groups_on_the_command_line(cli: Callable[..., Any]) -> None:
    url = getattr(cli, "url", f"sqlite:///{cli.home / 'corridor.db'}")  # type: ignore[attr-defined]
    store = Store(url)
    store.upgrade()
    with store.transaction() as s:
        for name, kind in (("Liaison Cell", "agency"), ("Harbour Works Ltd", "company"), ("Embassy", "embassy")):
            add_org(s, name, kind)
    store.dispose()
    r = cli("groups", "add", "CPEC security liaison", "--org", "Liaison Cell")
    assert r.returncode == 0 and "owner Liaison Cell; members: Liaison Cell" in r.stdout, r.stderr
    r = cli("groups", "members", "CPEC security liaison", "--add", "Harbour Works Ltd", "--add", "Embassy")
    assert r.returncode == 0 and "members: Embassy, Harbour Works Ltd, Liaison Cell" in r.stdout, r.stderr
    r = cli("groups", "members", "CPEC security liaison", "--remove", "Embassy", "--remove", "Liaison Cell")
    assert r.returncode == 2 and r.stderr.startswith("error: the owner organisation stays a member")
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli("groups", "list", "--org", "Embassy")
    assert r.returncode == 0 and "members: Embassy, Harbour Works Ltd, Liaison Cell" in r.stdout  # all or nothing
