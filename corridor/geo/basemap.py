"""The offline basemap: Pakistan's provinces/territories and districts as GeoJSON, and point-in-polygon lookups.

Why: the web dashboard (Leaflet) and the PDF daily brief draw maps with no tile server, and incidents that
carry only coordinates need a province and district. The files in geo/data/basemap/ are built by
geo/build_basemap.py from **geoBoundaries gbOpen PAK ADM2** (boundary year 2019, build 2022; licence: public
domain, geoBoundaries' own sources being geoBoundaries and Wikipedia/Wikimedia Commons), simplified to about
200 m and rounded to 4 decimals. Provinces and the country outline are dissolved from the districts, so the
three layers share their borders exactly. Maps must show ATTRIBUTION.

Limits, said plainly: the source's borders are coarse (often 1-5 km off; 8 of the 170 district headquarters in
districts.csv fall in a neighbouring polygon), and the source predates recent splits, so one polygon can hold
several current districts (its `districts` property lists them: e.g. "Karachi" holds the city's 7 districts,
"Azad Kashmir" is a single polygon). Boundaries in Kashmir and the Northern Areas are as the source draws them
and imply no position on disputed territory. Use the lookups for coarse assignment and display, never to
decide which side of a border a precise location lies.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

BASEMAP = Path(__file__).with_name("data") / "basemap"
LAYERS = ("provinces", "districts", "country")

ATTRIBUTION = (
    "Boundaries: geoBoundaries (Runfola et al. 2020, PLoS ONE 15(4): e0231866), PAK ADM2 gbOpen 2019, public "
    "domain; simplified. Approximate; boundaries in disputed areas imply no endorsement."
)
SOURCE = "geoBoundaries gbOpen PAK ADM2 (PAK-ADM2-60131773), boundary year 2019, build 2022-03-11"
LICENSE = "Public Domain"

# A point this close to a polygon but outside all of them still gets that polygon's name: the source's
# coastline and international borders are coarse, and ports (Gadani, Ormara) or border crossings (Torkham,
# Chaman) otherwise fall into the sea or the neighbouring country by a few hundred metres to 3 km.
SNAP_KM = 5.0
_EARTH_KM = 6371.0088


@cache
def _load(layer: str) -> dict[str, Any]:
    if layer not in LAYERS:
        raise ValueError(f"unknown basemap layer {layer!r}; expected one of {LAYERS}")
    path = BASEMAP / f"{layer}.geojson"
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    if data.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    return data


def provinces() -> dict[str, Any]:
    """The 7 provinces/territories as a GeoJSON FeatureCollection (property `name`, canonical as in
    provinces.csv). Loaded once and shared: treat it as read-only."""
    return _load("provinces")


def districts() -> dict[str, Any]:
    """District polygons as a GeoJSON FeatureCollection. Properties: `name` (the canonical districts.csv name
    where the polygon is that district, else the source's name, e.g. "Karachi"), `source_name`, `province`,
    `districts` (canonical names of the current districts inside the polygon), `source_id`. Loaded once and
    shared: treat it as read-only."""
    return _load("districts")


def country() -> dict[str, Any]:
    """Pakistan's outline (the union of the provinces) as a one-feature FeatureCollection. Read-only."""
    return _load("country")


class _Index:
    """Polygons of one layer in an STRtree, with the feature properties in the same order."""

    def __init__(self, fc: dict[str, Any]) -> None:
        self.props: list[dict[str, Any]] = [f["properties"] for f in fc["features"]]
        self.geoms: list[BaseGeometry] = [shape(f["geometry"]) for f in fc["features"]]
        self.tree = STRtree(self.geoms)

    def find(self, lat: float, lon: float, snap_km: float) -> dict[str, Any] | None:
        if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        point = Point(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits):
            return self.props[int(min(hits))]  # on a shared border: the lower index, deterministically
        if snap_km <= 0:
            return None
        # Search radius in degrees: a degree of longitude shrinks with latitude, so bound by the smaller one.
        radius_deg = snap_km / (111.32 * max(math.cos(math.radians(lat)), 0.01))
        best: tuple[float, int] | None = None
        for i in self.tree.query(point.buffer(radius_deg).envelope):
            near = nearest_points(self.geoms[int(i)], point)[0]
            km = _haversine_km(lat, lon, near.y, near.x)
            if km <= snap_km and (best is None or km < best[0]):
                best = (km, int(i))
        return self.props[best[1]] if best else None


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_KM * math.asin(math.sqrt(min(1.0, a)))


@cache
def _index(layer: str) -> _Index:
    return _Index(_load(layer))


def province_at(lat: float, lon: float, snap_km: float = SNAP_KM) -> str | None:
    """Canonical province/territory containing the point, or the nearest one within `snap_km` (coarse
    coastline and borders); None outside Pakistan."""
    props = _index("provinces").find(lat, lon, snap_km)
    return props["name"] if props else None


def district_at(lat: float, lon: float, snap_km: float = SNAP_KM) -> str | None:
    """`name` of the district polygon containing the point (nearest within `snap_km`), or None. Where the
    source does not split a unit the name is the source's ("Karachi", "Azad Kashmir"); see district_feature_at
    for the current districts it holds."""
    props = district_feature_at(lat, lon, snap_km)
    return props["name"] if props else None


def district_feature_at(lat: float, lon: float, snap_km: float = SNAP_KM) -> dict[str, Any] | None:
    """Properties of the district polygon at the point (name, source_name, province, districts, source_id)."""
    return _index("districts").find(lat, lon, snap_km)
