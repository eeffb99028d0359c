"""The brief's pictures: a map of the week's incidents and the organisation's sites, and incidents per day
over 30 days. PNG bytes, drawn offline with matplotlib's Agg canvas (no pyplot: no global figure state in a
threaded web server), so the HTML can carry them as data: URIs and make no request of its own.

The basemap (province and district boundaries) comes from `corridor.geo.basemap` when that module and its
data are installed; without it the map is drawn on a plain background with the largest towns for
orientation, and says so.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import math
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator

from corridor.brief.service import Brief, BriefIncident

log = logging.getLogger(__name__)

PAKISTAN = (60.8, 23.6, 77.9, 37.1)  # lon/lat extent when there is nothing to zoom to
MAP_ASPECT = 1.3  # width / height of the map, in km
KM_PER_DEG = 111.32
TYPE_COLOURS = {
    "bombing": "#d62728",
    "suicide_bombing": "#7f0000",
    "armed_assault": "#ff7f0e",
    "targeted_killing": "#9467bd",
    "kidnapping": "#1f77b4",
    "hijacking": "#17becf",
    "attack_on_facility": "#e377c2",
    "threat": "#bcbd22",
    "other": "#7f7f7f",
}
NEAR_COLOUR = "#b3261e"
ALL_COLOUR = "#c5cad0"
_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe
# Names come from users and reports: a "$" in a site or place name must print as itself, not start TeX math.


def _plain_text() -> contextlib.AbstractContextManager[None]:
    return matplotlib.rc_context({"text.parse_math": False})


@dataclass(frozen=True)
class Picture:
    png: bytes
    notes: tuple[str, ...] = ()
    credit: str | None = None  # the data's attribution, shown with the picture (the basemap's licence asks it)


@dataclass(frozen=True)
class Basemap:
    provinces: list[dict[str, Any]]
    districts: list[dict[str, Any]]
    note: str | None = None  # why there is none
    credit: str | None = None


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)  # the Agg canvas, whatever matplotlib's default backend is
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    return buf.getvalue()


# ------------------------------------------------------------------ basemap


def basemap() -> Basemap:
    """Province and district features of the offline basemap, or none and the reason why."""
    try:
        mod = importlib.import_module("corridor.geo.basemap")
    except ImportError as exc:
        log.info("brief map without a basemap: %s", exc)  # said on the map's note too
        return Basemap([], [], "No basemap installed: the map shows no boundaries.")
    try:
        provinces = list(mod.provinces().get("features") or [])
        districts = list(mod.districts().get("features") or [])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("brief map: basemap unreadable: %s", exc)
        return Basemap([], [], f"The basemap could not be read ({exc}): the map shows no boundaries.")
    credit = getattr(mod, "ATTRIBUTION", None)
    return Basemap(provinces, districts, credit=str(credit) if credit else None)


def _polygons(geometry: dict[str, Any] | None) -> Iterator[list[list[list[float]]]]:
    if not geometry:
        return
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        yield coords
    elif kind == "MultiPolygon":
        yield from coords
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            yield from _polygons(g)


def _path(feature: dict[str, Any], extent: tuple[float, float, float, float]) -> Path | None:
    """One compound path (rings and holes) of the parts of a feature that reach into the extent."""
    x0, y0, x1, y1 = extent
    verts: list[tuple[float, float]] = []
    codes: list[Any] = []  # Path codes (numpy uint8)
    for polygon in _polygons(feature.get("geometry")):
        rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon if len(ring) >= 3]
        if not rings:
            continue
        xs = [x for x, _ in rings[0]]
        ys = [y for _, y in rings[0]]
        if max(xs) < x0 or min(xs) > x1 or max(ys) < y0 or min(ys) > y1:
            continue
        for ring in rings:
            verts += [*ring, ring[0]]
            codes += [Path.MOVETO, *([Path.LINETO] * (len(ring) - 1)), Path.CLOSEPOLY]
    return Path(verts, codes) if verts else None


def _label_point(feature: dict[str, Any], extent: tuple[float, float, float, float]) -> tuple[float, float] | None:
    """Where to write a region's name: a point inside it, and only for regions big enough on this map to hold
    the name without covering their neighbours."""
    from shapely.geometry import shape

    x0, y0, x1, y1 = extent
    try:
        geom = shape(feature.get("geometry") or {})
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("brief map: a basemap feature has no usable geometry: %s", exc)
        return None
    if geom.is_empty or geom.area < 0.02 * (x1 - x0) * (y1 - y0):
        return None
    at = geom.representative_point()
    return float(at.x), float(at.y)


def _name(feature: dict[str, Any]) -> str | None:
    props = feature.get("properties") or {}
    for key in ("name", "NAME", "province", "district", "NAME_1", "NAME_2", "shapeName"):
        if props.get(key):
            return str(props[key])
    return None


# ------------------------------------------------------------------ the map


def _extent(brief: Brief) -> tuple[float, float, float, float]:
    """The content's extent: the sites with their radius, and the incidents on the map."""
    xs: list[float] = []
    ys: list[float] = []
    for s in brief.sites:
        dlat = brief.radius_km / KM_PER_DEG
        dlon = dlat / max(math.cos(math.radians(s.lat)), 0.2)
        xs += [s.lon - dlon, s.lon + dlon]
        ys += [s.lat - dlat, s.lat + dlat]
    for i in brief.map_incidents:
        if i.lat is not None and i.lon is not None:
            xs.append(i.lon)
            ys.append(i.lat)
    if not xs:
        return _widen(*PAKISTAN)
    pad = 0.06 * max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    return _widen(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _widen(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """Grow the shorter side so the map keeps the page-friendly shape MAP_ASPECT (width / height, in km)."""
    shrink = max(math.cos(math.radians((y0 + y1) / 2)), 0.2)
    width, height = (x1 - x0) * shrink, y1 - y0
    if width < MAP_ASPECT * height:
        grow = (MAP_ASPECT * height / shrink - (x1 - x0)) / 2
        return x0 - grow, y0, x1 + grow, y1
    grow = ((x1 - x0) * shrink / MAP_ASPECT - height) / 2
    return x0, y0 - grow, x1, y1 + grow


def _size(i: BriefIncident) -> float:
    return min(28.0 + 16.0 * i.casualties**0.75, 500.0)


def _towns(extent: tuple[float, float, float, float], limit: int = 8) -> list[tuple[str, float, float]]:
    """The most populous towns in the extent, for orientation."""
    from corridor.geo.gazetteer import get_gazetteer

    x0, y0, x1, y1 = extent
    found = [
        p
        for p in get_gazetteer().places
        if p.base_kind == "city"
        and p.is_domestic
        and p.lat is not None
        and p.lon is not None
        and x0 <= p.lon <= x1
        and y0 <= p.lat <= y1
    ]
    found.sort(key=lambda p: -p.population)
    return [(p.name, float(p.lat or 0.0), float(p.lon or 0.0)) for p in found[:limit]]


def _scale_bar(ax: Any, extent: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = extent
    mid = (y0 + y1) / 2
    width_km = (x1 - x0) * KM_PER_DEG * math.cos(math.radians(mid))
    raw = width_km / 5
    step = 10 ** math.floor(math.log10(raw))
    km = next(m * step for m in (5, 2, 1) if m * step <= raw)
    deg = km / (KM_PER_DEG * math.cos(math.radians(mid)))
    x, y = x1 - 0.04 * (x1 - x0) - deg, y0 + 0.05 * (y1 - y0)
    ax.plot([x, x + deg], [y, y], color="#222222", lw=2.0, solid_capstyle="butt", zorder=6)
    ax.text(x + deg / 2, y + 0.015 * (y1 - y0), f"{km:g} km", ha="center", va="bottom", fontsize=6, zorder=6)


def incident_map(brief: Brief, dpi: int = 150) -> Picture:
    """The week's incidents near the sites and in their provinces (coloured by type, sized by casualties) and
    the organisation's sites with the brief's radius around them."""
    with _LOCK, _plain_text():
        return _incident_map(brief, dpi)


def _incident_map(brief: Brief, dpi: int) -> Picture:
    extent = _extent(brief)
    x0, y0, x1, y1 = extent
    base = basemap()
    provinces, districts = base.provinces, base.districts
    fig = Figure(figsize=(7.0, 4.6))
    ax = fig.add_subplot()
    ax.set_facecolor("#eef2f5" if provinces else "#f7f7f5")
    mid = (y0 + y1) / 2
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / max(math.cos(math.radians(mid)), 0.2), adjustable="box")
    zoomed = max(x1 - x0, y1 - y0) < 8
    for feature in districts if zoomed else []:
        p = _path(feature, extent)
        if p is not None:
            ax.add_patch(PathPatch(p, facecolor="none", edgecolor="#c9d0d6", lw=0.35, zorder=1))
    for feature in provinces:
        p = _path(feature, extent)
        if p is None:
            continue
        ax.add_patch(PathPatch(p, facecolor="#ffffff", edgecolor="#7d8a96", lw=0.8, zorder=0.5))
        ax.add_patch(PathPatch(p, facecolor="none", edgecolor="#7d8a96", lw=0.8, zorder=1.5))
        at, name = _label_point(feature, extent), _name(feature)
        if at and name and x0 <= at[0] <= x1 and y0 <= at[1] <= y1:
            ax.text(*at, name, fontsize=6.5, color="#8a96a3", style="italic", ha="center", zorder=1.6, clip_on=True)
    for name, lat, lon in _towns(extent):
        ax.plot(lon, lat, "o", ms=2.2, color="#6b7680", zorder=2)
        left = lon > x0 + 0.8 * (x1 - x0)
        label = f"{name} " if left else f" {name}"
        ax.text(
            lon,
            lat,
            label,
            fontsize=5.5,
            color="#55606a",
            va="center",
            ha="right" if left else "left",
            zorder=2,
            clip_on=True,
        )
    for s in brief.sites:
        dlat = brief.radius_km / KM_PER_DEG
        dlon = dlat / max(math.cos(math.radians(s.lat)), 0.2)
        ax.add_patch(
            Ellipse((s.lon, s.lat), 2 * dlon, 2 * dlat, fill=False, ls="--", lw=0.7, edgecolor="#333333", zorder=3)
        )
    located = [(i, i.lon, i.lat) for i in brief.map_incidents if i.lat is not None and i.lon is not None]
    types = sorted({i.event_type for i, _, _ in located})
    for t in types:
        pts = [(i, x, y) for i, x, y in located if i.event_type == t]
        ax.scatter(
            [x for _, x, _ in pts],
            [y for _, _, y in pts],
            s=[_size(i) for i, _, _ in pts],
            c=TYPE_COLOURS.get(t, TYPE_COLOURS["other"]),
            edgecolors="#111111",
            linewidths=0.5,
            alpha=0.85,
            zorder=4,
        )
    for s in brief.sites:
        ax.plot(s.lon, s.lat, "^", ms=7, color="#111111", mec="#ffffff", mew=0.8, zorder=5)
        left = s.lon > x0 + 0.6 * (x1 - x0)  # labels of sites near the right edge go to their left
        label = f"{s.name}  " if left else f"  {s.name}"
        ax.text(
            s.lon,
            s.lat,
            label,
            fontsize=6.5,
            fontweight="bold",
            va="top",
            ha="right" if left else "left",
            zorder=5,
            clip_on=True,
        )
    handles = [
        Line2D([], [], ls="", marker="o", ms=6, mfc=TYPE_COLOURS.get(t, TYPE_COLOURS["other"]), mec="#111111")
        for t in types
    ]
    labels = [t.replace("_", " ") for t in types]
    if brief.sites:
        handles += [
            Line2D([], [], ls="", marker="^", ms=7, color="#111111"),
            Line2D([], [], ls="--", lw=0.7, color="#333333"),
        ]
        labels += ["your site", f"{brief.radius_km:g} km"]
    if not located:
        ax.text(0.5, 0.5, "No incidents to map in the last 7 days", transform=ax.transAxes, ha="center", fontsize=9)
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6.5, frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    _scale_bar(ax, extent)
    return Picture(_png(fig, dpi), (base.note,) if base.note else (), base.credit)


# ------------------------------------------------------------------ the chart


def _every(n: int, items: Iterable[Any]) -> list[Any]:
    return [x for k, x in enumerate(items) if k % n == 0]


def daily_chart(brief: Brief, dpi: int = 150) -> Picture:
    """Incidents per day over 30 days: near the sites, against every incident the reader may see."""
    with _LOCK, _plain_text():
        fig = Figure(figsize=(7.0, 2.2))
        ax = fig.add_subplot()
        xs = list(range(len(brief.daily)))
        ax.bar(xs, [d.nationwide for d in brief.daily], width=0.8, color=ALL_COLOUR, label="all incidents (nationwide)")
        ax.bar(
            xs,
            [d.near for d in brief.daily],
            width=0.55,
            color=NEAR_COLOUR,
            label=f"within {brief.radius_km:g} km of your sites",
        )
        ticks = _every(5, range(len(brief.daily) - 1, -1, -1))[::-1]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{brief.daily[k].day:%d %b}" for k in ticks], fontsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylim(0, max([d.nationwide for d in brief.daily] + [1]) * 1.05)
        ax.set_xlim(-0.7, len(xs) - 0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_ylabel("incidents", fontsize=7)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, ncols=2)
        return Picture(_png(fig, dpi))
