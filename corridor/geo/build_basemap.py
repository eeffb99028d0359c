"""Build the offline basemap (geo/data/basemap/*.geojson) from geoBoundaries' Pakistan district layer.

Why this exists: the web dashboard and the PDF daily brief draw Pakistan's provinces and districts without a
tile server, so the package ships small GeoJSON files. This script is the reproducible path from the public
source file to those files; it is not run by the tests (the source file is not in the repository).

Source (the only input besides geo/data/districts.csv):
    geoBoundaries gbOpen, PAK ADM2 ("Districts"), boundaryID PAK-ADM2-60131773, boundaryYear 2019,
    boundary licence: Public Domain (geoBoundaries' sources: "geoBoundaries" and Wikipedia / Wikimedia
    Commons), build of Mar 11, 2022. File used:
    releaseData/gbOpen/PAK/ADM2/geoBoundaries-PAK-ADM2_simplified.topojson in the wmgeolab/geoBoundaries
    repository at commit 0b9bae0e073a431092e89063f986089404b0ff47 (128,084 bytes, sha256 below).
    Cite: Runfola, D. et al. (2020) geoBoundaries: A global database of political administrative boundaries.
    PLoS ONE 15(4): e0231866. The same release's GeoJSON (geoBoundaries-PAK-ADM2_simplified.geojson) is also
    accepted, but only the TopoJSON keeps neighbouring districts' shared borders identical after simplification.

What it does:
  * decodes the TopoJSON arcs and simplifies each shared arc once (shapely ``simplify(preserve_topology=True)``,
    TOLERANCE degrees), so two neighbouring districts keep exactly the same border and provinces dissolve cleanly;
  * rounds coordinates to 4 decimals (about 11 m; the source itself is quantised to about 40 m and its borders
    are only accurate to a few km);
  * names each polygon after the gazetteer (geo/data/districts.csv): RENAMES maps the source's spelling to the
    canonical name, PARENTS lists the current districts that lie inside a source polygon because they were
    carved out of it after the source's date (e.g. Karachi's 7 districts, the 10 districts of Azad Kashmir);
  * dissolves districts into the 7 provinces/territories (canonical names of geo/data/provinces.csv) and those
    into the country outline.

Run: python -m corridor.geo.build_basemap PATH/TO/geoBoundaries-PAK-ADM2_simplified.topojson [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from shapely import unary_union
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.validation import make_valid

DATA = Path(__file__).with_name("data")
OUT = DATA / "basemap"
SOURCE_SHA256 = "7b09f133d6ac8d631f81a625b2ca564ee9d16fc377e259adc1784b3058dde96f"
SOURCE_NAME = "geoBoundaries gbOpen PAK ADM2 (PAK-ADM2-60131773, boundary year 2019, build 2022-03-11)"
LICENSE = "Public Domain (geoBoundaries gbOpen PAK ADM2; geoBoundaries asks to be cited)"
# 0.002 degrees is about 200 m: far below the source's own positional error (a few km), and it keeps the
# district file near 300 KB.
TOLERANCE = 0.002
DECIMALS = 4

# Source spelling -> canonical district name (geo/data/districts.csv) for units that exist today under
# another spelling or name. Names that already match a canonical name or alias need no entry.
RENAMES = {
    "Islamabad Capital Territory": "Islamabad",
    "Jafarabad": "Jaffarabad",
    "Mirpurkhas": "Mirpur Khas",
    "Naushehro Feroze": "Naushahro Feroze",
    "Nawabshah": "Shaheed Benazirabad",
    "Qilla Abdullah": "Killa Abdullah",
    "Qilla Saifullah": "Killa Saifullah",
    "Sheikhpura": "Sheikhupura",
    "Vihari": "Vehari",
}

# Source polygon -> every current district (canonical names) that lies inside it. The source predates these
# splits or does not divide the unit. A source polygon listed here keeps its own name when it is not itself a
# current district ("Karachi", "Azad Kashmir", "Chitral", "Kohistan", "South Waziristan").
PARENTS: dict[str, tuple[str, ...]] = {
    "Azad Kashmir": (
        "Bagh",
        "Bhimber",
        "Hattian Bala",
        "Haveli",
        "Kotli",
        "Mirpur",
        "Muzaffarabad",
        "Neelum",
        "Poonch",
        "Sudhanoti",
    ),
    "Karachi": ("Karachi Central", "Karachi East", "Karachi South", "Karachi West", "Keamari", "Korangi", "Malir"),
    "Chakwal": ("Chakwal", "Talagang"),  # Talagang split off in 2022
    "Chitral": ("Lower Chitral", "Upper Chitral"),  # 2018
    "Dera Ghazi Khan": ("Dera Ghazi Khan", "Taunsa"),  # 2022
    "Dera Ismail Khan": ("Dera Ismail Khan", "Paharpur"),  # 2025
    "Diamer": ("Diamer", "Darel", "Tangir"),  # 2019
    "Ghizer": ("Ghizer", "Gupis-Yasin"),  # 2019
    "Gujranwala": ("Gujranwala", "Wazirabad"),  # 2022
    "Jafarabad": ("Jaffarabad", "Sohbatpur", "Usta Muhammad"),  # 2013, 2022
    "Jhang": ("Jhang", "Chiniot"),  # 2009
    "Kalat": ("Kalat", "Surab"),  # 2017
    "Kharan": ("Kharan", "Washuk"),  # 2005
    "Kohistan": ("Upper Kohistan", "Lower Kohistan", "Kolai-Palas"),  # 2014
    "Lasbela": ("Lasbela", "Hub"),  # 2022
    "Loralai": ("Loralai", "Duki"),  # 2017
    "Mansehra": ("Mansehra", "Torghar"),  # 2011
    "Muzaffargarh": ("Muzaffargarh", "Kot Addu"),  # 2022
    # The source has no separate Larkana polygon: this one holds both Larkana and Qambar (split in 2004).
    "Qambar Shahdadkot": ("Qambar Shahdadkot", "Larkana"),
    "Qilla Abdullah": ("Killa Abdullah", "Chaman"),  # 2021
    "Rawalpindi": ("Rawalpindi", "Murree"),  # 2022
    "Sheikhpura": ("Sheikhupura", "Nankana Sahib"),  # 2005
    "Sibi": ("Sibi", "Harnai"),  # 2007
    "Skardu": ("Skardu", "Roundu"),  # 2019
    "South Waziristan": ("Lower South Waziristan", "Upper South Waziristan"),  # 2022
    "Thatta": ("Thatta", "Sujawal"),  # 2013
    "Upper Dir": ("Upper Dir", "Central Dir"),  # 2023
    "Zhob": ("Zhob", "Sherani"),  # 2006
}

Ring = list[tuple[float, float]]


class BasemapError(ValueError):
    """The source file or the name tables do not fit together; the message says which entry."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _round_ring(ring: Iterable[Sequence[float]]) -> Ring:
    """Round to DECIMALS and drop the repeated points that rounding creates."""
    out: Ring = []
    for x, y, *_ in ring:
        p = (round(float(x), DECIMALS), round(float(y), DECIMALS))
        if not out or out[-1] != p:
            out.append(p)
    return out


def _topojson_features(topo: dict[str, Any], tolerance: float) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """TopoJSON -> (properties, polygon) per feature, simplifying every arc once so that shared borders stay
    shared. Arc endpoints (where three units meet) are never moved by simplify, so rings still close."""
    transform = topo.get("transform")
    sx, sy = transform["scale"] if transform else (1.0, 1.0)
    tx, ty = transform["translate"] if transform else (0.0, 0.0)
    arcs: list[Ring] = []
    for raw in topo["arcs"]:
        x = y = 0.0
        pts: Ring = []
        for dx, dy in raw:
            if transform:  # quantised: positions are deltas on an integer grid
                x, y = x + dx, y + dy
            else:
                x, y = dx, dy
            pts.append((tx + x * sx, ty + y * sy))
        if tolerance > 0 and len(pts) > 2:
            pts = list(LineString(pts).simplify(tolerance, preserve_topology=True).coords)
        arcs.append(_round_ring(pts))

    def ring(indices: list[int]) -> Ring:
        pts: Ring = []
        for i in indices:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            if pts and pts[-1] != arc[0]:
                raise BasemapError(f"arc {i} does not start where the previous arc ends")
            pts.extend(arc if not pts else arc[1:])
        return pts

    features = []
    for obj in topo["objects"].values():
        for geom in obj["geometries"]:
            polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
            parts = []
            for poly in polys:
                rings = [ring(r) for r in poly]
                if len(rings[0]) < 4:  # a tiny island collapsed by simplification
                    continue
                parts.append(Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
            if not parts:
                raise BasemapError(f"{geom['properties']}: every part collapsed; lower the tolerance")
            features.append((geom["properties"], parts[0] if len(parts) == 1 else MultiPolygon(parts)))
    return features


def _geojson_features(fc: dict[str, Any], tolerance: float) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """GeoJSON input: each feature simplified on its own (neighbours may then overlap or gap by up to
    `tolerance`); prefer the TopoJSON."""
    out = []
    for feat in fc["features"]:
        geom = shape(feat["geometry"])
        if tolerance > 0:
            geom = geom.simplify(tolerance, preserve_topology=True)
        out.append((feat["properties"], geom))
    return out


def load_source(path: Path, tolerance: float = TOLERANCE) -> list[tuple[dict[str, Any], BaseGeometry]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "Topology":
        return _topojson_features(data, tolerance)
    if data.get("type") == "FeatureCollection":
        return _geojson_features(data, tolerance)
    raise BasemapError(f"{path}: neither TopoJSON nor a GeoJSON FeatureCollection")


def _districts_csv(data: Path = DATA) -> dict[str, dict[str, Any]]:
    """Canonical district name -> {province, aliases} from the gazetteer source."""
    out: dict[str, dict[str, Any]] = {}
    with (data / "districts.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            aliases = [a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()]
            out[row["name"]] = {"province": row["province"], "aliases": aliases}
    return out


def canonical_names(source_name: str, districts: dict[str, dict[str, Any]]) -> tuple[str, list[str]]:
    """Source unit name -> (display name, current districts inside it). Raises on a name no table explains,
    so a new source release cannot silently ship unnamed or misfiled polygons."""
    if source_name in PARENTS:
        covered = list(PARENTS[source_name])
        own = RENAMES.get(source_name, source_name)
        return (own if own in districts else source_name), covered
    if source_name in RENAMES:
        return RENAMES[source_name], [RENAMES[source_name]]
    if source_name in districts:
        return source_name, [source_name]
    folded = source_name.casefold()
    for name, info in districts.items():
        if folded in (a.casefold() for a in info["aliases"]):
            return name, [name]
    raise BasemapError(f"source district {source_name!r} matches no district in districts.csv; add it to RENAMES")


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """Valid, polygonal, counter-clockwise exterior rings (RFC 7946)."""
    if not geom.is_valid:
        geom = make_valid(geom)
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    polys += [p for g in getattr(geom, "geoms", []) if isinstance(g, MultiPolygon) for p in g.geoms]
    oriented = [orient(p, 1.0) for p in polys]
    return oriented[0] if len(oriented) == 1 else MultiPolygon(oriented)


def _geometry_json(geom: BaseGeometry) -> dict[str, Any]:
    gj = mapping(geom)

    def rnd(c: Any) -> Any:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(c[0]), DECIMALS), round(float(c[1]), DECIMALS)]
        return [rnd(x) for x in c]

    return {"type": gj["type"], "coordinates": rnd(gj["coordinates"])}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "source": SOURCE_NAME,
        "license": LICENSE,
        "features": features,
    }


def build(source: Path, out: Path = OUT, tolerance: float = TOLERANCE, data: Path = DATA) -> dict[str, int]:
    """Write provinces.geojson, districts.geojson and country.geojson into `out`; returns their sizes."""
    districts = _districts_csv(data)
    features = load_source(source, tolerance)
    seen: set[str] = set()
    district_features: list[dict[str, Any]] = []
    by_province: dict[str, list[BaseGeometry]] = defaultdict(list)
    for props, geom in features:
        src = props["shapeName"]
        name, covered = canonical_names(src, districts)
        unknown = [d for d in covered if d not in districts]
        if unknown:
            raise BasemapError(f"{src}: PARENTS names districts not in districts.csv: {unknown}")
        provinces = {districts[d]["province"] for d in covered}
        if len(provinces) != 1:
            raise BasemapError(f"{src}: covers districts of several provinces: {sorted(provinces)}")
        province = provinces.pop()
        seen.update(covered)
        geom = _clean(geom)
        by_province[province].append(geom)
        district_features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": name,
                    "source_name": src,
                    "province": province,
                    "districts": sorted(covered),
                    "source_id": props.get("shapeID"),
                },
                "geometry": _geometry_json(geom),
            }
        )
    missing = sorted(set(districts) - seen)
    if missing:
        print(f"warning: no polygon covers these districts.csv entries: {missing}", file=sys.stderr)
    district_features.sort(key=lambda f: (f["properties"]["province"], f["properties"]["name"]))

    province_features = []
    province_geoms = []
    for province in sorted(by_province):
        geom = _clean(unary_union(by_province[province]))
        province_geoms.append(geom)
        province_features.append(
            {"type": "Feature", "properties": {"name": province}, "geometry": _geometry_json(geom)}
        )
    country = _clean(unary_union(province_geoms))
    country_features = [{"type": "Feature", "properties": {"name": "Pakistan"}, "geometry": _geometry_json(country)}]

    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for fname, feats in (
        ("provinces.geojson", province_features),
        ("districts.geojson", district_features),
        ("country.geojson", country_features),
    ):
        text = json.dumps(_collection(feats), ensure_ascii=False, separators=(",", ":"))
        (out / fname).write_text(text + "\n", encoding="utf-8")
        sizes[fname] = len(text) + 1
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="geoBoundaries PAK ADM2 TopoJSON (or GeoJSON)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE, help="simplification tolerance, degrees")
    args = ap.parse_args(argv)
    digest = sha256(args.source)
    if digest != SOURCE_SHA256:
        print(f"note: {args.source} is not the file this basemap was built from (sha256 {digest})", file=sys.stderr)
    for fname, size in build(args.source, args.out, args.tolerance).items():
        print(f"{args.out / fname}: {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
