"""The authorisation matrix, generated from the route table (the OpenAPI document).

Every operation must declare its access (x-corridor-access) and have a request builder here; then every
operation is called by every role of the owning and of another organisation, on records of every TLP, and
the test asserts exactly which calls succeed. A new route without a rule or a builder fails this test.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from corridor.identity.service import create_token
from corridor.store.db import Store
from corridor.store.tables import Document, Mention, User
from corridor.store.visibility import ROLES, TLP_LEVELS
from corridor.web.app import create_app

from .api_world import World, build_world, quetta_incident

STAMP = datetime(2024, 11, 10, tzinfo=UTC)
TEXT = b"A bomb went off in Quetta on Saturday, killing four people, officials said."


@pytest.fixture(scope="module")
def page() -> Iterator[str]:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(TEXT + self.path.encode())

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def fresh_incident(w: World, tlp: str) -> tuple[str, list[str]]:
    """An incident of org A with two mentions (so split and merge have something to move)."""
    with w.store.transaction() as s:
        inc = quetta_incident(tlp, w.orgs["A"], date(2024, 11, 9))
        s.add(inc)
        s.flush()
        mids = []
        for k in range(2):
            doc = Document(
                sha256=f"{inc.id}-{k}".ljust(64, "0")[:64],
                fetched_at=STAMP,
                content_type="text",
                size_bytes=1,
                text="x",
                tlp=tlp,
                owner_org_id=w.orgs["A"],
            )
            s.add(doc)
            s.flush()
            m = Mention(
                document_id=doc.id,
                incident_id=inc.id,
                ordinal=0,
                event_type="bombing",
                date=date(2024, 11, 9),
                date_precision="day",
                city="Quetta",
                province="Balochistan",
                lat=30.19,
                lon=67.0,
                geo_precision="city",
                is_new=True,
                confidence=0.8,
                evidence=[],
                created_at=STAMP,
            )
            s.add(m)
            s.flush()
            mids.append(m.id)
        return inc.id, mids


def fresh_document(w: World, tlp: str) -> str:
    with w.store.transaction() as s:
        from corridor.ids import new_id

        doc = Document(
            sha256=new_id().replace("-", "").ljust(64, "0"),
            fetched_at=STAMP,
            content_type="text",
            size_bytes=1,
            text="x",
            tlp=tlp,
            owner_org_id=w.orgs["A"],
        )
        s.add(doc)
        s.flush()
        return doc.id


def _viewer(w: World, org: str):  # type: ignore[no-untyped-def]
    from corridor.store.visibility import Viewer

    return Viewer(user_id=w.users[(org, "admin")], org_id=w.orgs[org], role="admin")


def fresh_person(w: World, org: str) -> str:
    from corridor.ops.service import add_person

    with w.store.transaction() as s:
        return add_person(s, _viewer(w, org), "Li Wei", "Chinese").id


def fresh_movement(w: World, org: str, under_way: bool = False) -> str:
    from datetime import datetime

    from corridor.ops.service import request_movement

    person = fresh_person(w, org)
    with w.store.transaction() as s:
        mv = request_movement(
            s, _viewer(w, org), "road", "Karachi", "Hub", datetime(2024, 10, 10, 9, 0), [person], check_in_minutes=30
        )
        if under_way:
            mv.status = "under_way"
        return mv.id


def fresh_alert(w: World, org: str) -> str:
    from corridor.clock import now
    from corridor.store.tables import Alert

    with w.store.transaction() as s:
        a = Alert(
            incident_id=w.incidents["GREEN"],
            org_id=w.orgs[org],
            target_kind="site",
            target_id="x",
            rule=f"test-{now().timestamp()}",
            distance_km=1.0,
            reason="test",
            status="open",
            created_at=now(),
        )
        s.add(a)
        s.flush()
        return a.id


TAXII_COLLECTION = "9f3c1b0e-6d0e-5a8f-8c4b-3f1e2d7a9c55"


def fresh_stix_incident(w: World) -> str:
    """A CLEAR incident every organisation may read through TAXII; returns the uuid of its STIX id."""
    import uuid

    with w.store.transaction() as s:
        inc = quetta_incident("CLEAR", w.orgs["A"], date(2024, 11, 9))
        inc.stix_id = f"incident--{uuid.uuid4()}"
        s.add(inc)
        s.flush()
        return inc.stix_id.split("--", 1)[1]


def fresh_status(w: World, org: str) -> str:
    r = w.client.post(
        f"/taxii2/api/collections/{TAXII_COLLECTION}/objects/", json={"objects": []}, headers=w.auth(org, "admin")
    )
    return str(r.json()["id"])


def fresh_group(w: World, org: str, with_other: bool = False) -> str:
    """A sharing group owned by `org` (with the other organisation as a member when asked)."""
    from corridor.share.groups import add_member, create_group

    with w.store.transaction() as s:
        g = create_group(s, _viewer(w, org), f"group {next(_n)}")
        if with_other:
            add_member(s, _viewer(w, org), g.id, w.orgs["B" if org == "A" else "A"])
        return g.id


def fresh_token(w: World, org: str, role: str) -> str:
    with w.store.transaction() as s:
        user = s.get(User, w.users[(org, role)])
        assert user is not None
        return create_token(s, user, "m", ["read"], None).record.id


Builder = Callable[[World, str, str, str, str], dict[str, Any]]
_n = iter(range(10**9))


def _incident_call(
    suffix: str = "",
    body: dict[str, Any] | None = None,
    method: str = "POST",
    need_other: bool = False,
    need_mentions: bool = False,
) -> Builder:
    def build(w: World, tlp: str, org: str, role: str, base: str) -> dict[str, Any]:
        iid, mids = fresh_incident(w, tlp)
        b = dict(body or {})
        if need_other:
            b["other_id"] = fresh_incident(w, tlp)[0]
        if need_mentions:
            b["mention_ids"] = mids[:1]
        req: dict[str, Any] = {
            "method": method,
            "url": f"/api/v1/incidents/{iid}{suffix}",
            "headers": {"If-Match": 'W/"1"'},
        }
        if method != "GET":
            req["json"] = b
        return req

    return build


BUILDERS: dict[tuple[str, str], Builder] = {
    ("post", "/api/v1/auth/login"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/auth/login",
        "json": {"username": f"{r}.{o.lower()}", "password": "correct horse battery"},
    },
    ("post", "/api/v1/auth/logout"): lambda w, t, o, r, p: {"method": "POST", "url": "/api/v1/auth/logout"},
    ("get", "/api/v1/auth/me"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/auth/me"},
    ("post", "/api/v1/tokens"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/tokens",
        "json": {"name": "x", "scopes": ["read"]},
    },
    ("get", "/api/v1/tokens"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/tokens"},
    ("delete", "/api/v1/tokens/{token_id}"): lambda w, t, o, r, p: {
        "method": "DELETE",
        "url": f"/api/v1/tokens/{fresh_token(w, o, r)}",
    },
    ("get", "/api/v1/incidents"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/incidents"},
    ("post", "/api/v1/incidents"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/incidents",
        "json": {"event_type": "bombing", "tlp": t},
    },
    ("get", "/api/v1/incidents/{incident_id}"): _incident_call(method="GET"),
    ("patch", "/api/v1/incidents/{incident_id}"): _incident_call(
        "", {"killed_total": 3, "reason": "police figure"}, method="PATCH"
    ),
    ("post", "/api/v1/incidents/{incident_id}/verify"): _incident_call("/verify", {"reason": "confirmed"}),
    ("post", "/api/v1/incidents/{incident_id}/retract"): _incident_call("/retract", {"reason": "hoax"}),
    ("post", "/api/v1/incidents/{incident_id}/merge"): _incident_call("/merge", {"reason": "same"}, need_other=True),
    ("post", "/api/v1/incidents/{incident_id}/split"): _incident_call("/split", {"reason": "two"}, need_mentions=True),
    ("post", "/api/v1/incidents/{incident_id}/shares"): lambda w, t, o, r, p: {
        **_incident_call("/shares")(w, t, o, r, p),
        "json": {"user_id": w.users[("B", "staff")]},
    },
    ("get", "/api/v1/incidents/{incident_id}/history"): _incident_call("/history", method="GET"),
    ("post", "/api/v1/documents"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/documents",
        "data": {"tlp": t},
        "files": {"file": ("r.txt", TEXT + f" {next(_n)}".encode(), "text/plain")},
    },
    ("post", "/api/v1/documents/url"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/documents/url",
        "json": {"url": f"{p}/{next(_n)}", "tlp": t},
    },
    ("get", "/api/v1/documents/{document_id}"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/api/v1/documents/{fresh_document(w, t)}",
    },
    ("get", "/api/v1/actors"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/actors"},
    ("get", "/api/v1/gazetteer"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/gazetteer?q=Quetta"},
    ("get", "/api/v1/audit"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/audit"},
    ("get", "/api/v1/health"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/health"},
    ("get", "/api/v1/risk/at"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": "/api/v1/risk/at?place=Quetta&date=2025-06-01",
    },
    ("get", "/api/v1/risk/route"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": "/api/v1/risk/route?from=Karachi&to=Quetta&date=2025-06-01",
    },
    ("get", "/api/v1/sites"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/sites"},
    ("post", "/api/v1/sites"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/sites",
        "json": {"name": "camp", "lat": 24.8, "lon": 67.3},
    },
    ("get", "/api/v1/people"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/people"},
    ("post", "/api/v1/people"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/people",
        "json": {"name": "Li Wei", "nationality": "Chinese"},
    },
    ("get", "/api/v1/people/{person_id}/export"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/api/v1/people/{fresh_person(w, o)}/export",
    },
    ("delete", "/api/v1/people/{person_id}"): lambda w, t, o, r, p: {
        "method": "DELETE",
        "url": f"/api/v1/people/{fresh_person(w, o)}",
    },
    ("get", "/api/v1/movements"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/movements"},
    ("post", "/api/v1/movements"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/movements",
        "json": {
            "kind": "road",
            "origin": "Karachi",
            "destination": "Port Qasim",
            "depart": "2024-10-10T09:00:00+05:00",
            "people": [fresh_person(w, o)],
        },
    },
    ("post", "/api/v1/movements/{movement_id}/status/{status}"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": f"/api/v1/movements/{fresh_movement(w, o)}/status/submitted",
    },
    ("post", "/api/v1/movements/{movement_id}/check-in"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": f"/api/v1/movements/{fresh_movement(w, o, under_way=True)}/check-in",
    },
    ("get", "/api/v1/alerts"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/alerts"},
    ("post", "/api/v1/alerts/{alert_id}/{action}"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": f"/api/v1/alerts/{fresh_alert(w, o)}/ack",
    },
    ("get", "/taxii2/"): lambda w, t, o, r, p: {"method": "GET", "url": "/taxii2/"},
    ("get", "/taxii2/api/"): lambda w, t, o, r, p: {"method": "GET", "url": "/taxii2/api/"},
    ("get", "/taxii2/api/collections/"): lambda w, t, o, r, p: {"method": "GET", "url": "/taxii2/api/collections/"},
    ("get", "/taxii2/api/collections/{collection_id}/"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/taxii2/api/collections/{TAXII_COLLECTION}/",
    },
    ("get", "/taxii2/api/collections/{collection_id}/objects/"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/taxii2/api/collections/{TAXII_COLLECTION}/objects/",
    },
    ("post", "/taxii2/api/collections/{collection_id}/objects/"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": f"/taxii2/api/collections/{TAXII_COLLECTION}/objects/",
        "json": {"objects": []},
    },
    ("get", "/taxii2/api/collections/{collection_id}/manifest/"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/taxii2/api/collections/{TAXII_COLLECTION}/manifest/",
    },
    ("get", "/taxii2/api/collections/{collection_id}/objects/{object_id}/versions/"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/taxii2/api/collections/{TAXII_COLLECTION}/objects/incident--{fresh_stix_incident(w)}/versions/",
    },
    ("get", "/taxii2/api/collections/{collection_id}/objects/{object_id}/"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/taxii2/api/collections/{TAXII_COLLECTION}/objects/incident--{fresh_stix_incident(w)}/",
    },
    ("get", "/api/v1/groups"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/groups"},
    ("post", "/api/v1/groups"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": "/api/v1/groups",
        "json": {"name": f"liaison {next(_n)}"},
    },
    ("post", "/api/v1/groups/{group_id}/members"): lambda w, t, o, r, p: {
        "method": "POST",
        "url": f"/api/v1/groups/{fresh_group(w, o)}/members",
        "json": {"org_id": w.orgs["B" if o == "A" else "A"]},
    },
    ("delete", "/api/v1/groups/{group_id}/members/{org_id}"): lambda w, t, o, r, p: {
        "method": "DELETE",
        "url": f"/api/v1/groups/{fresh_group(w, o, with_other=True)}/members/{w.orgs['B' if o == 'A' else 'A']}",
    },
    ("get", "/taxii2/api/status/{status_id}/"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": f"/taxii2/api/status/{fresh_status(w, o)}/",
    },
    ("get", "/api/v1/risk/area"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": "/api/v1/risk/area?name=Kech&date=2025-06-01",
    },
    ("get", "/api/v1/brief"): lambda w, t, o, r, p: {"method": "GET", "url": "/api/v1/brief?date=2024-11-10"},
    ("get", "/api/v1/risk/cells"): lambda w, t, o, r, p: {
        "method": "GET",
        "url": "/api/v1/risk/cells?date=2025-06-01&min_rating=4&bbox=60,23,78,37",
    },
}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    app = create_app(Store("sqlite://"))  # the route table only; never queried
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            ops.append((method, path, op))
    return ops


def test_every_route_declares_access_and_has_a_builder() -> None:
    missing_rule = [f"{m.upper()} {p}" for m, p, op in operations() if "x-corridor-access" not in op]
    missing_builder = [f"{m.upper()} {p}" for m, p, _ in operations() if (m, p) not in BUILDERS]
    assert missing_rule == [], f"routes without an access rule: {missing_rule}"
    assert missing_builder == [], f"routes the matrix does not exercise: {missing_builder}"


def visible(tlp: str, org: str) -> bool:
    return tlp in ("CLEAR", "GREEN") or (tlp in ("AMBER", "AMBER+STRICT") and org == "A")


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in operations()], ids=lambda x: str(x))
def test_matrix(method: str, path: str, store: Store, page: str) -> None:
    rule = dict(operations_map()[(method, path)])
    w = build_world(store, allow_private_fetch=True)
    wrong: list[str] = []
    tlps = TLP_LEVELS if rule.get("marked") or (method, path) in CREATES_MARKED else ("GREEN",)
    for org in ("A", "B"):
        for role in ROLES:
            for tlp in tlps:
                req = BUILDERS[(method, path)](w, tlp, org, role, page)
                headers = {**req.pop("headers", {})}
                if not rule["public"]:
                    headers.update(w.auth(org, role))
                r = w.client.request(headers=headers, **req)
                allowed = rule["public"] or role in rule["roles"]
                if rule.get("marked"):
                    allowed = allowed and visible(tlp, org)
                if rule["writes"]:
                    allowed = allowed and role in ("admin", "analyst") and org == "A"
                ok = 200 <= r.status_code < 300
                if ok != allowed or r.status_code >= 500:
                    wrong.append(
                        f"{org}/{role}/{tlp}: {r.status_code} (expected {'success' if allowed else 'refusal'})"
                    )
                elif not ok and r.status_code not in (401, 403, 404, 429):
                    wrong.append(f"{org}/{role}/{tlp}: refused with {r.status_code}")
                if (method, path) == ("get", "/api/v1/incidents") and ok:
                    seen = {i["id"]: i["tlp"] for i in r.json()["items"]}
                    leaked = [t for t in seen.values() if not visible(t, org)]
                    if leaked:
                        wrong.append(f"{org}/{role}: list leaked {leaked}")
    assert wrong == [], "\n".join(wrong)


CREATES_MARKED = {("post", "/api/v1/incidents"), ("post", "/api/v1/documents"), ("post", "/api/v1/documents/url")}


def operations_map() -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op["x-corridor-access"] for m, p, op in operations()}
