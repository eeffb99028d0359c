"""The risk model: it recovers a known process, beats simple baselines on real history, explains itself, and
refuses questions it cannot answer."""

from __future__ import annotations

from datetime import date

import h3
import pytest

from corridor.risk.hawkes import Events, HawkesModel, fit, log_likelihood, simulate, with_events
from corridor.risk.service import RiskError, backtest, build_model

BOX = (28.0, 66.0, 31.0, 70.0)
TRUE = {"rate": 1.0, "alpha": 0.5, "omega": 0.05, "sigma": 15.0}


def test_fit_recovers_a_simulated_hawkes_process() -> None:
    days = 4000.0
    rows = simulate(BOX, TRUE["rate"], TRUE["alpha"], TRUE["omega"], TRUE["sigma"], days, seed=3)
    full = Events.build(rows)
    train_end = 3200.0
    train = Events.build([r for r in rows if (r[1] - full.origin).days < train_end], origin=full.origin)
    poly = h3.LatLngPoly([(BOX[0], BOX[1]), (BOX[0], BOX[3]), (BOX[2], BOX[3]), (BOX[2], BOX[1])])
    cover = set(h3.h3shape_to_cells(poly, 5))
    model = fit(train, cover, t_end=train_end)
    assert model.alpha == pytest.approx(TRUE["alpha"], rel=0.10)
    assert model.omega == pytest.approx(TRUE["omega"], rel=0.10)
    assert model.sigma == pytest.approx(TRUE["sigma"], rel=0.10)
    # predictive log-likelihood on the held-out days: within 2% of the true model's
    fitted_ll, n = log_likelihood(with_events(model, full), train_end, days)
    true_model = HawkesModel(
        mu={c: TRUE["rate"] / len(cover) for c in cover},
        cell_area=model.cell_area,
        alpha=TRUE["alpha"],
        omega=TRUE["omega"],
        sigma=TRUE["sigma"],
        res=5,
        max_days=180,
        max_km=100,
        events=full,
        floor=1e-12,
    )
    true_ll, _ = log_likelihood(true_model, train_end, days)
    assert n > 1000
    assert abs(fitted_ll - true_ll) / abs(true_ll) < 0.02


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return build_model()


def test_rating_explains_itself(model) -> None:  # type: ignore[no-untyped-def]
    # four days after the suicide bombing near Karachi airport (6 Oct 2024, in the bundled history)
    r = model.rate(24.9065, 67.1608, date(2024, 10, 10))
    assert 1 <= r["rating"] <= 5 and r["label"]
    assert r["trend"] == "rising"
    assert r["raised_by"] and r["raised_by"][0]["date"] == "2024-10-06"
    assert 0 < r["background_share"] < 1
    before = model.rate(24.9065, 67.1608, date(2024, 10, 1))
    assert r["expected_attacks_per_year_within_25km"] > before["expected_attacks_per_year_within_25km"]


def test_quetta_rates_higher_than_islamabad(model) -> None:  # type: ignore[no-untyped-def]
    day = date(2025, 6, 1)
    quetta = model.rate(30.19, 67.0, day)
    islamabad = model.rate(33.70, 73.05, day)
    assert quetta["rating"] > islamabad["rating"]


def test_area_rating(model) -> None:  # type: ignore[no-untyped-def]
    r = model.area("Balochistan", date(2025, 6, 1))
    assert r["kind"] == "province" and r["cells"] > 100
    assert r["worst"]["rating"] >= r["rating"]
    assert sum(r["share_of_cells_by_rating"].values()) == pytest.approx(1.0, abs=0.01)
    assert model.area("Kech", date(2025, 6, 1))["kind"] == "district"


def test_questions_it_cannot_answer(model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RiskError, match="outside"):
        model.rate(40.4, 49.9, date(2024, 1, 1))  # Baku
    with pytest.raises(RiskError, match="after the last incident"):
        model.rate(30.19, 67.0, date(2031, 1, 1))
    with pytest.raises(RiskError, match="before the incident history"):
        model.rate(30.19, 67.0, date(2010, 1, 1))
    with pytest.raises(RiskError, match="no province or district"):
        model.area("Atlantis", date(2024, 1, 1))


def test_backtest_beats_baselines_on_the_bundled_history() -> None:
    b = backtest(date(2024, 1, 1), months=12)
    assert b.test_events > 20
    ll = b.loglik_per_event
    assert ll["hawkes"] > ll["kde"] > ll["uniform"]
    assert ll["hawkes"] > ll["province"]
    assert b.hit_rate["hawkes"]["10%"] > b.hit_rate["province"]["10%"]


def test_cli_risk(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("risk", "at", "Karachi airport", "--date", "2024-10-10")
    assert r.returncode == 0, r.stderr
    assert "rating" in r.stdout and "raised by 2024-10-06" in r.stdout
    bad = cli("risk", "at", "Atlantis")
    assert bad.returncode == 2 and "gazetteer" in bad.stderr


def _toy_network():  # type: ignore[no-untyped-def]
    from corridor.geo.roads import Edge, Node, RoadNetwork

    nodes = [
        Node("karachi", "Karachi", "city", "Sindh", 24.86, 67.01),
        Node("hub", "Hub", "town", "Balochistan", 25.05, 66.88),
        Node("hyderabad", "Hyderabad", "city", "Sindh", 25.40, 68.37),
        Node("sukkur", "Sukkur", "city", "Sindh", 27.70, 68.86),
        Node("quetta", "Quetta", "city", "Balochistan", 30.19, 67.00),
        Node("island", "Island", "town", "Sindh", 24.80, 66.50),
    ]
    edges = [
        Edge("karachi", "hub", "N-25", 25, "national_highway"),
        Edge("hub", "quetta", "N-25", 650, "national_highway"),
        Edge("karachi", "hyderabad", "M-9", 165, "motorway"),
        Edge("hyderabad", "sukkur", "N-5", 330, "national_highway"),
        Edge("sukkur", "quetta", "N-65", 390, "national_highway"),
    ]
    return RoadNetwork(nodes, edges)


def test_routes_shortest_least_risk_and_refusals(model) -> None:  # type: ignore[no-untyped-def]
    from corridor.geo.roads import RoadError
    from corridor.risk.routes import plan

    net = _toy_network()
    day = date(2024, 11, 12)
    short = plan(model, net, "Karachi", "Quetta", day)
    assert short["km"] == 675 and [leg["road"] for leg in short["legs"]] == ["N-25", "N-25"]
    safe = plan(model, net, "Karachi", "Quetta", day, least_risk=True)
    assert safe["exposure_attacks_per_year_within_25km"] <= short["exposure_attacks_per_year_within_25km"]
    via = plan(model, net, "Karachi", "Quetta", day, via=["Sukkur"])
    assert [leg["to"] for leg in via["legs"]] == ["Hyderabad", "Sukkur", "Quetta"]
    assert via["worst_segment"]["rating"] >= via["rating"]
    assert via["hours"] == pytest.approx(165 / 100 + 330 / 60 + 390 / 60, abs=0.1)
    with pytest.raises(RoadError, match="no road connects"):
        plan(model, net, "Karachi", "Island", day)
    with pytest.raises(RoadError, match="no place"):
        plan(model, net, "Karachi", "Atlantis", day)
    for bad in ("inf,67", "nan,nan", "95,67"):  # coordinates typed by hand: refused, never a crash
        with pytest.raises(RoadError, match="not a latitude,longitude pair"):
            plan(model, net, bad, "Karachi", day)


def test_bundled_road_network_is_connected_and_routes_quickly(model) -> None:  # type: ignore[no-untyped-def]
    import time

    from corridor.geo.roads import RoadNetwork
    from corridor.risk.routes import plan

    net = RoadNetwork.load()
    seen, todo = {"karachi"}, ["karachi"]
    while todo:
        node = todo.pop()
        for e in net.adj[node]:
            nxt = e.other(node)
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(net.nodes), sorted(set(net.nodes) - seen)[:10]
    t = time.perf_counter()
    r = plan(model, net, "Karachi", "Quetta", date(2024, 11, 12))
    assert r["km"] > 500 and r["legs"]
    assert time.perf_counter() - t < 2.0  # bench/risk.py measures the real figure


def test_store_incidents_join_the_history_unless_it_has_them_already() -> None:
    """The day-indexed merge keeps exactly what comparing every store incident with every history row kept."""
    import random
    from datetime import timedelta

    from corridor.geo.gazetteer import distance_km
    from corridor.risk.service import Incident, _merge, load_history_cached

    history = list(load_history_cached())
    rng = random.Random(4)
    extra = []
    for k in range(400):
        h = rng.choice(history)
        shift = rng.choice([-3, -2, -1, 0, 1, 2, 3])
        km = rng.choice([0.0, 0.1, 0.2, 0.3, 1.0])  # degrees: from the same spot to ~100 km away
        extra.append(
            Incident(f"s{k}", h.day + timedelta(days=shift), h.lat + km, h.lon, h.place, h.event_type, 1, False, "x")
        )

    def every_pair(inc: Incident) -> bool:
        return not any(
            abs((h.day - inc.day).days) <= 1 and distance_km(h.lat, h.lon, inc.lat, inc.lon) <= 30 for h in history
        )

    merged = _merge(history, extra)
    kept = {i.id for i in merged} - {h.id for h in history}
    assert kept == {i.id for i in extra if every_pair(i)}
    assert 0 < len(kept) < len(extra)  # both outcomes occur
    assert merged == sorted(merged, key=lambda i: (i.day, i.id))


def test_a_fit_takes_at_most_the_newest_incidents_it_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRIDOR_RISK_MAX_EVENTS", "150")
    model = build_model([])
    days = sorted(i.day for i in model.incidents)
    assert len(model.incidents) == 150
    monkeypatch.delenv("CORRIDOR_RISK_MAX_EVENTS")
    everything = build_model([])
    assert len(everything.incidents) > 150
    assert days == sorted(i.day for i in everything.incidents)[-150:]
    monkeypatch.setenv("CORRIDOR_RISK_MAX_EVENTS", "lots")
    with pytest.raises(RiskError, match="CORRIDOR_RISK_MAX_EVENTS"):
        build_model([])
