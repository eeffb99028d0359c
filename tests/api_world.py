"""A small world for API tests: two organisations with a user of every role, tokens, and incidents of every
TLP owned by the first organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from corridor.identity.service import add_org, add_user, create_token
from corridor.store.db import Store
from corridor.store.tables import Incident
from corridor.store.visibility import ROLES, TLP_LEVELS
from corridor.web.app import create_app

PASSWORD = "correct horse battery"


@dataclass
class World:
    store: Store
    client: TestClient
    orgs: dict[str, str] = field(default_factory=dict)  # "A" / "B" -> id
    users: dict[tuple[str, str], str] = field(default_factory=dict)  # (org, role) -> user id
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)  # (org, role) -> bearer token
    incidents: dict[str, str] = field(default_factory=dict)  # TLP -> incident id (owned by A)

    def auth(self, org: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(org, role)]}"}

    def get(self, path: str, org: str = "A", role: str = "analyst", **kw: Any) -> Any:
        return self.client.get(path, headers={**self.auth(org, role), **kw.pop("headers", {})}, **kw)


def quetta_incident(tlp: str, owner_org_id: str, day: date, **fields: Any) -> Incident:
    """A draft bombing in Quetta owned by one organisation, at the given TLP (for authorisation tests)."""
    stamp = datetime(2024, 11, 10, tzinfo=UTC)
    return Incident(
        event_type="bombing",
        date=day,
        date_precision="day",
        city="Quetta",
        place_name="Quetta",
        province="Balochistan",
        country="Pakistan",
        lat=30.19,
        lon=67.0,
        geo_precision="city",
        status="draft",
        version=1,
        tlp=tlp,
        owner_org_id=owner_org_id,
        provenance={},
        locked_fields=[],
        created_at=stamp,
        updated_at=stamp,
        first_seen=stamp,
        last_seen=stamp,
        confidence=0.8,
        **fields,
    )


def scopes_for(role: str) -> list[str]:
    return {"partner-readonly": ["read", "admin"]}.get(role, ["read", "write", "admin"])


def build_world(store: Store, **app_kw: Any) -> World:
    w = World(store=store, client=TestClient(create_app(store, **app_kw)))
    with store.transaction() as s:
        for key, name, kind in (("A", "Liaison Cell", "agency"), ("B", "Harbour Works Ltd", "company")):
            org = add_org(s, name, kind)
            w.orgs[key] = org.id
            for role in ROLES:
                u = add_user(s, org, f"{role}.{key.lower()}", role, PASSWORD)
                w.users[(key, role)] = u.id
                w.tokens[(key, role)] = create_token(s, u, "tests", scopes_for(role), timedelta(days=30)).token
        for i, tlp in enumerate(TLP_LEVELS):
            inc = quetta_incident(tlp, w.orgs["A"], date(2024, 11, 1 + i), killed_total=i + 1)
            s.add(inc)
            s.flush()
            w.incidents[tlp] = inc.id
    return w
