"""The bundled road network (national highways and motorways): towns and junctions, segments with lengths,
shortest paths. Data in geo/data/roads/{nodes,edges}.csv, validated at load (errors name file and line)."""

from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from corridor.geo.gazetteer import distance_km, get_gazetteer

ROADS = Path(__file__).with_name("data") / "roads"
# typical speeds (km/h) by kind of road; the Karakoram Highway is a mountain road whatever its class
SPEEDS = {"motorway": 100.0, "expressway": 80.0, "national_highway": 60.0, "provincial": 45.0}
MOUNTAIN_ROADS = {"N-35": 35.0, "N-15": 35.0}  # Karakoram Highway, Babusar Pass road


class RoadError(ValueError):
    """A route the network cannot give (unknown place, no road connection): said plainly."""


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    kind: str
    province: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    road: str
    length_km: float
    kind: str

    @property
    def speed(self) -> float:
        return MOUNTAIN_ROADS.get(self.road, SPEEDS.get(self.kind, 50.0))

    def other(self, node: str) -> str:
        return self.b if node == self.a else self.a


class RoadNetwork:
    def __init__(self, nodes: list[Node], edges: list[Edge]) -> None:
        self.nodes = {n.id: n for n in nodes}
        self.edges = edges
        self.adj: dict[str, list[Edge]] = {n.id: [] for n in nodes}
        for e in edges:
            if e.a not in self.nodes or e.b not in self.nodes:
                raise RoadError(f"edge {e.a}-{e.b} names an unknown node")
            self.adj[e.a].append(e)
            self.adj[e.b].append(e)

    @classmethod
    def load(cls, folder: Path = ROADS) -> RoadNetwork:
        nodes, edges = [], []
        try:
            with (folder / "nodes.csv").open(encoding="utf-8") as fh:
                for line, row in enumerate(csv.DictReader(fh), start=2):
                    try:
                        nodes.append(
                            Node(
                                row["id"],
                                row["name"],
                                row.get("kind") or "town",
                                row.get("province"),
                                float(row["lat"]),
                                float(row["lon"]),
                            )
                        )
                    except (KeyError, ValueError) as exc:
                        raise RoadError(f"{folder / 'nodes.csv'}:{line}: {exc}") from exc
            with (folder / "edges.csv").open(encoding="utf-8") as fh:
                for line, row in enumerate(csv.DictReader(fh), start=2):
                    try:
                        length = float(row["length_km"])
                        if length <= 0:
                            raise ValueError("length_km must be positive")
                        edges.append(
                            Edge(
                                row["from"],
                                row["to"],
                                row.get("road") or "",
                                length,
                                row.get("kind") or "national_highway",
                            )
                        )
                    except (KeyError, ValueError) as exc:
                        raise RoadError(f"{folder / 'edges.csv'}:{line}: {exc}") from exc
        except FileNotFoundError as exc:
            raise RoadError(f"road network missing: {exc.filename}") from exc
        return cls(nodes, edges)

    def locate(self, text: str, max_km: float = 40.0) -> Node:
        """A node for a name: a node's own id or name, else the nearest node to the gazetteer's place."""
        key = text.strip().lower()
        for n in self.nodes.values():
            if key in (n.id.lower(), n.name.lower()):
                return n
        parts = text.split(",")
        lat = lon = None
        if len(parts) == 2:
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                lat = lon = None
            if (
                lat is not None
                and lon is not None
                and not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180)
            ):
                raise RoadError(f"{text!r} is not a latitude,longitude pair")
        if lat is None:
            found = [p for p in get_gazetteer().lookup(text) if p.is_domestic and p.lat is not None]
            if not found:
                raise RoadError(f"no place called {text!r}")
            lat, lon = found[0].lat, found[0].lon
        assert lat is not None and lon is not None
        near = min(self.nodes.values(), key=lambda n: distance_km(lat, lon, n.lat, n.lon))
        if distance_km(lat, lon, near.lat, near.lon) > max_km:
            raise RoadError(f"{text!r} is more than {max_km:.0f} km from any road in the network")
        return near

    def path(self, start: str, end: str, weight: Callable[[Edge], float] | None = None) -> list[Edge]:
        """Edges of the cheapest path (Dijkstra; default weight: length)."""
        w = weight or (lambda e: e.length_km)
        best: dict[str, float] = {start: 0.0}
        back: dict[str, Edge] = {}
        heap: list[tuple[float, str]] = [(0.0, start)]
        done: set[str] = set()
        while heap:
            cost, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            if node == end:
                break
            for e in self.adj[node]:
                nxt = e.other(node)
                c = cost + w(e)
                if c < best.get(nxt, float("inf")):
                    best[nxt] = c
                    back[nxt] = e
                    heapq.heappush(heap, (c, nxt))
        if end not in done:
            raise RoadError(f"no road connects {self.nodes[start].name} and {self.nodes[end].name}")
        edges = []
        node = end
        while node != start:
            e = back[node]
            edges.append(e)
            node = e.other(node)
        return edges[::-1]


@lru_cache(maxsize=1)
def get_network() -> RoadNetwork:
    return RoadNetwork.load()
