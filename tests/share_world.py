"""Helpers for the sharing tests: valid STIX objects of the types other producers send, and a world of three
organisations (an owner, a member of its sharing group, an outsider) with users and tokens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from corridor.identity.service import add_org, add_user, create_token
from corridor.share.groups import add_member, create_group
from corridor.share.stix import TLP_IDS
from corridor.store.db import Store
from corridor.store.visibility import Viewer
from corridor.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
T0 = "2025-03-01T10:00:00.000Z"
FOREIGN_TYPES = ("indicator", "malware", "attack-pattern", "campaign", "sighting", "x-acme-widget")


def stix_object(kind: str, tlp: str | None = "GREEN", *, modified: str = T0, **extra: Any) -> dict[str, Any]:
    """A valid STIX 2.1 object of `kind` (the foreign types above, or location/relationship/identity)."""
    o: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uuid.uuid4()}",
        "created": T0,
        "modified": modified,
    }
    if tlp is not None:
        o["object_marking_refs"] = [TLP_IDS[tlp]]
    o.update(
        {
            "indicator": {
                "name": "C2 address",
                "pattern": "[ipv4-addr:value = '198.51.100.7']",
                "pattern_type": "stix",
                "valid_from": T0,
            },
            "malware": {"name": "SilentCorridor", "is_family": True},
            "attack-pattern": {"name": "Vehicle-borne IED"},
            "campaign": {"name": "Attacks on convoys"},
            "sighting": {"sighting_of_ref": f"indicator--{uuid.uuid4()}", "count": 2},
            "x-acme-widget": {"name": "a producer's own object type", "acme_score": 7},
            "location": {"latitude": 25.12, "longitude": 62.33, "country": "PK"},
            "identity": {"name": "a producer", "identity_class": "organization"},
        }.get(kind, {})
    )
    o.update(extra)
    return o


def envelope(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"objects": list(objects)}


@dataclass
class Orgs:
    """Three organisations: OWNER (owns group G), MEMBER (in G), OUTSIDER; a user of each role asked for."""

    store: Store
    client: TestClient
    org: dict[str, str] = field(default_factory=dict)  # OWNER / MEMBER / OUTSIDER -> id
    user: dict[str, str] = field(default_factory=dict)  # name -> user id
    token: dict[str, str] = field(default_factory=dict)  # name -> bearer token
    group: str = ""

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token[who]}"}

    def viewer(self, who: str) -> Viewer:
        org = {"owner": "OWNER", "named": "MEMBER", "other": "MEMBER", "outsider": "OUTSIDER"}
        role = {"other": "staff"}.get(who, "analyst")
        return Viewer(user_id=self.user[who], org_id=self.org[org[who]], role=role)

    def admin(self, key: str) -> Viewer:
        return Viewer(user_id=None, org_id=self.org[key], role="admin")


def build_orgs(store: Store) -> Orgs:
    """OWNER's analyst 'owner', MEMBER's analyst 'named' (the user RED records are shared with) and staff
    'other', OUTSIDER's analyst 'outsider', admins 'owner.admin' and 'member.admin'; group 'CPEC security
    liaison' of OWNER with MEMBER in it."""
    w = Orgs(store=store, client=TestClient(create_app(store)))
    users = {"owner": ("OWNER", "analyst"), "named": ("MEMBER", "analyst"), "other": ("MEMBER", "staff")}
    users |= {
        "outsider": ("OUTSIDER", "analyst"),
        "owner.admin": ("OWNER", "admin"),
        "member.admin": ("MEMBER", "admin"),
    }
    with store.transaction() as s:
        orgs = {}
        for key, name, kind in (
            ("OWNER", "Liaison Cell", "agency"),
            ("MEMBER", "Harbour Works Ltd", "company"),
            ("OUTSIDER", "Embassy", "embassy"),
        ):
            orgs[key] = add_org(s, name, kind)
            w.org[key] = orgs[key].id
        for who, (key, role) in users.items():
            u = add_user(s, orgs[key], who, role, None)
            w.user[who] = u.id
            w.token[who] = create_token(s, u, "t", ["read", "write", "admin"], timedelta(days=1)).token
        group = create_group(s, w.admin("OWNER"), "CPEC security liaison")
        add_member(s, w.admin("OWNER"), group.id, w.org["MEMBER"])
        w.group = group.id
    return w


def serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`corridor`'s app under uvicorn on a free loopback port, over the store at `url`; (process, base URL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "corridor.web.app:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env={**os.environ, "CORRIDOR_DATABASE_URL": url},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("uvicorn did not start")
