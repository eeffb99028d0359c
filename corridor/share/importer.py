"""STIX 2.1 import: a bundle (a file, a TAXII envelope, a pull) into the store, all or nothing.

Incidents become corridor incidents owned by the importing organisation (their place and perpetrator from the
`located-at` and `attributed-to` relationships); every other object that corridor would not give back itself
from those incidents is kept as a foreign object (`share/foreign.py`), so nothing a producer sent is lost.
TLPs come from `share/markings.py`; AMBER+STRICT and RED objects are refused (they may not leave their
organisation, so receiving them means something went wrong upstream).

Re-importing is idempotent: an incident is changed only by a newer version (a later `modified`), an object
version already kept is left alone, and neither then gets a new date_added, so two servers syncing both ways do
not echo each other's objects forever. An incident another organisation of this server owns (the same STIX id)
is never overwritten or taken over: it is skipped and reported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.share import foreign, markings
from corridor.share.stix import (
    EXT,
    EXT_FIELDS,
    INSTANCE,
    MAX_BYTES,
    NS,
    SHAREABLE,
    TLP_IDS,
    StixError,
    incident_objects,
    parse_bundle,
    parse_ts,
    sid,
    to_ms,
)
from corridor.store import audit
from corridor.store.db import serialize
from corridor.store.tables import Actor, Document, Incident, IncidentEdit, Mention
from corridor.store.visibility import Viewer

INTS = {"killed_total", "injured_total", "killed_foreign", "injured_foreign"}
TEXT_LIMITS = {
    "event_type": 30,
    "date_precision": 10,
    "foreign_nationality": 60,
    "perpetrator": 40,
    "status": 12,
    "geo_precision": 10,
    "place_name": 2000,
    "district": 120,
    "city": 120,
    "province": 60,
    "country": 80,
}


@dataclass
class Imported:
    incidents: list[str] = field(default_factory=list)  # record ids: created, updated or already current
    foreign: list[str] = field(default_factory=list)  # foreign_stix_objects row ids: stored or already kept
    skipped: list[str] = field(default_factory=list)  # STIX ids of incidents another organisation owns here
    known: list[str] = field(default_factory=list)  # STIX ids of objects another organisation's copy holds
    changed: int = 0  # records created or changed by this import


def import_objects(
    session: Session,
    viewer: Viewer,
    data: bytes | str,
    max_bytes: int = MAX_BYTES,
    group_id: str | None = None,
    request_id: str | None = None,
) -> Imported:
    """Import a bundle for the viewer's organisation; with `group_id`, share what it holds with that sharing group
    (which the organisation must belong to). Raises StixError (nothing stored) for a malformed bundle, a
    GroupError for a group the organisation is not in."""
    objects = parse_bundle(data, max_bytes)
    # imports read (is this id here?) and then write: on PostgreSQL, concurrent ones take turns (SQLite's write
    # transactions already do), so two POSTs of one object cannot both insert it
    serialize(session, "share.import")
    tlps = markings.resolve(objects)
    for o in objects:
        if tlps[o["id"]] not in SHAREABLE:
            raise StixError(
                f"{o['id']} is marked TLP:{tlps[o['id']]}, which may not be imported from another organisation"
            )
    if group_id is not None:
        from corridor.share.groups import get_group

        group_id = get_group(session, viewer, group_id).id
    result = Imported()
    with session.begin_nested():
        by_id = {o["id"]: o for o in objects}
        relationships = [o for o in objects if o["type"] == "relationship"]
        local: list[Incident] = []
        for o in objects:
            if o["type"] != "incident":
                continue
            inc = _incident(session, viewer, o, tlps[o["id"]], by_id, relationships, result)
            local.append(inc)
        session.flush()
        ours = _given_back(session, local)
        for o in objects:
            if o["type"] == "incident" or o["id"] in ours:
                continue
            row, changed = foreign.keep(session, viewer, o, tlps[o["id"]], group_id)
            result.changed += changed
            session.flush()
            if row.owner_org_id != viewer.org_id:
                result.known.append(row.stix_id)  # another organisation's copy, already seen where this would go
            elif row.id not in result.foreign:
                result.foreign.append(row.id)
        if group_id is not None:
            from corridor.share.groups import share_rows

            share_rows(
                session,
                group_id,
                [("incident", i) for i in result.incidents] + [("stix_object", i) for i in result.foreign],
            )
        audit.record(
            session,
            viewer,
            "stix.import",
            "group" if group_id else None,
            group_id,
            request_id,
            {
                "incidents": len(result.incidents),
                "foreign": len(result.foreign),
                "skipped": len(result.skipped),
                "changed": result.changed,
            },
        )
    return result


def _incident(
    session: Session,
    viewer: Viewer,
    o: dict[str, Any],
    tlp: str,
    by_id: dict[str, dict[str, Any]],
    relationships: list[dict[str, Any]],
    result: Imported,
) -> Incident:
    inc = session.scalar(sa.select(Incident).where(Incident.stix_id == o["id"]))
    modified = to_ms(parse_ts(o["modified"]))
    if inc is not None:
        if not viewer.system and inc.owner_org_id != viewer.org_id:
            result.skipped.append(o["id"])
            return inc
        if modified <= to_ms(inc.updated_at):  # the version kept here, or an older one: nothing to change
            result.incidents.append(inc.id)
            return inc
    stamp = now()
    if inc is None:
        inc = Incident(
            id=str(uuid.uuid5(NS, o["id"])),
            stix_id=o["id"],
            created_at=stamp,
            first_seen=stamp,
            last_seen=stamp,
            provenance={"imported_from": "stix"},
            locked_fields=[],
            confidence=0.8,
            version=0,
        )
    ext = (o.get("extensions") or {}).get(EXT) or {}
    received = {k: v for k, v in o.items() if k != "extensions"}
    others = {k: v for k, v in (o.get("extensions") or {}).items() if k != EXT}
    inc.provenance = {**(inc.provenance or {}), "stix": received | ({"extensions": others} if others else {})}
    inc.event_type = _text(ext.get("event_type", "other"), "event_type", o["id"]) or "other"
    for f in EXT_FIELDS[1:]:
        if f != "date":
            setattr(inc, f, _value(ext.get(f), f, o["id"]))
    inc.date = _date(ext.get("date"), o["id"])
    inc.status = _text(ext.get("status", "draft"), "status", o["id"]) or "draft"
    inc.tlp, inc.owner_org_id = tlp, viewer.org_id
    inc.created_at, inc.updated_at = parse_ts(o["created"]), parse_ts(o["modified"])
    inc.version = (inc.version or 0) + 1
    for r in relationships:
        if r.get("source_ref") != o["id"] or r.get("target_ref") not in by_id:
            continue
        t = by_id[r["target_ref"]]
        if r.get("relationship_type") == "located-at" and t["type"] == "location":
            inc.lat, inc.lon = t.get("latitude"), t.get("longitude")
            inc.city = _text(t.get("city"), "city", t["id"])
            inc.province = _text(t.get("region"), "province", t["id"])
            country = _text(t.get("country"), "country", t["id"])
            inc.country = "Pakistan" if country == "PK" else country
        if r.get("relationship_type") == "attributed-to" and t["type"] in ("threat-actor", "intrusion-set"):
            inc.perpetrator = inc.perpetrator or _text(t.get("name"), "perpetrator", t["id"])
    session.add(inc)
    result.incidents.append(inc.id)
    result.changed += 1
    return inc


def _value(v: Any, name: str, oid: str) -> Any:
    if v is None:
        return None
    if name in INTS:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**31:
            raise StixError(f"{oid}: {name} must be a whole number, got {v!r}")
        return v
    if name == "claimed":
        if not isinstance(v, bool):
            raise StixError(f"{oid}: claimed must be true or false, got {v!r}")
        return v
    return _text(v, name, oid)


def _text(v: Any, name: str, oid: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > TEXT_LIMITS.get(name, 2000):
        raise StixError(f"{oid}: {name} must be text of at most {TEXT_LIMITS.get(name, 2000)} characters")
    return v


def _date(v: Any, oid: str) -> date | None:
    if v is None:
        return None
    try:
        parts = [*str(v).split("-"), "01", "01"]
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise StixError(f"{oid}: date {v!r} is not YYYY, YYYY-MM or YYYY-MM-DD") from None


def _given_back(session: Session, incidents: list[Incident]) -> set[str]:
    """The ids corridor itself serves for these incidents (so an incoming copy of them is not kept twice):
    their derived objects, reports of their documents, notes of their edits, this server's identity, the
    incident extension and the TLP 2.0 markings."""
    ids = {INSTANCE, EXT, *TLP_IDS.values()}
    if not incidents:
        return ids
    names = {i.perpetrator for i in incidents if i.perpetrator}
    actors = {a.name: a for a in session.scalars(sa.select(Actor).where(Actor.name.in_(names)))} if names else {}
    record_ids = [i.id for i in incidents]
    for chunk in [record_ids[k : k + 500] for k in range(0, len(record_ids), 500)]:
        ids |= {
            sid("report", sha)
            for sha in session.scalars(
                sa.select(Document.sha256)
                .join(Mention, Mention.document_id == Document.id)
                .where(Mention.incident_id.in_(chunk))
            )
        }
        edits = session.scalars(sa.select(IncidentEdit.id).where(IncidentEdit.incident_id.in_(chunk)))
        ids |= {sid("note", e) for e in edits}
    for inc in incidents:
        ids |= {o["id"] for o in incident_objects(inc, actors.get(inc.perpetrator or ""))}
    return ids
