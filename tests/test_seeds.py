"""The two real reports that started the project must come out exactly as labelled (../shared/seeds)."""

import json
from datetime import date
from pathlib import Path

import pytest

from corridor.extract.evaluate import FIELDS, field_ok
from corridor.extract.pipeline import extract_raw
from corridor.ingest.reader import read_path

from .conftest import SHARED

SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(not (SEEDS / "expected.json").exists(), reason="../shared/seeds not present")


def _cases() -> list[tuple[Path, str, list[dict]]]:  # type: ignore[type-arg]
    if not (SEEDS / "expected.json").exists():
        return []
    exp = json.loads((SEEDS / "expected.json").read_text())
    return [(SEEDS / d["file"], d["published"], d["incidents"]) for d in exp["documents"]]


@pytest.mark.parametrize(("path", "published", "gold"), _cases(), ids=lambda x: getattr(x, "name", None))
def test_seed_extracted_exactly(path: Path, published: str, gold: list[dict]) -> None:  # type: ignore[type-arg]
    res = extract_raw(read_path(path)[0], date.fromisoformat(published))
    pred = [i.model_dump(mode="json") for i in res.incidents]
    assert len(pred) == len(gold)
    for g, p in zip(gold, pred, strict=True):
        wrong = [f for f in FIELDS if f in g or f in ("city", "province") if not field_ok(f, g, p)]
        assert wrong == [], f"fields wrong: {wrong}: {p}"
