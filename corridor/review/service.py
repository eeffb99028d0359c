"""The review workflow over incidents.

Automatic incidents start as `draft`; analysts of the owning organisation verify, edit (every edit keeps the
previous value, who, when and why), retract, merge and split. Writes use optimistic concurrency: the caller
names the version it read, and a write against a newer version fails (HTTP 412), so two analysts never
overwrite each other silently. Fields an analyst set are locked against later automatic merges.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.ingest.merge import canonical
from corridor.store import audit
from corridor.store.queries import get_incident
from corridor.store.tables import Incident, IncidentEdit, Organisation, RecordShare, User
from corridor.store.visibility import Viewer, may_write

PLACE_FIELDS = ("place_name", "city", "district", "province", "country", "lat", "lon", "geo_precision")
SCALARS = (
    "event_type",
    "date",
    "date_precision",
    "killed_total",
    "injured_total",
    "killed_foreign",
    "injured_foreign",
    "foreign_nationality",
    "perpetrator",
    "claimed",
    "tlp",
)
TRANSITIONS = {"draft": {"verified", "retracted"}, "verified": {"retracted", "draft"}, "retracted": {"draft"}}


class ReviewError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _load(session: Session, viewer: Viewer, incident_id: str, write: bool = True) -> Incident:
    inc = get_incident(session, viewer, incident_id)
    if inc is None or (inc.status == "merged" and write):
        raise ReviewError(404, f"no incident {incident_id!r}")
    if write and not may_write(viewer, inc.owner_org_id):
        raise ReviewError(403, "only editors of the owning organisation may change this incident")
    return inc


def _bump(session: Session, inc: Incident, expected: int | None) -> None:
    """Claim the next version atomically; a concurrent writer that got there first makes this fail."""
    if expected is None:
        raise ReviewError(428, "send If-Match with the incident's ETag")
    res = session.execute(
        sa.update(Incident)
        .where(Incident.id == inc.id, Incident.version == expected)
        .values(version=expected + 1, updated_at=now(), changed_at=now())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ReviewError(412, f"incident changed since version {expected}; reload and retry")
    session.refresh(inc)


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def _edit(
    session: Session,
    inc: Incident,
    viewer: Viewer,
    action: str,
    changes: dict[str, Any],
    reason: str | None,
    request_id: str | None,
) -> None:
    session.add(
        IncidentEdit(
            incident_id=inc.id,
            version=inc.version,
            user_id=viewer.user_id,
            at=now(),
            action=action,
            changes=changes,
            reason=reason,
        )
    )
    audit.record(
        session,
        viewer,
        f"incident.{action}",
        "incident",
        inc.id,
        request_id,
        {"version": inc.version, "fields": sorted(changes), "reason": reason},
    )


def create(session: Session, viewer: Viewer, data: dict[str, Any], request_id: str | None = None) -> Incident:
    if not may_write(viewer, viewer.org_id):
        raise ReviewError(403, "only analysts and admins create incidents")
    stamp = now()
    place = data.pop("place", None) or {}
    reason = data.pop("reason", None)
    inc = Incident(
        created_at=stamp,
        updated_at=stamp,
        first_seen=stamp,
        last_seen=stamp,
        status="draft",
        version=1,
        owner_org_id=viewer.org_id,
        provenance={"created_by": viewer.user_id},
        confidence=1.0,
        locked_fields=sorted({*data, *("place",)} if place else set(data)),
        **data,
    )
    _set_place(inc, place)
    session.add(inc)
    session.flush()
    if inc.tlp == "RED" and viewer.user_id:
        session.add(RecordShare(object_type="incident", object_id=inc.id, user_id=viewer.user_id, created_at=stamp))
    _edit(session, inc, viewer, "create", {k: [None, _jsonable(getattr(inc, k))] for k in data}, reason, request_id)
    return inc


def _set_place(inc: Incident, place: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    mapping = {"name": "place_name", "precision": "geo_precision"}
    for k, v in place.items():
        col = mapping.get(k, k)
        if getattr(inc, col) != v:
            changes[col] = [getattr(inc, col), v]
            setattr(inc, col, v)
    return changes


def edit(
    session: Session,
    viewer: Viewer,
    incident_id: str,
    expected: int | None,
    data: dict[str, Any],
    request_id: str | None = None,
) -> Incident:
    inc = _load(session, viewer, incident_id)
    reason = data.pop("reason")
    place = data.pop("place", None)
    _bump(session, inc, expected)
    changes: dict[str, list[Any]] = {}
    for k, v in data.items():
        if k in SCALARS and getattr(inc, k) != v:
            changes[k] = [_jsonable(getattr(inc, k)), _jsonable(v)]
            setattr(inc, k, v)
    if place:
        changes.update({k: [_jsonable(a), _jsonable(b)] for k, (a, b) in _set_place(inc, place).items()})
    locked = set(inc.locked_fields or [])
    locked |= {("place" if k in PLACE_FIELDS else k) for k in changes}
    inc.locked_fields = sorted(locked)
    _edit(session, inc, viewer, "edit", changes, reason, request_id)
    return inc


def set_status(
    session: Session,
    viewer: Viewer,
    incident_id: str,
    expected: int | None,
    status: str,
    reason: str,
    request_id: str | None = None,
) -> Incident:
    inc = _load(session, viewer, incident_id)
    if status not in TRANSITIONS.get(inc.status, set()):
        raise ReviewError(409, f"an incident in status {inc.status!r} cannot become {status!r}")
    _bump(session, inc, expected)
    old = inc.status
    inc.status = status
    if status == "verified":
        from corridor.ops.service import raise_alerts

        raise_alerts(session, inc)
    _edit(
        session,
        inc,
        viewer,
        {"verified": "verify", "retracted": "retract", "draft": "reopen"}[status],
        {"status": [old, status]},
        reason,
        request_id,
    )
    return inc


def merge(
    session: Session,
    viewer: Viewer,
    incident_id: str,
    expected: int | None,
    other_id: str,
    reason: str,
    request_id: str | None = None,
) -> Incident:
    inc = _load(session, viewer, incident_id)
    other = _load(session, viewer, other_id)
    if other.id == inc.id:
        raise ReviewError(409, "an incident cannot be merged into itself")
    _bump(session, inc, expected)
    moved = [m.id for m in other.mentions]
    for m in list(other.mentions):
        m.incident_id = inc.id
    other.status, other.merged_into = "merged", inc.id
    other.version += 1
    session.flush()
    session.refresh(inc)
    _recanonical(inc)
    _edit(session, inc, viewer, "merge", {"absorbed": [None, other.id], "mentions": [None, moved]}, reason, request_id)
    return inc


def split(
    session: Session,
    viewer: Viewer,
    incident_id: str,
    expected: int | None,
    mention_ids: list[str],
    reason: str,
    request_id: str | None = None,
) -> Incident:
    inc = _load(session, viewer, incident_id)
    own = {m.id: m for m in inc.mentions}
    missing = [i for i in mention_ids if i not in own]
    if missing:
        raise ReviewError(409, f"mentions not in this incident: {', '.join(missing)}")
    if len(mention_ids) == len(own):
        raise ReviewError(409, "a split must leave at least one mention behind")
    _bump(session, inc, expected)
    stamp = now()
    new = Incident(
        created_at=stamp,
        updated_at=stamp,
        first_seen=stamp,
        last_seen=stamp,
        status="draft",
        version=1,
        owner_org_id=inc.owner_org_id,
        tlp=inc.tlp,
        provenance={},
        locked_fields=[],
        event_type=inc.event_type,
    )
    session.add(new)
    session.flush()
    for i in mention_ids:
        own[i].incident_id = new.id
    session.flush()
    session.refresh(inc)
    session.refresh(new)
    _recanonical(inc)
    _recanonical(new)
    _edit(
        session,
        inc,
        viewer,
        "split",
        {"split_off": [None, new.id], "mentions": [None, mention_ids]},
        reason,
        request_id,
    )
    return new


def _recanonical(inc: Incident) -> None:
    if not inc.mentions:
        return
    locked = set(inc.locked_fields or [])
    for k, v in canonical(list(inc.mentions)).items():
        if k in locked or (k in PLACE_FIELDS and "place" in locked):
            continue
        setattr(inc, k, v)


def share(
    session: Session,
    viewer: Viewer,
    incident_id: str,
    org_id: str | None,
    user_id: str | None,
    request_id: str | None = None,
    group_id: str | None = None,
) -> RecordShare:
    """Share an incident with an organisation, a named user or a sharing group (exactly one of them)."""
    inc = _load(session, viewer, incident_id)
    if sum(x is not None for x in (org_id, user_id, group_id)) != 1:
        raise ReviewError(422, "give exactly one of org_id, user_id and group_id")
    if group_id is not None:
        from corridor.share.groups import GroupError, share_with_group

        try:
            return share_with_group(session, viewer, "incident", inc.id, inc.tlp, group_id, request_id)
        except GroupError as exc:
            raise ReviewError(exc.status, str(exc)) from None
    if org_id and session.get(Organisation, org_id) is None:
        raise ReviewError(404, f"no organisation {org_id!r}")
    if user_id and session.get(User, user_id) is None:
        raise ReviewError(404, f"no user {user_id!r}")
    if inc.tlp == "AMBER+STRICT" and org_id and org_id != inc.owner_org_id:
        raise ReviewError(409, "AMBER+STRICT records stay inside their organisation")
    existing = session.scalar(
        sa.select(RecordShare).where(
            RecordShare.object_type == "incident",
            RecordShare.object_id == inc.id,
            RecordShare.org_id.is_(org_id) if org_id is None else RecordShare.org_id == org_id,
            RecordShare.user_id.is_(user_id) if user_id is None else RecordShare.user_id == user_id,
            RecordShare.group_id.is_(None),
        )
    )
    if existing:
        return existing
    rec = RecordShare(object_type="incident", object_id=inc.id, org_id=org_id, user_id=user_id, created_at=now())
    session.add(rec)
    session.flush()
    from corridor.share.stix import records_changed

    records_changed(session, [("incident", inc.id)])
    audit.record(
        session, viewer, "incident.share", "incident", inc.id, request_id, {"org_id": org_id, "user_id": user_id}
    )
    return rec
