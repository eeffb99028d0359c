"""Gazetteer lookups: names to places (with their admin hierarchy) and place names found in text.

Matching works on word tokens against every name and alias directly, rather than trusting an NER model's
labels: small NER models read Karachi or Khyber-Pakhtunkhwa as organisations and miss small towns.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from corridor.model.enums import GeoPrecision

INDEX = Path(__file__).with_name("data") / "gazetteer.json"
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

# Words that GeoNames lists as alternate names of some village but that are ordinary words in news text.
_STOP = frozenset(
    [
        "police",
        "city",
        "town",
        "village",
        "district",
        "province",
        "airport",
        "station",
        "market",
        "bazar",
        "bazaar",
        "colony",
        "camp",
        "road",
        "street",
        "chowk",
        "bridge",
        "national",
        "international",
        "army",
        "frontier",
        "federal",
        "north",
        "south",
        "east",
        "west",
        "central",
        "upper",
        "lower",
        "new",
        "old",
        "the",
        "and",
        "of",
        "at",
        "in",
        "on",
        "for",
        "from",
        "with",
        "by",
        "said",
        "security",
        "foreign",
        "china",
        "chinese",
        "pakistan",
        "pakistani",
        "islamic",
        "republic",
        "government",
        "minister",
        "prime",
        "chief",
        "president",
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "today",
        "yesterday",
        "bomb",
        "blast",
        "attack",
        "gun",
        "gunmen",
        "suicide",
        "bomber",
        "killed",
        "injured",
        "martyred",
        "people",
        "report",
        "reports",
        "news",
        "daily",
        "times",
        "express",
        "dawn",
        "tribune",
        "mail",
        "post",
        "star",
        "nation",
        "voice",
        "press",
        "agency",
    ]
)

_KIND_RANK = {
    "facility": 6,
    "neighbourhood": 5,
    "locality": 5,  # a place the text defines inside a known one ("the Tarkai Kalay area of Kurram")
    "town": 4,
    "city": 4,
    "village": 4,
    "area": 3,
    "district": 3,
    "province": 2,
    "country": 1,
}


def _tokens(s: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(s))


@dataclass(frozen=True)
class Place:
    """One gazetteer entry with its hierarchy (city ⊂ district ⊂ province ⊂ country)."""

    id: str
    name: str
    kind: str
    lat: float | None
    lon: float | None
    country: str
    cc: str
    province: str | None
    district: str | None
    city: str | None
    population: int
    aliases: tuple[str, ...] = ()
    approx: GeoPrecision | None = None  # coordinates borrowed from a coarser place (an unlisted village's district)

    @property
    def base_kind(self) -> str:
        return self.kind.split(":", 1)[0]

    @property
    def precision(self) -> GeoPrecision:
        if self.approx is not None:
            return self.approx
        k = self.base_kind
        if k in ("facility", "neighbourhood"):
            return GeoPrecision.POINT
        if k in ("city", "town", "village", "area"):
            return GeoPrecision.CITY
        if k == "district":
            return GeoPrecision.DISTRICT
        if k == "province":
            return GeoPrecision.PROVINCE
        return GeoPrecision.COUNTRY

    @property
    def is_domestic(self) -> bool:
        return self.cc == "PK"

    @property
    def specificity(self) -> int:
        return _KIND_RANK.get(self.base_kind, 3)


@dataclass(frozen=True)
class PlaceMatch:
    """A place name found in text: character span and the candidate places it may mean."""

    start: int
    end: int
    text: str
    candidates: tuple[Place, ...]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(min(1.0, a)))


class Gazetteer:
    """Name lookup and in-text matching over the compiled index."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places = list(places)
        self.by_id = {p.id: p for p in self.places}
        self._by_key: dict[tuple[str, ...], list[Place]] = {}
        for p in self.places:
            for name in (p.name, *p.aliases):
                key = _tokens(name)
                if not key or (len(key) == 1 and (len(key[0]) < 3 or key[0] in _STOP)):
                    continue
                self._by_key.setdefault(key, []).append(p)
        for key, cands in self._by_key.items():
            cands.sort(key=self._prior, reverse=True)
            # one entry per place
            unique: dict[str, Place] = {}
            for c in cands:
                unique.setdefault(c.id, c)
            self._by_key[key] = list(unique.values())
        self._first: dict[str, int] = {}
        for key in self._by_key:
            self._first[key[0]] = max(self._first.get(key[0], 0), len(key))

    @staticmethod
    def _prior(p: Place) -> tuple[int, int, int]:
        return (1 if p.is_domestic else 0, p.specificity, p.population)

    @classmethod
    def load(cls, path: Path = INDEX) -> Gazetteer:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RuntimeError(f"gazetteer index missing at {path}: run `python -m corridor.geo.build`") from exc
        return cls(
            Place(
                id=e["id"],
                name=e["name"],
                kind=e["kind"],
                lat=e.get("lat"),
                lon=e.get("lon"),
                country=e["country"],
                cc=e["cc"],
                province=e.get("province"),
                district=e.get("district"),
                city=e.get("city"),
                population=e.get("population") or 0,
                aliases=tuple(e.get("aliases", ())),
            )
            for e in raw["places"]
        )

    def lookup(self, name: str) -> list[Place]:
        """Every place a name may mean, most likely first (domestic, specific, populous)."""
        return list(self._by_key.get(_tokens(name), ()))

    def province(self, name: str) -> Place | None:
        return next((p for p in self.lookup(name) if p.base_kind == "province"), None)

    def district(self, name: str, province: str | None = None) -> Place | None:
        return next(
            (
                p
                for p in self.lookup(name)
                if p.base_kind == "district" and (province is None or p.province == province)
            ),
            None,
        )

    def find(self, text: str) -> list[PlaceMatch]:
        """Place names in `text`, longest match first, left to right. A match must start with a capital."""
        toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        out: list[PlaceMatch] = []
        i = 0
        while i < len(toks):
            word = toks[i][2]
            low = word.lower()
            longest = self._first.get(low, 0)
            if not longest or not word[0].isupper():
                i += 1
                continue
            hit = None
            for n in range(min(longest, len(toks) - i), 0, -1):
                key = tuple(t[2].lower() for t in toks[i : i + n])
                cands = self._by_key.get(key)
                if cands:
                    hit = (n, cands)
                    break
            if hit is None:
                i += 1
                continue
            n, cands = hit
            start, end = toks[i][0], toks[i + n - 1][1]
            out.append(PlaceMatch(start, end, text[start:end], tuple(cands)))
            i += n
        return out

    def nearest(self, lat: float, lon: float, kinds: tuple[str, ...] = ("city", "town")) -> Place | None:
        best = None
        best_d = float("inf")
        for p in self.places:
            if p.lat is None or p.lon is None or p.base_kind not in kinds or not p.is_domestic:
                continue
            d = distance_km(lat, lon, p.lat, p.lon)
            if d < best_d:
                best, best_d = p, d
        return best


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """The bundled gazetteer, loaded once per process."""
    return Gazetteer.load()
