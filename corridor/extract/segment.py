"""Segment: split cleaned text into sentences with character offsets (rule-based, abbreviation-aware)."""

from __future__ import annotations

import re

from corridor.extract.document import Doc, Sentence
from corridor.extract.tables import is_table_line

_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "lt",
    "col",
    "gen",
    "maj",
    "capt",
    "sgt",
    "brig",
    "insp",
    "supt",
    "no",
    "nos",
    "vs",
    "etc",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "govt",
    "dept",
    "approx",
    "ph",
    "prof",
    "sr",
    "jr",
    "hon",
    "rs",
    "inc",
    "ltd",
    "co",
    "corp",
    "u.s",
    "i.e",
    "e.g",
    "d.i",
    "d.g",
    "i",
    "e",
    "s",
    "u",
    "g",
    "a",
    "d",
    "p",
    "m",
    "k",
    "n",
    "j",
}
_END = re.compile(r"([.!?])([\"'”’)]*)(\s+)(?=[\"'“‘(]?[A-Z0-9])")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of one paragraph."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        if m.group(1) == ".":
            word = re.search(r"([\w.]+)\.$", text[start : m.start(1) + 1])
            w = word.group(1).lower() if word else ""
            if w in _ABBREV or (re.fullmatch(r"(?:[a-z]\.)+[a-z]", w) and w not in ("a.m", "p.m")):
                continue
            # "D.I. Khan": an initial followed by a capitalised place word
            if re.search(r"\b[A-Z]\.[A-Z]$", text[max(0, m.start(1) - 3) : m.start(1)]):
                continue
        end = m.end(2)
        if text[start:end].strip():
            spans.append((offset + start, offset + end))
        start = m.end(3)
    if text[start:].strip():
        spans.append((offset + start, offset + len(text.rstrip())))
    return spans


def segment(doc: Doc) -> Doc:
    """Fill doc.sentences: one paragraph per line of the cleaned text; the title line is flagged."""
    doc.sentences = []
    pos = 0
    for pno, line in enumerate(doc.text.split("\n")):
        # a table row is one record, whatever full stops its cells contain
        spans = [(pos + len(line) - len(line.lstrip()), pos + len(line.rstrip()))] if is_table_line(line) else None
        for s, e in spans or split_sentences(line, pos):
            sent = Sentence(index=len(doc.sentences), start=s, end=e, text=doc.text[s:e], paragraph=pno)
            if pno <= 2 and doc.title and line.strip() == doc.title.strip():
                sent.is_title = True
            doc.sentences.append(sent)
        pos += len(line) + 1
    return doc
