"""Actors: armed groups named in the text (aliases and sub-units resolved) and claims of responsibility."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from corridor.extract import prefilter
from corridor.extract.document import Doc
from corridor.extract.tables import claim_cell

ACTORS_FILE = Path(__file__).with_name("data") / "actors.yaml"


class ConfigError(ValueError):
    """A configuration file that does not validate; the message names the file and the entry."""


@dataclass(frozen=True)
class ActorDef:
    name: str
    full_name: str
    kind: str
    aliases: tuple[str, ...]
    parent: str | None = None


@dataclass
class ActorMention:
    start: int
    end: int
    text: str
    actor: str


def load_actors(path: Path = ACTORS_FILE) -> list[ActorDef]:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of actors")
    out: list[ActorDef] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not item.get("name") or not item.get("full_name"):
            raise ConfigError(f"{path}: entry {i}: needs at least name and full_name")
        if item["name"] in seen:
            raise ConfigError(f"{path}: entry {i}: duplicate actor {item['name']!r}")
        seen.add(item["name"])
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ConfigError(f"{path}: entry {i} ({item['name']}): aliases must be a list of strings")
        out.append(
            ActorDef(
                item["name"],
                item["full_name"],
                item.get("kind", "unknown"),
                tuple(aliases),
                item.get("parent"),
            )
        )
    return out


class ActorMatcher:
    def __init__(self, actors: list[ActorDef]) -> None:
        self.actors = {a.name: a for a in actors}
        names: dict[str, str] = {}
        for a in actors:
            for alias in (a.name, a.full_name, *a.aliases):
                names[alias] = a.name
        # Longest alias first so "Islamic State Khorasan" wins over "Islamic State".
        parts = sorted(names, key=len, reverse=True)
        self._alias = {self._key(k): v for k, v in names.items()}
        self._re = prefilter.compile(r"(?<![\w-])(" + "|".join(self._pattern(p) for p in parts) + r")(?![\w-])")

    @staticmethod
    def _key(s: str) -> str:
        return re.sub(r"[\s\-]+", " ", s.lower()).strip()

    @staticmethod
    def _pattern(alias: str) -> str:
        # Acronyms match case-sensitively (BLA, not 'bla'); names case-insensitively, hyphen/space alike.
        words = [re.escape(w) for w in re.split(r"[\s\-]+", alias)]
        body = r"[\s\-]+".join(words)
        if alias.isupper() or re.fullmatch(r"[A-Z][A-Za-z]*-?[A-Z]+", alias):
            return body
        return "(?i:" + body + ")"

    def find(self, text: str, offset: int = 0) -> list[ActorMention]:
        out = []
        for m in self._re.finditer(text):
            actor = self._alias.get(self._key(m.group(1)))
            if actor:
                out.append(ActorMention(m.start() + offset, m.end() + offset, m.group(1), actor))
        return out


@lru_cache(maxsize=1)
def get_matcher() -> ActorMatcher:
    return ActorMatcher(load_actors())


CLAIM = prefilter.compile(
    r"\b(claimed\s+(?:the\s+)?responsibility|claimed\s+(?:the|this|that)\s+(?:attack|bombing|blast|killing|assault)"
    r"|claiming\s+responsibility|took\s+responsibility|accepted\s+responsibility|owned\s+(?:up\s+)?(?:the\s+)?"
    r"(?:attack|responsibility)|responsibility\s+(?:for\s+the\s+\w+\s+)?was\s+claimed|has\s+claimed|had\s+claimed"
    r"|in\s+a\s+claim\b|\bclaimed(?=\s*(?:\.|;|$))|\bclaims?\s+(?:the\s+)?(?:attack|bombing|blast|assault|killing)|(?:said|statement)\b.{0,60}\bit\s+(?:had\s+|has\s+|have\s+)?"
    r"(?:\w+\s+)?(?:targeted|attacked|struck|hit|carried\s+(?:it\s+|them\s+)?out|seized|captured|taken|killed|stormed|hijacked|detonated|"
    r"blown)|(?:said|statement|claimed)\b.{0,80}\b(?:one\s+of\s+)?its\s+(?:own\s+)?(?:fighters?|men|members?|militants?|"
    r"bombers?|attackers?|cadres?|volunteers?)\b|(?:posted|issued|made)\s+a\s+claim|claimed\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:bombings?|blasts?|raids?|ambush(?:es)?|assaults?|attacks?)|(?:were|was)\s+claimed\s+by|(?:said|says|saying|say|stated|statement|spokes\w+)\b.{0,120}\b(?:carried\s+(?:it\s+|them\s+)?out|conducted|"
    r"executed|launched|was\s+behind|were\s+behind)\b|(?:carried\s+(?:it\s+|them\s+)?out|conducted|launched)\b.{0,80}\b(?:said|says|"
    r"statement|spokes\w+)"
    # "said it was responsible", "took credit", "told reporters that the group's fighters had targeted ..."
    r"|(?:said|says|saying|stated)\s+(?:that\s+)?it\s+(?:was|is)\s+(?:responsible|behind)|(?:took|claimed|claiming)\s+"
    r"credit|\bthe\s+group'?s?\s+(?:fighters?|men|members|militants|bombers?|attackers?|cadres?)\s+(?:had\s+|have\s+)?"
    r"(?:carried\s+(?:it\s+|them\s+)?out|targeted|attacked|conducted|struck|killed))",
    re.I,
)
NO_CLAIM = prefilter.compile(
    r"\b(neither\s+(?:group\s+|of\s+them\s+)?(?:had\s+|has\s+)?(?:yet\s+)?claimed|none\s+of\s+(?:the\s+|them\s+)?"
    r"(?:groups?\s+)?(?:had\s+|has\s+)?claimed|nobody\s+(?:has\s+|had\s+)?claimed|"
    r"no\s+(?:group|one|organisation|organization|militant\s+group|outfit)\s+(?:has\s+|had\s+)?(?:yet\s+|so\s+far\s+|immediately\s+)?"
    r"(?:claimed|accepted|taken)|(?:has|had)\s+not\s+(?:yet\s+)?been\s+claimed|no\s+(?:immediate\s+)?claim"
    r"|not\s+(?:yet\s+)?claimed|(?:remained|remains|went)\s+unclaimed|did\s+not\s+claim|yet\s+to\s+(?:be\s+)?claim)",
    re.I,
)
DENY = prefilter.compile(
    r"\b(denied|denies|disowned|disowns|distanced\s+itself|nothing\s+to\s+do\s+with|not\s+involved|"
    r"no\s+involvement|rejected\s+(?:the\s+)?claim)\b",
    re.I,
)
BLAME = prefilter.compile(
    r"\b(blamed|suspected|attributed|accused|believed\s+to\s+be|linked\s+to|behind\s+the)\b", re.I
)


def claim_flags(text: str) -> set[str]:
    """What a sentence says about responsibility: claim, no_claim, deny, blame."""
    flags: set[str] = set()
    if NO_CLAIM.search(text):
        flags.add("no_claim")
    elif CLAIM.search(text):
        flags.add("claim")
    if DENY.search(text):
        flags.add("deny")
    if BLAME.search(text):
        flags.add("blame")
    return flags


# A group the actor list does not know, named as a group by the text itself ("a little-known group calling itself
# Jaish al-Fursan", "Jaish al-Fursan, a new militant outfit"): its name as written is the best the report gives
_GROUP_NAME = r"(?P<name>[A-Z][\w'’-]+(?:\s+(?:al-|ul-|e-|i-|of\s+(?:the\s+)?)?[A-Z][\w'’-]+){0,4})"
_GROUP_NOUN = (
    r"(?:(?:little-known|lesser-known|new|newly[- ]formed|previously\s+unknown|shadowy|obscure|unknown)\s+)?"
    r"(?:(?:militant|armed|jihadist|separatist|insurgent|splinter)\s+)?(?:group|outfit|organi[sz]ation|faction|front)"
)
UNKNOWN_GROUP = prefilter.compile(
    rf"\b(?:[Aa]|[Aa]n|[Tt]he)\s+{_GROUP_NOUN}\s+(?:calling\s+itself|called|named|known\s+as)\s+(?:the\s+)?{_GROUP_NAME}"
    rf"|{_GROUP_NAME.replace('?P<name>', '?P<name2>')},\s+(?:a|an)\s+(?:little-known|lesser-known|new|newly[- ]formed|"
    rf"previously\s+unknown|shadowy|obscure)\s+{_GROUP_NOUN}\b"
)


def unknown_groups(text: str, offset: int, known: list[ActorMention]) -> list[ActorMention]:
    """Groups the text names as such but the actor list lacks, with their names as written."""
    out = []
    for m in UNKNOWN_GROUP.finditer(text):
        s, e = m.span("name") if m.group("name") else m.span("name2")
        name = text[s:e]
        if len(name) > 40 or any(a.start < e + offset and s + offset < a.end for a in known):  # the store keeps 40
            continue
        out.append(ActorMention(s + offset, e + offset, name, name))
    return out


def tag_actors(doc: Doc) -> Doc:
    matcher = get_matcher()
    for sent in doc.sentences:
        sent.actors = matcher.find(sent.text, sent.start)
        sent.actors += unknown_groups(sent.text, sent.start, sent.actors)
        sent.flags |= claim_flags(sent.text)
        said = claim_cell(sent)  # a table row's "Claimed by" column: a group's name, or "none"
        if said == "none":
            sent.flags.add("no_claim")
        elif said == "named" and any(
            sent.cells["claim"][0] <= a.start and a.end <= sent.cells["claim"][1] for a in sent.actors
        ):
            sent.flags.add("claim")
    return doc
