import json

from corridor.geo.build import INDEX, build
from corridor.geo.gazetteer import get_gazetteer
from corridor.model.enums import GeoPrecision


def test_bundled_index_matches_its_sources() -> None:
    assert json.loads(INDEX.read_text(encoding="utf-8")) == json.loads(json.dumps(build())), (
        "geo/data/gazetteer.json is stale: run `python -m corridor.geo.build`"
    )


def test_every_province_and_many_districts() -> None:
    g = get_gazetteer()
    provinces = {p.name for p in g.places if p.base_kind == "province"}
    assert provinces == {
        "Punjab",
        "Sindh",
        "Khyber Pakhtunkhwa",
        "Balochistan",
        "Islamabad Capital Territory",
        "Gilgit-Baltistan",
        "Azad Kashmir",
    }
    districts = [p for p in g.places if p.base_kind == "district"]
    assert len(districts) >= 150
    assert all(d.province in provinces for d in districts)


def test_lookup_gives_hierarchy() -> None:
    g = get_gazetteer()
    karachi = g.lookup("Karachi")[0]
    assert (karachi.province, karachi.country, karachi.precision) == ("Sindh", "Pakistan", GeoPrecision.CITY)
    besham = g.lookup("Besham")[0]  # a town GeoNames lacks, added by hand
    assert (besham.district, besham.province) == ("Shangla", "Khyber Pakhtunkhwa")
    assert g.lookup("Bisham")[0].id == besham.id  # spelling variant
    dik = g.lookup("D.I. Khan")[0]
    assert dik.district == "Dera Ismail Khan"
    assert g.lookup("KPK")[0].name == "Khyber Pakhtunkhwa"


def test_facilities_are_points_inside_their_city() -> None:
    g = get_gazetteer()
    airport = g.lookup("Karachi airport")[0]
    assert airport.name == "Jinnah International Airport"
    assert airport.precision == GeoPrecision.POINT and airport.city == "Karachi" and airport.province == "Sindh"
    for name in ("Dasu Dam", "Saindak", "Reko Diq", "Port Qasim", "Gwadar Port"):
        assert g.lookup(name), name


def test_ambiguous_names_return_every_candidate_domestic_first() -> None:
    g = get_gazetteer()
    cands = g.lookup("Hyderabad")
    countries = {c.country for c in cands}
    assert {"Pakistan", "India"} <= countries
    assert cands[0].country == "Pakistan"


def test_foreign_places_are_recognised_as_foreign() -> None:
    g = get_gazetteer()
    for name in ("Baku", "Beijing", "Kabul", "Boao"):
        found = g.lookup(name)
        assert found and not found[0].is_domestic, name


def test_find_in_text_takes_longest_match_and_needs_a_capital() -> None:
    g = get_gazetteer()
    text = "A bomb went off near Karachi airport; later a tank was seen in Dera Ismail Khan."
    names = [m.candidates[0].name for m in g.find(text)]
    assert names == ["Jinnah International Airport", "Dera Ismail Khan"]
