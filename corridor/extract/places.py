"""Places: gazetteer names in each sentence, disambiguated by the document's own geography."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from corridor.extract import prefilter
from corridor.extract.document import Doc, Sentence
from corridor.extract.unlisted import (
    METROPOLIS,
    inside,
    locality_of,
    part_of,
    recurrences,
    unlisted_after,
    unlisted_before,
    unlisted_in_cell,
    villages_of,
)
from corridor.geo.gazetteer import Place, PlaceMatch, distance_km, get_gazetteer

LOCATIVE = prefilter.compile(
    r"(?:\b(?:in|at|near|outside|inside|on|along|close\s+to|off|around|outskirts\s+of|area\s+of|district\s+of)\s+"
    r"(?:the\s+)?"
    r"(?:[\w'’-]+\s+){0,2})$",  # "in Kech's Buleda area"
    re.I,
)
# "said in Islamabad", "a statement issued in Beijing", "officials in Quetta told", "the Chinese embassy said"
SPEECH_BEFORE = prefilter.compile(
    r"\b(?:said|says|stated|statement|told|spokes\w*|officials?|embassy|ministry|office|conference|briefing|"
    r"interview|reporters|issued|announced|condemned|talks|meeting|met|summit|visit\w*|sidelines|delegation|"
    r"signed|signing|accord|agreement|jirga|ceremony|negotiations|inaugurat\w*)"
    r"(?:\s+\w+){0,3}\s+(?:in|at|from)\s+(?:the\s+)?$",
    re.I,
)
# Places that are not where the event happened: where the wounded were taken, where victims worked or were
# travelling, where they came from ("taken to hospitals in Peshawar", "engineers working on the Dasu dam",
# "travelling from Islamabad to their camp at Dasu", "Sepoy Khan, 35, from Khairpur").
ASIDE_BEFORE = prefilter.compile(
    r"(?:\b(?:taken|shifted|moved|rushed|airlifted|flown|referred|transferred|evacuated|brought|admitted)\b[^;.]{0,60}?"
    r"\b(?:to|in)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}"
    r"|\bhospitals?\s+(?:in|at|of)\s+(?:the\s+)?(?:[\w-]+\s+){0,1}"
    r"|\b(?:working|employed|worked)\s+(?:\w+\s+){0,2}?(?:on|at|for|in|with)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}"
    r"|\b(?:travel+ing|travel+ed|heading|headed|bound|returning|coming|on\s+(?:its|their|his|her)\s+way)\b[^;,.]{0,40}?"
    r"\b(?:from|to|for|at)\s+(?:the\s+|their\s+|its\s+)?(?:[\w-]+\s+){0,2}"
    r"|\b(?:hail\w*\s+from|natives?\s+of|residents?\s+of|belong\w*\s+to|\d+,\s+from)\s+(?:the\s+)?"
    # the ends of the road it happened on: "on the road linking Parachinar with Peshawar"
    r"|\b(?:linking|connecting|joining)\s+(?:[\w-]+\s+){0,2}?(?:(?:with|and|to)\s+(?:[\w-]+\s+){0,2}?)?)$",
    re.I,
)
# a list item of a situation report: "2.1 MUSAKHEL - ...", "a. 20 MAR - GWADAR: ..." (not a dateline)
HEADING_BEFORE = prefilter.compile(
    r"^\s*(?:(?:[-•*]|\d+(?:\.\d+)*\.?|[a-z]\.)\s+(?:\d{1,2}(?:/\d{1,2})?\s+[A-Z]{3}\s*[-–—]\s*)?"
    r"|(?:(?:[-•*]|\d+(?:\.\d+)*\.?|[a-z]\.)\s+)?\d{1,2}(?:/\d{1,2})?\s+[A-Z]{3}\s*[-–—]\s*)$"
)
# the wire services' regions of Pakistan, by compass direction (AP, Reuters, AFP)
_REGIONS = {"northwest": "Khyber Pakhtunkhwa", "southwest": "Balochistan", "south": "Sindh", "east": "Punjab"}
REGION = prefilter.compile(
    r"\b(?P<dir>north-?west(?:ern)?|south-?west(?:ern)?|south(?:ern)?|east(?:ern)?)\s+Pakistan\b"
    r"|\b(?:Pakistan'?s|the\s+country'?s)\s+(?:restive\s+|volatile\s+|troubled\s+)?"
    r"(?P<dir2>north-?west|south-?west)\b",
    re.I,
)
FIELD_LOCATION = prefilter.compile(r"^\W{0,3}(?:location|place|where|site|scene)\b[^:\n]{0,24}:\s*", re.I)
HEADING_AFTER = prefilter.compile(r"^\s*(?:\([^)]{1,40}\))?\s*[-–—:]")
_NOT_PLACE_AFTER = prefilter.compile(
    r"^(?:-(?:bound|based|registered|made|born|origin)\b|\s*(?:Liberation|Republican|Raaji|Shura|Tigers|Brigade|"
    r"Chamber|Press\s+Club|Stock\s+Exchange\s+index|Kings|Zalmi|Qalandars|United|Gladiators|Sultans|Nala|Nallah|"
    r"Nullah|Khwar|Stream|Creek|Express|Mail)\b)"
)


@dataclass
class PlaceMention:
    start: int
    end: int
    text: str
    place: Place
    candidates: tuple[Place, ...]
    locative: bool  # introduced by a locative preposition ("in Quetta", "near Besham")
    speech: bool = False  # where something was said, not where it happened ("a statement in Islamabad")
    aside: bool = False  # where the wounded were taken, the victims worked or came from


def _choose(cands: tuple[Place, ...], provinces: dict[str, int], anchors: list[Place]) -> Place:
    """Pick the reading of an ambiguous name that fits the document: same province, then nearby places."""
    if len(cands) == 1:
        return cands[0]

    def score(p: Place) -> tuple[float, ...]:
        prov = provinces.get(p.province or "", 0)
        near = 0.0
        if p.lat is not None and p.lon is not None:
            for a in anchors:
                if (
                    a.lat is not None
                    and a.lon is not None
                    and a.id != p.id
                    and distance_km(p.lat, p.lon, a.lat, a.lon) < 150
                ):
                    near += 1
        return (1.0 if p.is_domestic else 0.0, prov + near, p.specificity, p.population)

    return max(cands, key=score)


def tag_places(doc: Doc) -> Doc:
    gaz = get_gazetteer()
    raw: list[tuple[int, PlaceMatch]] = []
    unambiguous: list[Place] = []
    for sent in doc.sentences:
        actor_spans = [(a.start - sent.start, a.end - sent.start) for a in sent.actors]
        for m in gaz.find(sent.text):
            if any(not (m.end <= s or m.start >= e) for s, e in actor_spans):
                continue
            if _NOT_PLACE_AFTER.match(sent.text[m.end :]):
                continue
            raw.append((sent.index, m))
            if len({c.id for c in m.candidates}) == 1:
                unambiguous.append(m.candidates[0])
    for sent in doc.sentences:
        # "in northwest Pakistan", "Pakistan's restive southwest": the province the wire services mean
        for rm in REGION.finditer(sent.text):
            word = (rm.group("dir") or rm.group("dir2")).lower().replace("-", "").removesuffix("ern")
            prov = gaz.province(_REGIONS[word])
            if prov is None:
                continue
            raw = [(i, pm) for i, pm in raw if i != sent.index or pm.end <= rm.start() or pm.start >= rm.end()]
            raw.append((sent.index, PlaceMatch(rm.start(), rm.end(), rm.group(0), (prov,))))
            unambiguous.append(prov)
    raw.sort(key=lambda r: (r[0], r[1].start))
    provinces: dict[str, int] = {}
    for p in unambiguous:
        if p.province:
            provinces[p.province] = provinces.get(p.province, 0) + 1
    doc.context_provinces = provinces
    unlisted: dict[str, Place] = {}
    known: dict[int, list[tuple[int, int]]] = {}  # sentence -> spans of gazetteer names (sentence offsets)
    for sidx, pm in raw:
        known.setdefault(sidx, []).append((pm.start, pm.end))
    for sidx, pm in raw:
        sent = doc.sentences[sidx]
        place = _choose(pm.candidates, provinces, unambiguous)
        _mention(sent, pm.start, pm.end, place, pm.candidates)
        got = unlisted_before(sent.text, pm.start, pm.end, place) or unlisted_after(sent.text, pm.start, pm.end, place)
        if got is not None:
            start, end, village = got
            actors = [(a.start - sent.start, a.end - sent.start) for a in sent.actors]
            if all(end <= s or start >= e for s, e in actors) and _claim_span(sent, start, end, known[sidx]):
                _mention(sent, start, end, village, (village,))
                unlisted.setdefault(village.name, village)
    for sent in doc.sentences:
        # a table row's place column or a "Location:" field that opens with a name no gazetteer lists, with a
        # known place later in the same value ("Gidarband, Kalat") or in the row's district column
        span = sent.cells.get("place")
        if span is None and (f := FIELD_LOCATION.match(sent.text)) is not None:
            span = (sent.start + f.end(), sent.end)
        if span is None:
            continue
        ps, pe = span
        inside = [p for p in sent.places if ps <= p.start < pe]
        if inside and inside[0].start - ps < 3:
            continue  # the value opens with a known place
        ds, de = sent.cells.get("district", (pe, pe))
        anchor = next((p for p in inside if p.place.is_domestic), None) or next(
            (p for p in sent.places if ds <= p.start < de and p.place.is_domestic), None
        )
        got = unlisted_in_cell(sent.text, ps - sent.start, pe - sent.start, anchor.place) if anchor else None
        if got is not None:
            _mention(sent, got[0], got[1], got[2], (got[2],))
            unlisted.setdefault(got[2].name, got[2])
    for sent in doc.sentences:
        # "near the village of Bagan": a village of the district the report is about (the nearest domestic
        # district or town named before it, in this sentence or the two before)
        for start, end, name in villages_of(sent.text):
            if not _claim_span(sent, start, end, known.get(sent.index, [])):
                continue
            before = [
                p
                for x in doc.sentences[max(0, sent.index - 2) : sent.index + 1]
                for p in x.places
                if p.start < sent.start + start
                and p.place.is_domestic
                and p.place.base_kind in ("district", "city", "town")
                and not p.speech
            ]
            if before:
                village = locality_of(name, before[-1].place)
                _mention(sent, start, end, village, (village,))
                unlisted.setdefault(village.name, village)
    for sent in doc.sentences:
        _within_next(sent)
    if unlisted:
        # a village the report has placed is recognised wherever it recurs ("the Tarkai Kalay ambush")
        for sent in doc.sentences:
            taken = [(p.start - sent.start, p.end - sent.start) for p in sent.places]
            taken += [(a.start - sent.start, a.end - sent.start) for a in sent.actors]
            for start, end, village in recurrences(sent.text, unlisted, taken):
                _mention(sent, start, end, village, (village,))
        for sent in doc.sentences:
            sent.places.sort(key=lambda p: p.start)
    return doc


# "the Saddar area of Rawalpindi", "Model Town, Lahore", "Latifabad in Hyderabad": a place told as part of the next
_PART_GAP = prefilter.compile(
    r"^(?:\s+(?:area|town|bazaar|market|road|chowk|neighbourhood|neighborhood|locality|sector|colony))?"
    r"\s*(?:,|of|in)\s+(?:the\s+)?$",
    re.I,
)


def _within_next(sent: Sentence) -> None:
    """A place followed by the place it is part of takes the reading inside it: a candidate there, a
    neighbourhood of a metropolis, or a locality of the container's district when the gazetteer knows the name
    only elsewhere."""
    places = sorted(sent.places, key=lambda p: p.start)
    for m, n in pairwise(places):
        gap = sent.text[m.end - sent.start : n.start - sent.start]
        box = n.place
        if (
            not _PART_GAP.match(gap)
            or not box.is_domestic
            or box.base_kind not in ("city", "district")
            or m.place.base_kind in ("district", "province", "country")
            or m.place.kind.endswith(":unlisted")
        ):
            continue
        inner = next((c for c in m.candidates if inside(c, box)), None)
        if inner is not None and not (box.base_kind == "city" and box.population >= METROPOLIS):
            m.place = inner
            continue
        if inner is None and _near(m.place, box, 50):
            continue  # the gazetteer's place lies by the container anyway: its own point is the better one
        m.place = part_of(inner or m.place, m.text, box)
        m.candidates = (m.place,)


def _near(a: Place, b: Place, km: float) -> bool:
    return (
        a.lat is not None
        and a.lon is not None
        and b.lat is not None
        and b.lon is not None
        and distance_km(a.lat, a.lon, b.lat, b.lon) <= km
    )


def _claim_span(sent: Sentence, start: int, end: int, known: list[tuple[int, int]]) -> bool:
    """Whether an unlisted locality may take sent.text[start:end]: not when a gazetteer name is the whole of it or
    reaches outside it; a gazetteer name inside a longer one ("Tangi" in "the village of Shin Tangi") is a
    different place's and gives way."""
    inner = []
    for s, e in known:
        if e <= start or s >= end:
            continue
        if (s, e) == (start, end) or s < start or e > end:
            return False
        inner.append((s, e))
    if inner:
        sent.places = [p for p in sent.places if (p.start - sent.start, p.end - sent.start) not in inner]
    return True


def _mention(sent: Sentence, start: int, end: int, place: Place, candidates: tuple[Place, ...]) -> None:
    """Record a place found at sent.text[start:end], with how the sentence introduces it."""
    text = sent.text
    # a heading place ("2.1 MUSAKHEL - highway attacked", "BELA (Lasbela): ...") is where the line's event was
    heading = bool(HEADING_BEFORE.match(text[:start]) and HEADING_AFTER.match(text[end:]))
    # a row of an incident log laid out as a table: its place column is where the row's event happened
    heading = heading or text.count("|") >= 3
    locative = heading or bool(LOCATIVE.search(text[:start]))
    speech = bool(SPEECH_BEFORE.search(text[:start]) or place.kind == "facility:diplomatic")
    aside = not heading and bool(ASIDE_BEFORE.search(text[max(0, start - 120) : start]))
    sent.places.append(
        PlaceMention(start + sent.start, end + sent.start, text[start:end], place, candidates, locative, speech, aside)
    )
