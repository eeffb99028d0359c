"""STIX 2.1 export and import of the incident picture.

Each incident becomes an `incident` object carrying corridor's fields in a property extension (its
extension-definition is part of every bundle), a `location` it is `located-at`, the `threat-actor` it is
`attributed-to`, the victims' group it `targets` (an `identity` of class group), a `report` per source document
and a `note` per analyst change. Markings use the TLP 2.0 marking definitions of the OASIS common objects.
Ids are stable: derived (UUIDv5) from record ids, or the id an incident was imported with, so a re-export
gives the same objects. AMBER+STRICT and RED records never leave their organisation through a bundle.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.store.queries import incidents_query, visible_mentions
from corridor.store.tables import STIX_NS, Actor, Incident, IncidentEdit, stix_incident_id
from corridor.store.visibility import Viewer

NS = STIX_NS
TLP_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_BY_ID = {v: k for k, v in TLP_IDS.items()}
SHAREABLE = ("CLEAR", "GREEN", "AMBER")
EPOCH = "2026-01-01T00:00:00.000Z"
INSTANCE = f"identity--{uuid.uuid5(NS, 'corridor-instance')}"
EXT = f"extension-definition--{uuid.uuid5(NS, 'corridor-incident-extension-v1')}"
EXT_FIELDS = (
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
    "status",
    "geo_precision",
    "place_name",
    "district",
)
PRECISION_M = {"point": 500.0, "city": 10000.0, "district": 50000.0, "province": 200000.0, "country": 1000000.0}


class StixError(ValueError):
    """A bundle corridor will not import: the message says why; nothing of it is stored."""


def sid(kind: str, *parts: object) -> str:
    return f"{kind}--{uuid.uuid5(NS, '|'.join(str(p) for p in parts))}"


def ts(value: datetime | None) -> str:
    if value is None:
        return EPOCH
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _marking(tlp: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_IDS[tlp],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{tlp}",
        "extensions": {TLP_EXT: {"extension_type": "property-extension", "tlp_2_0": tlp.lower()}},
    }


def _fixed() -> list[dict[str, Any]]:
    return [
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": INSTANCE,
            "created": EPOCH,
            "modified": EPOCH,
            "name": "corridor",
            "identity_class": "system",
        },
        {
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": EXT,
            "created_by_ref": INSTANCE,
            "created": EPOCH,
            "modified": EPOCH,
            "name": "corridor incident",
            "description": "corridor's incident fields: type, date and precision, casualties and foreign victims, "
            "perpetrator, claim, review status.",
            "schema": "https://corridor.example.org/schemas/incident-extension-v1.json",
            "version": "1.0.0",
            "extension_types": ["property-extension"],
        },
    ]


def incident_objects(session: Session, viewer: Viewer, inc: Incident) -> list[dict[str, Any]]:
    iid = inc.stix_id or stix_incident_id(inc.id)
    marks = [TLP_IDS[inc.tlp]]
    ext = {"extension_type": "property-extension"}
    for f in EXT_FIELDS:
        v = getattr(inc, f)
        if isinstance(v, date):
            v = v.isoformat()[: {"day": 10, "month": 7, "year": 4}.get(inc.date_precision or "day", 10)]
        if v is not None:
            ext[f] = v
    name = f"{inc.event_type.replace('_', ' ')} at {inc.place_name or inc.city or 'unknown place'}"
    if inc.date:
        name += f", {ext.get('date')}"
    objs: list[dict[str, Any]] = [
        {
            "type": "incident",
            "spec_version": "2.1",
            "id": iid,
            "created_by_ref": INSTANCE,
            "created": ts(inc.created_at),
            "modified": ts(inc.updated_at),
            "name": name,
            "object_marking_refs": marks,
            "extensions": {EXT: ext},
        }
    ]

    def rel(kind: str, target: str) -> None:
        objs.append(
            {
                "type": "relationship",
                "spec_version": "2.1",
                "id": sid("relationship", iid, kind, target),
                "created_by_ref": INSTANCE,
                "created": ts(inc.created_at),
                "modified": ts(inc.created_at),
                "relationship_type": kind,
                "source_ref": iid,
                "target_ref": target,
                "object_marking_refs": marks,
            }
        )

    if inc.lat is not None and inc.lon is not None:
        loc = {
            "type": "location",
            "spec_version": "2.1",
            "id": sid("location", iid),
            "created_by_ref": INSTANCE,
            "created": ts(inc.created_at),
            "modified": ts(inc.updated_at),
            "latitude": round(inc.lat, 6),
            "longitude": round(inc.lon, 6),
            "precision": PRECISION_M.get(inc.geo_precision or "city", 10000.0),
            "country": "PK" if (inc.country or "Pakistan") == "Pakistan" else inc.country,
            "object_marking_refs": marks,
        }
        if inc.city:
            loc["city"] = inc.city
        if inc.province:
            loc["region"] = inc.province
        objs.append(loc)
        rel("located-at", str(loc["id"]))
    if inc.perpetrator:
        actor = session.scalar(sa.select(Actor).where(Actor.name == inc.perpetrator))
        ta: dict[str, Any] = {
            "type": "threat-actor",
            "spec_version": "2.1",
            "id": sid("threat-actor", inc.perpetrator),
            "created_by_ref": INSTANCE,
            "created": EPOCH,
            "modified": EPOCH,
            "name": inc.perpetrator,
            "threat_actor_types": ["terrorist"],
        }
        if actor is not None:
            ta["aliases"] = sorted({actor.full_name, *actor.aliases} - {inc.perpetrator})
        objs.append(ta)
        rel("attributed-to", ta["id"])
    if inc.foreign_nationality and (inc.killed_foreign or inc.injured_foreign):
        group = {
            "type": "identity",
            "spec_version": "2.1",
            "id": sid("identity", "victims", inc.foreign_nationality),
            "created_by_ref": INSTANCE,
            "created": EPOCH,
            "modified": EPOCH,
            "name": f"{inc.foreign_nationality} nationals in Pakistan",
            "identity_class": "group",
        }
        objs.append(group)
        rel("targets", group["id"])
    for m in visible_mentions(session, viewer, inc):
        d = m.document
        if d.tlp not in SHAREABLE:
            continue
        rep: dict[str, Any] = {
            "type": "report",
            "spec_version": "2.1",
            "id": sid("report", d.sha256),
            "created_by_ref": INSTANCE,
            "created": ts(d.fetched_at),
            "modified": ts(d.fetched_at),
            "name": d.title or (d.path or d.url or d.sha256[:12]).rsplit("/", 1)[-1],
            "published": ts(datetime.combine(d.published, datetime.min.time())) if d.published else ts(d.fetched_at),
            "report_types": ["incident"],
            "object_refs": [iid],
            "object_marking_refs": [TLP_IDS[d.tlp]],
        }
        if d.url:
            rep["external_references"] = [{"source_name": d.source.name if d.source else "source", "url": d.url}]
        objs.append(rep)
    for e in session.scalars(
        sa.select(IncidentEdit).where(IncidentEdit.incident_id == inc.id).order_by(IncidentEdit.at)
    ):
        if e.reason:
            objs.append(
                {
                    "type": "note",
                    "spec_version": "2.1",
                    "id": sid("note", e.id),
                    "created_by_ref": INSTANCE,
                    "created": ts(e.at),
                    "modified": ts(e.at),
                    "abstract": f"analyst {e.action}",
                    "content": e.reason,
                    "object_refs": [iid],
                    "object_marking_refs": marks,
                }
            )
    return objs


def export_bundle(session: Session, viewer: Viewer) -> dict[str, Any]:
    """The incidents `viewer` may see and may pass on (CLEAR, GREEN, AMBER), as one STIX 2.1 bundle."""
    q = incidents_query(viewer).where(Incident.tlp.in_(SHAREABLE))
    objects: dict[str, dict[str, Any]] = {o["id"]: o for o in _fixed()}
    used = set()
    for inc in session.scalars(q):
        used.add(inc.tlp)
        for o in incident_objects(session, viewer, inc):
            objects[o["id"]] = o
            for ref in o.get("object_marking_refs", []):
                used.add(TLP_BY_ID[ref])
    for tlp in sorted(used):
        objects[TLP_IDS[tlp]] = _marking(tlp)
    ordered = sorted(objects.values(), key=lambda o: (o["type"], o["id"]))
    return {"type": "bundle", "id": sid("bundle", *(o["id"] for o in ordered)), "objects": ordered}


def _parse_ts(value: str) -> datetime:
    from datetime import UTC

    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def validate(bundle: dict[str, Any]) -> list[str]:
    """Errors the OASIS validator finds (warnings are not errors)."""
    from stix2validator import ValidationError, ValidationOptions, validate_instance

    try:
        results = validate_instance(bundle, ValidationOptions(version="2.1"))
    except ValidationError as exc:  # input the validator cannot even walk (no id, not an object)
        return [str(exc)]
    return [str(e) for e in results.errors]


def import_bundle(session: Session, viewer: Viewer, data: bytes | str, max_bytes: int = 10 * 1024 * 1024) -> list[str]:
    """Incidents of a bundle into the store, owned by the importer's organisation. All or nothing: a malformed
    bundle raises StixError and stores nothing. Returns the ids of incidents created or updated."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise StixError(f"bundle of {len(raw) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        bundle = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StixError(f"not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle" or not isinstance(bundle.get("objects"), list):
        raise StixError("not a STIX bundle (type 'bundle' with a list of objects)")
    errors = validate(bundle)
    if errors:
        raise StixError("invalid STIX 2.1: " + "; ".join(errors[:3]))
    by_id = {o["id"]: o for o in bundle["objects"]}
    rels = [o for o in bundle["objects"] if o["type"] == "relationship"]
    out = []
    stamp = now()
    with session.begin_nested():
        for o in bundle["objects"]:
            if o["type"] != "incident":
                continue
            ext = (o.get("extensions") or {}).get(EXT) or {}
            tlp = next((TLP_BY_ID[m] for m in o.get("object_marking_refs", []) if m in TLP_BY_ID), "GREEN")
            if tlp not in SHAREABLE:
                raise StixError(f"{o['id']} is marked TLP:{tlp}, which may not be imported from another organisation")
            inc = session.scalar(sa.select(Incident).where(Incident.stix_id == o["id"])) or Incident(
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
            inc.event_type = ext.get("event_type", "other")
            for f in EXT_FIELDS[1:]:
                if f == "date":
                    continue
                setattr(inc, f, ext.get(f))
            if ext.get("date"):
                parts = [*str(ext["date"]).split("-"), "01", "01"]
                inc.date = date(int(parts[0]), int(parts[1]), int(parts[2]))
            else:
                inc.date = None
            inc.status = ext.get("status", "draft")
            inc.tlp, inc.owner_org_id = tlp, viewer.org_id
            inc.created_at, inc.updated_at = _parse_ts(o["created"]), _parse_ts(o["modified"])
            inc.version = (inc.version or 0) + 1
            for r in rels:
                if r["source_ref"] != o["id"] or r["target_ref"] not in by_id:
                    continue
                t = by_id[r["target_ref"]]
                if r["relationship_type"] == "located-at" and t["type"] == "location":
                    inc.lat, inc.lon = t.get("latitude"), t.get("longitude")
                    inc.city, inc.province = t.get("city"), t.get("region")
                    inc.country = "Pakistan" if t.get("country") == "PK" else t.get("country")
                if r["relationship_type"] == "attributed-to" and t["type"] in ("threat-actor", "intrusion-set"):
                    inc.perpetrator = inc.perpetrator or t.get("name")
            session.add(inc)
            out.append(inc.id)
        session.flush()
    return out
