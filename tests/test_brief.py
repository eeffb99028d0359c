"""The daily security brief: what it holds for each organisation under TLP 2.0, its map and chart, HTML with
no external request, a PDF with the marking on every page, the CLI and the API.

One small store for the module (read-only for the tests): two organisations with sites near Karachi, Dasu
and Gwadar; incidents of every marking owned by each, public ones, a retracted and a month-precise one; a
movement planned for the day after the brief.
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient
from typer.testing import CliRunner

from corridor.brief.render import file_name, render_html, render_pdf
from corridor.brief.service import Brief, gather, organisation_viewer
from corridor.geo.roads import get_network
from corridor.identity.service import add_org, add_user
from corridor.ops.service import LOCAL, add_person, add_site, evaluate_movement, request_movement
from corridor.ops.sop import load_rules
from corridor.risk.service import RiskModel, build_model, store_incidents
from corridor.store.db import Store
from corridor.store.seed import seed_actors
from corridor.store.tables import Incident, RecordShare
from corridor.store.visibility import Viewer

from .conftest import run_cli
from .databases import TestDatabases

D = date(2024, 10, 7)
STAMP = datetime(2024, 10, 7, 6, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
SECTIONS = (
    "Summary",
    "Incidents and sites, last 7 days",
    "Last 24 hours: incidents within 100 km of your sites",
    "Last 7 days: incidents within 100 km of your sites",
    "Other incidents in your provinces, last 7 days",
    "Risk ratings at your sites",
    "Movements planned for tomorrow",
    "Incidents per day, last 30 days",
)


@dataclass
class World:
    store: Store
    url: str
    model: RiskModel
    orgs: dict[str, str] = field(default_factory=dict)
    movement: str = ""


def _incident(
    owner: str | None, tlp: str, day: date, place: str, lat: float, lon: float, province: str, **kw: Any
) -> Incident:
    return Incident(
        event_type=kw.pop("event_type", "bombing"),
        date=day,
        date_precision=kw.pop("date_precision", "day"),
        place_name=place,
        city=place,
        province=province,
        country="Pakistan",
        lat=lat,
        lon=lon,
        geo_precision="city",
        status=kw.pop("status", "draft"),
        version=1,
        tlp=tlp,
        owner_org_id=owner,
        provenance={},
        locked_fields=[],
        created_at=STAMP,
        updated_at=STAMP,
        first_seen=STAMP,
        last_seen=STAMP,
        confidence=0.8,
        **kw,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, databases: TestDatabases) -> Iterator[World]:
    url = databases.url(tmp_path_factory.mktemp("brief") / "corridor.db")
    store = Store(url)
    store.upgrade()
    with store.transaction() as s:
        seed_actors(s)
        a = add_org(s, "Harbour Power Co", "company")
        b = add_org(s, "Liaison Cell", "agency")
        c = add_org(s, "Quiet Traders", "company")
        add_org(s, "No Sites Ltd", "company")
        add_user(s, a, "analyst.a", "analyst", PASSWORD)
        add_user(s, b, "analyst.b", "analyst", PASSWORD)
        va = Viewer(user_id=None, org_id=a.id, role="admin")
        vb = Viewer(user_id=None, org_id=b.id, role="admin")
        vc = Viewer(user_id=None, org_id=c.id, role="admin")
        plant = add_site(s, va, "Port Qasim plant", 24.78, 67.35, "power_plant", 1500, "SSU Sindh")
        add_site(s, va, "Dasu camp", 35.29, 73.29, "camp", 800)
        add_site(s, vb, "Gwadar office", 25.11, 62.345, "office", 200)
        add_site(s, vc, "Hunza guest house", 36.32, 74.65, "residence", 100)
        rows = {
            # public, near A's plant, on D: in A's last 24 hours
            "karachi": _incident(
                None,
                "CLEAR",
                D,
                "Karachi",
                24.86,
                67.01,
                "Sindh",
                status="verified",
                perpetrator="BLA",
                claimed=True,
                killed_total=2,
                injured_total=3,
                killed_foreign=1,
                injured_foreign=1,
                foreign_nationality="Chinese",
            ),
            # A's own restricted ones near its plant
            "thatta": _incident(
                a.id,
                "AMBER",
                D - timedelta(days=3),
                "Thatta",
                24.75,
                67.92,
                "Sindh",
                event_type="armed_assault",
                killed_total=0,
                injured_total=1,
            ),
            "binqasim": _incident(a.id, "AMBER+STRICT", D, "Bin Qasim", 24.80, 67.40, "Sindh", event_type="threat"),
            # B's restricted ones, right next to A's plant: never in A's brief
            "landhi": _incident(b.id, "AMBER+STRICT", D, "Landhi", 24.85, 67.21, "Sindh"),
            "korangi": _incident(b.id, "AMBER", D - timedelta(days=2), "Korangi", 24.83, 67.13, "Sindh"),
            "malir": _incident(
                b.id, "RED", D - timedelta(days=1), "Malir", 24.89, 67.20, "Sindh", event_type="kidnapping"
            ),
            # B's RED record, shared by name with one user of A
            "gadap": _incident(b.id, "RED", D, "Gadap", 25.05, 67.12, "Sindh", event_type="kidnapping"),
            # A's AMBER record near B's site, shared with B
            "pishukan": _incident(a.id, "AMBER", D - timedelta(days=1), "Pishukan", 25.13, 62.60, "Balochistan"),
            # public, in A's provinces but far from its sites
            "sukkur": _incident(
                None,
                "GREEN",
                D - timedelta(days=4),
                "Sukkur",
                27.70,
                68.86,
                "Sindh",
                event_type="targeted_killing",
                killed_total=1,
            ),
            # public, near A's Dasu camp, six days before D
            "besham": _incident(
                None,
                "GREEN",
                D - timedelta(days=6),
                "Besham",
                34.93,
                72.88,
                "Khyber Pakhtunkhwa",
                event_type="suicide_bombing",
                killed_total=6,
                injured_total=2,
                killed_foreign=5,
                foreign_nationality="Chinese",
            ),
            # public, outside every window but the 30-day chart
            "quetta": _incident(None, "CLEAR", D - timedelta(days=20), "Quetta", 30.19, 67.0, "Balochistan"),
            # not part of the picture: retracted; known only to the month; before the week
            "gharo": _incident(None, "CLEAR", D, "Gharo", 24.74, 67.58, "Sindh", status="retracted"),
            "hub": _incident(
                None, "CLEAR", D.replace(day=1), "Hub", 25.05, 66.9, "Balochistan", date_precision="month"
            ),
            "jhimpir": _incident(None, "CLEAR", D - timedelta(days=8), "Jhimpir", 25.02, 68.0, "Sindh"),
        }
        for inc in rows.values():
            s.add(inc)
        s.flush()
        s.add(RecordShare(object_type="incident", object_id=rows["pishukan"].id, org_id=b.id, created_at=STAMP))
        named = add_user(s, a, "reader.a", "staff", PASSWORD)
        s.add(RecordShare(object_type="incident", object_id=rows["gadap"].id, user_id=named.id, created_at=STAMP))
        engineer = add_person(s, va, "Engineer 1", "Chinese", plant.id)
        tomorrow = datetime(2024, 10, 8, 19, 30, tzinfo=LOCAL)
        mv = request_movement(
            s,
            va,
            "airport_transfer",
            "Karachi airport",
            "Port Qasim",
            tomorrow,
            [engineer.id],
            vehicles=[{"name": "Land Cruiser", "armoured": False}],
            escort="Sindh Police",
        )
        request_movement(s, va, "road", "Karachi", "Hyderabad", tomorrow + timedelta(days=1), [engineer.id])
        gone = request_movement(s, va, "road", "Karachi", "Thatta", tomorrow, [engineer.id])
        gone.status = "cancelled"
        other = add_person(s, vb, "Officer 1", "Pakistani")
        request_movement(s, vb, "road", "Gwadar", "Pasni", tomorrow, [other.id])
        ids = {"A": a.id, "B": b.id, "C": c.id}
    with store.sessions() as s:
        model = build_model(store_incidents(s))
    with store.transaction() as s:
        m = s.get(type(mv), mv.id)
        assert m is not None
        evaluate_movement(s, m, model, get_network(), rules=load_rules())
    yield World(store, url, model, ids, mv.id)
    store.dispose()
    databases.drop(url)


def brief_of(w: World, org: str, day: date = D) -> Brief:
    with w.store.sessions() as s:
        return gather(s, organisation_viewer(s, org), day, w.model)


def places(rows: list[Any]) -> set[str]:
    return {r.place for r in rows}


# ------------------------------------------------------------------ what is in it


def test_brief_holds_the_right_incidents_and_never_another_organisations_restricted_ones(world: World) -> None:
    a = brief_of(world, "Harbour Power Co")
    assert places(a.near_day) == {"Karachi", "Bin Qasim"}
    assert places(a.near_week) == {"Karachi", "Bin Qasim", "Thatta", "Besham"}
    assert places(a.province_week) == {"Sukkur"}  # Sindh, 358 km from the plant
    karachi = next(i for i in a.near_day if i.place == "Karachi")
    assert karachi.nearest_site == "Port Qasim plant" and karachi.distance_km is not None
    assert 30 < karachi.distance_km < 40
    besham = next(i for i in a.near_week if i.place == "Besham")
    assert besham.nearest_site == "Dasu camp"
    assert a.near_week[0].day == D  # newest first
    everything = {i.place for i in [*a.near_week, *a.province_week]}
    for restricted in ("Landhi", "Korangi", "Malir", "Gadap"):  # B's AMBER, AMBER+STRICT, RED
        assert restricted not in everything
    for left_out in ("Gharo", "Hub", "Jhimpir", "Quetta", "Pishukan"):  # retracted, month-only, old, far
        assert left_out not in everything
    assert a.marking == "AMBER+STRICT"  # A's own Bin Qasim record
    html = render_html(a, dpi=40)
    for restricted in ("Landhi", "Korangi", "Malir", "Gadap"):
        assert restricted not in html
    assert "Bin Qasim" in html and "TLP:AMBER+STRICT" in html

    b = brief_of(world, "Liaison Cell")
    assert places(b.near_week) == {"Pishukan"}  # A's AMBER record, shared with B
    assert b.marking == "AMBER+STRICT"  # B's own Landhi record counts in its 30-day chart
    assert "Bin Qasim" not in render_html(b, dpi=40)


def test_marking_is_green_or_clear_when_nothing_restricted_is_in_it(world: World) -> None:
    c = brief_of(world, "Quiet Traders")
    assert c.near_week == [] and c.marking == "GREEN"  # Sukkur and Besham are GREEN, counted in the chart
    quiet = brief_of(world, "Quiet Traders", date(2023, 6, 1))
    assert quiet.marking == "CLEAR" and sum(d.nationwide for d in quiet.daily) == 0
    html = render_html(quiet, dpi=40)
    assert "TLP:CLEAR" in html and "TLP:AMBER" not in html
    assert "No incidents within 100 km of your sites in the last 24 hours." in html
    assert "No incidents within 100 km of your sites in the last 7 days." in html
    assert "No other incidents in Gilgit-Baltistan in the last 7 days." in html
    assert "No movements planned for tomorrow (2023-06-02)." in html


def test_an_organisation_without_sites_gets_a_brief_that_says_so(world: World) -> None:
    b = brief_of(world, "No Sites Ltd")
    assert b.sites == [] and b.near_week == [] and b.ratings == []
    assert b.summary.startswith("No sites registered")
    html = render_html(b, dpi=40)
    assert "no sites registered" in html and "No provinces to report on" in html
    assert "No sites registered, so no ratings." in html


def test_rating_changes_match_the_risk_model(world: World) -> None:
    a = brief_of(world, "Harbour Power Co")
    assert {r.site.name for r in a.ratings} == {"Port Qasim plant", "Dasu camp"}
    for r in a.ratings:
        now = world.model.rate(r.site.lat, r.site.lon, D)
        before = world.model.rate(r.site.lat, r.site.lon, D - timedelta(days=7))
        assert (r.rating, r.rating_before) == (now["rating"], before["rating"])
        assert r.change == now["rating"] - before["rating"]
        assert [c.place for c in r.raised_by] == [c["place"] for c in now["raised_by"][:3]]
    assert [r.change for r in a.ratings] == sorted((r.change for r in a.ratings), reverse=True)
    html = render_html(a, dpi=40)
    first = a.ratings[0]
    assert f"{first.rating_before} {first.label_before}" in html and f"{first.rating} {first.label}" in html


def test_tomorrows_movements_with_their_evaluation(world: World) -> None:
    a = brief_of(world, "Harbour Power Co")
    assert [m.id for m in a.movements] == [world.movement]  # not the day after, not the cancelled one
    m = a.movements[0]
    assert m.depart.hour == 19 and m.depart.minute == 30 and m.evaluated and m.compliant is False
    assert any("escort by Special Protection Unit" in x for x in m.missing)
    assert m.route is not None and 1 <= m.route["rating"] <= 5
    assert "1 movement tomorrow, 1 misses its SOPs (needs" in a.summary and "escort" in a.summary
    html = render_html(a, dpi=40)
    assert "Karachi airport" in html and "misses the SOPs" in html and "Special Protection Unit" in html
    assert "Movements planned for tomorrow, 2024-10-08" in html
    assert "Gwadar" not in {x.origin for x in a.movements}


def test_summary_line(world: World) -> None:
    a = brief_of(world, "Harbour Power Co")
    assert a.summary.startswith("2 incidents within 100 km of your sites in the last 24 hours; 4 in the last 7 days")


# ------------------------------------------------------------------ HTML and PDF


def test_html_is_self_contained_with_map_and_chart(world: World) -> None:
    html = render_html(brief_of(world, "Harbour Power Co"), dpi=40)
    assert not re.search(r"https?://", html, re.I), "the brief must make no external request"
    assert "<link" not in html and "@import" not in html and "url(" not in html
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2  # the map and the chart
    for data in images:
        img = Image.open(BytesIO(base64.b64decode(data)))
        assert img.format == "PNG" and img.width > 150 and img.height > 50
    for title in SECTIONS:
        assert title in html


def _ink(png: Path) -> float:
    """Share of a page's pixels that are not (near) white."""
    return float((np.asarray(Image.open(png).convert("L")) < 200).mean())


def test_pdf_renders_with_the_marking_on_every_page(world: World, tmp_path: Path) -> None:
    b = brief_of(world, "Harbour Power Co")
    pdf = tmp_path / file_name(b, "pdf")
    pdf.write_bytes(render_pdf(b, dpi=50))
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    assert all(_ink(p) > 0.01 for p in pages), [(p.name, _ink(p)) for p in pages]
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    texts = [t for t in text.split("\f") if t.strip()]
    assert len(texts) == len(pages)
    assert all("TLP:AMBER+STRICT" in t for t in texts)  # header and footer of every page
    for title in SECTIONS:
        assert " ".join(title.split()) in " ".join(text.split())
    assert "Bin Qasim" in text and "Karachi" in text and "Sukkur" in text
    assert "Landhi" not in text and "Malir" not in text


# ------------------------------------------------------------------ CLI


def test_cli_writes_html_and_pdf(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corridor.cli.main import app

    monkeypatch.setenv("CORRIDOR_DATABASE_URL", world.url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["brief", "--org", "Harbour Power Co", "--date", "2024-10-07", "--dpi", "40"])
    assert r.exit_code == 0, r.output
    default = tmp_path / "brief-harbour-power-co-2024-10-07.html"
    assert r.stdout.strip() == default.name and default.exists()
    assert "TLP:AMBER+STRICT" in default.read_text(encoding="utf-8")
    out = tmp_path / "a.pdf"
    args = ["brief", "--org", "Harbour Power Co", "--date", "2024-10-07", "--format", "pdf", "--out", str(out)]
    r = runner.invoke(app, [*args, "--dpi", "40"])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF") and r.stdout.strip() == str(out)


def test_cli_user_mistakes_exit_2_with_one_line(world: World, tmp_path: Path) -> None:
    r = run_cli(
        "brief",
        "--org",
        "Nobody Inc",
        "--date",
        "2024-10-07",
        "--out",
        str(tmp_path / "x.html"),
        home=tmp_path,
        env={"CORRIDOR_DATABASE_URL": world.url},
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == ["error: no organisation 'Nobody Inc'"]
    assert not (tmp_path / "x.html").exists()
    from corridor.cli.main import app

    runner = CliRunner()
    for bad in (["--date", "07/10/2024"], ["--format", "docx"]):
        r2 = runner.invoke(app, ["brief", "--org", "Harbour Power Co", *bad], env={"CORRIDOR_DATABASE_URL": world.url})
        assert r2.exit_code == 2 and r2.stderr.startswith("error: "), r2.output


# ------------------------------------------------------------------ API


def _login(client: TestClient, username: str) -> None:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_api_gives_each_user_their_own_organisations_brief(world: World) -> None:
    from corridor.web.app import create_app

    app = create_app(world.store)
    a = TestClient(app)
    _login(a, "analyst.a")
    r = a.get("/api/v1/brief", params={"date": "2024-10-07"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert 'filename="brief-harbour-power-co-2024-10-07.html"' in r.headers["content-disposition"]
    assert r.headers["x-tlp"] == "AMBER+STRICT"
    assert "Harbour Power Co" in r.text and "Bin Qasim" in r.text
    assert "Landhi" not in r.text and "Gadap" not in r.text and "Liaison Cell" not in r.text

    b = TestClient(app)
    _login(b, "analyst.b")
    r = b.get("/api/v1/brief", params={"date": "2024-10-07", "format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert 'filename="brief-liaison-cell-2024-10-07.pdf"' in r.headers["content-disposition"]
    html_b = b.get("/api/v1/brief", params={"date": "2024-10-07"}).text
    assert "Liaison Cell" in html_b and "Pishukan" in html_b and "Bin Qasim" not in html_b

    # a RED record shared by name reaches that user's brief only, and marks it RED
    named = TestClient(app)
    _login(named, "reader.a")
    r = named.get("/api/v1/brief", params={"date": "2024-10-07"})
    assert r.headers["x-tlp"] == "RED" and "Gadap" in r.text

    assert a.get("/api/v1/brief", params={"format": "docx"}).status_code == 422
    assert TestClient(app).get("/api/v1/brief").status_code == 401


# ------------------------------------------------------------------ the basemap, when there is one


def _square(name: str, x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_map_draws_the_basemap_when_present_and_says_when_not(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from corridor.brief.charts import incident_map

    b = brief_of(world, "Harbour Power Co")
    monkeypatch.setitem(sys.modules, "corridor.geo.basemap", None)  # not installed
    bare = incident_map(b, dpi=40)
    assert bare.notes and "No basemap" in bare.notes[0]

    fake = types.ModuleType("corridor.geo.basemap")
    sindh = _square("Sindh", 66.5, 23.7, 71.1, 28.5)
    kp = {
        **_square("Khyber Pakhtunkhwa", 69.2, 31.2, 74.1, 36.9),
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [_square("", 69.2, 31.2, 74.1, 36.9)["geometry"]["coordinates"]],
        },
    }
    karachi = _square("Karachi", 66.6, 24.7, 67.6, 25.3)
    monkeypatch.setattr(
        fake, "provinces", lambda: {"type": "FeatureCollection", "features": [sindh, kp]}, raising=False
    )
    monkeypatch.setattr(fake, "districts", lambda: {"type": "FeatureCollection", "features": [karachi]}, raising=False)
    monkeypatch.setattr(fake, "ATTRIBUTION", "Boundaries: a test source", raising=False)
    monkeypatch.setitem(sys.modules, "corridor.geo.basemap", fake)
    drawn = incident_map(b, dpi=40)
    assert drawn.notes == () and drawn.png != bare.png and drawn.credit == "Boundaries: a test source"
    assert "Boundaries: a test source" in render_html(b, dpi=40)  # the basemap's licence asks for its credit

    def broken() -> dict[str, Any]:
        raise OSError("basemap data missing")

    monkeypatch.setattr(fake, "provinces", broken)
    unreadable = incident_map(b, dpi=40)
    assert unreadable.notes and "could not be read" in unreadable.notes[0]


def test_names_with_tex_specials_print_as_written(world: World) -> None:
    """A "$" in a site or place name (users type them) must not be read as TeX math and crash the map."""
    import dataclasses

    from corridor.brief.charts import daily_chart, incident_map

    b = brief_of(world, "Harbour Power Co")
    odd = dataclasses.replace(b, sites=[dataclasses.replace(s, name="Camp $\\alpha_{$ 2") for s in b.sites])
    assert odd.sites and incident_map(odd, dpi=30) and daily_chart(odd, dpi=30)
