"""STIX 2.1 export and import of the incident picture.

Each incident becomes an `incident` object carrying corridor's fields in a property extension (its
extension-definition is part of every bundle), a `location` it is `located-at`, the `threat-actor` it is
`attributed-to`, the victims' group it `targets` (an `identity` of class group), a `report` per source document
and a `note` per analyst change. Markings use the TLP 2.0 marking definitions of the OASIS common objects.
Ids are stable: derived (UUIDv5) from record ids, or the id an incident was imported with, so a re-export
gives the same objects. AMBER+STRICT and RED records never leave their organisation through a bundle.

Other producers' objects that do not map onto incidents are kept as received (`share/foreign.py`) and served
with corridor's own. A collection is everything a viewer may see and pass on, or a sharing group's part of it;
each object carries the time this server stored it or last changed who may see it (TAXII's date_added), so
pulls with added_after resume where they stopped. Import lives in `share/importer.py`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from corridor.clock import now
from corridor.share import foreign
from corridor.share.markings import TLP2_EXT, TLP2_IDS
from corridor.store.queries import incidents_query
from corridor.store.tables import (
    STIX_NS,
    Actor,
    Document,
    ForeignStixObject,
    Incident,
    IncidentEdit,
    Mention,
    stix_incident_id,
)
from corridor.store.visibility import Viewer, shared_with_group, visible

NS = STIX_NS
TLP_EXT = TLP2_EXT
TLP_IDS = TLP2_IDS
TLP_BY_ID = {v: k for k, v in TLP_IDS.items()}
SHAREABLE = ("CLEAR", "GREEN", "AMBER")
EPOCH = "2026-01-01T00:00:00.000Z"
MAX_BYTES = 10 * 1024 * 1024
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


_REGENERATED = frozenset(
    {"type", "spec_version", "id", "created", "modified", "object_marking_refs", "granular_markings"}
)


def incident_objects(
    inc: Incident, actor: Actor | None = None, documents: Sequence[Document] = (), edits: Sequence[IncidentEdit] = ()
) -> list[dict[str, Any]]:
    """The STIX objects of one incident: the incident, its location, actor and victims with their relationships,
    a report per document given (the caller passes only those the viewer may see) and a note per edit with a
    reason."""
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
    # an incident another producer made keeps what it said beyond corridor's fields (its name, description,
    # references, creator, other extensions): kept at import (importer.py), given back here
    received = dict((inc.provenance or {}).get("stix") or {})
    objs: list[dict[str, Any]] = [
        {
            **{k: v for k, v in received.items() if k not in _REGENERATED},
            "type": "incident",
            "spec_version": "2.1",
            "id": iid,
            "created_by_ref": received.get("created_by_ref", INSTANCE),
            "created": ts(inc.created_at),
            "modified": ts(inc.updated_at),
            "name": received.get("name", name),
            "object_marking_refs": marks,
            "extensions": {**(received.get("extensions") or {}), EXT: ext},
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
    for d in documents:
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
    for e in edits:
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


Entry = tuple[datetime, dict[str, Any]]  # (date_added, STIX object)


def to_ms(value: datetime) -> datetime:
    """Timestamps to the millisecond, as STIX and TAXII write them, so a cursor read back compares exactly."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def version_of(obj: dict[str, Any]) -> str:
    return foreign.version_of(obj)


DERIVED = frozenset({"location", "relationship", "threat-actor", "identity", "report", "note"})


def collection_entries(
    session: Session, viewer: Viewer, group_id: str | None = None, ids: Collection[str] | None = None
) -> list[Entry]:
    """Every object version of a collection with its date_added, oldest first: what `viewer` may see and pass on
    (CLEAR, GREEN, AMBER) through the visibility filter, or with `group_id` only what that whole sharing group may
    see (CLEAR, GREEN, and what was shared with the group). Objects derived from an incident (location,
    relationships, actor, victims, reports, notes) exist only with it; reports need their document visible too.

    With `ids`, only those objects: the same entries as filtering the whole collection, with less read (one
    object's GET should not cost a whole export): what cannot have produced them is left out."""
    kinds = {i.split("--", 1)[0] for i in ids} if ids is not None else set()
    whole = ids is None or bool(kinds & {"marking-definition", "extension-definition"}) or INSTANCE in ids
    base = incidents_query(viewer).where(Incident.tlp.in_(SHAREABLE))
    if group_id is not None:
        base = base.where(shared_with_group(group_id, "incident"))
    q: sa.Select[Incident] | None = base
    if not whole and not kinds & DERIVED:  # only incident objects can come from incidents: those, or none
        wanted = [i for i in ids or () if i.startswith("incident--")]
        q = base.where(Incident.stix_id.in_(wanted)) if wanted else None
    incidents = list(session.scalars(q)) if q is not None else []
    documents: dict[str, list[Document]] = {}
    edits: dict[str, list[IncidentEdit]] = {}
    if q is not None and incidents:
        chosen = q.with_only_columns(Incident.id).order_by(None)
        if whole or "report" in kinds:
            documents = _documents(session, viewer, chosen, group_id)
        if whole or "note" in kinds:
            for e in session.scalars(
                sa.select(IncidentEdit)
                .where(IncidentEdit.incident_id.in_(chosen), IncidentEdit.reason.is_not(None))
                .order_by(IncidentEdit.at, IncidentEdit.id)
            ):
                edits.setdefault(e.incident_id, []).append(e)
    names = {i.perpetrator for i in incidents if i.perpetrator}
    actors = {a.name: a for a in session.scalars(sa.select(Actor).where(Actor.name.in_(names)))} if names else {}

    out: dict[tuple[str, str], Entry] = {}
    for inc in incidents:
        added = to_ms(inc.changed_at or inc.updated_at)
        objs = incident_objects(
            inc, actors.get(inc.perpetrator or ""), documents.get(inc.id, ()), edits.get(inc.id, ())
        )
        for o in objs:
            key = (o["id"], version_of(o))
            if key not in out:
                out[key] = (added, o)
                continue
            before, kept = out[key]
            if o["type"] == "report":  # one report per document, naming every incident of it the viewer sees
                kept["object_refs"] = sorted({*kept["object_refs"], *o["object_refs"]})
            out[key] = (max(before, added), kept)
    for row in foreign.served(session, viewer, group_id, None if whole else ids):
        key = (row.stix_id, row.version)
        added = to_ms(row.changed_at)
        out[key] = (max(added, out[key][0]), out[key][1]) if key in out else (added, row.body)
    used: dict[str, datetime] = {}
    for added, o in out.values():
        for ref in o.get("object_marking_refs") or []:
            if TLP_BY_ID.get(ref) in SHAREABLE:
                used[ref] = max(added, used.get(ref, added))
    for ref, added in used.items():
        mark = _marking(TLP_BY_ID[ref])
        out[(ref, version_of(mark))] = (added, mark)
    latest = max((added for added, _ in out.values()), default=_parse_ts(EPOCH))
    for o in _fixed():
        out.setdefault((o["id"], version_of(o)), (latest, o))
    found = out.values() if ids is None else [e for e in out.values() if e[1]["id"] in ids]
    return sorted(found, key=lambda e: (e[0], e[1]["id"], version_of(e[1])))


def _documents(
    session: Session, viewer: Viewer, incident_ids: sa.Select[Any], group_id: str | None
) -> dict[str, list[Document]]:
    """The source documents of the chosen incidents that the viewer may see and pass on (and, in a group's
    collection, that the group may see), by incident, oldest first."""
    q = (
        sa.select(Mention.incident_id, Document)
        .join(Document, Mention.document_id == Document.id)
        .where(Mention.incident_id.in_(incident_ids), visible(viewer, "document"), Document.tlp.in_(SHAREABLE))
        .order_by(Document.published, Document.sha256)
        .options(selectinload(Document.source))
    )
    if group_id is not None:
        q = q.where(shared_with_group(group_id, "document"))
    out: dict[str, list[Document]] = {}
    for incident_id, doc in session.execute(q):
        docs = out.setdefault(incident_id or "", [])
        if doc not in docs:
            docs.append(doc)
    return out


def latest_versions(entries: list[Entry]) -> list[Entry]:
    """One entry per object: its newest version (what a collection's objects endpoint serves by default)."""
    best: dict[str, Entry] = {}
    for e in entries:
        o = e[1]
        if o["id"] not in best or version_of(o) > version_of(best[o["id"]][1]):
            best[o["id"]] = e
    return sorted(best.values(), key=lambda e: (e[0], e[1]["id"]))


def export_bundle(session: Session, viewer: Viewer, group_id: str | None = None) -> dict[str, Any]:
    """The objects `viewer` may see and pass on (CLEAR, GREEN, AMBER), newest versions, as one STIX 2.1 bundle
    (the default collection, or a sharing group's with `group_id`). Deterministic: same store, same bundle."""
    ordered = sorted((o for _, o in latest_versions(collection_entries(session, viewer, group_id))), key=_order)
    return {"type": "bundle", "id": sid("bundle", *(o["id"] for o in ordered)), "objects": ordered}


def _order(o: dict[str, Any]) -> tuple[str, str]:
    return (o["type"], o["id"])


def records_changed(session: Session, records: Sequence[tuple[str, str]]) -> None:
    """Who may see these records changed (a share, a new group member): their objects get a new date_added, so
    incremental pulls by the organisations that may now see them receive them."""
    stamp = now()
    by_type: dict[str, list[str]] = {}
    for object_type, object_id in records:
        by_type.setdefault(object_type, []).append(object_id)
    incident_ids = list(by_type.get("incident", []))
    for chunk in _chunks(by_type.get("document", [])):
        incident_ids += [
            i for i in session.scalars(sa.select(Mention.incident_id).where(Mention.document_id.in_(chunk))) if i
        ]
    for chunk in _chunks(incident_ids):
        session.execute(
            sa.update(Incident).where(Incident.id.in_(chunk)).values(changed_at=stamp),
            execution_options={"synchronize_session": False},
        )
    for chunk in _chunks(by_type.get("stix_object", [])):
        session.execute(
            sa.update(ForeignStixObject).where(ForeignStixObject.id.in_(chunk)).values(changed_at=stamp),
            execution_options={"synchronize_session": False},
        )


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def parse_ts(value: str) -> datetime:
    """A STIX/TAXII timestamp as an aware datetime; ValueError when it is not one."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise ValueError(f"{value!r} is not a timestamp YYYY-MM-DDTHH:MM:SS[.s]Z")
    return _parse_ts(value)


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_EXTENSION_ID = re.compile(rf"^extension-definition--{_UUID}$")
# the extensions STIX 2.1 predefines (by name, for cyber observables); every other one is named by the id of its
# extension-definition
PREDEFINED_EXTENSIONS = {
    "file": {"archive-ext", "ntfs-ext", "pdf-ext", "raster-image-ext", "windows-pebinary-ext"},
    "network-traffic": {"http-request-ext", "icmp-ext", "socket-ext", "tcp-ext"},
    "process": {"windows-process-ext", "windows-service-ext"},
    "user-account": {"unix-account-ext"},
}


def shape_errors(objects: list[Any]) -> list[str]:
    """What makes objects unusable before the validator looks at them (it cannot walk some of these, and it
    lets 2.0-style custom extensions through, which STIX 2.1 no longer has)."""
    errors = []
    for n, o in enumerate(objects):
        if not isinstance(o, dict):
            errors.append(f"object {n} is not a JSON object")
            continue
        kind = o.get("type")
        if not isinstance(kind, str) or not _TYPE.match(kind):
            errors.append(f"object {n}: 'type' must be a STIX type name (3-250 of a-z, 0-9, -), got {kind!r}")
            continue
        oid = o.get("id")
        if not isinstance(oid, str):
            errors.append(f"object {n} ({kind}): no 'id'")
            continue
        if not re.fullmatch(rf"{re.escape(kind)}--{_UUID}", oid):
            errors.append(f"{str(oid)[:120]}: the id must be '{kind}--' and a UUID")
            continue
        if "spec_version" in o and o["spec_version"] != "2.1":
            errors.append(f"{oid}: spec_version {o['spec_version']!r} (STIX 2.1 only)")
        ext = o.get("extensions")
        if ext is not None:
            if not isinstance(ext, dict):
                errors.append(f"{oid}: 'extensions' must be an object")
                continue
            for key in ext:
                if not (_EXTENSION_ID.match(key) or key in PREDEFINED_EXTENSIONS.get(kind, ())):
                    errors.append(
                        f"{oid}: unknown extension {key!r} (STIX 2.1 names extensions by their extension-definition id)"
                    )
    return errors


def validate(bundle: dict[str, Any]) -> list[str]:
    """Errors the OASIS validator finds (warnings are not errors)."""
    from stix2validator import ValidationOptions, validate_instance

    try:
        results = validate_instance(bundle, ValidationOptions(version="2.1"))
    except Exception as exc:  # the validator raises on input it cannot walk (no id, not an object, odd types)
        return [f"{type(exc).__name__}: {exc}"]
    return [str(e) for e in results.errors]


def parse_bundle(data: bytes | str, max_bytes: int = MAX_BYTES) -> list[dict[str, Any]]:
    """The objects of a bundle, checked: size, JSON, bundle shape, ids and types, extensions, the OASIS validator.
    Raises StixError with the reason."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise StixError(f"bundle of {len(raw) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        bundle = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise StixError(f"not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle" or not isinstance(bundle.get("objects"), list):
        raise StixError("not a STIX bundle (type 'bundle' with a list of objects)")
    errors = shape_errors(bundle["objects"]) or validate(bundle)
    if errors:
        raise StixError("invalid STIX 2.1: " + "; ".join(errors[:3]))
    return list(bundle["objects"])


def import_bundle(
    session: Session, viewer: Viewer, data: bytes | str, max_bytes: int = MAX_BYTES, group_id: str | None = None
) -> list[str]:
    """Import a bundle (see `importer.import_objects`); returns the ids of its incidents here."""
    from corridor.share.importer import import_objects

    return import_objects(session, viewer, data, max_bytes, group_id).incidents
