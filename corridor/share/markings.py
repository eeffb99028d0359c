"""The TLP of each object of an incoming STIX bundle, before anything of it is stored.

An object's own `object_marking_refs` decide: the TLP 2.0 marking definitions of the OASIS common objects, the
TLP 1.0 ones of the STIX 2.1 specification (white → CLEAR, amber → AMBER, ...), or a TLP marking definition the
bundle itself carries (definition_type "tlp", or the TLP 2.0 extension); the most restrictive wins. An unmarked
object takes the most restrictive TLP of the objects it is linked to by references, in either direction and
through other unmarked objects (the location and relationship of an AMBER incident stay AMBER); an unmarked
object linked to nothing marked is GREEN, as unmarked incidents always were. `created_by_ref` does not link: the
producer's identity is not made secret by what it produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
TLP_RANK = {t: i for i, t in enumerate(TLP_LEVELS)}
TLP2_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
}
KNOWN = {**{v: k for k, v in TLP2_IDS.items()}, **TLP1_IDS}
_WORDS = {
    "white": "CLEAR",
    "clear": "CLEAR",
    "green": "GREEN",
    "amber": "AMBER",
    "amber+strict": "AMBER+STRICT",
    "red": "RED",
}
DEFAULT = "GREEN"
_NOT_LINKS = {"object_marking_refs", "created_by_ref", "marking_ref"}


def _declared(obj: dict[str, Any]) -> str | None:
    """The TLP a marking-definition object of the bundle declares, if it is a TLP marking."""
    if obj.get("type") != "marking-definition":
        return None
    definition = obj.get("definition")
    if obj.get("definition_type") == "tlp" and isinstance(definition, dict):
        return _WORDS.get(str(definition.get("tlp", "")).lower())
    ext = (obj.get("extensions") or {}).get(TLP2_EXT)
    if isinstance(ext, dict):
        return _WORDS.get(str(ext.get("tlp_2_0", "")).lower())
    return None


def refs(value: Any) -> Iterator[str]:
    """Every id `value` refers to through *_ref and *_refs properties, at any depth (markings and creator
    excepted)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in _NOT_LINKS:
                continue
            if k.endswith("_ref") and isinstance(v, str):
                yield v
            elif k.endswith("_refs") and isinstance(v, list):
                yield from (x for x in v if isinstance(x, str))
            else:
                yield from refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from refs(v)


def most_restrictive(levels: list[str]) -> str | None:
    return max(levels, key=lambda t: TLP_RANK[t]) if levels else None


def resolve(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The TLP of every object of the bundle, by id (see the module's docstring)."""
    known = dict(KNOWN)
    for o in objects:
        level = _declared(o)
        if level is not None:
            known[o["id"]] = level
    own: dict[str, str | None] = {}
    for o in objects:
        marks = [known[m] for m in o.get("object_marking_refs") or [] if isinstance(m, str) and m in known]
        level = most_restrictive(marks)
        if o.get("id") in known and o.get("type") == "marking-definition":
            level = level or "CLEAR"  # a TLP marking definition itself is public
        previous = own.get(o["id"])
        own[o["id"]] = most_restrictive([x for x in (previous, level) if x])
    links: dict[str, set[str]] = {i: set() for i in own}
    for o in objects:
        for r in refs(o):
            if r in links and r != o["id"]:
                links[o["id"]].add(r)
                links[r].add(o["id"])
    level_of = {i: lv for i, lv in own.items() if lv is not None}
    unmarked = [i for i, lv in own.items() if lv is None]
    changed = True
    while changed:  # levels only rise, so this ends
        changed = False
        for i in unmarked:
            best = most_restrictive([level_of[j] for j in links[i] if j in level_of])
            if best is not None and (i not in level_of or TLP_RANK[best] > TLP_RANK[level_of[i]]):
                level_of[i] = best
                changed = True
    return {i: level_of.get(i, DEFAULT) for i in own}
