"""The bundled data: the sample corpus (written by the project, labelled by hand) and the incident history."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest

from corridor.extract.evaluate import FIELDS, evaluate
from corridor.geo.gazetteer import get_gazetteer

from .conftest import SAMPLES, SHARED

HISTORY = SAMPLES.parent / "data" / "history"
KEYS = {
    "event_type",
    "date",
    "date_precision",
    "city",
    "district",
    "province",
    "country",
    "killed_total",
    "injured_total",
    "killed_foreign",
    "injured_foreign",
    "foreign_nationality",
    "perpetrator",
    "claimed",
    "is_new",
}


def _jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_manifest_and_labels_agree() -> None:
    manifest = _jsonl(SAMPLES / "manifest.jsonl")
    gold = _jsonl(SAMPLES / "gold.jsonl")
    assert len(manifest) >= 40
    assert [m["id"] for m in manifest] == [g["id"] for g in gold]
    for m, g in zip(manifest, gold, strict=True):
        assert (SAMPLES / m["path"]).exists(), m["path"]
        assert m["published"] == g["published"]
        for inc in g["incidents"]:
            assert set(inc) >= KEYS, (g["id"], KEYS - set(inc))
    kinds = {m["style"] for m in manifest}
    assert {"news", "field_report"} <= kinds
    labelled = [i for g in gold for i in g["incidents"]]
    assert sum(not i["is_new"] for i in labelled) >= 6  # mentions of past incidents
    assert sum(1 for g in gold if not g["incidents"]) >= 4  # reports with no incident


def test_every_labelled_place_is_in_the_gazetteer_or_its_district_is() -> None:
    """A labelled city is a gazetteer place, or a village the text ties to a known district (the extractor reads
    those as unlisted localities): then places_used.csv lists it and the gazetteer knows its district."""
    g = get_gazetteer()
    with (SAMPLES / "places_used.csv").open(encoding="utf-8") as f:
        listed = {row["name"]: row for row in csv.DictReader(f)}
    unlisted = 0
    for doc in _jsonl(SAMPLES / "gold.jsonl"):
        for inc in doc["incidents"]:
            if g.lookup(inc["city"]):
                continue
            unlisted += 1
            assert inc["city"] in listed, f"{doc['id']}: {inc['city']} neither in the gazetteer nor in places_used.csv"
            district = listed[inc["city"]]["district"]
            assert g.lookup(district), f"{doc['id']}: {inc['city']}'s district {district} not in the gazetteer"
    assert unlisted <= 5  # the corpus is mostly about known places; a few villages test the unlisted path


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not (SHARED / "seeds").exists(), reason="../shared/seeds not present")
def test_project_texts_do_not_copy_the_seed_reports() -> None:
    seeds = set()
    for p in (SHARED / "seeds").glob("*.txt"):
        seeds |= _shingles(p.read_text(encoding="utf-8"))
    root = SAMPLES.parents[1]
    mine = [
        p
        for d in ("corridor", "docs", "tests", "bench")
        for p in (root / d).rglob("*")
        if p.suffix in (".py", ".txt", ".html", ".md", ".jsonl", ".csv", ".yaml") and p.is_file()
    ]
    for p in mine:
        shared = _shingles(p.read_text(encoding="utf-8")) & seeds
        assert not shared, f"{p.name} repeats the seeds: {' '.join(next(iter(shared)))}"


def test_extraction_on_the_sample_corpus() -> None:
    """A floor under the measured figures (see docs/extraction.md): a regression fails here."""
    s = evaluate(SAMPLES / "gold.jsonl", SAMPLES / "articles")
    print(
        f"\nsample corpus: P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}; "
        + ", ".join(f"{f} {s.accuracy(f):.2f}" for f in FIELDS if s.accuracy(f) is not None)
    )
    assert s.f1 >= 0.98
    for f in FIELDS:
        acc = s.accuracy(f)
        assert acc is not None and acc >= 0.95, f


def test_extraction_on_the_held_out_set() -> None:
    """The held-out set is never tuned on; a floor under its measured figure catches regressions only."""
    holdout = SAMPLES / "holdout"
    manifest = _jsonl(holdout / "manifest.jsonl")
    gold = _jsonl(holdout / "gold.jsonl")
    assert [m["id"] for m in manifest] == [g["id"] for g in gold]
    s = evaluate(holdout / "gold.jsonl", holdout / "articles")
    print(f"\nheld-out: P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}")
    assert s.f1 >= 0.5


def test_incident_history_table() -> None:
    with (HISTORY / "attacks_pk.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 300
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    provinces = {
        "Punjab",
        "Sindh",
        "Khyber Pakhtunkhwa",
        "Balochistan",
        "Islamabad Capital Territory",
        "Gilgit-Baltistan",
        "Azad Kashmir",
    }
    years = set()
    for r in rows:
        d = date.fromisoformat(r["date"])
        years.add(d.year)
        assert date(2015, 1, 1) <= d <= date(2025, 12, 31)
        assert r["province"] in provinces
        assert 23.5 <= float(r["lat"]) <= 37.2 and 60.8 <= float(r["lon"]) <= 77.9
        assert r["source_name"] and r["source_url"].startswith("http")
    assert years == set(range(2015, 2026))
    with (HISTORY / "annual_counts.csv").open(encoding="utf-8") as fh:
        counts = list(csv.DictReader(fh))
    pips_2023 = [c for c in counts if c["year"] == "2023" and c["region"] == "Pakistan" and "PIPS" in c["source_name"]]
    assert pips_2023 and int(pips_2023[0]["attacks"]) == 306
