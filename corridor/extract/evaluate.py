"""Evaluation against hand labels: incident precision/recall/F1 and per-field accuracy, every miss listed.

Matching follows the project's scorer (../shared/tools/score_extraction.py): a predicted incident matches a
gold one when the dates agree (same month, or within 3 days) and the most specific gold place level
(city, then district, then province) agrees. Figures not addressed by the text are null in the labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from corridor.extract.pipeline import extract_raw
from corridor.ingest.reader import InputError, read_path

FIELDS = [
    "event_type",
    "date",
    "province",
    "city",
    "killed_total",
    "injured_total",
    "killed_foreign",
    "injured_foreign",
    "foreign_nationality",
    "perpetrator",
    "claimed",
    "is_new",
]


def _place(inc: dict[str, Any], key: str) -> Any:
    v = inc.get(key)
    if v is None and isinstance(inc.get("place"), dict):
        v = inc["place"].get(key)
    return v


def _norm(v: Any) -> Any:
    return " ".join(v.lower().replace("-", " ").split()) if isinstance(v, str) else v


def _close_dates(g: str | None, p: str | None) -> bool:
    if not g:
        return True
    if not p:
        return False
    if g[:7] == p[:7] or (len(g) == 4 and p.startswith(g)):
        return True
    try:
        return abs((date.fromisoformat(g[:10]) - date.fromisoformat(p[:10])).days) <= 3
    except ValueError:
        return False


def _same_place(g: dict[str, Any], p: dict[str, Any]) -> bool:
    for key in ("city", "district", "province"):
        gv = _norm(_place(g, key))
        if gv:
            return bool(gv == _norm(_place(p, key)))
    return True


def field_ok(name: str, g: dict[str, Any], p: dict[str, Any]) -> bool:
    if name == "date":
        n = {"day": 10, "month": 7, "year": 4}.get(g.get("date_precision") or "day", 10)
        return (str(g.get("date") or "")[:n] or None) == (str(p.get("date") or "")[:n] or None)
    if name in ("province", "city"):
        return bool(_norm(_place(g, name)) == _norm(_place(p, name)))
    if name.startswith("killed") and g.get(name) == 0 and p.get(name) is None:
        return True
    if name == "claimed" and g.get(name) is None and p.get(name) is False:
        return True
    if name == "perpetrator":
        gv, pv = _norm(g.get(name)), _norm(p.get(name))
        if gv is None or pv is None:
            return bool(gv == pv)
        return bool(gv in pv or pv in gv)
    return bool(_norm(g.get(name)) == _norm(p.get(name)))


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    correct: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[str] = field(default_factory=list)
    documents: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def accuracy(self, name: str) -> float | None:
        return self.correct[name] / self.total[name] if self.total[name] else None


def score_document(ident: str, gold: list[dict[str, Any]], pred: list[dict[str, Any]], s: Scores) -> None:
    used: set[int] = set()
    for g in gold:
        match = next(
            (
                i
                for i, p in enumerate(pred)
                if i not in used and _close_dates(g.get("date"), p.get("date")) and _same_place(g, p)
            ),
            None,
        )
        if match is None:
            s.fn += 1
            s.misses.append(f"{ident}: missed {g.get('event_type')} {g.get('date')} {_place(g, 'city')}")
            continue
        used.add(match)
        s.tp += 1
        p = pred[match]
        for name in FIELDS:
            if name in g or (name in ("province", "city") and _place(g, name) is not None):
                s.total[name] += 1
                if field_ok(name, g, p):
                    s.correct[name] += 1
                else:
                    want = _place(g, name) if name in ("province", "city") else g.get(name)
                    got = _place(p, name) if name in ("province", "city") else p.get(name)
                    s.misses.append(f"{ident}: {g.get('date')} {_place(g, 'city')}: {name} want {want!r} got {got!r}")
    for i, p in enumerate(pred):
        if i not in used:
            s.fp += 1
            s.misses.append(f"{ident}: spurious {p.get('event_type')} {p.get('date')} {_place(p, 'city')}")


def evaluate(gold_path: Path, articles: Path) -> Scores:
    s = Scores()
    for lineno, line in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            g = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{gold_path}:{lineno}: not JSON ({exc})") from exc
        base = articles / g["id"]
        path = next((p for p in (base.with_suffix(".txt"), base.with_suffix(".html"), base) if p.exists()), base)
        published = date.fromisoformat(g["published"]) if g.get("published") else None
        s.documents += 1
        try:
            raws = read_path(path)
        except InputError as exc:
            s.fn += len(g.get("incidents", []))
            s.misses.append(f"{g['id']}: extract failed: {exc}")
            continue
        pred = [i.model_dump(mode="json") for raw in raws for i in extract_raw(raw, published).incidents]
        score_document(g["id"], g.get("incidents", []), pred, s)
    return s
