"""Incidents: find the sentences that report a violent event, group those that speak of the same event, and
turn each group into one ExtractedIncident with evidence for every field.

Design against the costliest failure seen on real news: one attack split into many incidents. A report
usually tells one or two incidents and elaborates them; so a sentence starts a new incident only when its
date or place conflicts with every incident seen so far, or when it says so ("in a separate attack").
Background (aggregates, trends, generic talk of attacks) never starts an incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

from corridor.extract import lexicon as lx
from corridor.extract import prefilter
from corridor.extract.dates import DateMention, format_date, months_before
from corridor.extract.document import Doc, Sentence
from corridor.extract.figures import NAT_RE, NATIONALITIES, NUMBER_WORDS, Figure
from corridor.extract.places import PlaceMention
from corridor.geo.gazetteer import Place, distance_km, get_gazetteer
from corridor.model.enums import GeoPrecision
from corridor.model.schemas import Evidence, ExtractedIncident, PlaceRef

FAMILIES = {
    "bombing": "explosive",
    "suicide_bombing": "explosive",
    "attack_on_facility": "assault",
    "armed_assault": "assault",
    "targeted_killing": "assault",
    "kidnapping": "kidnap",
    "hijacking": "kidnap",
    "threat": "threat",
    "other": "other",
}
_STRONG_FACILITY = prefilter.compile(
    r"\b(?:storm|stormed|storming|laid\s+siege|lay\s+siege|besieged?|breached|(?:force|forced|forcing)\s+(?:their|its|his)\s+way|"
    r"complex\s+attack|entered\s+the\s+(?:\w+\s+){0,2}(?:complex|compound|camp|base|"
    r"building|premises|station)|(?:attack|assault|raid)\s+on\s+(?:[\w-]+,?\s+){0,4}(?:naval\s+air\s+station|air\s*base|"
    r"cantonment|camp|base|complex|compound|consulate|headquarters|port\s+authority|installation|prison|jail)|(?:rammed|drove|driven)\s+(?:[\w-]+\s+){0,4}into\s+(?:the\s+|a\s+)?(?:main\s+)?(?:gate|wall|entrance|post|"
    r"check\s*post|building|compound|camp|station)\b|(?:tried|attempted|trying)\s+(?:and\s+failed\s+)?to\s+(?:enter|get\s+into|"
    r"break\s+into|breach)"
    r"|(?:gate|wall|perimeter)\s+of\s+(?:the\s+|a\s+)?(?:[\w-]+\s+){0,3}(?:camp|base|complex|compound|cantonment|"
    r"garrison|fort|headquarters|airbase|station)"
    # "militants fought their way inside", "followed by infiltration of gunmen", "the naval air station at Turbat
    # was attacked", "FC camp attacked:"
    r"|fought\s+(?:their|its|his)\s+way\s+(?:inside|into|in)|infiltrat\w+"
    r"|(?:naval\s+air\s+station|air\s+station|air\s*base|cantonment|camp|base|complex|compound|consulate|headquarters|"
    r"garrison|fort|installation|prison|jail)\s+(?:[\w-]+\s+){0,2}?(?:(?:was|were|had\s+been|has\s+been)\s+)?"
    r"(?:attacked|stormed|raided|besieged)\b(?!\s+(?:by\s+)?(?:drones?|rockets?|mortars?|shells?)))\b",
    lx.I,
)


# Field and situation reports: "EVENT: ...", "LOCATION: ...", "CASUALTIES: ...", "CLAIM: none".
FIELD_KEY = prefilter.compile(
    r"^\W{0,3}(?P<key>event|incident|what|location|place|where|time|date|when|dtg|casualties|casualty|claim|target|"
    r"method|attribution|perpetrator|who|type)\b[^:\n]{0,24}:\s*",
    lx.I,
)
AFTER_EVENT = prefilter.compile(
    r"\b(?:after|following|since)\s+(?:the\s+|last\s+\w+'s\s+|\w+day's\s+|a\s+)?(?:[\w-]+\s+){0,3}?"
    r"(?:attacks?|bombings?|blasts?|killings?|assaults?|explosions?)\b",
    lx.I,
)
LATEST = prefilter.compile(
    r"\b(?:the\s+latest|this\s+week's|today's|yesterday's|\w+day's|this)\s+(?:[\w-]+\s+)?"
    r"(?:attack|bombing|blast|assault|killing|explosion)\b",
    lx.I,
)
NEXT_DAY = prefilter.compile(
    r"\b(?:the\s+(?:following|next)\s+(?:day|morning|afternoon|evening|night)|a\s+day\s+later|"
    r"the\s+day\s+after)\b",
    lx.I,
)
FIELD_SUPPORT = {
    "location",
    "place",
    "time",
    "date",
    "dtg",
    "casualties",
    "casualty",
    "claim",
    "target",
    "method",
    "attribution",
    "perpetrator",
    "type",
    "where",
    "when",
    "who",
}


_EARLIER = prefilter.compile(
    r"^\W*(?:earlier\s+this\s+(?:month|week|year)|last\s+(?:week|month)|in\s+a\s+previous\s+attack)\b", lx.I
)
MOTIVE = prefilter.compile(r"\b(?:revenge|retaliation|reprisal|avenge|avenging)\s+(?:for|of)\b", lx.I)


def classify_sentence(sent: Sentence) -> None:
    """Flags a sentence: trigger, specific event, background, hypothetical, back-reference, diplomacy."""
    t = sent.text
    fk = FIELD_KEY.match(t)
    if fk:
        key = fk.group("key").lower()
        sent.flags.add(f"field_{key}")
        if key == "claim" and lx.re.match(r"\s*(?:none|nil|no\b|not\s+claimed|unclaimed|n/?a\b)", t[fk.end() :], lx.I):
            sent.flags.add("no_claim")
    if lx.MEETING.search(t):
        sent.flags.add("meeting")
    if lx.STATEMENT.search(t):
        sent.flags.add("statement")
    if SAFE.search(t):
        sent.flags.add("safe")
    if ALL_VICTIMS.search(t):
        sent.flags.add("victims_nat")  # "police described all three victims as Chinese"
    motive = MOTIVE.search(t)
    if motive:
        # "describing the bombing as revenge for a commander killed last year": what comes after the cue is the
        # motive, an earlier event, and its date is not this event's
        for d in sent.dates:
            if d.start - sent.start >= motive.end() and d.role == "point":
                d.role = "motive"
    sent.event_types = [name for name, pat in lx.TYPE_CUES if pat.search(t)]
    if lx.TRIGGER.search(t):
        sent.flags.add("trigger")
    elif not sent.event_types:
        if lx.AGGREGATE.search(t):
            sent.flags.add("aggregate")  # "60 people have died since July": a toll of many events, no victim count
        return  # no violence spoken of: the remaining cues only qualify violent sentences
    if lx.SPECIFIC.search(t):
        sent.flags.add("specific")
    agg = lx.AGGREGATE.search(t)
    if lx.MODAL.search(t):
        sent.flags.add("modal")
    if lx.INTRODUCES.search(t):
        sent.flags.add("introduces")
    back = lx.BACKREF.search(t)
    after = AFTER_EVENT.search(t) if sent.is_title else None
    # "Instructors leave after Karachi attack": the attack is earlier news; but "12 dead as bus plunges into
    # ravine after blast" counts the blast's own victims, so the blast is the headline's news
    told = any(m.start() < after.start() for m in lx.TRIGGER.finditer(t)) if after else True
    if after and not told and not any(f.count > 0 and not f.attackers for f in sent.figures):
        back = back or after
    if back and lx.re.match(r"was\s+the\b", back.group(0), lx.I) and LATEST.search(t[: back.start()]):
        back = None  # "Tuesday's bombing was the second attack on ...": the news itself, ranked in a series
    if back:
        sent.flags.add("backref")
        if any(m.start() >= back.end() for m in lx.TRIGGER.finditer(t)):
            sent.flags.add("backref_event")  # the violence told after the cue is an earlier event
    if agg:
        # "the line has been hit twice in five months, after the bombing at the station that killed 26": the
        # trend comes first, then one earlier event with its own victims, which is an incident
        told_after = (
            back is not None
            and "backref_event" in sent.flags
            and not lx.AGGREGATE.search(t, back.end())
            and any(f.start - sent.start >= back.end() and f.count > 0 and not f.attackers for f in sent.figures)
        )
        if not told_after:
            sent.flags.add("aggregate")
    if "table_total" in sent.flags or lx.re.match(r"\W*(?:grand\s+|sub-?)?totals?\b[^:]{0,40}:", t, lx.I):
        sent.flags.add("aggregate")  # "Total for the week: 3 incidents, 3 killed": the rows above, summed
    if lx.NEW_EVENT.search(t) or "enum_next" in sent.flags:
        sent.flags.add("new_event")
    if _EARLIER.search(t) and any(f.count > 0 and not f.attackers for f in sent.figures):
        # "Earlier this month, four policemen were killed ...": another, earlier event with its own victims
        sent.flags |= {"new_event", "earlier"}
    if _STRONG_FACILITY.search(t):
        sent.flags.add("facility_strong")


def victim_figures(sent: Sentence) -> list[Figure]:
    return [f for f in sent.figures if not f.attackers]


def point_dates(sent: Sentence) -> list[DateMention]:
    return [d for d in sent.dates if d.role == "point" and d.value is not None]


def event_date(sent: Sentence) -> DateMention | None:
    """The date in a sentence that belongs to its violent event: the one nearest to a trigger word."""
    dates = point_dates(sent)
    if not dates:
        return None
    if len(dates) == 1:
        return dates[0]
    triggers = [m.start() + sent.start for m in lx.TRIGGER.finditer(sent.text)]
    if not triggers:
        return dates[0]
    return min(dates, key=lambda d: (min(abs(d.start - t) for t in triggers), -_prec_rank(d.precision)))


def _prec_rank(p: str | None) -> int:
    return {"day": 3, "month": 2, "year": 1}.get(p or "", 0)


def domestic_places(sent: Sentence) -> list[PlaceMention]:
    return [
        p
        for p in sent.places
        if p.place.is_domestic and p.place.base_kind != "country" and not p.speech and not p.aside
    ]


def is_anchor(sent: Sentence) -> bool:
    f = sent.flags
    if "trigger" not in f or "aggregate" in f:
        return False
    if "field_event" in f or "field_incident" in f or "field_what" in f:
        return True
    victims = [x for x in victim_figures(sent) if x.count > 0 or x.foreign]
    # telegraphic lines ("20 MAR - GWADAR: Armed assault on the port complex") carry a date and a place
    scene = any(p.locative and not p.speech and not p.aside for p in sent.places)
    strong = bool(victims) or bool(point_dates(sent) and (domestic_places(sent) or scene)) or _dated_reference(sent)
    if "specific" not in f and not sent.is_title and not strong:  # headlines drop articles: "Dasu bus blast"
        return False
    if "meeting" in f and not victims:
        return False
    if "modal" in f and not victims and lx.FOILED.search(sent.text):
        return False
    if "introduces" not in f and not strong and not sent.is_title and not scene:
        return False  # "the bombing ..." only refers to an event told elsewhere
    return bool(victims or point_dates(sent) or domestic_places(sent) or sent.is_title)


def _dated_reference(sent: Sentence) -> bool:
    """'the November 5 shooting', 'the 2022 suicide attack': an event named by its own date is one incident."""
    spans = [(m.start() + sent.start, m.end() + sent.start) for m in lx.REFERS.finditer(sent.text)]
    return any(a <= d.start < b for d in point_dates(sent) for a, b in spans)


def dates_compatible(a: DateMention | None, b: DateMention | None) -> bool:
    if a is None or b is None or a.value is None or b.value is None:
        return True
    pa, pb = a.precision, b.precision
    if pa == "day" and pb == "day":
        return abs((a.value - b.value).days) <= 1
    if "year" in (pa, pb):
        return a.value.year == b.value.year
    return (a.value.year, a.value.month) == (b.value.year, b.value.month)


def places_compatible(a: Place | None, b: Place | None) -> bool:
    if a is None or b is None:
        return True
    if a.id == b.id:
        return True
    for x, y in ((a, b), (b, a)):
        if x.base_kind == "province" and y.province == x.province:
            return True
        if x.base_kind == "district" and y.district == x.district and y.province == x.province:
            return True
        if x.base_kind == "country" and y.cc == x.cc:
            return True
    if a.city and a.city == b.city and a.province == b.province:
        return True
    if a.lat is not None and b.lat is not None and a.lon is not None and b.lon is not None:
        return distance_km(a.lat, a.lon, b.lat, b.lon) <= 40
    return False


@dataclass
class Candidate:
    sentences: list[Sentence] = field(default_factory=list)
    anchors: list[Sentence] = field(default_factory=list)
    date: DateMention | None = None
    place: Place | None = None
    types: list[str] = field(default_factory=list)
    claims: list[Sentence] = field(default_factory=list)  # claims naming this attack, or made for several at once
    no_claims: list[Sentence] = field(default_factory=list)  # "nobody claimed Besham"

    def add(self, sent: Sentence, anchor: bool) -> None:
        self.sentences.append(sent)
        if anchor:
            self.anchors.append(sent)
        d = event_date(sent)
        if d and (
            self.date is None
            or (_prec_rank(d.precision) > _prec_rank(self.date.precision) and dates_compatible(d, self.date))
        ):
            self.date = d
        best = best_place(sent)
        if best and (self.place is None or best.place.specificity > self.place.specificity):
            self.place = best.place
        for t in sent.event_types:
            if t not in self.types:
                self.types.append(t)


def best_place(sent: Sentence) -> PlaceMention | None:
    """The place a sentence's event happened: locative, specific, domestic."""
    cands = domestic_places(sent) or [
        p for p in sent.places if p.locative and not p.speech and not p.aside and p.place.base_kind != "country"
    ]
    if not cands:
        return None
    return max(cands, key=lambda p: (p.locative, p.place.specificity, -p.start))


def _implied_date(doc: Doc, cand: Candidate) -> DateMention | None:
    """A lead incident without a date of its own is dated near the report (for conflict checks only)."""
    if cand.date is not None or doc.published is None:
        return cand.date
    lead = any(s.is_title or s.index <= 2 for s in cand.anchors)
    if not lead or any("backref" in s.flags for s in cand.anchors):
        return None
    return DateMention(0, 0, "", doc.published.replace(day=1), "month", "implied")


def _conflicts(doc: Doc, cand: Candidate, sent: Sentence) -> bool:
    d = event_date(sent)
    cd = _implied_date(doc, cand)
    if cd is not None and cd.kind == "implied" and d is not None and doc.published is not None:
        if d.precision == "day" and abs((doc.published - d.value).days) > 7:  # type: ignore[operator]
            return True
        if d.precision != "day" and not dates_compatible(d, cd):
            return True
    elif not dates_compatible(d, cd):
        return True
    bp = best_place(sent)
    # different words for one attack ("hijacked" and "explosion on the track") are not a conflict; a place is
    return bool(bp and bp.locative and not places_compatible(bp.place, cand.place))


def group(doc: Doc) -> list[Candidate]:
    cands: list[Candidate] = []
    last: Candidate | None = None  # the incident the previous grouped sentence joined
    for sent in doc.sentences:
        anchor = is_anchor(sent)
        supporting = (
            not anchor
            and "aggregate" not in sent.flags
            and "meeting" not in sent.flags
            and (
                victim_figures(sent)
                or sent.flags & {"claim", "no_claim", "safe", "victims_nat"}
                or (sent.actors and "trigger" in sent.flags)
                or (sent.event_types and bool(cands) and sent.index - cands[-1].sentences[-1].index <= 2)
                or (bool(cands) and any(f"field_{k}" in sent.flags for k in FIELD_SUPPORT))
            )
        )
        if not (anchor or supporting) or (supporting and "backref_event" in sent.flags):
            continue
        has_own = event_date(sent) is not None or best_place(sent) is not None
        target = None
        if cands and not anchor and not has_own and (LATEST.search(sent.text) or sent.flags & {"claim", "no_claim"}):
            # "the latest attack", "Tuesday's bombing": the report's own news, not the last event told; a claim
            # right after an event's paragraph is that event's (a headline may have opened another one first)
            target = next((c for c in reversed(cands) if not _is_old(doc, c)), cands[-1])
            if not LATEST.search(sent.text) and last is not None and not _is_old(doc, last):
                target = last
        elif cands and not anchor and any(f"field_{k}" in sent.flags for k in FIELD_SUPPORT):
            target = cands[-1]  # a labelled line of a field report belongs to the event it follows
        elif anchor and "backref_event" in sent.flags and event_date(sent) is None:
            pass  # an earlier event told in passing: its own incident
        elif "new_event" not in sent.flags or not anchor:
            if has_own:
                fits = [c for c in reversed(cands) if not _conflicts(doc, c, sent)]
                # of the incidents it fits, the one in its own district first (a headline may have opened two)
                bp = best_place(sent)
                same = [c for c in fits if bp is not None and not _other_district(bp.place, c.place)]
                target = (same or fits)[0] if fits else None
            elif cands:
                target = last if last is not None and "new_event" not in sent.flags else cands[-1]
        if target is None:
            if not anchor:
                continue
            target = Candidate()
            nxt = NEXT_DAY.search(sent.text)
            prev = next((c.date for c in reversed(cands) if c.date and c.date.precision == "day"), None)
            if nxt and prev is not None and prev.value is not None and event_date(sent) is None:
                # "the following afternoon": the day after the event told just before
                target.date = DateMention(0, 0, nxt.group(0), prev.value + timedelta(days=1), "day", "relative")
            cands.append(target)
        target.add(sent, anchor)
        last = target
    _attach_leading_field_lines(doc, cands)
    return cands


def _is_old(doc: Doc, cand: Candidate) -> bool:
    """An earlier event the report mentions in passing (not its news)."""
    if any("backref_event" in a.flags for a in cand.anchors):
        return True
    d = cand.date
    if d is None or d.value is None or doc.published is None:
        return False
    if d.precision == "day":
        return (doc.published - d.value).days > 14
    return (d.value.year, d.value.month if d.precision == "month" else 0) < (
        doc.published.year,
        doc.published.month if d.precision == "month" else 0,
    )


def _attach_leading_field_lines(doc: Doc, cands: list[Candidate]) -> None:
    """Labelled lines that come before a report's EVENT/WHAT line (WHO:, DTG:) belong to that event."""
    used = {s.index for c in cands for s in c.sentences}
    for sent in doc.sentences:
        if sent.index in used or not any(f"field_{k}" in sent.flags for k in FIELD_SUPPORT):
            continue
        following = [c for c in cands if c.anchors and c.anchors[0].index > sent.index]
        preceding = [c for c in cands if c.anchors and c.anchors[0].index < sent.index]
        if following and not preceding:
            following[0].add(sent, anchor=False)


_FIREARMS = prefilter.compile(
    r"\b(?:gunfire|small\s+arms|opened\s+fire|firing|gunm[ae]n|automatic\s+weapons|rifles?|gun\s+battle|"
    r"exchanges?\s+of\s+fire|shot|shooting)\b",
    lx.I,
)


_CARRIED = prefilter.compile(
    r"\b(?:rocket-propelled\s+grenades?|rockets?|RPGs?|grenades?|hand\s+grenades?|mortars?)\b", lx.I
)
_CLOSE_COMBAT = prefilter.compile(r"\b(?:ambush\w*|opened\s+fire|gunm[ae]n|rifles?|small\s+arms|gunfire)\b", lx.I)
_BOMBING = dict(lx.TYPE_CUES)["bombing"]


def _carried_only(text: str) -> bool:
    """The sentence's explosive words are only weapons carried into a shooting (rockets, grenades)."""
    return bool(_CLOSE_COMBAT.search(text)) and not _BOMBING.search(_CARRIED.sub(" ", text))


def _choose_type(cand: Candidate, killed: int | None) -> tuple[str, Sentence | None]:
    def first(sents: list[Sentence], name: str) -> Sentence | None:
        return next((s for s in sents if name in s.event_types), None)

    for pool in [cand.sentences]:
        if any("facility_strong" in s.flags for s in pool):
            return "attack_on_facility", next(s for s in pool if "facility_strong" in s.flags)
        for name in (
            "hijacking",
            "kidnapping",
            "suicide_bombing",
            "attack_on_facility",
            "bombing",
            "targeted_killing",
            "armed_assault",
        ):
            s = first(pool, name)
            if s is None:
                continue
            if name == "targeted_killing" and killed is not None and killed > 2:
                name = "armed_assault"
            lead = cand.anchors[0] if cand.anchors else None
            if (
                name == "bombing"
                and lead is not None
                and "armed_assault" in lead.event_types
                and "bombing" not in lead.event_types
                and all(_FIREARMS.search(x.text) for x in pool if "bombing" in x.event_types)
            ):
                # an armed attack told as such, whose later details add grenades or a bomb to the gunfire:
                # the explosives are part of the assault, not a bombing of their own
                return "armed_assault", lead
            if name == "bombing" and all(_carried_only(x.text) for x in pool if "bombing" in x.event_types):
                # "gunmen with rockets and rifles ambushed the trucks": weapons the attackers carried into an
                # ambush or a shooting make it no bombing
                return "armed_assault", first(pool, "armed_assault") or s
            return name, s
    s = first(cand.sentences, "arson")
    if s:
        return "attack_on_facility", s
    s = first(cand.sentences, "threat")
    if s:
        return "threat", s
    return "other", cand.anchors[0] if cand.anchors else None


def _ev(field_name: str, s: Sentence | None) -> Evidence | None:
    """Evidence for a field: the sentence that supports it, with its offsets in the cleaned text."""
    if s is None:
        return None
    return Evidence(field=field_name, text=s.text, start=s.start, end=s.end)


_SAFE_NAT = r"Chinese|PRC|Japanese|Korean|American|British|foreign"
_HARM = r"hurt|harmed|injured|killed|wounded|affected"
# The foreigners came to no harm: their figures are 0, not unknown ("no Chinese citizen was hurt", "no foreign
# guests were staying at the hotel", "No PRC staff affected", "Chinese officials said no member of their staff
# was hurt").
SAFE = prefilter.compile(
    rf"\b(?P<nat>{_SAFE_NAT})\s+(?:\w+\s+){{0,4}}?(?:were|was|are|remained)\s+(?:all\s+)?(?:safe|unharmed|unhurt|"
    rf"not\s+hurt|not\s+harmed|uninjured)\b"
    rf"|\bno\s+(?P<nat2>{_SAFE_NAT})\s+(?:[\w-]+\s+){{0,3}}?(?:(?:was|were|had\s+been|has\s+been|have\s+been)\s+)?"
    rf"(?:reported\s+)?(?:{_HARM}|staying|present|among\s+(?:the\s+)?(?:victims|casualties|dead|injured|wounded))\b"
    rf"|\b(?P<nat3>{_SAFE_NAT})\s+(?:officials|embassy|consulate|government|authorities|ministry|mission|company)\b"
    rf"[^.;]{{0,60}}?\bno\s+(?:one|member|national|citizen|employee|worker)s?\s+(?:of\s+(?:their|its|the)\s+"
    rf"(?:staff|nationals|citizens|team|employees|workers)\s+)?(?:was|were|had\s+been)\s+(?:{_HARM})\b",
    lx.I,
)


# "the engineers escaped unhurt", "all five were unharmed": safe, with their nationality told elsewhere
SAFE_GENERIC = prefilter.compile(
    r"\b(?:the\s+|all\s+|both\s+)(?:[\w-]+\s+){0,2}?(?:escaped|were|was|remained)\s+(?:all\s+)?"
    r"(?:unhurt|unharmed|unscathed|safe|uninjured)\b",
    lx.I,
)
ALL_VICTIMS = prefilter.compile(
    r"\b(?:all|both)\s+(?:(?:the\s+)?(?:\w+\s+)?(?:of\s+the\s+)?)?(?P<who>victims|dead|killed|injured|wounded)\s+"
    r"(?:were|as|are)\s+(?P<nat>Chinese|Japanese|Korean|American|British|foreign(?:ers)?)\b",
    lx.I,
)


WEAK_SOURCE = prefilter.compile(
    r"\b(?:anonymous(?:ly)?|on\s+(?:the\s+)?condition\s+of\s+anonymity|not\s+authori[sz]ed\s+to\s+(?:speak|talk)|"
    r"unconfirmed|unverified|could\s+not\s+be\s+(?:independently\s+)?(?:verified|confirmed))\b",
    lx.I,
)


@dataclass
class Figures:
    """Casualty figures of one incident, each with the sentence that supports it."""

    values: dict[str, int | None]
    sources: dict[str, Sentence | None]
    nationality: str | None
    nationality_source: Sentence | None


TARGETED = prefilter.compile(
    r"\b(?:carrying|transporting|ferrying|escorting|targeting|targeted|aimed\s+at|attack(?:ed)?\s+on|kidnapped|"
    r"abducted|seized|"
    r"(?:convoy|motorcade|bus|van|vehicle|camp|residence)\s+of)\s+"
    r"(?:a\s+group\s+of\s+|the\s+|a\s+|an\s+|some\s+|several\s+|\w+\s+)?"
    rf"(?P<nat>{NAT_RE})\s+(?:nationals|engineers|workers|citizens|staff|technicians|employees|experts|teachers|"
    r"convoy|vehicles?|delegation|team|contractors|personnel|guests)\b",
    lx.I,
)


_COMPETING = prefilter.compile(r"\b(?:while|whereas|but|however|although|though)\b", lx.I)
_RISING = prefilter.compile(
    r"\b(?:rose|risen|rises|climbed|increased|jumped|reached|later|now|since|updated|revised|succumbed)\b", lx.I
)


def _lowest_of_competing(sent: Sentence, figures: list[Figure]) -> list[Figure]:
    """ "Police put the toll at 12, while a hospital spokesman said 15 had died": two sources for one moment, of
    which the lowest count is the one the text supports (a rising toll, "later rose to 15", keeps the latest)."""
    if len(figures) < 2 or not _COMPETING.search(sent.text) or _RISING.search(sent.text):
        return figures
    out = []
    for f in figures:
        same = [g for g in figures if g.kind == f.kind and g.count > 0]
        if len(same) >= 2 and f.count > min(g.count for g in same):
            continue
        out.append(f)
    return out


def _figures(cand: Candidate) -> Figures:
    best: dict[str, tuple[int, Sentence]] = {}
    weak: dict[str, tuple[int, Sentence]] = {}
    domestic: dict[str, Sentence] = {}
    nat: tuple[str, Sentence] | None = None
    zero: dict[str, Sentence] = {}
    safe: Sentence | None = None
    safe_generic: Sentence | None = None
    all_foreign: list[tuple[tuple[str, ...], str, Sentence]] = []
    for s in cand.sentences:
        if "aggregate" in s.flags:
            continue
        if safe_generic is None and SAFE_GENERIC.search(s.text):
            safe_generic = s
        m = SAFE.search(s.text)
        if m and safe is None:
            safe = s
            word = (m.group("nat") or m.group("nat2") or m.group("nat3") or "").lower()
            word = "Chinese" if word == "prc" else word.capitalize()
            if word and word != "Foreign" and nat is None:
                nat = (word, s)
        # an anonymous or unconfirmed source's figure counts only where no attributed figure exists
        pool = weak if WEAK_SOURCE.search(s.text) else best
        for f in _lowest_of_competing(s, victim_figures(s)):
            if f.count == 0 and not f.foreign:
                zero.setdefault(f.kind, s)
            total_key, foreign_key = f"{f.kind}_total", f"{f.kind}_foreign"
            if f.count > pool.get(total_key, (0, s))[0]:
                pool[total_key] = (f.count, s)
            if f.foreign and f.foreign > pool.get(foreign_key, (0, s))[0]:
                pool[foreign_key] = (f.foreign, s)
            if f.foreign == 0 and f.count > 0:
                domestic.setdefault(foreign_key, s)  # "their Pakistani driver was injured"
            if f.nationality and (nat is None or nat[1] is safe):
                nat = (f.nationality, s)
        allv = ALL_VICTIMS.search(s.text)
        if allv and "aggregate" not in s.flags:
            nat_word = allv.group("nat").capitalize()
            which = allv.group("who").lower()
            kinds = (
                ("killed",)
                if which in ("dead", "killed")
                else ("injured",)
                if which in ("injured", "wounded")
                else ("killed", "injured")
            )
            all_foreign.append((kinds, nat_word, s))
    if nat is None:
        # "a convoy transporting PRC nationals", "a bus carrying Chinese engineers": the foreigners targeted,
        # whatever became of them (their counts stay unknown unless a figure says them)
        for s in cand.anchors:
            tm = TARGETED.search(s.text)
            word = NATIONALITIES.get(tm.group("nat").lower()) if tm else None
            if word:
                nat = (word, s)
                break
    if safe is None and safe_generic is not None and nat is not None:
        safe = safe_generic  # the foreigners the attack targeted came out unharmed
    for key, value in weak.items():
        best.setdefault(key, value)
    for which_kinds, nat_word, s in all_foreign:
        nat = nat or (nat_word, s)
        for kind in which_kinds:
            total = best.get(f"{kind}_total")
            if total and f"{kind}_foreign" not in best:
                best[f"{kind}_foreign"] = (total[0], s)
    values: dict[str, int | None] = {}
    sources: dict[str, Sentence | None] = {}
    for kind in ("killed", "injured"):
        tk, fk = f"{kind}_total", f"{kind}_foreign"
        total, foreign = best.get(tk), best.get(fk)
        if foreign and (total is None or total[0] < foreign[0]):
            total = foreign  # "two Chinese engineers lost their lives": at least two dead in all
        if total is None and kind in zero and not any(v[0] > 0 for v in best.values()):
            total = (0, zero[kind])
        values[tk], sources[tk] = (total[0], total[1]) if total else (None, None)
        values[fk], sources[fk] = (foreign[0], foreign[1]) if foreign else (None, None)
        # nobody died, or the foreigners were unharmed: then no foreigner died either
        if values[fk] is None and ((nat is not None and values[tk] == 0) or safe is not None):
            values[fk], sources[fk] = 0, safe or sources[tk]
        elif (
            values[fk] is None
            and nat is not None
            and fk in domestic
            and total is not None
            and (total[0] <= 1 or total[1] is domestic[fk])
        ):
            # foreigners were involved, and the victims of this kind are named as Pakistanis
            values[fk], sources[fk] = 0, domestic[fk]
    return Figures(values, sources, nat[0] if nat else None, nat[1] if nat else None)


HEDGED = prefilter.compile(
    r"\b(?:whether|possible|possibly|may\s+have|might\s+have|could\s+have|not\s+ruled\s+out|ruling\s+out|"
    r"speculat\w+)\b",
    lx.I,
)


def _perpetrator(doc: Doc, cand: Candidate) -> tuple[str | None, bool | None, Sentence | None, Sentence | None]:
    claimed: bool | None = None
    claim_sent = None
    if cand.no_claims:
        return None, False, None, cand.no_claims[0]
    for s in cand.sentences:
        if "no_claim" in s.flags and s not in cand.claims:
            claimed, claim_sent = False, s
    # a group that disowned the attack is not its perpetrator, whatever one of its men posted
    denied = {a.actor for s in cand.sentences if "deny" in s.flags for a in s.actors}
    for s in [*cand.claims, *cand.sentences]:
        actors = [a for a in s.actors if a.actor not in denied]
        # a claim given to this incident clause by clause ("the Gwadar assault was claimed by the BLA; nobody
        # claimed Besham") holds even where the sentence as a whole reads as a denial of a claim
        claimed_here = "claim" in s.flags or s in cand.claims
        if actors and claimed_here and "deny" not in s.flags and claim_sent is not s:
            return actors[0].actor, True, s, s
    for s in cand.sentences:
        actors = [a for a in s.actors if a.actor not in denied]
        if "blame" in s.flags and HEDGED.search(s.text):
            continue  # "investigating whether the attack was linked to the SRA": a guess names no perpetrator
        if actors and "deny" not in s.flags and ("blame" in s.flags or "trigger" in s.flags):
            return actors[0].actor, claimed, s, claim_sent
    return None, claimed, None, claim_sent


_PERIOD = prefilter.compile(
    r"\b(?:period|covering|coverage|reporting\s+period|for\s+the\s+(?:week|period))\b\s*:?\s*(?:from\s+)?"
    r"(?P<d1>\d{1,2})(?:\s+(?P<m1>[A-Za-z]{3,9}))?\s*(?:[-–]|to|until)\s*(?P<d2>\d{1,2})\s+(?P<m2>[A-Za-z]{3,9})\s+"
    r"(?P<y>(?:19|20)\d\d)\b",
    lx.I,
)
_MONTHS = {
    m.lower()[:3]: i
    for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)
}


def report_period(doc: Doc) -> tuple[date, date] | None:
    """The period a summary covers, from a line such as "Period: 20-26 MAR 2024" or "covering 28 Feb to 6 Mar
    2025" in its first lines."""
    for sent in doc.sentences[:8]:
        m = _PERIOD.search(sent.text)
        if not m:
            continue
        m2 = _MONTHS.get(m.group("m2").lower()[:3])
        m1 = _MONTHS.get((m.group("m1") or m.group("m2")).lower()[:3])
        if m1 is None or m2 is None:
            continue
        y = int(m.group("y"))
        try:
            start = date(y - 1 if m1 > m2 else y, m1, int(m.group("d1")))
            end = date(y, m2, int(m.group("d2")))
        except ValueError:
            continue
        if start <= end and (end - start).days <= 62:
            return start, end
    return None


def _log_is_current(doc: Doc, row: Sentence) -> bool | None:
    """For a row of an incident-log table: whether the log reports current events (None: not a table row)."""
    table_of: dict[int, int] = doc.debug.get("table_of", {})
    table = table_of.get(row.index)
    if table is None or doc.published is None:
        return None
    days = [
        d.value
        for s in doc.sentences
        if table_of.get(s.index) == table
        for d in s.dates
        if d.value is not None and d.precision == "day" and d.role == "point"
    ]
    return bool(days) and (doc.published - max(days)).days <= 31


def _is_new(doc: Doc, cand: Candidate, when: DateMention | None) -> tuple[bool, Sentence | None]:
    first = cand.anchors[0] if cand.anchors else cand.sentences[0]
    backref = any("backref" in s.flags for s in cand.anchors)
    lead = any(s.is_title or s.index <= 2 for s in cand.anchors)
    if doc.published is not None and when is not None and when.value is not None:
        days = (doc.published - when.value).days
        period = doc.debug.get("period")
        if period is not None and when.precision == "day" and period[0] <= when.value <= period[1]:
            return not backref, first  # "Period: 20-26 MAR 2024": a summary's incidents of its period are its news
        log = _log_is_current(doc, first)
        if log is not None:
            # a row of an incident log: the log's news when the log is current (its latest row within a month
            # of the report) and the row falls in the log's period, however long ago it is from the report
            return log and -1 <= days <= 92, first
        if when.precision == "day":
            close = -1 <= days <= (7 if lead else 3)
        elif when.precision == "month":
            close = (when.value.year, when.value.month) == (doc.published.year, doc.published.month) and lead
        else:
            close = False
        return close and not backref, first
    return lead and not backref, first


def build(doc: Doc, cand: Candidate) -> ExtractedIncident | None:
    if not cand.anchors:
        return None
    figs = _figures(cand)
    killed = figs.values["killed_total"]
    etype, type_sent = _choose_type(cand, killed)
    if etype in ("threat", "other") and killed is None and figs.values["injured_total"] is None:
        return None
    evidence: list[Evidence] = []

    def ev(name: str, s: Sentence | None) -> None:
        e = _ev(name, s)
        if e:
            evidence.append(e)

    ev("event_type", type_sent)
    # date
    date_sent = next((s for s in cand.sentences if cand.date is not None and cand.date in s.dates), None)
    when = cand.date
    counted = _counted_back(doc, cand)
    if counted is not None:
        when, date_sent = counted
    date_str, precision = (when.iso(), when.precision) if when else (None, None)
    if when is None:
        rel = _relative_to_main(doc, cand)
        if rel is not None:
            when, date_sent = rel
        elif doc.debug.get("main_date") is not None and not any(
            {"backref", "backref_event"} & s.flags for s in cand.anchors
        ):
            # one of several attacks a report tells together ("In Bela, militants rammed ..."): its day
            when = doc.debug["main_date"]
            date_sent = next((s for s in doc.sentences if when in s.dates), None)
        if when is not None:
            date_str, precision = when.iso(), when.precision
    is_new, new_sent = _is_new(doc, cand, when)
    if when is None and is_new and doc.published is not None:
        # A lead incident without a date of its own: reports of the day tell the day's news.
        date_str, precision = format_date(doc.published, "day"), "day"
        date_sent = cand.anchors[0]
    ev("date", date_sent)
    # place: most specific place among the group's sentences, the anchor's locatives first
    place_sent: Sentence | None = None
    pm: PlaceMention | None = None
    for pool in (cand.anchors, cand.sentences):
        scored = [(s, bp) for s in pool if (bp := best_place(s)) is not None]
        if scored:
            place_sent, pm = max(scored, key=lambda sp: (sp[1].locative, sp[1].place.specificity, -sp[0].index))
            break
    if pm is None and cand.anchors and _is_old(doc, cand):
        # an earlier event told without a place ("the November 5 shooting of two technicians ..."): the city the
        # passage is about, named in the sentence just before, rather than the place of the report's news
        first = cand.anchors[0].index
        for prev in reversed(doc.sentences[max(0, first - 2) : first]):
            near = [x for x in domestic_places(prev) if x.place.city]
            if near:
                place_sent, pm = prev, max(near, key=lambda x: x.place.specificity)
                break
    place = PlaceRef()
    if pm is not None:
        p = pm.place
        # a facility or neighbourhood: keep the city of the hierarchy
        city = p.city if p.base_kind not in ("district", "province", "country") else None
        place = PlaceRef(
            name=p.name,
            city=city,
            district=p.district,
            province=p.province,
            country=p.country,
            lat=p.lat,
            lon=p.lon,
            precision=p.precision,
        )
        ev("place", place_sent)
    elif doc.debug.get("main_place") is not None:
        # no place in the incident's own sentences: the place the report is about (headline, lead)
        p = doc.debug["main_place"].place
        city = p.city if p.base_kind not in ("district", "province", "country") else None
        place = PlaceRef(
            name=p.name,
            city=city,
            district=p.district,
            province=p.province,
            country=p.country,
            lat=p.lat,
            lon=p.lon,
            precision=p.precision,
        )
    elif doc.context_provinces:
        prov = max(doc.context_provinces, key=lambda k: doc.context_provinces[k])
        pp = get_gazetteer().province(prov)
        place = PlaceRef(
            name=prov,
            province=prov,
            country="Pakistan",
            lat=pp.lat if pp else None,
            lon=pp.lon if pp else None,
            precision=GeoPrecision.PROVINCE,
        )
    for k in ("killed_total", "injured_total", "killed_foreign", "injured_foreign"):
        ev(k, figs.sources[k])
    ev("foreign_nationality", figs.nationality_source)
    perp, claimed, perp_sent, claim_sent = _perpetrator(doc, cand)
    ev("perpetrator", perp_sent)
    ev("claimed", claim_sent)
    ev("is_new", new_sent)
    filled = sum(x is not None for x in (date_str, pm, killed, figs.values["injured_total"], perp))
    confidence = round(min(0.95, 0.35 + 0.1 * filled + (0.1 if when is not None else 0.0)), 2)
    return ExtractedIncident(
        event_type=etype,  # type: ignore[arg-type]
        date=date_str,
        date_precision=precision,  # type: ignore[arg-type]
        place=place,
        killed_total=killed,
        injured_total=figs.values["injured_total"],
        killed_foreign=figs.values["killed_foreign"],
        injured_foreign=figs.values["injured_foreign"],
        foreign_nationality=figs.nationality,
        perpetrator=perp,
        claimed=claimed,
        is_new=is_new,
        confidence=confidence,
        evidence=evidence,
    )


_FILLED = ("killed_total", "injured_total", "killed_foreign", "injured_foreign", "foreign_nationality", "perpetrator")


def _fill(first: ExtractedIncident, later: ExtractedIncident) -> None:
    """One incident told twice in a report (a headline, then its paragraph): what only the later telling says
    (a figure, the group) completes the first, with the later sentence as its evidence."""
    for name in (*_FILLED, "claimed"):
        if getattr(first, name) is None and getattr(later, name) is not None:
            setattr(first, name, getattr(later, name))
            first.evidence += [e for e in later.evidence if e.field == name]


def _same(a: ExtractedIncident, b: ExtractedIncident) -> bool:
    if a.date and b.date and a.date[:7] != b.date[:7]:
        return False
    if (
        a.date
        and b.date
        and len(a.date) == len(b.date) == 10
        and abs((date.fromisoformat(a.date) - date.fromisoformat(b.date)).days) > 1
    ):
        return False  # two attacks on one road in one month, each told with its day
    return (a.place.city or a.place.district) == (b.place.city or b.place.district) and FAMILIES[
        str(a.event_type)
    ] == FAMILIES[str(b.event_type)]


WAVE_CLAIM = prefilter.compile(
    r"\bclaim(?:ed|s|ing)?\s+(?:responsibility\s+for\s+)?(?:the|all|these|both|a|this)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:wave|series|string|spate|attacks|assaults|bombings|raids)\b",
    lx.I,
)


_ALL_OF_THEM = prefilter.compile(
    r"\b(?:any|either|none|all|each|both)\s+of\s+(?:the|these)\s+(?:\w+\s+)?(?:attacks|bombings|blasts|incidents|"
    r"killings|assaults)|\b(?:either|any)\s+(?:attack|bombing|blast|incident)\b",
    lx.I,
)


def _lead_summary_date(doc: Doc) -> DateMention | None:
    """ "Militants killed seven people in three separate attacks on Wednesday": a lead that sums up the report's
    attacks dates them, though it is no incident itself."""
    for sent in doc.sentences[:4]:
        if "aggregate" in sent.flags and "trigger" in sent.flags and "backref" not in sent.flags:
            d = next((d for d in point_dates(sent) if d.precision == "day"), None)
            if d is not None:
                return d
    return None


def _distribute_claims(doc: Doc, cands: list[Candidate]) -> None:
    """A claim left outside every incident ("the BLA claimed the wave of attacks") goes to the incident whose
    place it names, else to every incident of the report's news."""
    from corridor.extract.actors import CLAIM, NO_CLAIM

    used = {s.index for c in cands for s in c.sentences}
    for s in doc.sentences:
        if not s.flags & {"claim", "no_claim"} or "backref_event" in s.flags:
            continue
        # "The Gwadar and Turbat assaults were claimed by the BLA; nobody claimed Besham": clause by clause
        for clause in lx.re.split(r";|\bwhile\b|\bwhereas\b", s.text):
            places = [p for p in s.places if p.text in clause]
            named = [
                c
                for c in cands
                if any(
                    c.place is not None and places_compatible(p.place, c.place) and p.place.base_kind != "province"
                    for p in places
                )
            ]
            if NO_CLAIM.search(clause):
                if not named and _ALL_OF_THEM.search(clause):
                    # "no group claimed any of the attacks": every attack the report brings as news
                    named = [c for c in cands if not _is_old(doc, c)]
                for c in named:
                    if s not in c.no_claims:
                        c.no_claims.append(s)
            elif CLAIM.search(clause) and any(a.text in clause for a in s.actors):
                if WAVE_CLAIM.search(clause):
                    # "claimed the wave of attacks and said its men led the assault in Bela": every attack
                    named = [c for c in cands if not _is_old(doc, c)] or named
                if named:
                    for c in named:
                        c.claims.insert(0, s)
                elif s.index not in used:
                    # a claim for "the wave of attacks" covers every attack the report brings as news
                    for c in cands:
                        if not _is_old(doc, c):
                            c.claims.append(s)


def _document_place(doc: Doc) -> PlaceMention | None:
    """The place a report is about: the headline's, else the first locative place of the lead."""
    for s in doc.sentences[:4]:
        if s.is_title or s.index <= 2:
            bp = best_place(s)
            if bp is not None and (s.is_title or bp.locative):
                return bp
    return None


_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def _relative_to_main(doc: Doc, cand: Candidate) -> tuple[DateMention, Sentence] | None:
    """'comes five months after ...': the earlier event's date, counted back from the report's main event."""
    main = doc.debug.get("main_date")
    if main is None or main.value is None:
        return None
    for s in cand.anchors:
        m = lx.RELATIVE_TO.search(s.text)
        if not m:
            continue
        word = m.group("n").lower()
        n = (
            int(word)
            if word.isdigit()
            else {"a": 1, "an": 1, "one": 1, "few": 3, "several": 3}.get(word, NUMBER_WORDS.get(word, 0))
        )
        unit = m.group("unit").lower().rstrip("s")
        if not n:
            continue
        if unit == "month":
            value, precision = months_before(main.value, n), "month"
        elif unit == "year":
            value, precision = date(main.value.year - n, 1, 1), "year"
        else:
            when = main.value - timedelta(days=n * _UNIT_DAYS[unit])
            value, precision = when.replace(day=1), "month"
        return DateMention(0, 0, m.group(0), value, precision, "relative"), s
    return None


def _count_back(ref: date, n: int, unit: str) -> tuple[date, str]:
    if unit == "month":
        return months_before(ref, n), "month"
    if unit == "year":
        return date(ref.year - n, ref.month, 1), "month"
    return (ref - timedelta(days=n * _UNIT_DAYS[unit])).replace(day=1), "month"


def _counted_back(doc: Doc, cand: Candidate) -> tuple[DateMention, Sentence] | None:
    """'A year after the bombing at the shrine ..., the shrine reopened on Friday': the bombing is dated a year
    before the day the sentence's main clause tells, not on that day."""
    for s in cand.anchors:
        m = lx.RELATIVE_TO.search(s.text)
        if not m or m.group(0).lower().split()[-1] not in ("after", "since"):
            continue
        stop = re.search(r"[,;:]|\b(?:when|as|while)\b", s.text[m.end() :])
        clause = (m.end(), m.end() + stop.start() if stop else len(s.text))
        if not lx.TRIGGER.search(s.text, clause[0], clause[1]):
            continue
        own = [d for d in s.dates if d.role == "point" and clause[0] <= d.start - s.start < clause[1]]
        if own:
            return None  # "two years after the May 2022 bombing": the event has its own date
        word = m.group("n").lower()
        n = (
            int(word)
            if word.isdigit()
            else {"a": 1, "an": 1, "one": 1, "few": 3, "several": 3}.get(word, NUMBER_WORDS.get(word, 0))
        )
        if not n or word in ("few", "several"):
            continue
        outside = [d for d in s.dates if d.role == "point" and d.value is not None and d.precision == "day"]
        main = doc.debug.get("main_date")
        ref = outside[0].value if outside else (main.value if main is not None else None) or doc.published
        if ref is None:
            continue
        value, precision = _count_back(ref, n, m.group("unit").lower().rstrip("s"))
        return DateMention(0, 0, m.group(0), value, precision, "relative"), s
    return None


# "..., and a suicide car bombing in March near Besham ...": the point where a second event is told
_ENUM_SPLIT = prefilter.compile(
    r"(?:,\s*|;\s*)(?:and\s+|while\s+|whereas\s+)?(?=(?:the|a|an|another)\s+(?:[\w-]+\s+){0,4}?"
    r"(?:bombing|attack|blast|shooting|stabbing|explosion|assault|ambush|raid|hijacking|kidnapping|killing|abduction)\b)",
    lx.I,
)
_TITLE_SPLIT = prefilter.compile(r"\s*[,;]\s+|\s+-\s+")
# "The two attacks he referred to were ...": an introduction to the list, not an aggregate
_ENUM_INTRO = prefilter.compile(
    r"^\W*(?:the|these|both)\s+(?:two|three|four)?\s*(?:attacks|bombings|incidents|assaults)\b[^,;:]{0,40}?"
    r"\b(?:were|are)\b\s*:?\s*",
    lx.I,
)


def _family(text: str) -> str | None:
    """The kind of violence a clause tells (its strongest type cue's family)."""
    return next((FAMILIES[name] for name, pat in lx.TYPE_CUES if name in FAMILIES and pat.search(text)), None)


def _other_district(a: Place | None, b: Place | None) -> bool:
    da = a.name if a is not None and a.base_kind == "district" else (a.district if a is not None else None)
    db = b.name if b is not None and b.base_kind == "district" else (b.district if b is not None else None)
    return da is not None and db is not None and da != db


def _own_anchor(sent: Sentence, start: int, end: int) -> tuple[DateMention | None, Place | None]:
    d = next((x for x in point_dates(sent) if start <= x.start < end), None)
    p = next(
        (
            x.place
            for x in domestic_places(sent)
            if start <= x.start < end and (x.locative or x.place.base_kind == "facility")
        ),
        None,
    )
    return d, p


def _clause(sent: Sentence, start: int, end: int) -> Sentence:
    from corridor.extract.actors import claim_flags

    def inside(x: object) -> bool:
        return start <= x.start < end  # type: ignore[attr-defined]

    text = sent.text[start - sent.start : end - sent.start]
    return Sentence(
        index=sent.index,
        start=start,
        end=end,
        text=text,
        paragraph=sent.paragraph,
        is_title=sent.is_title,
        dates=[d for d in sent.dates if inside(d)],
        places=[p for p in sent.places if inside(p)],
        figures=[f for f in sent.figures if inside(f)],
        actors=[a for a in sent.actors if inside(a)],
        flags=claim_flags(text),
    )


def split_enumerations(doc: Doc) -> None:
    """A sentence that tells two dated or placed events one after the other ("the bombing near the airport
    earlier this month, which killed three, and a suicide car bombing in March near Besham that killed six")
    becomes one clause per event, each with its own date, place and figures."""
    out: list[Sentence] = []
    for sent in doc.sentences:
        cuts = [m for m in _ENUM_SPLIT.finditer(sent.text) if m.start() > 0]
        if not cuts and sent.is_title:
            # "Gunmen kill six in Kurram, bomb hurts police in Peshawar": a headline of two events
            cuts = [m for m in _TITLE_SPLIT.finditer(sent.text) if m.start() > 0]
        if not cuts or not lx.TRIGGER.search(sent.text):
            out.append(sent)
            continue
        intro = _ENUM_INTRO.match(sent.text)
        bounds = [sent.start + (intro.end() if intro else 0)]
        bounds += [sent.start + m.end() for m in cuts]
        bounds.append(sent.end)
        spans = list(pairwise(bounds))
        # every part must tell violence with a date or place of its own that differs from the part before
        anchors = [_own_anchor(sent, a, b) for a, b in spans]
        families = [_family(sent.text[a - sent.start : b - sent.start]) for a, b in spans]
        ok = all(lx.TRIGGER.search(sent.text[a - sent.start : b - sent.start]) for a, b in spans) and all(
            (d is not None or p is not None) for d, p in anchors
        )
        ok = ok and all(
            not dates_compatible(d1, d2)
            or not places_compatible(p1, p2)
            # a headline's two events of different kinds in two districts ("kill five in Orakzai, bomb hurts
            # police in Kohat"), however near the districts lie; one kind in two places is often one attack
            or (sent.is_title and _other_district(p1, p2) and f1 != f2)
            for ((d1, p1), f1), ((d2, p2), f2) in pairwise(zip(anchors, families, strict=True))
        )
        if not ok:
            out.append(sent)
            continue
        cut_ends = [sent.start + m.start() for m in cuts] + [sent.end]
        for k, ((a, _), e) in enumerate(zip(spans, cut_ends, strict=True)):
            part = _clause(sent, a, e)
            if k:
                part.flags.add("enum_next")  # a further event of the list: never the one before it
            out.append(part)
    for i, sent in enumerate(out):
        sent.index = i
    doc.sentences = out


def extract_incidents(doc: Doc) -> Doc:
    split_enumerations(doc)
    for sent in doc.sentences:
        classify_sentence(sent)
    out: list[ExtractedIncident] = []
    cands = group(doc)
    # the document's own main event: the reference for "five months after ..." and the fallback place
    doc.debug["main_date"] = next(
        (
            c.date
            for c in cands
            if c.date and c.date.precision == "day" and not any("backref_event" in s.flags for s in c.anchors)
        ),
        None,
    ) or _lead_summary_date(doc)
    doc.debug["main_place"] = _document_place(doc)
    doc.debug["period"] = report_period(doc)
    _distribute_claims(doc, cands)
    for cand in cands:
        inc = build(doc, cand)
        if inc is None:
            continue
        # an event the report itself tells as another, earlier one is no second telling of an incident
        earlier = any("earlier" in a.flags for a in cand.anchors)
        twin = None if earlier else next((o for o in out if _same(o, inc)), None)
        if twin is not None:
            _fill(twin, inc)
            continue
        out.append(inc)
    doc.incidents = out
    return doc
