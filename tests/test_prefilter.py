"""The literal prefilter of extraction's patterns: what it requires of a text, and that it never changes an answer."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from corridor.extract import actors, dates, figures, incidents, lexicon, places, prefilter
from corridor.extract.pipeline import prepare
from corridor.extract.segment import segment
from corridor.ingest.reader import read_path

SAMPLES = Path(__file__).resolve().parents[1] / "corridor" / "samples"


@pytest.mark.parametrize(
    ("pattern", "flags", "need"),
    [
        (r"\bkidnap\w*|\babduct\w*", re.I, {"kidnap", "abduct"}),
        (r"(?:foo)?bar", 0, {"bar"}),
        (r"(?:ab)+c", 0, {"ab"}),
        (r"taken\s+hostage", re.I, {"hostage"}),  # the longer of two required words
        (r"Quetta", 0, {"quetta"}),  # compared lower-cased
        (r"a—b", 0, {"a"}),  # a non-ASCII literal ends a run
        (r"(?:foo)?", 0, None),
        (r"x*", 0, None),
        (r"foo|\d+", 0, None),  # a branch that requires nothing
        (r"(?=abc)\w+", 0, None),  # lookarounds require nothing
        (r"[Kk]ill", 0, {"ill"}),  # a class is not a literal
        (r"(a)\1", 0, {"a"}),
        (
            r"""\b(?: bomb  # verbose
              | blast )\b""",
            re.X,
            {"omb", "last"},  # re factors out the shared "b"
        ),
    ],
)
def test_required_literals(pattern: str, flags: int, need: set[str] | None) -> None:
    got = prefilter.required_literals(pattern, flags)
    assert (set(got) if got is not None else None) == need


def test_a_pattern_without_literals_is_the_plain_pattern() -> None:
    assert isinstance(prefilter.compile(r"\d+"), re.Pattern)
    assert not isinstance(prefilter.compile(r"kill\w*"), re.Pattern)


def test_case_insensitive_patterns_see_the_non_ascii_letters_re_equates() -> None:
    """re.IGNORECASE matches "k" to the Kelvin sign, "s" to the long s and "i" to the dotted and dotless I."""
    for text in ("\u212aILLED", "\u017fhot dead", "\u0130njured", "\u0131njured"):
        plain = re.compile(r"killed|shot|injured", re.I)
        gated = prefilter.compile(r"killed|shot|injured", re.I)
        assert plain.search(text) is not None
        assert gated.search(text) is not None, text


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Every prefiltered pattern of the extraction modules, with its name."""
    out = []
    for mod in (lexicon, incidents, actors, figures, dates, places):
        for name, value in vars(mod).items():
            found = []
            if isinstance(value, prefilter.Prefiltered):
                found = [(name, value)]
            elif isinstance(value, list) and value and isinstance(value[0], tuple):
                found = [(f"{name}[{v[0]}]", v[-1]) for v in value if isinstance(v[-1], prefilter.Prefiltered)]
            out.extend((f"{mod.__name__}.{n}", p) for n, p in found)
    return out


def _sentences() -> list[str]:
    texts = []
    for folder in (SAMPLES / "articles", SAMPLES / "holdout" / "articles"):
        for path in sorted(folder.iterdir()):
            for raw in read_path(path):
                texts.extend(s.text for s in segment(prepare(raw)).sentences)
    return texts


def _same(gated: re.Pattern[str], text: str) -> bool:
    plain = gated._re  # type: ignore[attr-defined]
    a, b = gated.search(text), plain.search(text)
    if (a is None) != (b is None) or (a and b and a.span() != b.span()):
        return False
    return [m.span() for m in gated.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_the_extraction_patterns_are_prefiltered() -> None:
    names = {n for n, _ in _patterns()}
    assert len(names) > 60
    assert "corridor.extract.lexicon.TYPE_CUES[kidnapping]" in names


def test_prefiltered_patterns_answer_as_the_plain_ones_on_every_sample_sentence() -> None:
    sentences = _sentences()
    assert len(sentences) > 500
    for name, pat in _patterns():
        wrong = [t for t in sentences if not _same(pat, t)]
        assert not wrong, f"{name}: {wrong[:2]}"


def test_prefiltered_patterns_answer_as_the_plain_ones_on_random_texts() -> None:
    """Texts made of the patterns' own required words, in any case, with the letters re equates with ASCII ones
    and noise between them: the hardest texts for a prefilter, since its literals are in them."""
    rng = random.Random(9)
    odd = ["\u212a", "\u017f", "\u0130", "\u0131", "—", "’", " ", "  ", "\n", ",", "-", "7", "12", "2024"]
    words = sorted({w for _, p in _patterns() for w in p._need})  # type: ignore[attr-defined]
    for name, pat in _patterns():
        for _ in range(60):
            parts = []
            for _ in range(rng.randint(1, 8)):
                w = rng.choice(words if rng.random() < 0.7 else pat._need)  # type: ignore[attr-defined]
                w = "".join(c.upper() if rng.random() < 0.3 else c for c in w)
                parts.append(w)
                parts.append(rng.choice(odd))
            text = "".join(parts)
            assert _same(pat, text), f"{name}: {text!r}"
