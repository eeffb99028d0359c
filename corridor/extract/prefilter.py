"""Regular expressions that skip texts they cannot match, by literal prefiltering.

Extraction asks dozens of cue patterns (event types, casualty phrases, dates, claims) of every sentence, and
Python's `re` tries each of them at every position: that was half of the pipeline's time. But nearly every cue
names words: a match of `\\b(?:kidnap\\w*|abduct\\w*|taken\\s+hostage)\\b` contains "kidnap", "abduct" or
"taken". `compile()` reads those required literals out of the parsed pattern once, and `search`/`finditer`/
`match` first check that one of them occurs in the lower-cased text (a few substring tests in C) before running
the expression. A text without them cannot match, so the answers are exactly those of the plain pattern: this is
the literal prefilter of RE2 and Hyperscan, in a conservative form.

What counts as required (the analysis gives up, i.e. never skips, whenever unsure):
- a run of consecutive ASCII literal characters is required where it stands;
- a group, or a repeat of at least once, requires what its content requires;
- alternatives require one of their branches' requirements (none if a branch requires nothing);
- optional parts, character classes, lookarounds and back-references require nothing.
The text is compared lower-cased, with the four non-ASCII characters that `re.IGNORECASE` equates with ASCII
letters (İ ı → i, K (Kelvin) → k, ſ → s) mapped to them, so case-insensitive patterns are filtered soundly.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from typing import Any

# re's own parser (Python 3.11+; the public sre_parse alias is deprecated): the pattern as re will run it
_c: Any = importlib.import_module("re._constants")
_p: Any = importlib.import_module("re._parser")

_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u212a": "k", "\u017f": "s"})
_last: tuple[str, str] = ("", "")


def _folded(text: str) -> str:
    """Lower-cased text for the literal tests; the last one is kept, since many patterns ask the same sentence."""
    global _last
    last = _last
    if last[0] is text:
        return last[1]
    low = text.lower() if text.isascii() else text.translate(_FOLD).lower()
    _last = (text, low)
    return low


Requirement = frozenset[str] | None  # one of these strings occurs in every match; None: nothing known


def _better(a: Requirement, b: Requirement) -> Requirement:
    """The more selective of two requirements (its shortest string is longer; then fewer strings)."""
    if a is None:
        return b
    if b is None:
        return a
    ka = (min(map(len, a)), -len(a))
    kb = (min(map(len, b)), -len(b))
    return a if ka >= kb else b


def _sequence(items: Any) -> Requirement:
    best: Requirement = None
    run: list[str] = []

    def close() -> None:
        nonlocal best, run
        if run:
            best = _better(best, frozenset({"".join(run).lower()}))
        run = []

    for op, av in items:
        if op is _c.LITERAL and av < 128:
            run.append(chr(av))
            continue
        close()
        if op is _c.SUBPATTERN:
            best = _better(best, _sequence(av[-1]))
        elif op is _c.ATOMIC_GROUP:
            best = _better(best, _sequence(av))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, _high, body = av
            if low >= 1:
                best = _better(best, _sequence(body))
        elif op is _c.BRANCH:
            best = _better(best, _branch(av[1]))
        # anything else (classes, categories, anchors, lookarounds, references) requires nothing
    close()
    return best


def _branch(alternatives: Any) -> Requirement:
    need: set[str] = set()
    for alt in alternatives:
        req = _sequence(alt)
        if not req:
            return None
        need |= req
    return frozenset(need)


def required_literals(pattern: str, flags: int = 0) -> Requirement:
    """The strings one of which (lower-cased) every match of `pattern` contains, or None."""
    try:
        parsed = _p.parse(pattern, flags)
    except re.error:
        return None
    req = _sequence(parsed)
    if req is not None and any(not s for s in req):
        return None
    return req


class Prefiltered:
    """A compiled pattern with its literal prefilter; behaves as the pattern for everything extraction uses."""

    __slots__ = ("_need", "_re", "flags", "pattern")

    def __init__(self, compiled: re.Pattern[str], need: frozenset[str]) -> None:
        self._re = compiled
        self._need = tuple(sorted(need, key=len))
        self.pattern = compiled.pattern
        self.flags = compiled.flags

    def _may_match(self, text: str) -> bool:
        low = _folded(text)
        for s in self._need:  # noqa: SIM110 (a plain loop: any() over a generator costs a frame per literal)
            if s in low:
                return True
        return False

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not self._may_match(string):
            return None
        return self._re.search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not self._may_match(string):
            return None
        return self._re.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not self._may_match(string):
            return None
        return self._re.fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        if not self._may_match(string):
            return iter(())
        return self._re.finditer(string, pos, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        if not self._may_match(string):
            return []
        return self._re.findall(string, pos, endpos)

    def __getattr__(self, name: str) -> Any:  # sub, split, groupindex, groups: the plain pattern's
        return getattr(self._re, name)

    def __repr__(self) -> str:
        return f"Prefiltered({self._re!r}, need={self._need!r})"


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """re.compile, with a literal prefilter when the pattern has required literals (typed as a Pattern: it
    answers search, match, fullmatch, finditer and findall the same way, and hands everything else over)."""
    compiled = re.compile(pattern, flags)
    need = required_literals(pattern, flags)
    if not need:
        return compiled
    return Prefiltered(compiled, need)  # type: ignore[return-value]
