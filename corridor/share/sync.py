"""Sync with another TAXII 2.1 server (another corridor, or any TAXII server): pull its collection into this
store, push this store's shareable objects to it. Re-syncing is idempotent (stable STIX ids, versions); an
incident edited on one side arrives as a new version on the other; objects that are not incidents are kept as
foreign objects on the receiving side.

`pull_since` and `push_since` are incremental: a pull asks for objects added after a cursor (the remote's
X-TAXII-Date-Added-Last of the previous pull), a push sends objects whose local date_added is after the previous
push. Both step back by an overlap (default 60 s), because a transaction can commit after a later one on a
server with concurrent writers (PostgreSQL); re-receiving an object is harmless. `share/schedule.py` runs them
periodically and keeps the cursors in the store.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy.orm import Session

from corridor.share.importer import Imported, import_objects
from corridor.share.stix import collection_entries, latest_versions, parse_ts, ts
from corridor.store.visibility import Viewer

MAX_PULL_BYTES = 256 * 1024 * 1024  # a whole pull is imported at once, so an incident and its objects stay together
MAX_POST_BYTES = 9 * 1024 * 1024  # under the 10 MB a corridor server (and medallion's default) accepts per POST
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class SyncError(RuntimeError):
    """The remote refused what was pushed, or answered something unusable."""


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
    timeout: float = 60.0

    def _collection(self, write: bool) -> Any:
        from taxii2client.v21 import Server

        auth = _Bearer(self.token) if self.token else None
        server = Server(self.url, user=self.user, password=self.password, auth=auth)
        server._conn.session.request = _with_timeout(server._conn.session.request, self.timeout)
        for root in server.api_roots:
            for c in root.collections:
                if self.collection in (None, c.id, c.title) and (c.can_write if write else c.can_read):
                    return c
        raise ValueError(
            f"{self.url}: no {'writable' if write else 'readable'} collection"
            + (f" {self.collection!r}" if self.collection else "")
        )


def _with_timeout(request: Any, timeout: float) -> Any:
    def call(*args: Any, **kw: Any) -> Any:
        kw.setdefault("timeout", timeout)
        return request(*args, **kw)

    return call


@dataclass
class Pulled:
    objects: int  # objects received
    imported: Imported
    cursor: str | None  # the remote's date_added of the newest object received (None: nothing received)


def fetch(remote: Remote, added_after: str | None = None, page: int = 500) -> tuple[list[dict[str, Any]], str | None]:
    """Every object of the remote collection added after `added_after` (all of them without it), and the newest
    date_added the remote reported (X-TAXII-Date-Added-Last)."""
    from taxii2client.v21 import as_pages

    coll = remote._collection(write=False)
    seen: list[str] = []

    def note(response: requests.Response, *args: Any, **kw: Any) -> None:
        value = response.headers.get("X-TAXII-Date-Added-Last")
        if value:
            seen.append(value)

    hooks = coll._conn.session.hooks["response"]
    hooks.append(note)
    objects: list[dict[str, Any]] = []
    try:
        filters = {"added_after": added_after} if added_after else {}
        for envelope in as_pages(coll.get_objects, per_request=page, **filters):
            objects.extend(envelope.get("objects", []))
    finally:
        hooks.remove(note)
    return objects, (max(seen, key=_sort_key) if seen else None)


def _sort_key(value: str) -> datetime:
    try:
        return parse_ts(value)
    except ValueError:
        return EARLIEST


def step_back(cursor: str | None, overlap: float) -> str | None:
    """The added_after to ask with: the cursor less the overlap (a cursor that is not a timestamp is sent as it
    is: the remote gave it)."""
    if cursor is None or overlap <= 0:
        return cursor
    try:
        return ts(parse_ts(cursor) - timedelta(seconds=overlap))
    except ValueError:
        return cursor


def pull_since(
    session: Session,
    viewer: Viewer,
    remote: Remote,
    added_after: str | None = None,
    group_id: str | None = None,
    page: int = 500,
) -> Pulled:
    """Fetch the objects of the remote collection added after `added_after` and import them all at once (so an
    incident and its relationships arrive together); with group_id share them with that local sharing group."""
    objects, cursor = fetch(remote, added_after, page)
    if not objects:
        return Pulled(0, Imported(), None)
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    imported = import_objects(session, viewer, json.dumps(bundle), MAX_PULL_BYTES, group_id)
    return Pulled(len(objects), imported, cursor)


def pull(session: Session, viewer: Viewer, remote: Remote, page: int = 100) -> int:
    """Fetch every object of the remote collection and import it (all or nothing); returns the incidents."""
    return len(pull_since(session, viewer, remote, None, None, page).imported.incidents)


@dataclass
class Pushed:
    sent: int
    status: dict[str, Any]
    cursor: str | None  # the newest local date_added among what may be pushed (sent or not)


def push_since(
    session: Session, viewer: Viewer, remote: Remote, since: str | None = None, group_id: str | None = None
) -> Pushed:
    """Send the objects the organisation may pass on (a local sharing group's collection with group_id) whose
    date_added is after `since`, in POSTs under 9 MB; raises SyncError when the remote refuses any of them."""
    entries = latest_versions(collection_entries(session, viewer, group_id))
    after = parse_ts(since) if since else None
    # the extension-definition travels in every bundle file; some TAXII servers (medallion) read its "version"
    # as a timestamp and fail, so pushes leave it out: objects reference it by its stable id
    objects = [o for added, o in entries if (after is None or added > after) and o["type"] != "extension-definition"]
    cursor = ts(max(added for added, _ in entries)) if entries else since
    status: dict[str, Any] = {"status": "complete", "success_count": 0, "failure_count": 0}
    if not objects:
        return Pushed(0, status, cursor)
    coll = remote._collection(write=True)
    for batch in _batches(objects):
        got = coll.add_objects({"objects": batch})
        status["status"] = got.status
        status["success_count"] += got.success_count
        status["failure_count"] += got.failure_count
        if got.failure_count:
            reasons = {f.get("message", "") for f in getattr(got, "failures", None) or []}
            raise SyncError(f"the remote refused {got.failure_count} objects: {'; '.join(sorted(reasons))[:500]}")
    return Pushed(len(objects), status, cursor)


def _batches(objects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for o in objects:
        n = len(json.dumps(o, ensure_ascii=False).encode())
        if out[-1] and size + n > MAX_POST_BYTES:
            out.append([])
            size = 0
        out[-1].append(o)
        size += n
    return out


def push(session: Session, viewer: Viewer, remote: Remote) -> dict[str, Any]:
    """Send everything this organisation may pass on (what `export_bundle` holds) to the remote collection;
    returns the TAXII status."""
    try:
        return push_since(session, viewer, remote).status
    except SyncError as exc:
        return {"status": "complete", "success_count": 0, "failure_count": 1, "error": str(exc)}
