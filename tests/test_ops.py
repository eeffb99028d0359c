"""Protection operations: SOP rules, the movement workflow, proximity alerts, check-ins and isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from corridor import clock
from corridor.identity.service import add_org, add_user, viewer_of
from corridor.ingest.service import Item, ingest_items
from corridor.ops import service as ops
from corridor.ops.sop import MovementFacts, SopError, evaluate, load_rules
from corridor.store.db import Store
from corridor.store.tables import Alert, Person
from corridor.store.visibility import Viewer

from .reports import write_reports

DEPART = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)


def facts(**kw: object) -> MovementFacts:
    base = dict(
        kind="road",
        depart=DEPART,
        arrive=DEPART + timedelta(hours=3),
        nationalities={"Chinese"},
        group_size=4,
        provinces={"Sindh"},
        route_rating=2,
        escort="Sindh Police SPU",
        armoured=True,
        notice_given_at=DEPART - timedelta(hours=30),
        check_in_minutes=20,
    )
    base.update(kw)
    return MovementFacts(**base)  # type: ignore[arg-type]


def by_rule(found: list) -> dict:  # type: ignore[type-arg]
    return {f.rule: f for f in found}


def test_each_rule_kind() -> None:
    rules = load_rules()
    ok = by_rule(evaluate(rules, facts()))
    assert all(f.met for f in ok.values()) and "escort-foreign-road" in ok
    assert not by_rule(evaluate(rules, facts(escort=None)))["escort-foreign-road"].met
    night = by_rule(evaluate(rules, facts(depart=DEPART.replace(hour=16), arrive=DEPART.replace(hour=19))))
    assert not night["no-night-road-travel"].met and "18:00" in night["no-night-road-travel"].missing[0]
    late = by_rule(evaluate(rules, facts(notice_given_at=DEPART - timedelta(hours=2))))
    assert not late["notice-liaison-cell"].met
    big = by_rule(evaluate(rules, facts(provinces={"Balochistan"}, group_size=12)))
    assert not big["balochistan-kp-group-size"].met
    risky = by_rule(evaluate(rules, facts(route_rating=4, armoured=False, check_in_minutes=60)))
    assert set(risky["high-risk-route-armoured"].missing) == {"armoured vehicle", "check-in every 30 minutes"}
    airport = by_rule(evaluate(rules, facts(kind="airport_transfer", escort="Rangers")))
    assert "escort by Special Protection Unit" in airport["airport-transfer-armoured"].missing
    # rules that do not apply are not listed
    assert "airport-transfer-armoured" not in ok
    assert "notice-liaison-cell" not in by_rule(evaluate(rules, facts(nationalities={"Pakistani"})))


def test_bad_rule_file_names_line_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "sop.yaml"
    bad.write_text(
        "- id: a\n  title: ok\n  requires: {armoured: true}\n- id: b\n  title: bad\n  requires: {max_group: -3}\n"
    )
    with pytest.raises(SopError, match=r"sop.yaml:4: max_group must be a positive whole number"):
        load_rules(bad)
    bad.write_text("- id: a\n  title: x\n  applies: {colour: red}\n  requires: {armoured: true}\n")
    with pytest.raises(SopError, match=r":1: unknown condition"):
        load_rules(bad)


@pytest.fixture
def orgs(store: Store) -> dict[str, Viewer]:
    with store.transaction() as s:
        a, b = add_org(s, "Harbour Works", "company"), add_org(s, "Other Co", "company")
        users = {
            k: add_user(s, org, f"{k}.user", role, "a long password")
            for k, org, role in (
                ("mgr", a, "admin"),
                ("staff", a, "staff"),
                ("agency", b, "coordinator"),
                ("other", b, "admin"),
            )
        }
        return {k: viewer_of(u) for k, u in users.items()}


def test_workflow_legal_and_illegal_transitions(store: Store, orgs: dict[str, Viewer]) -> None:
    with store.transaction() as s:
        p = ops.add_person(s, orgs["mgr"], "Wang Li", "Chinese")
        mv = ops.request_movement(s, orgs["staff"], "road", "Karachi", "Port Qasim", DEPART, [p.id])
        mv.evaluation = {"compliant": True, "rules": []}
        ops.advance(s, orgs["staff"], mv.id, "submitted")
        with pytest.raises(ops.OpsError, match="cannot mark"):
            ops.advance(s, orgs["staff"], mv.id, "approved")  # only the security manager approves
        ops.advance(s, orgs["mgr"], mv.id, "approved")
        with pytest.raises(ops.OpsError, match="cannot become"):
            ops.advance(s, orgs["mgr"], mv.id, "completed")  # must be acknowledged and under way first
        ops.advance(s, orgs["agency"], mv.id, "acknowledged")  # the liaison cell of another organisation
        ops.advance(s, orgs["staff"], mv.id, "under_way")
        ops.advance(s, orgs["staff"], mv.id, "completed")
        assert mv.status == "completed"
        bad = ops.request_movement(s, orgs["staff"], "road", "Karachi", "Hub", DEPART, [p.id])
        bad.evaluation = {"compliant": False, "rules": [{"missing": ["escort by any force"]}]}
        ops.advance(s, orgs["staff"], bad.id, "submitted")
        with pytest.raises(ops.OpsError, match="escort by any force"):
            ops.advance(s, orgs["mgr"], bad.id, "approved")


def test_movement_evaluation_uses_sops_and_route_risk(store: Store, orgs: dict[str, Viewer]) -> None:
    from corridor.geo.roads import get_network
    from corridor.risk.service import build_model

    with store.transaction() as s:
        p = ops.add_person(s, orgs["mgr"], "Wang Li", "Chinese")
        mv = ops.request_movement(
            s,
            orgs["mgr"],
            "airport_transfer",
            "Karachi airport",
            "Port Qasim",
            datetime(2024, 10, 10, 9, 0),
            [p.id],
            vehicles=[{"name": "LC-1", "armoured": False}],
        )
        result = ops.evaluate_movement(s, mv, build_model(), get_network())
        assert result["compliant"] is False
        rules = {r["rule"]: r for r in result["rules"]}
        assert "armoured vehicle" in rules["airport-transfer-armoured"]["missing"]
        assert result["route"]["km"] > 10 and result["route"]["worst_segment"]["road"]
        assert mv.route_points


def test_alerts_fan_out_once_and_escalate(store: Store, orgs: dict[str, Viewer], tmp_path: Path) -> None:
    with store.transaction() as s:
        near = ops.add_site(s, orgs["mgr"], "Dasu camp", 35.29, 73.29, "camp")
        far = ops.add_site(s, orgs["mgr"], "Karachi office", 24.86, 67.01, "office")
        besham = ops.add_site(s, orgs["other"], "Besham rest house", 34.93, 72.87, "residence")
        ops.add_person(s, orgs["mgr"], "Engineer A", "Chinese", near.id)
        ops.add_person(s, orgs["other"], "Engineer B", "Chinese", besham.id)
        far_id = far.id
    items = [Item(p, None) for p, _ in write_reports(tmp_path / "r")[:1]]  # the Besham attack
    start = datetime(2024, 3, 26, 12, 0, tzinfo=UTC)
    previous = clock.set_clock(clock.FixedClock(start))
    try:
        ingest_items(store, items)
        with store.sessions() as s:
            alerts = s.scalars(sa.select(Alert)).all()
            kinds = sorted((a.target_kind, a.org_id == orgs["mgr"].org_id) for a in alerts)
            assert ("site", False) in kinds and ("person", False) in kinds  # Besham is ~1 km away
            assert all(a.target_id != far_id for a in alerts)
            assert all("km from" in a.reason for a in alerts)
            first = len(alerts)
        # re-ingesting the same report alerts nobody again
        ingest_items(store, items)
        with store.sessions() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Alert)) == first
        # more reports of the same attack may widen its reach, but never alert a target twice for it
        ingest_items(store, [Item(p, None) for p, _ in write_reports(tmp_path / "r")[1:3]])
        with store.sessions() as s:
            pairs = [(a.incident_id, a.target_kind, a.target_id) for a in s.scalars(sa.select(Alert))]
            assert len(pairs) == len(set(pairs)) >= first
        clock.set_clock(clock.FixedClock(start + timedelta(minutes=45)))
        with store.transaction() as s:
            one = s.scalars(sa.select(Alert)).first()
            assert one is not None
            ops.acknowledge(s, orgs["other"], one.id, safe=True)
            escalated = ops.escalate(s, after=timedelta(minutes=30))
            assert one not in escalated and all(a.status == "escalated" for a in escalated)
    finally:
        clock.set_clock(previous)


def test_late_check_in_is_overdue(store: Store, orgs: dict[str, Viewer]) -> None:
    start = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
    previous = clock.set_clock(clock.FixedClock(start))
    try:
        with store.transaction() as s:
            p = ops.add_person(s, orgs["mgr"], "Wang Li", "Chinese")
            mv = ops.request_movement(s, orgs["mgr"], "road", "Karachi", "Hub", start, [p.id], check_in_minutes=30)
            mv.evaluation = {"compliant": True, "rules": []}
            for st, who in (
                ("submitted", "mgr"),
                ("approved", "mgr"),
                ("acknowledged", "agency"),
                ("under_way", "mgr"),
            ):
                ops.advance(s, orgs[who], mv.id, st)
            mid = mv.id
        clock.set_clock(clock.FixedClock(start + timedelta(minutes=20)))
        with store.transaction() as s:
            ops.check_in(s, orgs["mgr"], mid)
            assert ops.overdue_movements(s) == []
        clock.set_clock(clock.FixedClock(start + timedelta(minutes=60)))
        with store.sessions() as s:
            assert [m.id for m in ops.overdue_movements(s)] == [mid]
    finally:
        clock.set_clock(previous)


def test_personal_data_stays_in_its_organisation(store: Store, orgs: dict[str, Viewer]) -> None:
    from corridor.store.tables import RecordShare

    with store.transaction() as s:
        mine = ops.add_person(s, orgs["mgr"], "Wang Li", "Chinese", phone="+92 300 0000000")
        ops.add_person(s, orgs["other"], "Someone Else", "Chinese")
        mine_id = mine.id
    with store.sessions() as s:
        seen_by_other = {p.name for p in s.scalars(ops.people_query(orgs["agency"]))}
        assert "Wang Li" not in seen_by_other and "Someone Else" in seen_by_other
    with store.transaction() as s:  # the organisation names the agency's coordinator
        s.add(
            RecordShare(object_type="person", object_id=mine_id, user_id=orgs["agency"].user_id, created_at=clock.now())
        )
    with store.sessions() as s:
        assert "Wang Li" in {p.name for p in s.scalars(ops.people_query(orgs["agency"]))}
        assert "Wang Li" not in {p.name for p in s.scalars(ops.people_query(orgs["other"]))}
        assert s.get(Person, mine_id) is not None


def test_csv_import_reports_bad_rows(store: Store, orgs: dict[str, Viewer]) -> None:
    with store.transaction() as s:
        r = ops.import_csv(
            s,
            orgs["mgr"],
            "sites",
            "name,lat,lon,kind\nPort camp,24.78,67.35,camp\nBroken,north,67,camp\n,24.9,67.1,office\n",
        )
        assert r.created == 1 and len(r.errors) == 2
        assert r.errors[0].startswith("line 3:") and r.errors[1].startswith("line 4:")
        p = ops.import_csv(
            s, orgs["mgr"], "people", "name,nationality,site\nLi Wei,Chinese,Port camp\nZhang,Chinese,Nowhere\n"
        )
        assert p.created == 1 and "unknown site" in p.errors[0]


def test_security_details_export_and_erasure(store: Store, orgs: dict[str, Viewer]) -> None:
    from corridor.store.tables import Movement, SecurityDetail

    with store.transaction() as s:
        r = ops.import_csv(
            s,
            orgs["mgr"],
            "details",
            "name,kind,force,armoured,capacity\n"
            "SPU team 3,escort,Special Protection Unit,,\nLC-7,vehicle,,yes,6\nBoat,ship,,,\n",
        )
        assert r.created == 2 and "escort or a vehicle" in r.errors[0]
        assert s.scalar(sa.select(SecurityDetail.armoured).where(SecurityDetail.name == "LC-7")) is True
        p = ops.add_person(s, orgs["mgr"], "Wang Li", "Chinese", phone="+92 300 0000000")
        mv = ops.request_movement(s, orgs["mgr"], "road", "Karachi", "Hub", DEPART, [p.id])
        pid, mid = p.id, mv.id
    with store.transaction() as s:
        with pytest.raises(ops.OpsError):
            ops.export_person(s, orgs["other"], pid)  # another organisation cannot read it out
        data = ops.export_person(s, orgs["mgr"], pid)
        assert data["person"]["phone"] == "+92 300 0000000" and data["movements"][0]["id"] == mid
        ops.erase_person(s, orgs["mgr"], pid)
    with store.sessions() as s:
        assert s.get(Person, pid) is None
        assert s.get(Movement, mid).people == []  # type: ignore[union-attr]


def test_missed_check_in_is_escalated_once(store: Store, orgs: dict[str, Viewer]) -> None:
    start = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
    previous = clock.set_clock(clock.FixedClock(start))
    try:
        with store.transaction() as s:
            p = ops.add_person(s, orgs["mgr"], "Wang Li", "Chinese")
            mv = ops.request_movement(s, orgs["mgr"], "road", "Karachi", "Hub", start, [p.id], check_in_minutes=30)
            mv.evaluation = {"compliant": True, "rules": []}
            for st, who in (
                ("submitted", "mgr"),
                ("approved", "mgr"),
                ("acknowledged", "agency"),
                ("under_way", "mgr"),
            ):
                ops.advance(s, orgs[who], mv.id, st)
        clock.set_clock(clock.FixedClock(start + timedelta(minutes=50)))
        with store.transaction() as s:
            assert len(ops.escalate_overdue(s)) == 1
            assert ops.escalate_overdue(s) == []  # once
    finally:
        clock.set_clock(previous)


def test_organisation_rules_extend_and_override_the_default(tmp_path: Path) -> None:
    from corridor.ops.sop import install, rules_for

    own = tmp_path / "mine.yaml"
    own.write_text(
        "- id: no-night-road-travel\n  title: No road travel between 17:00 and 07:00\n"
        "  requires: {no_travel_between: ['17:00', '07:00']}\n"
        "- id: two-vehicles\n  title: Armoured vehicles only\n  applies: {movement: [site_visit]}\n"
        "  requires: {armoured: true}\n"
    )
    install(own, tmp_path, "org-1")
    rules = {r.id: r for r in rules_for("org-1", tmp_path)}
    assert rules["no-night-road-travel"].requires["no_travel_between"] == ["17:00", "07:00"]
    assert "two-vehicles" in rules and "escort-foreign-road" in rules
    assert "two-vehicles" not in {r.id for r in rules_for("org-2", tmp_path)}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  title: y\n  requires: {}\n")
    with pytest.raises(SopError):
        install(bad, tmp_path, "org-1")
    assert {r.id for r in rules_for("org-1", tmp_path)} == set(rules)  # the bad file changed nothing
