"""Operations: the registry (sites, people), movements evaluated under the SOPs with an approval workflow,
and alerts raised for people, sites and movements near an incident.

Personal data stays inside its organisation: every query of people, movements and alerts here is scoped by
the caller's organisation (`Viewer.org_id`), and a coordinator of another organisation sees people only when
named in a record share."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from corridor import telemetry
from corridor.clock import now
from corridor.geo.gazetteer import distance_km
from corridor.ids import new_id
from corridor.ops.sop import MovementFacts, Rule, evaluate
from corridor.store import audit, spatial
from corridor.store.tables import Alert, Incident, Movement, Person, RecordShare, SecurityDetail, Site
from corridor.store.visibility import Viewer

LOCAL = ZoneInfo("Asia/Karachi")
CELL_RES = 5
CELL_KM = 9.85  # h3 resolution-5 edge length


class OpsError(ValueError):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ registry


def add_site(
    session: Session,
    viewer: Viewer,
    name: str,
    lat: float,
    lon: float,
    kind: str = "site",
    radius_m: float = 500.0,
    security_force: str | None = None,
) -> Site:
    if viewer.org_id is None:
        raise OpsError("a site belongs to an organisation")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise OpsError(f"coordinates out of range: {lat},{lon}")
    site = Site(
        org_id=viewer.org_id,
        name=name,
        kind=kind,
        lat=lat,
        lon=lon,
        radius_m=radius_m,
        security_force=security_force,
        cell=h3.latlng_to_cell(lat, lon, CELL_RES),
        created_at=now(),
    )
    session.add(site)
    session.flush()
    audit.record(session, viewer, "site.create", "site", site.id, None, {"name": name})
    return site


def add_person(
    session: Session,
    viewer: Viewer,
    name: str,
    nationality: str | None = None,
    site_id: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    emergency_contact: str | None = None,
) -> Person:
    if viewer.org_id is None:
        raise OpsError("a person belongs to an organisation")
    if site_id is not None:
        site = session.get(Site, site_id)
        if site is None or site.org_id != viewer.org_id:
            raise OpsError(f"no site {site_id!r} in your organisation")
    p = Person(
        org_id=viewer.org_id,
        name=name,
        nationality=nationality,
        site_id=site_id,
        phone=phone,
        email=email,
        emergency_contact=emergency_contact,
        created_at=now(),
    )
    session.add(p)
    session.flush()
    audit.record(session, viewer, "person.create", "person", p.id, None, {})
    return p


def people_query(viewer: Viewer) -> sa.Select[Person]:
    """People the viewer may see: their own organisation's, or people of another organisation shared with the
    viewer by name (coordinators named by that organisation)."""
    if viewer.system:
        return sa.select(Person)
    named = sa.exists().where(
        RecordShare.object_type == "person", RecordShare.object_id == Person.id, RecordShare.user_id == viewer.user_id
    )
    return sa.select(Person).where(sa.or_(Person.org_id == viewer.org_id, named))


def add_detail(
    session: Session,
    viewer: Viewer,
    name: str,
    kind: str,
    force: str | None = None,
    armoured: bool = False,
    capacity: int | None = None,
) -> SecurityDetail:
    """An escort unit (with its force) or a vehicle (armoured or not, seats)."""
    if kind not in ("escort", "vehicle"):
        raise OpsError(f"a security detail is an escort or a vehicle, not {kind!r}")
    if capacity is not None and capacity <= 0:
        raise OpsError("capacity must be positive")
    d = SecurityDetail(
        org_id=viewer.org_id, name=name, kind=kind, force=force, armoured=armoured, capacity=capacity, created_at=now()
    )
    session.add(d)
    session.flush()
    return d


def export_person(session: Session, viewer: Viewer, person_id: str) -> dict[str, Any]:
    """Everything corridor holds on a person (a subject-access request), for their organisation."""
    p = session.get(Person, person_id)
    if p is None or p.org_id != viewer.org_id:
        raise OpsError(f"no person {person_id!r} in your organisation", 404)
    alerts = session.scalars(sa.select(Alert).where(Alert.target_kind == "person", Alert.target_id == p.id))
    moves = [m for m in session.scalars(sa.select(Movement).where(Movement.org_id == p.org_id)) if p.id in m.people]
    audit.record(session, viewer, "person.export", "person", p.id, None, {})
    return {
        "person": {
            "id": p.id,
            "name": p.name,
            "nationality": p.nationality,
            "site_id": p.site_id,
            "phone": p.phone,
            "email": p.email,
            "emergency_contact": p.emergency_contact,
            "created_at": p.created_at.isoformat(),
        },
        "alerts": [
            {"id": a.id, "reason": a.reason, "status": a.status, "created_at": a.created_at.isoformat()} for a in alerts
        ],
        "movements": [
            {
                "id": m.id,
                "origin": m.origin,
                "destination": m.destination,
                "depart": m.depart.isoformat(),
                "status": m.status,
            }
            for m in moves
        ],
    }


def erase_person(session: Session, viewer: Viewer, person_id: str) -> None:
    """Erase a person on request: the record, their alerts, and their place on movements (the audit log keeps
    only that an erasure happened, never the erased data)."""
    p = session.get(Person, person_id)
    if p is None or p.org_id != viewer.org_id:
        raise OpsError(f"no person {person_id!r} in your organisation", 404)
    session.execute(sa.delete(Alert).where(Alert.target_kind == "person", Alert.target_id == p.id))
    session.execute(sa.delete(RecordShare).where(RecordShare.object_type == "person", RecordShare.object_id == p.id))
    for m in session.scalars(sa.select(Movement).where(Movement.org_id == p.org_id)):
        if p.id in m.people:
            m.people = [x for x in m.people if x != p.id]
    session.delete(p)
    audit.record(session, viewer, "person.erase", "person", person_id, None, {})


@dataclass
class ImportReport:
    created: int = 0
    errors: list[str] = field(default_factory=list)  # "line N: reason"


def import_csv(session: Session, viewer: Viewer, kind: str, text: str) -> ImportReport:
    """Sites (name,lat,lon,kind,radius_m,security_force) or people (name,nationality,site,phone,email,
    emergency_contact) from CSV. Bad rows are reported with their line and skipped; good rows are kept."""
    report = ImportReport()
    rows = csv.DictReader(io.StringIO(text))
    need = {"sites": {"name", "lat", "lon"}, "people": {"name"}, "details": {"name", "kind"}}[kind]
    missing = need - set(rows.fieldnames or [])
    if missing:
        raise OpsError(f"CSV header lacks {sorted(missing)}")
    sites = {s.name: s.id for s in session.scalars(sa.select(Site).where(Site.org_id == viewer.org_id))}
    for line, row in enumerate(rows, start=2):
        try:
            if not (row.get("name") or "").strip():
                raise OpsError("name is empty")
            with session.begin_nested():
                if kind == "details":
                    add_detail(
                        session,
                        viewer,
                        row["name"].strip(),
                        row["kind"].strip(),
                        row.get("force") or None,
                        (row.get("armoured") or "").strip().lower() in ("1", "true", "yes"),
                        int(row["capacity"]) if row.get("capacity") else None,
                    )
                elif kind == "sites":
                    add_site(
                        session,
                        viewer,
                        row["name"].strip(),
                        float(row["lat"]),
                        float(row["lon"]),
                        row.get("kind") or "site",
                        float(row.get("radius_m") or 500),
                        row.get("security_force") or None,
                    )
                else:
                    site = (row.get("site") or "").strip()
                    if site and site not in sites:
                        raise OpsError(f"unknown site {site!r}")
                    add_person(
                        session,
                        viewer,
                        row["name"].strip(),
                        row.get("nationality") or None,
                        sites.get(site) if site else None,
                        row.get("phone") or None,
                        row.get("email") or None,
                        row.get("emergency_contact") or None,
                    )
            report.created += 1
        except (OpsError, ValueError, KeyError) as exc:
            report.errors.append(f"line {line}: {exc}")
    return report


# ------------------------------------------------------------------ movements

TRANSITIONS = {
    "draft": {"submitted", "cancelled"},
    "submitted": {"approved", "rejected", "cancelled"},
    "approved": {"acknowledged", "cancelled"},
    "acknowledged": {"under_way", "cancelled"},
    "under_way": {"completed"},
}
WHO_MAY = {  # which roles move a movement into a status
    "submitted": {"admin", "analyst", "coordinator", "staff"},
    "approved": {"admin"},  # the organisation's security manager
    "rejected": {"admin"},
    "acknowledged": {"admin", "coordinator"},  # the liaison cell / security agency
    "under_way": {"admin", "coordinator", "staff"},
    "completed": {"admin", "coordinator", "staff"},
    "cancelled": {"admin", "analyst", "coordinator", "staff"},
}


def request_movement(
    session: Session,
    viewer: Viewer,
    kind: str,
    origin: str,
    destination: str,
    depart: datetime,
    people: list[str],
    via: list[str] | None = None,
    vehicles: list[dict[str, Any]] | None = None,
    escort: str | None = None,
    notice_given_at: datetime | None = None,
    check_in_minutes: int | None = None,
) -> Movement:
    if depart.tzinfo is None:
        depart = depart.replace(tzinfo=LOCAL)  # a departure time without a zone is Pakistan time
    if kind not in ("road", "airport_transfer", "site_visit"):
        raise OpsError(f"movement kind must be road, airport_transfer or site_visit, not {kind!r}")
    own = set(session.scalars(sa.select(Person.id).where(Person.id.in_(people), Person.org_id == viewer.org_id)))
    if set(people) - own:
        raise OpsError("people must belong to your organisation")
    stamp = now()
    mv = Movement(
        org_id=viewer.org_id,
        requested_by=viewer.user_id,
        kind=kind,
        origin=origin,
        destination=destination,
        via=via or [],
        depart=depart,
        people=people,
        vehicles=vehicles or [],
        escort=escort,
        notice_given_at=notice_given_at,
        check_in_minutes=check_in_minutes,
        status="draft",
        created_at=stamp,
        updated_at=stamp,
        evaluation={},
        route_points=[],
    )
    session.add(mv)
    session.flush()
    audit.record(session, viewer, "movement.create", "movement", mv.id, None, {"kind": kind})
    return mv


def evaluate_movement(
    session: Session, mv: Movement, risk: Any, network: Any, rules: list[Rule] | None = None
) -> dict[str, Any]:
    """Every SOP rule that applies, what is met and what is missing, and the route's risk with its worst
    segment. `risk` is a RiskModel, `network` a RoadNetwork."""
    from corridor.risk.routes import plan

    if rules is None:
        from corridor.config import load_settings
        from corridor.ops.sop import rules_for

        rules = rules_for(mv.org_id, load_settings().home)
    route = plan(
        risk,
        network,
        mv.origin,
        mv.destination,
        mv.depart.astimezone(LOCAL).date(),
        via=mv.via,
        depart=mv.depart.astimezone(LOCAL).replace(tzinfo=None),
    )
    people = list(session.scalars(sa.select(Person).where(Person.id.in_(mv.people))))
    stops = [route["from"], *[leg["to"] for leg in route["legs"]]]
    provinces = {n.province for n in network.nodes.values() if n.name in stops and n.province}
    local = mv.depart.astimezone(LOCAL)  # SOP hours ("no travel 18:00-06:00") are local time
    facts = MovementFacts(
        kind=mv.kind,
        depart=local,
        arrive=local + timedelta(hours=route["hours"]),
        nationalities={p.nationality for p in people if p.nationality},
        group_size=len(people),
        provinces=provinces,
        route_rating=route["rating"],
        escort=mv.escort,
        armoured=any(v.get("armoured") for v in mv.vehicles),
        notice_given_at=mv.notice_given_at,
        check_in_minutes=mv.check_in_minutes,
    )
    findings = evaluate(rules, facts)
    result = {
        "compliant": all(f.met for f in findings),
        "rules": [
            {"rule": f.rule, "title": f.title, "met": f.met, "missing": f.missing, "source": f.source} for f in findings
        ],
        "route": {
            k: route[k]
            for k in (
                "from",
                "to",
                "km",
                "hours",
                "rating",
                "label",
                "exposure_attacks_per_year_within_25km",
                "worst_segment",
            )
        },
    }
    mv.evaluation = result
    mv.route_points = [
        [network.nodes[n].lat, network.nodes[n].lon] for n in network.nodes if network.nodes[n].name in stops
    ]
    mv.updated_at = now()
    return result


def advance(session: Session, viewer: Viewer, movement_id: str, status: str, reason: str | None = None) -> Movement:
    """Move a movement along its workflow. Its row stays locked until the transaction ends (PostgreSQL), so of
    two concurrent changes the second sees the first's status: a movement is never both approved and cancelled."""
    mv = session.get(Movement, movement_id, with_for_update=True)
    if mv is None or (not viewer.system and mv.org_id != viewer.org_id and status != "acknowledged"):
        raise OpsError(f"no movement {movement_id!r}", 404)
    if status not in TRANSITIONS.get(mv.status, set()):
        raise OpsError(f"a movement {mv.status} cannot become {status}", 409)
    if not viewer.system and viewer.role not in WHO_MAY[status]:
        raise OpsError(f"role {viewer.role!r} cannot mark a movement {status}", 403)
    if status == "approved" and mv.evaluation and not mv.evaluation.get("compliant"):
        raise OpsError(
            "the movement does not meet the SOPs: "
            + "; ".join(m for r in mv.evaluation["rules"] for m in r["missing"]),
            409,
        )
    old, mv.status, mv.updated_at = mv.status, status, now()
    if status == "under_way":
        mv.last_check_in = now()
    audit.record(session, viewer, f"movement.{status}", "movement", mv.id, None, {"from": old, "reason": reason})
    return mv


def check_in(session: Session, viewer: Viewer, movement_id: str) -> Movement:
    mv = session.get(Movement, movement_id)
    if mv is None or mv.org_id != viewer.org_id or mv.status != "under_way":
        raise OpsError("no movement under way to check in", 404)
    mv.last_check_in = now()
    return mv


def escalate_overdue(session: Session, grace_minutes: int = 5) -> list[Movement]:
    """Movements that missed a check-in are escalated once to their organisation's security manager."""
    out = []
    for mv in overdue_movements(session, grace_minutes):
        if mv.escalated_at is None or (mv.last_check_in and mv.escalated_at < mv.last_check_in):
            mv.escalated_at = now()
            audit.record(
                session,
                None,
                "movement.escalated",
                "movement",
                mv.id,
                None,
                {"last_check_in": mv.last_check_in.isoformat() if mv.last_check_in else None},
            )
            out.append(mv)
    return out


def overdue_movements(session: Session, grace_minutes: int = 5) -> list[Movement]:
    """Movements under way whose last check-in is older than their check-in interval (plus grace)."""
    stamp = now()
    out = []
    for mv in session.scalars(sa.select(Movement).where(Movement.status == "under_way")):
        if (
            mv.check_in_minutes
            and mv.last_check_in is not None
            and stamp - mv.last_check_in > timedelta(minutes=mv.check_in_minutes + grace_minutes)
        ):
            out.append(mv)
    return out


# ------------------------------------------------------------------ alerts


def alert_radius_km(inc: Incident) -> float:
    """How far an incident reaches: more for mass-casualty and foreign-victim attacks, and for bombings."""
    killed = inc.killed_total or 0
    r = 15.0
    if inc.event_type in ("bombing", "suicide_bombing", "attack_on_facility", "hijacking"):
        r = 25.0
    if killed >= 5 or inc.killed_foreign or inc.injured_foreign:
        r = 40.0
    if killed >= 20:
        r = 60.0
    return r


@dataclass(frozen=True)
class Target:
    kind: str  # site | person | movement
    id: str
    org_id: str
    distance_km: float
    reason: str


def _sites_near(session: Session, lat: float, lon: float, radius_km: float) -> sa.ColumnElement[bool]:
    """Candidate sites for a radius: PostGIS's geography index on PostgreSQL, h3 cells on SQLite. Both cover the
    radius with room to spare; the caller keeps the sites whose haversine distance is within it, so both engines
    alert the same sites."""
    if spatial.is_postgis(session.get_bind()):
        return spatial.within_km(Site, lat, lon, radius_km * 1.01 + 0.1)  # spheroid vs sphere: a margin
    ring = math.ceil(radius_km / (CELL_KM * 1.5)) + 1
    cells = list(h3.grid_disk(h3.latlng_to_cell(lat, lon, CELL_RES), ring))
    return Site.cell.in_(cells)


def alert_targets(session: Session, incident: Incident) -> list[Target]:
    """Every site, person and planned or under-way movement within the incident's radius (sites: a spatial index,
    `_sites_near`)."""
    if incident.lat is None or incident.lon is None or incident.status in ("retracted", "merged"):
        return []
    radius = alert_radius_km(incident)
    what = f"{incident.event_type.replace('_', ' ')} {incident.date or ''} at {incident.place_name or '?'}"
    out: list[Target] = []
    by_site: dict[str, tuple[str, float]] = {}
    for sid, org, name, lat, lon in session.execute(
        sa.select(Site.id, Site.org_id, Site.name, Site.lat, Site.lon).where(
            _sites_near(session, incident.lat, incident.lon, radius)
        )
    ):
        d = distance_km(incident.lat, incident.lon, lat, lon)
        if d <= radius:
            by_site[sid] = (name, d)
            out.append(Target("site", sid, org, round(d, 1), f"{what}, {d:.1f} km from site {name}"))
    if by_site:  # everyone assigned to those sites, in one query
        for pid, porg, pname, psid in session.execute(
            sa.select(Person.id, Person.org_id, Person.name, Person.site_id).where(Person.site_id.in_(by_site))
        ):
            name, d = by_site[str(psid)]
            out.append(
                Target("person", pid, porg, round(d, 1), f"{what}, {d:.1f} km from {name} where {pname} is assigned")
            )
    for mv in session.scalars(
        sa.select(Movement).where(Movement.status.in_(("submitted", "approved", "acknowledged", "under_way")))
    ):
        near = [distance_km(incident.lat, incident.lon, la, lo) for la, lo in mv.route_points]
        if near and min(near) <= radius:
            out.append(
                Target(
                    "movement",
                    mv.id,
                    mv.org_id,
                    round(min(near), 1),
                    f"{what}, {min(near):.1f} km from the route of movement {mv.origin} → "
                    f"{mv.destination} ({mv.status})",
                )
            )
    return out


def raise_alerts(session: Session, incident: Incident) -> list[Alert]:
    """Alerts for every target near the incident. Idempotent: an (incident, target, rule) is alerted once, however
    often the incident is re-ingested or re-verified, also when two processes raise them at once (the insert
    skips rows the unique constraint already holds)."""
    targets = alert_targets(session, incident)
    if not targets:
        return []
    existing = set(
        session.execute(
            sa.select(Alert.target_kind, Alert.target_id).where(
                Alert.incident_id == incident.id, Alert.rule == "proximity"
            )
        ).all()
    )
    stamp = now()
    rows = [
        {
            "id": new_id(),
            "incident_id": incident.id,
            "org_id": t.org_id,
            "target_kind": t.kind,
            "target_id": t.id,
            "rule": "proximity",
            "distance_km": t.distance_km,
            "reason": t.reason,
            "status": "open",
            "created_at": stamp,
        }
        for t in targets
        if (t.kind, t.id) not in existing
    ]
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    stmt = insert(Alert).on_conflict_do_nothing(index_elements=["incident_id", "target_kind", "target_id", "rule"])
    session.execute(stmt, rows)
    ids = [r["id"] for r in rows]
    raised = (
        list(session.scalars(sa.select(Alert).where(Alert.id.in_(ids))))
        if len(ids) <= 5000
        else [
            a
            for k in range(0, len(ids), 5000)
            for a in session.scalars(sa.select(Alert).where(Alert.id.in_(ids[k : k + 5000])))
        ]
    )
    telemetry.alerts_raised(session, incident, raised)  # counted, timed and logged when the transaction commits
    return raised


def acknowledge(session: Session, viewer: Viewer, alert_id: str, safe: bool = False) -> Alert:
    a = session.get(Alert, alert_id)
    if a is None or (not viewer.system and a.org_id != viewer.org_id):
        raise OpsError(f"no alert {alert_id!r}", 404)
    a.status = "safe" if safe else "acknowledged"
    a.acknowledged_at, a.acknowledged_by = now(), viewer.user_id
    audit.record(session, viewer, "alert.safe" if safe else "alert.ack", "alert", a.id, None, {})
    return a


def escalate(session: Session, after: timedelta = timedelta(minutes=30)) -> list[Alert]:
    """Alerts still open after `after` go to the organisation's security manager (status escalated)."""
    cutoff = now() - after
    out = list(session.scalars(sa.select(Alert).where(Alert.status == "open", Alert.created_at <= cutoff)))
    for a in out:
        a.status = "escalated"
    return out
