"""Figures: killed and injured counts, the foreign victims among them and their nationality.

Each casualty verb is tied to the noun phrase it governs: to its left for passive or intransitive forms
("two Chinese engineers lost their lives", "5 killed"), to its right for active forms ("killing four people",
"the toll rose to 26"). Coordinated phrases add up ("five Chinese citizens and their Pakistani driver were
killed" = 6); "including nine Chinese" marks the foreign share of the figure before it. Attackers' deaths are
not victims. Counts are the lowest the text supports ("at least 12" -> 12, ACLED's convention).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corridor.extract import prefilter
from corridor.extract.document import Doc, Sentence
from corridor.extract.tables import cell_count
from corridor.geo.gazetteer import get_gazetteer

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "a dozen": 12,
    "a": 1,
    "an": 1,
    "single": 1,
    "both": 2,
    "couple": 2,
}
NATIONALITIES = {
    "chinese": "Chinese",
    "japanese": "Japanese",
    "korean": "Korean",
    "american": "American",
    "us": "American",
    "british": "British",
    "german": "German",
    "french": "French",
    "italian": "Italian",
    "russian": "Russian",
    "turkish": "Turkish",
    "iranian": "Iranian",
    "afghan": "Afghan",
    "saudi": "Saudi",
    "emirati": "Emirati",
    "australian": "Australian",
    "canadian": "Canadian",
    "spanish": "Spanish",
    "dutch": "Dutch",
    "sri lankan": "Sri Lankan",
    "bangladeshi": "Bangladeshi",
    "indian": "Indian",
    "uzbek": "Uzbek",
    "tajik": "Tajik",
    "kazakh": "Kazakh",
    "egyptian": "Egyptian",
    "nepalese": "Nepalese",
    "polish": "Polish",
    "czech": "Czech",
    "prc": "Chinese",
    "norwegian": "Norwegian",
    "swedish": "Swedish",
    "foreign": None,
    "foreigners": None,
}
_NAT_RE = "|".join(sorted((re.escape(k) for k in NATIONALITIES if k != "us"), key=len, reverse=True))
NAT_RE = _NAT_RE  # the nationality words as one alternation, for other stages
ATTACKER_NOUNS = {
    "militants",
    "militant",
    "terrorists",
    "terrorist",
    "attackers",
    "attacker",
    "assailants",
    "assailant",
    "insurgents",
    "insurgent",
    "gunmen",
    "gunman",
    "bombers",
    "bomber",
    "fighters",
    "suspects",
    "suspect",
    "khawarij",
    "kharijis",
    "khwarij",
    "hijackers",
    "hijacker",
    "kidnappers",
    "rebels",
    "miscreants",
}
VICTIM_NOUNS = (
    (
        r"people|persons|individuals|civilians|passengers|soldiers|soldier|troops|personnel|policemen|policeman|"
        r"police\s+officers|police\s+officer|officers|officer|cops|constables|constable|guards|guard|workers|worker|"
        r"labourers|laborers|engineers|engineer|nationals|national|citizens|citizen|foreigners|foreigner|children|"
        r"child|students|student|women|woman|men|man|others|worshippers|pilgrims|teachers|teacher|employees|"
        r"employee|staff|members|member|officials|official|miners|tourists|drivers|driver|victims|bystanders|"
        r"patients|lawyers|journalists|journalist|sailors|sailor|commandos|jawans|sepoys|levies|cadets|"
        r"relatives|family\s+members|doctors|doctor|nurses|children|boys|girls|boy|girl|labourer|"
        r"casualties|(?:assistant\s+)?sub-inspectors?|inspectors?|ASIs?|SHOs?|havildars?|naiks?|captains?|majors?|"
        r"lieutenants?|colonels?|troopers?|passers-by|residents|villagers|devotees|shoppers|traders|vendors|"
        r"contractors|surveyors|interpreters?|guests|teenagers?|"
    )
    + "|".join(sorted(ATTACKER_NOUNS, key=len, reverse=True))
    + r"|chinese|prc"
)
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_NUM = rf"(?:{_TENS})-(?:one|two|three|four|five|six|seven|eight|nine)|\d{{1,4}}(?:,\d{{3}})*|" + "|".join(
    sorted((re.escape(k) for k in NUMBER_WORDS), key=len, reverse=True)
)
_QUAL = (
    r"at\s+least|more\s+than|over|nearly|around|about|up\s+to|as\s+many\s+as|a\s+total\s+of|almost|some|another|other"
)
_SINGULAR_NP = prefilter.compile(
    rf"(?:a|an|single)\s+(?:(?!(?:{VICTIM_NOUNS})\b)[A-Za-z][\w'-]*\s+){{0,2}}(?P<noun>{VICTIM_NOUNS})(?![\w-])", re.I
)
_STOPMOD = (
    r"(?!(?:were|was|are|is|and|or|in|on|at|of|by|to|from|have|has|had|been|who|killed|injured|wounded|dead|hurt|"
    r"after|before|since|ago|later|earlier|minutes?|hours?|days?|weeks?|months?|years?)\b)"
    # a modifier is never itself a count: "five months after three Chinese teachers" is two phrases
    rf"(?!(?:{_NUM})(?![\w-]))"
)
NP_RE = prefilter.compile(
    rf"(?<![\w-])(?<!no\s)(?:(?P<q>{_QUAL})\s+)?(?P<n>{_NUM})"
    rf"(?:\s+(?P<mods>(?:{_STOPMOD}[A-Za-z][\w'-]*\s+){{0,3}})(?P<noun>{VICTIM_NOUNS}))?(?![\w-])",
    re.I,
)
PRONOUN_NP = prefilter.compile(
    rf"(?:\b(?:their|his|her|its|the)\s+|^\W*(?=\w+\s+\w+\s+(?:was|is|had|has|reportedly|also)\b))"
    rf"(?P<mods>(?:{_NAT_RE}|pakistani|local|bus|train|van|car|security|private)\s+)?"
    r"(?P<noun>driver|guard|interpreter|translator|cook|colleague|conductor|pilot|watchman|gunner|engineer|guide|"
    r"bodyguard|son|daughter|wife|husband|brother|father|mother|nephew|cousin)\b"
    # "the brother of a provincial lawmaker": the complement belongs to the phrase
    r"(?:\s+of\s+(?:an?|the|his|her|their|its)\s+(?:[\w-]+\s+){0,3}?[\w-]+(?=\s+(?:was|had|has)\b))?",
    re.I,
)
_NOT_PERSON = frozenset(
    ["the", "a", "an", "one", "another", "police", "security", "station", "chief", "no", "nobody", "every", "each"]
)
# "Bilal Kasi, president of the bar, was shot dead": one named person, the subject of a singular verb
NAMED_VICTIM = prefilter.compile(
    r"(?<![\w-])(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,3})(?=(?P<appo>\s*,[^,;.]{3,80},)?\s+was\s+"
    r"(?:(?:reportedly|also|later)\s+)?(?:shot\s+dead|gunned\s+down|assassinated|killed|martyred|shot\s+and\s+killed|"
    r"shot\s+and\s+(?:wounded|injured)|injured|wounded)\b)"
)

# Verb forms: 'L' ties to the phrase on its left, 'R' to the one on its right.
KILL_L = prefilter.compile(
    r"\b(?:(?:were|was|have\s+been|has\s+been|had\s+been|are|is|got|being)\s+(?:reportedly\s+|also\s+|all\s+)?)?"
    r"(?:killed|martyred|shot\s+dead|gunned\s+down|slain|dead|died|perished|lost\s+(?:their|his|her)\s+lives?"
    r"|KIA|embraced\s+(?:martyrdom|shahadat)|succumbed\s+to\s+(?:their|his|her)\s+(?:injuries|wounds)|lay\s+dead)\b",
    re.I,
)
KILL_R = prefilter.compile(
    r"\b(?:shot(?=\s+(?:[\w-]+\s+){1,4}?dead\b)|put\s+the\s+(?:dead|death\s+toll|toll|number\s+of\s+(?:dead|deaths))\s+at|shot\s+dead|gunned\s+down|shot\s+and\s+killed|killing|killed|kills|kill|martyring|martyred|claimed\s+the\s+lives?\s+of|claiming\s+the\s+lives?\s+of"
    r"|took\s+the\s+lives?\s+of|cost(?:ing)?\s+the\s+lives?\s+of|left|leaving|(?:death\s+)?toll\s+(?:has\s+|had\s+)?(?:rose|risen|climbed|reached|jumped|"
    r"increased|stood|stands|rises|climbs)\s+(?:to|at)|(?:death\s+)?toll\s+(?:of|at|now|is\s+now|now\s+at|to)|toll\b[^.;]{0,80}?\b(?:rose|risen|climbed|"
    r"reached|jumped|increased|stood|stands|rises|climbs|put|is|was)\s+(?:to|at)|(?:count|number|tally)\s+of\s+(?:the\s+)?"
    r"(?:dead|deaths|fatalities)\s+(?:was|is|stood\s+at|at|to)|among\s+the\s+(?:dead|killed|"
    r"deceased|victims|fatalities)\s+(?:were|was|are|is|included))\b",
    re.I,
)
INJ_L = prefilter.compile(
    r"\b(?:(?:were|was|have\s+been|has\s+been|had\s+been|are|is|got|being)\s+(?:reportedly\s+|also\s+|critically\s+|"
    r"seriously\s+|severely\s+|still\s+)?)?(?:injured|wounded|hurt|WIA|being\s+treated\b(?!\s+for\s+(?:shock|trauma))|"
    r"under\s+treatment|receiving\s+treatment|(?:still|remain(?:ed)?)\s+in\s+(?:the\s+)?hospitals?|sustained\s+(?:\w+\s+)?injuries|received\s+(?:\w+\s+)?"
    r"injuries|suffered\s+(?:\w+\s+)?injuries|shot\s+and\s+(?:wounded|injured)|(?:being\s+)?treated\s+for\s+(?:their\s+|"
    r"his\s+|her\s+)?(?:injuries|wounds)|hospitali[sz]ed|admitted\s+to\s+(?:the\s+)?hospital)\b",
    re.I,
)
INJ_R = prefilter.compile(
    r"\b(?:injuring|wounding|injured|wounded|injures|wounds|left|leaving|among\s+the\s+(?:injured|wounded)\s+"
    r"(?:were|was|are|is|included))\b",
    re.I,
)
INCLUDING = prefilter.compile(
    rf"^\s*,?\s*(?:(?:including|among\s+them|of\s+whom|among\s+whom)\s+(?P<n>{_NUM})|(?P<n2>{_NUM})\s+of\s+(?:them|whom))"
    rf"\s+(?:(?:were|are|was|being)\s+)?(?:an?\s+)?(?P<nat>{_NAT_RE})\b",
    re.I,
)
# "a third Chinese national was among the injured", "two guards were among the dead": a share of the toll
AMONG_LEFT = prefilter.compile(
    r"^\s*(?:was|were|are|is)\s+(?:also\s+|reportedly\s+)?among\s+the\s+(?:[\w-]+\s+)?"
    r"(?P<kind>injured|wounded|hurt|dead|killed|fatalities)\b",
    re.I,
)
# "two of its nationals had died": the nationals of the embassy or government speaking
OWN_NATIONALS = prefilter.compile(
    rf"(?<![\w-])(?P<n>{_NUM})\s+of\s+(?:its|their|our)\s+(?:own\s+)?(?P<noun>nationals|citizens)\b",
    re.I,
)
NO_CASUALTIES = prefilter.compile(
    # "no one in the convoy or its escort was hurt", "with no harm to any military or civil persons"
    r"\b((?:nobody|no\s+one|none)\s+(?:[\w']+\s+){1,6}?(?:was|were)\s+(?:killed|hurt|injured|harmed)|(?:nobody|no\s+one)\s+(?:else\s+)?(?:died|was\s+hurt|was\s+harmed)|no\s+lives\s+were\s+lost|no\s+fatalities|"
    r"no\s+(?:one|body|casualties|loss\s+of\s+life|injuries|deaths)\s*(?:was|were)?\s*(?:killed|hurt|injured|"
    r"harmed|reported)?|(?:nobody|no\s+one)\s+(?:was\s+)?(?:killed|hurt|injured|harmed)|escaped\s+unhurt|"
    r"remained\s+unhurt|were\s+unharmed|was\s+unharmed|were\s+unhurt|was\s+unhurt|no\s+harm\s+to\s+any)\b",
    re.I,
)


@dataclass
class Figure:
    kind: str  # killed | injured
    count: int
    foreign: int | None  # how many of them were foreign nationals (None: not said)
    nationality: str | None
    start: int
    end: int
    text: str
    attackers: bool = False
    also: bool = False  # "their driver, who also died": in addition to the figure told before it


@dataclass
class _NP:
    start: int
    end: int
    count: int
    nationality: str | None
    foreign: bool
    attacker: bool
    has_noun: bool
    partitive: bool = False  # "three of them Chinese": a share of the phrase before, not an addition
    domestic: bool = False  # "their Pakistani driver": explicitly not a foreigner


def _value(n: str) -> int | None:
    n = " ".join(n.lower().split())
    if "-" in n:
        tens, _, unit = n.partition("-")
        if tens in NUMBER_WORDS and unit in NUMBER_WORDS and NUMBER_WORDS[tens] % 10 == 0:
            return NUMBER_WORDS[tens] + NUMBER_WORDS[unit]
    if n.replace(",", "").isdigit():
        return int(n.replace(",", ""))
    return NUMBER_WORDS.get(n)


def _noun_phrases(text: str) -> list[_NP]:
    out: list[_NP] = []
    for m in NP_RE.finditer(text):
        n = m.group("n")
        count = _value(n)
        noun = (m.group("noun") or "").lower()
        mods = (m.group("mods") or "").lower()
        if count is None:
            continue
        if n.lower() in ("a", "an") and not noun:
            continue
        if n.lower() == "a dozen" and (m.group("q") or "").lower() in ("more than", "over"):
            continue  # "more than a dozen": a vague quantity, not a figure
        if n.lower() in ("a", "an", "single") and noun.endswith("s") and noun not in ("chinese",):
            # "a policeman guarding polio workers": the phrase's own noun is the first one, not the last
            one = _SINGULAR_NP.match(text, m.start())
            if one and not one.group("noun").lower().endswith("s"):
                out.append(_NP(one.start(), one.end(), 1, None, False, False, True))
            continue
        # years, times and amounts are not counts of people
        if (n.isdigit() and (len(n) == 4 and not noun)) or re.match(
            r"\s*(?:%|percent|per\s+cent|km|kilometres|"
            r"kg|hours|hrs|am|pm|a\.m|p\.m|years?|days?|"
            r"months?|weeks?|minutes?|rupees|rs)\b",
            text[m.end("n") :],
            re.I,
        ):
            continue
        nat_m = re.search(rf"\b({_NAT_RE})\b", mods + " " + noun, re.I)
        nationality = NATIONALITIES.get(nat_m.group(1).lower()) if nat_m else None
        foreign = bool(nat_m) or noun in ("foreigners", "foreigner")
        attacker = noun in ATTACKER_NOUNS or any(w in ATTACKER_NOUNS for w in mods.split())
        end = m.end("noun") if m.group("noun") else m.end("n")
        part = bool(re.search(r"(?:including|among\s+them|incl\.)\s*$", text[: m.start()], re.I))
        domestic = bool(re.search(r"\b(?:pakistani|local)\b", mods))
        out.append(_NP(m.start(), end, count, nationality, foreign, attacker, bool(noun), part, domestic))
    ranges = list(RANGE_NP.finditer(text))
    if any(c.isdigit() for c in text):
        ranges += RANGE_DIGITS.finditer(text)
    for m in ranges:
        # "between 12 and 15 people", "12-15 people": the lowest count the text supports
        low, high = _value(m.group("n")), _value(m.group("n2"))
        if low is None or high is None or low >= high:
            continue
        noun = m.group("noun").lower()
        attacker = noun in ATTACKER_NOUNS
        out = [np for np in out if np.end <= m.start() or np.start >= m.end()]
        out.append(_NP(m.start(), m.end(), low, None, False, attacker, True))
    for m in OF_THE_ATTACKERS.finditer(text):
        # "killing six of the attackers": attackers, whatever the number's own phrase said
        count = _value(m.group("n"))
        if count is None:
            continue
        out = [np for np in out if np.end <= m.start() or np.start >= m.end()]
        out.append(_NP(m.start(), m.end(), count, None, False, True, True))
    for m in PARTITIVE_RE.finditer(text):
        count = _value(m.group("n"))
        if count is None:
            continue
        nat = NATIONALITIES.get((m.group("nat") or "").lower()) if m.group("nat") else None
        out = [np for np in out if np.end <= m.start() or np.start >= m.end()]
        out.append(_NP(m.start(), m.end(), count, nat, bool(m.group("nat")), False, True, partitive=True))
    for m in OWN_NATIONALS.finditer(text):
        count = _value(m.group("n"))
        if count is None:
            continue
        earlier = list(re.finditer(rf"\b({_NAT_RE})\b", text[: m.start()], re.I))
        nat = NATIONALITIES.get(earlier[-1].group(1).lower()) if earlier else None
        out = [np for np in out if np.end <= m.start() or np.start >= m.end()]
        out.append(_NP(m.start(), m.end(), count, nat, True, False, True))
    for m in NAMED_VICTIM.finditer(text):
        words = m.group("name").split()
        if words[0].lower() in _NOT_PERSON or get_gazetteer().lookup(m.group("name")):
            continue
        # the apposition ("a retired teacher") is the same person, not a second victim
        end = m.end("appo") if m.group("appo") else m.end()
        out = [np for np in out if np.end <= m.start() or np.start >= end]
        out.append(_NP(m.start(), end, 1, None, False, False, True))
    for m in PRONOUN_NP.finditer(text):
        mods = (m.group("mods") or "").lower().strip()
        nat = NATIONALITIES.get(mods) if mods in NATIONALITIES else None
        out.append(_NP(m.start(), m.end(), 1, nat, bool(nat), False, True, domestic=mods in ("pakistani", "local")))
    out.sort(key=lambda x: x.start)
    return out


# "between 12 and 15 people" (any numbers), "12-15 people", "12 to 15 people" (digits: cheap to look for)
RANGE_NP = prefilter.compile(
    rf"\bbetween\s+(?P<n>{_NUM})\s+and\s+(?P<n2>{_NUM})\s+"
    rf"(?:(?:[A-Za-z][\w'-]*\s+){{0,2}}?)(?P<noun>{VICTIM_NOUNS})(?![\w-])",
    re.I,
)
RANGE_DIGITS = re.compile(
    rf"(?<![\w-])(?P<n>\d{{1,4}})\s*(?:-|–|to)\s*(?P<n2>\d{{1,4}})\s+"
    rf"(?:(?:[A-Za-z][\w'-]*\s+){{0,2}}?)(?P<noun>{VICTIM_NOUNS})(?![\w-])",
    re.I,
)
LIVES = prefilter.compile(
    rf"\b(?:claimed|claiming|claims|took|taking|cost|costing)\s+(?:(?:{_QUAL})\s+)?(?P<n>{_NUM})\s+(?:more\s+)?lives\b"
    rf"|(?<![\w-])(?P<n2>{_NUM})\s+lives\s+(?:were|have\s+been|had\s+been)\s+lost\b",
    re.I,
)
_PEOPLE = prefilter.compile(rf"\b(?:{VICTIM_NOUNS})\b", re.I)
OF_THE_ATTACKERS = prefilter.compile(
    rf"(?<![\w-])(?P<n>{_NUM})\s+of\s+the\s+(?:\w+\s+)?(?:"
    + "|".join(sorted(ATTACKER_NOUNS, key=len, reverse=True))
    + r")\b",
    re.I,
)
PARTITIVE_RE = prefilter.compile(
    rf"(?<![\w-])(?P<n>{_NUM})\s+(?:of\s+(?:them|whom|those)|among\s+them)(?:\s+(?:were|being|was))?"
    rf"(?:\s+(?P<nat>{_NAT_RE})\b(?:\s+(?P<noun>[a-z]+))?)?",
    re.I,
)
AMONG_RE = prefilter.compile(
    rf"(?<![\w-])(?P<sub>{_NUM})\s+(?P<subnoun>(?:[\w-]+\s+){{0,2}}?)(?:(?:were|was|are)\s+)?among\s+(?:the\s+)?"
    rf"(?:at\s+least\s+)?"
    rf"(?P<n>{_NUM})\s+(?:people\s+|persons\s+)?(?P<kind>dead|killed|injured|wounded|hurt)\b",
    re.I,
)
OF_THE_DEAD = prefilter.compile(
    rf"(?<![\w-])(?P<sub>{_NUM})\s+of\s+the\s+(?:(?P<n>{_NUM})\s+)?(?P<who>dead|killed|victims|injured|wounded)\s+"
    rf"(?:were|was|are)\s+(?:\w+\s+)?(?P<nat>{_NAT_RE})\b",
    re.I,
)
BREAKDOWN = prefilter.compile(r"^\s*(?:people|persons|dead|killed|injured|wounded)?\s*[:(—-]\s*(?P<list>[^.;)]{3,160})")
_PART_GAP = prefilter.compile(r"^\s*,?\s*(?:including|among\s+them|of\s+whom|incl\.)?\s*$", re.I)
_CHAIN_GAP = prefilter.compile(
    # "five Chinese nationals working on the dam and their driver": a participle phrase does not end the list
    r"^\s*(?:,\s*)?(?:[a-z]+ing\s+(?:[\w'-]+\s+){0,5}?)?(?:and|as\s+well\s+as|along\s+with|plus|,)\s*$",
    re.I,
)
_REL_GAP = prefilter.compile(
    r"^\s*\([^)]{0,100}\)\s*,?\s*$|^\s*,[^,]{0,80},\s*(?:had\s+|have\s+)?$|^\s*,?\s*(?:who|that|which)\b[^,.;]{0,60}$|"
    r"^\s*(?:[a-z]+\s+){0,2}$"
    # "a policeman guarding polio workers was shot dead": a participle phrase describes the subject
    r"|^\s*[a-z]+ing\s+(?:[\w'-]+\s+){0,4}$",
    re.I,
)


def _left_chain(nps: list[_NP], verb_start: int, text: str) -> list[_NP]:
    """Noun phrases that are the subject of a verb at verb_start: the nearest one and those coordinated with it."""
    before = [np for np in nps if np.end <= verb_start]
    if not before:
        return []
    last = before[-1]
    gap = text[last.end : verb_start]
    if not _REL_GAP.match(gap) and not re.match(r"^\s*,\s*$", gap):
        return []
    if last.partitive:
        gap_ok = len(before) > 1 and _PART_GAP.match(text[before[-2].end : last.start])
        head = before[-2] if gap_ok else None
        return [head, last] if head else []
    chain = [last]
    for np in reversed(before[:-1]):
        if np.has_noun and chain[0].has_noun and _CHAIN_GAP.match(text[np.end : chain[0].start]):
            chain.insert(0, np)
        else:
            break
    return chain


_SPEAKER = prefilter.compile(r"\s*(?:said|says|told|added|confirmed|stated|reported)\b", re.I)


def _right_np(nps: list[_NP], verb_end: int, text: str) -> list[_NP]:
    after = [np for np in nps if np.start >= verb_end]
    if not after:
        return []
    first = after[0]
    if not re.match(
        r"^\s*(?:(?:at\s+least|more\s+than|over|some|about|nearly|around)\s+)?$",
        text[verb_end : first.start],
        re.I,
    ) and not re.match(r"^\s*(?:the\s+lives\s+of\s+)?$", text[verb_end : first.start], re.I):
        return []
    chain = [first]
    for np in after[1:]:
        gap = text[chain[-1].end : np.start]
        if _SPEAKER.match(text, np.end):
            break  # "killing five people, a police official said": the speaker is no victim
        if np.partitive and _PART_GAP.match(gap):
            chain.append(np)
            break
        if _CHAIN_GAP.match(gap) and not np.partitive and np.has_noun and chain[-1].has_noun:
            chain.append(np)
        else:
            break
    return chain


def _figure(kind: str, chain: list[_NP], text: str, offset: int, after_end: int) -> Figure | None:
    if not chain:
        return None
    if chain[0].partitive:
        # "killing five of them": no head phrase here, so "them" is the people named earlier in the sentence
        head = chain[0]
        earlier = list(re.finditer(rf"\b({_NAT_RE})\b", text[: head.start], re.I))
        nat_m = earlier[-1] if earlier else None
        nat = NATIONALITIES.get(nat_m.group(1).lower()) if nat_m else head.nationality
        # "the attackers ... left two of them dead": "them" are the attackers when they are the last people named
        people = list(_PEOPLE.finditer(text[: head.start]))
        gap = text[people[-1].end() : head.start] if people else ""
        # ("checked the cards of passengers and shot nine of them dead": after "and" a new verb's object follows)
        if people and re.fullmatch(r"\s*(?:[a-z]+\s+){0,2}", gap) and not re.search(r"\b(?:and|then)\b", gap):
            people.pop()  # the subject of the verb ("the troops left two of them dead") is not "them"
        attacker = bool(people) and people[-1].group(0).lower() in ATTACKER_NOUNS
        chain = [_NP(head.start, head.end, head.count, nat, head.foreign or bool(nat_m), attacker, True), *chain[1:]]
    parts = [np for np in chain if np.partitive]
    chain = [np for np in chain if not np.partitive]
    if not chain:
        return None
    victims = [np for np in chain if not np.attacker]
    if not victims:
        np = chain[0]
        return Figure(kind, np.count, None, None, np.start + offset, np.end + offset, text[np.start : np.end], True)
    total = sum(np.count for np in victims)
    foreign_nps = [np for np in victims if np.foreign]
    foreign = sum(np.count for np in foreign_nps) if foreign_nps else None
    if foreign is None and all(np.domestic for np in victims):
        foreign = 0  # "their Pakistani driver was injured": no foreigner among these victims
    nationality = next((np.nationality for np in foreign_nps if np.nationality), None)
    if parts and parts[0].foreign and foreign is None and parts[0].count <= total:
        foreign, nationality = parts[0].count, parts[0].nationality
    inc = INCLUDING.match(text[after_end:])
    if inc and foreign is None:
        sub = _value(inc.group("n") or inc.group("n2"))
        if sub is not None and sub <= total:
            foreign = sub
            nationality = NATIONALITIES.get(inc.group("nat").lower())
    s, e = victims[0].start, max(victims[-1].end, after_end)
    return Figure(kind, total, foreign, nationality, s + offset, e + offset, text[s:e])


_CASUALTY_WORDS = prefilter.compile(
    r"kill|dead|die|death|injur|wound|hurt|martyr|lives|life|toll|casualt|slain|perish|WIA|KIA|harm|"
    r"treated|hospital|shot|gunned|nobody|no one",
    re.I,
)


def _elided(nps: list[_NP], np: _NP, text: str) -> _NP:
    """'two of its nationals had died and one was wounded': a bare number stands for the noun told just before."""
    before = [x for x in nps if x.end <= np.start and x.has_noun]
    if not before or not before[-1].foreign:
        return np
    gap = text[before[-1].end : np.start]
    if len(gap) > 60 or not re.search(r"\band\b", gap) or re.search(r"[.;]", gap):
        return np
    prev = before[-1]
    return _NP(np.start, np.end, np.count, prev.nationality, True, prev.attacker, False)


def _add_also(figs: list[Figure]) -> list[Figure]:
    """'five engineers were killed ... and their driver, who also died': the second figure adds to the first."""
    out: list[Figure] = []
    for f in figs:
        base = next(
            (
                o
                for o in reversed(out)
                if f.also and o.kind == f.kind and not o.attackers and not f.attackers and o.end <= f.start
            ),
            None,
        )
        if base is None:
            out.append(f)
            continue
        base.count += f.count
        if f.foreign is not None:
            base.foreign = (base.foreign or 0) + f.foreign
            base.nationality = base.nationality or f.nationality
    return out


def find_figures(text: str, offset: int = 0) -> list[Figure]:
    if not _CASUALTY_WORDS.search(text):
        return []  # most sentences speak of no casualty: skip the phrase analysis
    nps = _noun_phrases(text)
    lives = list(LIVES.finditer(text))
    if lives:  # "claimed two lives and injured five": "two" is no subject of "injured"
        nps = [np for np in nps if not any(m.start() <= np.start < m.end() for m in lives)]
    out: list[Figure] = []
    used: set[int] = set()
    for kind, left, right in (("killed", KILL_L, KILL_R), ("injured", INJ_L, INJ_R)):
        for m in right.finditer(text):
            word = m.group(0).lower()
            chain = _right_np(nps, m.end(), text)
            if not chain:
                continue
            if word in ("left", "leaving"):
                # "left four people dead" / "leaving 12 injured": the state word must follow the phrase
                tail = text[chain[-1].end : chain[-1].end + 30].lower()
                want = ("dead", "killed") if kind == "killed" else ("injured", "wounded", "hurt")
                if not any(re.match(rf"^\s*(?:\w+\s+)?{w}\b", tail) for w in want):
                    continue
            if word.startswith("among the"):
                # "among the dead were three Chinese": a share of the dead, not the total
                np = chain[0]
                out.append(
                    Figure(
                        kind,
                        0,
                        np.count if np.foreign else None,
                        np.nationality,
                        m.start() + offset,
                        np.end + offset,
                        text[m.start() : np.end],
                    )
                )
                continue
            f = _figure(kind, chain, text, offset, chain[-1].end)
            if f:
                key = chain[0].start
                if (kind, key) in {(x.kind, x.start - offset) for x in out}:
                    continue
                used.add(key)
                out.append(f)
        for m in left.finditer(text):
            chain = _left_chain(nps, m.start(), text)
            if not chain or (kind, chain[0].start) in {(x.kind, x.start - offset) for x in out}:
                continue
            if len(chain) == 1 and not chain[0].has_noun:
                chain = [_elided(nps, chain[0], text)]
            if chain[0].start in used and re.search(r"\band\b", text[chain[-1].end : m.start()]):
                continue  # "killed three people and wounded ...": the object of one verb is not the next's subject
            if re.fullmatch(r"\s*of\s+the\s+", text[chain[-1].end : m.start()], re.I):
                continue  # "two of the injured (later died)": some of a group counted elsewhere, not a count
            f = _figure(kind, chain, text, offset, m.end())
            if f:
                f.also = bool(re.search(r"\balso\b", text[chain[-1].end : m.end()], re.I))
                out.append(f)
    out = _add_also(out)
    for m in lives:
        # "the blast claimed two lives", "14 lives were lost": deaths counted as lives
        n = _value(m.group("n") or m.group("n2"))
        if n is not None and not any(
            f.kind == "killed" and f.start - offset < m.end() and m.start() < f.end - offset for f in out
        ):
            out.append(Figure("killed", n, None, None, m.start() + offset, m.end() + offset, m.group(0)))
    for m in AMONG_RE.finditer(text):
        total_n, sub_n = _value(m.group("n")), _value(m.group("sub"))
        if total_n is None or sub_n is None or sub_n > total_n:
            continue
        kind = "killed" if m.group("kind").lower() in ("dead", "killed") else "injured"
        nat_m = re.search(rf"\b({_NAT_RE})\b", m.group("subnoun"), re.I)
        out = [f for f in out if not (f.kind == kind and m.start() <= f.start - offset < m.end())]
        out.append(
            Figure(
                kind,
                total_n,
                sub_n if nat_m else None,
                NATIONALITIES.get(nat_m.group(1).lower()) if nat_m else None,
                m.start() + offset,
                m.end() + offset,
                m.group(0),
            )
        )
    for m in OF_THE_DEAD.finditer(text):
        sub_n = _value(m.group("sub"))
        total_n = _value(m.group("n")) if m.group("n") else None
        if sub_n is None:
            continue
        kind = "killed" if m.group("who").lower() in ("dead", "killed", "victims") else "injured"
        out = [f for f in out if not (f.kind == kind and m.start() <= f.start - offset < m.end())]
        out.append(
            Figure(
                kind,
                total_n or sub_n,
                sub_n,
                NATIONALITIES.get(m.group("nat").lower()),
                m.start() + offset,
                m.end() + offset,
                m.group(0),
            )
        )
    for np in nps:
        share = AMONG_LEFT.match(text[np.end :])
        if share is None or np.attacker or np.partitive:
            continue
        kind = "killed" if share.group("kind").lower() in ("dead", "killed", "fatalities") else "injured"
        out.append(
            Figure(
                kind,
                np.count,
                np.count if np.foreign else (0 if np.domestic else None),
                np.nationality,
                np.start + offset,
                np.end + share.end() + offset,
                text[np.start : np.end + share.end()],
            )
        )
    # "toll to six: five Chinese engineers and the driver", "6 x killed (5 x PRC nationals, 1 x driver)"
    for i, f in enumerate(out):
        if f.foreign is not None or f.attackers or f.count == 0:
            continue
        b = BREAKDOWN.match(text[f.end - offset :])
        if not b:
            continue
        parts = _noun_phrases(b.group("list"))
        foreign = [np for np in parts if np.foreign and not np.attacker]
        if foreign and sum(np.count for np in foreign) <= f.count:
            out[i] = Figure(
                f.kind, f.count, sum(np.count for np in foreign), foreign[0].nationality, f.start, f.end, f.text
            )
    none = NO_CASUALTIES.search(text)
    if none is not None and all(f.attackers for f in out):
        m = none
        out.append(Figure("killed", 0, None, None, m.start() + offset, m.end() + offset, m.group(0)))
        if re.search(r"hurt|injur|harm|unhurt|unharmed|casualties", m.group(0), re.I):
            out.append(Figure("injured", 0, None, None, m.start() + offset, m.end() + offset, m.group(0)))
    return out


def tag_figures(doc: Doc) -> Doc:
    for sent in doc.sentences:
        sent.figures = find_figures(sent.text, sent.start)
        if sent.cells:
            sent.figures += _column_figures(sent)
    return doc


def _column_figures(sent: Sentence) -> list[Figure]:
    """A table row's killed and injured columns: the header says what the bare number counts."""
    out = []
    for kind, key in (("killed", "killed"), ("injured", "injured")):
        n = cell_count(sent, key)
        span = sent.cells.get(key)
        if n is None or span is None:
            continue
        if any(f.kind == kind and f.start < span[1] and f.end > span[0] for f in sent.figures):
            continue  # the cell's own words already said it ("2 police")
        s, e = span
        out.append(Figure(kind, n, None, None, s, e, sent.text[s - sent.start : e - sent.start]))
    return out
