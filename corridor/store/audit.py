"""The audit log: append-only, hash-chained. Each entry's hash covers its content and the previous hash, so
changing or deleting an entry breaks the chain from there on (`corridor audit verify` finds where)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.store.tables import AuditEntry
from corridor.store.visibility import Viewer

GENESIS = "0" * 64


def _hash(
    prev: str,
    at: str,
    user_id: str | None,
    org_id: str | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    request_id: str | None,
    detail: dict[str, Any],
) -> str:
    body = json.dumps(
        [prev, at, user_id, org_id, action, object_type, object_id, request_id, detail],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    viewer: Viewer | None,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so the entry and the change commit together)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    last = session.scalar(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    prev = last.hash if last else GENESIS
    at = now()
    detail = detail or {}
    uid = viewer.user_id if viewer else None
    oid = viewer.org_id if viewer else None
    entry = AuditEntry(
        at=at,
        user_id=uid,
        org_id=oid,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request_id=request_id,
        detail=detail,
        prev_hash=prev,
        hash=_hash(prev, at.isoformat(), uid, oid, action, object_type, object_id, request_id, detail),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class Verification:
    entries: int
    ok: bool
    first_bad: int | None = None
    reason: str | None = None


def verify(session: Session) -> Verification:
    prev = GENESIS
    n = 0
    for e in session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)):
        n += 1
        if e.prev_hash != prev:
            return Verification(n, False, e.seq, "entry does not follow the previous one (deleted or reordered)")
        want = _hash(
            prev, e.at.isoformat(), e.user_id, e.org_id, e.action, e.object_type, e.object_id, e.request_id, e.detail
        )
        if want != e.hash:
            return Verification(n, False, e.seq, "entry content changed after it was written")
        prev = e.hash
    return Verification(n, True)
