"""SOPs as data: declarative rules in YAML, validated at load (errors name the file, the line and the reason),
evaluated against a movement request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SOP = Path(__file__).with_name("data") / "sop_default.yaml"
CONDITIONS = {"nationality", "movement", "provinces", "route_rating_min", "depart_between"}
REQUIREMENTS = {"escort", "armoured", "no_travel_between", "notice_hours", "max_group", "check_in_minutes"}
MOVEMENTS = {"road", "airport_transfer", "site_visit"}


class SopError(ValueError):
    """A rule file that does not validate."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    applies: dict[str, Any]
    requires: dict[str, Any]
    source: str  # file:line


@dataclass
class MovementFacts:
    """What the evaluation needs to know of a movement (built by the movement service)."""

    kind: str
    depart: datetime
    arrive: datetime
    nationalities: set[str]
    group_size: int
    provinces: set[str]
    route_rating: int | None
    escort: str | None
    armoured: bool
    notice_given_at: datetime | None
    check_in_minutes: int | None


@dataclass
class Finding:
    rule: str
    title: str
    met: bool
    missing: list[str] = field(default_factory=list)
    source: str = ""


def _hhmm(value: Any, where: str) -> time:
    try:
        h, m = str(value).split(":")
        return time(int(h), int(m))
    except (ValueError, TypeError):
        raise SopError(f"{where}: expected a time HH:MM, got {value!r}") from None


def _check(rule: dict[str, Any], where: str) -> Rule:
    if not isinstance(rule, dict):
        raise SopError(f"{where}: a rule must be a mapping with id, title, applies, requires")
    for key in ("id", "title", "requires"):
        if key not in rule:
            raise SopError(f"{where}: rule has no {key!r}")
    applies, requires = rule.get("applies") or {}, rule["requires"] or {}
    if not isinstance(applies, dict) or not isinstance(requires, dict):
        raise SopError(f"{where}: applies and requires must be mappings")
    unknown = (set(applies) - CONDITIONS) | (set(requires) - REQUIREMENTS)
    if unknown:
        raise SopError(f"{where}: unknown condition or requirement {sorted(unknown)}")
    if not requires:
        raise SopError(f"{where}: rule {rule['id']!r} requires nothing")
    for key in ("nationality", "movement", "provinces"):
        if key in applies and not (isinstance(applies[key], list) and all(isinstance(x, str) for x in applies[key])):
            raise SopError(f"{where}: {key} must be a list of names")
    if "movement" in applies and set(applies["movement"]) - MOVEMENTS:
        raise SopError(f"{where}: movement must be among {sorted(MOVEMENTS)}")
    if "route_rating_min" in applies and applies["route_rating_min"] not in (1, 2, 3, 4, 5):
        raise SopError(f"{where}: route_rating_min must be 1-5")
    for key in ("depart_between",):
        if key in applies:
            [_hhmm(x, where) for x in applies[key]]
    if "no_travel_between" in requires:
        pair = requires["no_travel_between"]
        if not (isinstance(pair, list) and len(pair) == 2):
            raise SopError(f"{where}: no_travel_between needs [start, end]")
        [_hhmm(x, where) for x in pair]
    for key in ("notice_hours", "max_group", "check_in_minutes"):
        if key in requires and not (isinstance(requires[key], int) and requires[key] > 0):
            raise SopError(f"{where}: {key} must be a positive whole number")
    if "armoured" in requires and requires["armoured"] is not True:
        raise SopError(f"{where}: armoured must be true")
    return Rule(str(rule["id"]), str(rule["title"]), applies, requires, where)


def load_rules(path: Path = DEFAULT_SOP) -> list[Rule]:
    """Rules of one file; a bad file is refused whole, with the line and the reason."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise SopError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise SopError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list) or node is None or not hasattr(node, "value"):
        raise SopError(f"{path}:1: expected a list of rules")
    rules = [_check(item, f"{path}:{sub.start_mark.line + 1}") for item, sub in zip(data, node.value, strict=True)]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise SopError(f"{r.source}: duplicate rule id {r.id!r}")
        seen.add(r.id)
    return rules


def _in_window(t: time, start: time, end: time) -> bool:
    return start <= t < end if start < end else (t >= start or t < end)


def _travels_in(depart: datetime, arrive: datetime, start: time, end: time) -> bool:
    t = depart
    while t <= arrive:
        if _in_window(t.time(), start, end):
            return True
        t += timedelta(minutes=15)
    return _in_window(arrive.time(), start, end)


def applies(rule: Rule, m: MovementFacts) -> bool:
    a = rule.applies
    if "nationality" in a and not (m.nationalities & set(a["nationality"])):
        return False
    if "movement" in a and m.kind not in a["movement"]:
        return False
    if "provinces" in a and not (m.provinces & set(a["provinces"])):
        return False
    if "route_rating_min" in a and (m.route_rating is None or m.route_rating < a["route_rating_min"]):
        return False
    if "depart_between" in a:
        s, e = (_hhmm(x, rule.source) for x in a["depart_between"])
        if not _in_window(m.depart.time(), s, e):
            return False
    return True


def evaluate(rules: list[Rule], m: MovementFacts) -> list[Finding]:
    """Every rule that applies, whether it is met, and what is missing."""
    out = []
    for rule in rules:
        if not applies(rule, m):
            continue
        req, missing = rule.requires, []
        if "escort" in req:
            want = req["escort"]
            if not m.escort or (want != "any" and m.escort.lower() != str(want).lower()):
                missing.append(f"escort by {'any force' if want == 'any' else want}")
        if req.get("armoured") and not m.armoured:
            missing.append("armoured vehicle")
        if "no_travel_between" in req:
            s, e = (_hhmm(x, rule.source) for x in req["no_travel_between"])
            if _travels_in(m.depart, m.arrive, s, e):
                missing.append(
                    f"travel outside {s:%H:%M}-{e:%H:%M} (departs {m.depart:%H:%M}, arrives {m.arrive:%H:%M})"
                )
        if "notice_hours" in req:
            need = timedelta(hours=req["notice_hours"])
            if m.notice_given_at is None or m.depart - m.notice_given_at < need:
                missing.append(f"notice to the liaison cell {req['notice_hours']} h before departure")
        if "max_group" in req and m.group_size > req["max_group"]:
            missing.append(f"group of at most {req['max_group']} (has {m.group_size})")
        if "check_in_minutes" in req and (m.check_in_minutes is None or m.check_in_minutes > req["check_in_minutes"]):
            missing.append(f"check-in every {req['check_in_minutes']} minutes")
        out.append(Finding(rule.id, rule.title, not missing, missing, rule.source))
    return out


def org_rules_path(home: Path, org_id: str) -> Path:
    return home / "sop" / f"{org_id}.yaml"


def rules_for(org_id: str | None, home: Path | None = None) -> list[Rule]:
    """The default set plus the organisation's own rules (installed with `corridor sop install`); an
    organisation's rule with the id of a default rule replaces it."""
    rules = {r.id: r for r in load_rules()}
    if org_id and home is not None:
        path = org_rules_path(home, org_id)
        if path.exists():
            for r in load_rules(path):
                rules[r.id] = r
    return list(rules.values())


def install(path: Path, home: Path, org_id: str) -> list[Rule]:
    """Validate a rule file and make it the organisation's own rules (a bad file changes nothing)."""
    rules = load_rules(path)
    target = org_rules_path(home, org_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    tmp.replace(target)  # atomic: evaluations see the old rules or the new, never half a file
    return rules
