"""Sync with another TAXII 2.1 server (another corridor, or any TAXII server): pull its collection into this
store, push this store's shareable incidents to it. Re-syncing is idempotent (stable STIX ids); an incident
edited on one side arrives as a new version on the other."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy.orm import Session

from corridor.share.stix import export_bundle, import_bundle
from corridor.store.visibility import Viewer


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


@dataclass
class Remote:
    url: str  # the TAXII discovery URL, e.g. http://127.0.0.1:8765/taxii2/
    token: str | None = None
    user: str | None = None
    password: str | None = None
    collection: str | None = None  # a title or id; default: the first readable/writable collection

    def _collection(self, write: bool) -> Any:
        from taxii2client.v21 import Server

        auth = _Bearer(self.token) if self.token else None
        server = Server(self.url, user=self.user, password=self.password, auth=auth)
        for root in server.api_roots:
            for c in root.collections:
                if self.collection in (None, c.id, c.title) and (c.can_write if write else c.can_read):
                    return c
        raise ValueError(
            f"{self.url}: no {'writable' if write else 'readable'} collection"
            + (f" {self.collection!r}" if self.collection else "")
        )


def pull(session: Session, viewer: Viewer, remote: Remote, page: int = 100) -> int:
    """Fetch every object of the remote collection and import the incidents (all or nothing)."""
    from taxii2client.v21 import as_pages

    coll = remote._collection(write=False)
    objects: list[dict[str, Any]] = []
    for envelope in as_pages(coll.get_objects, per_request=page):
        objects.extend(envelope.get("objects", []))
    if not objects:
        return 0
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    return len(import_bundle(session, viewer, json.dumps(bundle)))


def push(session: Session, viewer: Viewer, remote: Remote) -> dict[str, Any]:
    """Send this organisation's shareable incidents to the remote collection; returns the TAXII status."""
    bundle = export_bundle(session, viewer)
    coll = remote._collection(write=True)
    # the extension-definition travels in every bundle file; some TAXII servers (medallion) read its "version"
    # as a timestamp and fail, so pushes leave it out: objects reference it by its stable id
    objects = [o for o in bundle["objects"] if o["type"] != "extension-definition"]
    status = coll.add_objects({"objects": objects})
    return {"status": status.status, "success_count": status.success_count, "failure_count": status.failure_count}
