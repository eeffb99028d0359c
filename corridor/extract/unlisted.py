"""Places no gazetteer lists: a village or locality that the text itself ties to a known district or city.

Attacks happen on open roads and in villages ("in the Tarkai Kalay area of Lower Kurram", "at Sheikh Wasil in
Zhob district", "near Gidarband (Kalat)") that no bundled gazetteer can list exhaustively: GeoNames' populated
places for Pakistan carry no population for most villages, and ACLED and GTD code such events at the named
village with the district's coordinates when the village cannot be located. The text's own construction says
what the unknown name is: a locality of the known place that follows it. This stage reads those constructions
and makes a place of the name, in the known place's hierarchy, with the precision its coordinates really
have (the district's or the city's, never a point). A name so defined is then recognised wherever it recurs in
the same report ("the Tarkai Kalay ambush").
"""

from __future__ import annotations

import re
from dataclasses import replace

from corridor.extract import prefilter
from corridor.geo.gazetteer import Place
from corridor.model.enums import GeoPrecision

_NAME = r"(?P<name>[A-Z][a-z'’]{2,}(?:[- ][A-Z][a-z'’]{2,}){0,2})"
_LOC = r"\b(?:in|at|near|outside|inside|around|off)\s+(?:the\s+)?"
# "of" and "on" introduce people as often as places ("the killing of Ahmed Khan in Kech district"): only
# before an explicit "area of" do they introduce a locality
_LOC_AREA = r"\b(?:in|at|near|outside|inside|around|on|off|from|of)\s+(?:the\s+)?"
_PART = r"(?:(?:Upper|Lower|North|South|Central|East|West|Northern|Southern)\s+)?"
_AREA = (
    r"(?:area|areas|village|town|tehsil|locality|valley|region|neighbourhood|neighborhood|sub-?division|"
    r"union\s+council|hamlet|settlement|outskirts)"
)
_KIND_WORD = re.compile(r"\s+(?P<word>area|village|town|tehsil|locality|valley)\b", re.I)

# "in the Tarkai Kalay area of Lower Kurram", "Shin Tangi village near Kalaya"
AREA_OF = prefilter.compile(_LOC_AREA + _NAME + r"\s+" + _AREA + r"\s+(?:of|in|near)\s+(?:the\s+)?" + _PART + r"$")
# "at Sheikh Wasil in Zhob district", "Gul Imam, Tank district", "near Gidarband (Kalat)"
IN_DISTRICT = prefilter.compile(
    _LOC + _NAME + r"(?:\s+" + _AREA + r")?(?:,\s+|\s+(?:in|of)\s+(?:the\s+)?)" + _PART + r"$"
)
IN_PARENS = prefilter.compile(_LOC + _NAME + r"(?:\s+" + _AREA + r")?\s*\(\s*$")
DISTRICT_AFTER = re.compile(r"^\s+(?:district|tehsil|agency|division)\b", re.I)
PARENS_AFTER = re.compile(r"^(?:\s+district)?\s*\)")

# words that open a name-like phrase but never a village: parts of towns, institutions, calendar words
_NOT_NAME_WORDS = (
    "cantonment cantt saddar sadar city main old new industrial commercial residential red "
    "tribal border frontier police levies civil military army jail hospital bazaar market "
    "railway university model airport central northern southern eastern western upper lower north "
    "south east west security federal provincial district the this that his her "
    "their its police station check post checkpost highway national coastal motorway monday "
    "tuesday wednesday thursday friday saturday sunday january february march april may june "
    "july august september october november december eid muharram ramadan deputy commissioner superintendent "
    "inspector officer officers chief minister governor assistant senior house head headquarters office "
    "department ministry force forces corps constabulary rangers scouts counter terrorism assembly member "
    "members chairman mayor council court judge bar association school college mosque imambargah "
    "church shrine temple camp post fort compound base brigade liberation army front "
    "movement group party tehreek jamaat lashkar jaish islamic state government province division "
    "agency tribe tribal sector zone block phase road street chowk bridge gate"
)
_NOT_NAME = frozenset(_NOT_NAME_WORDS.split())
# a locality of a metropolis is one of its neighbourhoods ("the Hazar Ganji area of Quetta"); of a smaller
# town it is, in this region's reporting, a rural area of the town's district ("the Sambaza area of Zhob")
METROPOLIS = 1_500_000


def unlisted_before(text: str, start: int, end: int, anchor: Place) -> tuple[int, int, Place] | None:
    """The unlisted locality named just before the known place `anchor` at text[start:end], if the text ties
    it to that place: (start, end) of the name and its place."""
    if not anchor.is_domestic or anchor.base_kind not in ("district", "city", "town"):
        return None
    cut = max(0, start - 120)  # the construction sits just before the known name: no need to scan further back
    before, after = text[cut:start], text[end : end + 40]
    m = AREA_OF.search(before)
    district_reading = bool(DISTRICT_AFTER.match(after))
    if m is None:
        m = IN_DISTRICT.search(before) if district_reading else None
    if m is None and PARENS_AFTER.match(after):
        m = IN_PARENS.search(before)
        district_reading = True
    if m is None:
        return None
    name = m.group("name")
    if any(w.lower() in _NOT_NAME for w in re.split(r"[- ]", name)):
        return None
    kind = _KIND_WORD.match(before, m.end("name"))
    rural = kind is not None and kind.group("word").lower() in ("village", "town", "tehsil", "valley")
    return cut + m.start("name"), cut + m.end("name"), _locality(name, anchor, district_reading or rural)


# "in Bajaur's Mamond tehsil", "in Kech's Buleda area", "Quetta's Pashtunabad area"
POSSESSIVE_AFTER = re.compile(
    r"['’]s\s+"
    + _NAME
    + r"\s+(?P<word>area|tehsil|village|town|locality|valley|region|sub-?division|union\s+council)\b"
)


# "near the village of Bagan", "in the town of Kalaya": the district comes from the report's context
VILLAGE_OF = prefilter.compile(
    r"\b(?:in|at|near|outside|inside|around|off|from)\s+the\s+(?P<word>village|town|hamlet|settlement|locality)"
    r"\s+of\s+" + _NAME
)


def villages_of(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every "the village of NAME" construction in `text`."""
    out = []
    for m in VILLAGE_OF.finditer(text):
        name = m.group("name")
        if not any(w.lower() in _NOT_NAME for w in re.split(r"[- ]", name)):
            out.append((m.start("name"), m.end("name"), name))
    return out


def locality_of(name: str, anchor: Place) -> Place:
    """A village in the district of a known place (the report's context)."""
    return _locality(name, anchor, True)


def unlisted_after(text: str, start: int, end: int, anchor: Place) -> tuple[int, int, Place] | None:
    """The unlisted locality named just after the known place `anchor` by the possessive ("Bajaur's Mamond
    tehsil"): (start, end) of the name and its place."""
    if not anchor.is_domestic or anchor.base_kind not in ("district", "city", "town"):
        return None
    m = POSSESSIVE_AFTER.match(text, end)
    if m is None:
        return None
    name = m.group("name")
    if any(w.lower() in _NOT_NAME for w in re.split(r"[- ]", name)):
        return None
    rural = m.group("word").lower() != "area"
    return m.start("name"), m.end("name"), _locality(name, anchor, rural)


def _locality(name: str, anchor: Place, rural: bool) -> Place:
    """The place of an unlisted locality of `anchor`: a village of its district (the district's coordinates), or a
    neighbourhood of a metropolis (the city's)."""
    village = anchor.base_kind == "district" or rural or anchor.population < METROPOLIS
    return Place(
        id=f"unlisted:{name.lower()}:{anchor.id}",
        name=name,
        kind="locality:unlisted" if village else "neighbourhood:unlisted",
        lat=anchor.lat,
        lon=anchor.lon,
        country=anchor.country,
        cc=anchor.cc,
        province=anchor.province,
        district=(anchor.name if anchor.base_kind == "district" else anchor.district),
        city=name if village else (anchor.city or anchor.name),
        population=0,
        approx=GeoPrecision.DISTRICT if village else GeoPrecision.CITY,
    )


def recurrences(text: str, names: dict[str, Place], taken: list[tuple[int, int]]) -> list[tuple[int, int, Place]]:
    """Where a report's unlisted localities recur in `text`, outside spans already `taken`."""
    out = []
    for name, place in names.items():
        for m in re.finditer(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", text):
            if all(m.end() <= s or m.start() >= e for s, e in taken):
                out.append((m.start(), m.end(), replace(place)))
    return out


_CELL_NAME = re.compile(
    _NAME + r"(?=\s*(?:$|[,(/|;-]|\s(?:area|village|town|police|post|check|bazaar|market|road|near|in)\b))"
)


def unlisted_in_cell(text: str, start: int, end: int, anchor: Place) -> tuple[int, int, Place] | None:
    """A locality no gazetteer lists that opens a place column or a "Location:" field ("Kuchlak police station",
    "Gidarband, Kalat"), in the known place the same cell or the row's district column names."""
    if not anchor.is_domestic or anchor.base_kind not in ("district", "city", "town"):
        return None
    while start < end and text[start] in " \t\"'":
        start += 1
    m = _CELL_NAME.match(text, start, end)
    if m is None or any(w.lower() in _NOT_NAME for w in re.split(r"[- ]", m.group("name"))):
        return None
    return m.start("name"), m.end("name"), _locality(m.group("name"), anchor, True)


def inside(place: Place, container: Place) -> bool:
    """Whether `place` lies in `container` (a city or district) by the gazetteer's hierarchy."""
    if container.base_kind == "district":
        return place.district == container.name and place.province == container.province
    # a city stands for its district too ("the Daraban area of Dera Ismail Khan")
    return place.city == (container.city or container.name) or (
        place.district is not None and place.district == container.district and place.province == container.province
    )


def part_of(place: Place, name: str, container: Place) -> Place:
    """`place` (a name the gazetteer reads as somewhere else, or as a town of its own) told as a part of
    `container` ("the Saddar area of Rawalpindi", "Model Town, Lahore"): a neighbourhood of a metropolis keeps
    its own point; otherwise a locality of the container's district, with the container's coordinates."""
    if container.base_kind != "district" and container.population >= METROPOLIS and inside(place, container):
        return Place(
            id=f"part:{place.id}:{container.id}",
            name=place.name,
            kind="neighbourhood:part",
            lat=place.lat,
            lon=place.lon,
            country=container.country,
            cc=container.cc,
            province=container.province,
            district=place.district or container.district,
            city=container.city or container.name,
            population=0,
            approx=GeoPrecision.CITY,
        )
    return _locality(name, container, False)
