"""Tables: incident logs laid out in rows and columns, read by their header.

Security cells keep their daily logs as tables ("| Date | Location | Incident | Killed | Injured | Claimed by |"),
pasted into e-mails and situation reports. In a row, meaning lives in the column, not in the words: "2 | 3"
says nothing by itself, "None" under "Claimed by" says that no one claimed the attack, and a "Total" row
sums the rows above it. This stage finds pipe tables, reads the header into column keys and records, for every
row, which span of the row is which column. Later stages use it: figures read the killed and injured columns,
claims read the claim column, and a total row is an aggregate, not an incident.
"""

from __future__ import annotations

import re
from itertools import pairwise

from corridor.extract.document import Doc, Sentence

# header words -> column key; the first key whose pattern matches the header cell wins
COLUMNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.I))
    for key, pattern in (
        ("killed", r"^(?:no\.?\s+)?(?:killed|dead|deaths?|fatalit\w+|kia|k|martyred|shaheed)(?:\s*\(.*\))?$"),
        ("injured", r"^(?:no\.?\s+)?(?:injured|wounded|wia|w|hurt|inj\.?)(?:\s*\(.*\))?$"),
        ("casualties", r"^(?:casualties|cas\.?|victims|losses|toll|k\s*/\s*w|kia\s*/\s*wia|killed\s*/\s*injured)$"),
        ("claim", r"^(?:claim\w*(?:\s+by)?|responsibility|claimant)$"),
        ("perpetrator", r"^(?:perpetrators?|attribution|suspected(?:\s+\w+)?|group|actor|attackers?|by)$"),
        ("date", r"^(?:date|dtg|day|when|date\s*/\s*time)$"),
        ("time", r"^(?:time|hrs|hours|local\s+time)$"),
        ("place", r"^(?:location|place|site|area|town|city|village|locality|where|spot)$"),
        ("district", r"^(?:district|tehsil|division|province|region|agency)$"),
        ("event", r"^(?:incident|event|type|what|nature|category|description|details|summary|method)$"),
        ("target", r"^(?:target|targets|victims?\s+type)$"),
        ("remarks", r"^(?:remarks|notes?|comments?|status|source|action|follow[- ]up)$"),
        ("serial", r"^(?:#|no\.?|s\.?\s*no\.?|ser\.?|serial|sr\.?|id|ref\.?)$"),
    )
)
_NONE_CELL = re.compile(r"^\s*(?:none|nil|no|-+|–|—|n/?a|not\s+claimed|unclaimed|no\s+claim|0)\s*\.?\s*$", re.I)
_ZERO_CELL = re.compile(r"^\s*(?:0|nil|none|no|-+|–|—|zero)\s*$", re.I)
_COUNT_CELL = re.compile(r"^\s*(?P<n>\d{1,4})\b")
_TOTAL = re.compile(r"^\W*(?:grand\s+|sub-?)?totals?\b|^\W*(?:overall|cumulative|summary)\b", re.I)


def is_table_line(line: str) -> bool:
    return line.count("|") >= 2 and len(line.strip()) > 2


def _cells(text: str) -> list[tuple[int, int]]:
    """(start, end) of every cell of a row, trimmed; outer pipes optional."""
    bounds = [-1, *[m.start() for m in re.finditer(r"\|", text)], len(text)]
    out = []
    for a, b in pairwise(bounds):
        s, e = a + 1, b
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        out.append((s, e))
    # a leading or trailing pipe leaves an empty outer cell that is no column
    if out and out[0][0] == out[0][1] and text[: out[0][1] + 1].strip() in ("", "|"):
        out = out[1:]
    if out and out[-1][0] == out[-1][1]:
        out = out[:-1]
    return out


def header_keys(text: str) -> list[str | None] | None:
    """The column keys of a header row, or None when the row is not a header (fewer than two known columns)."""
    keys: list[str | None] = []
    for s, e in _cells(text):
        label = text[s:e].strip(" :*_").strip()
        keys.append(next((k for k, rx in COLUMNS if rx.match(label)), None))
    known = [k for k in keys if k]
    return keys if len(known) >= 2 and len(set(known)) == len(known) else None


def tag_tables(doc: Doc) -> Doc:
    """Give each data row of a pipe table its column spans (doc offsets), by the nearest header above it."""
    keys: list[str | None] | None = None
    last_para = -2
    table_of: dict[int, int] = doc.debug.setdefault("table_of", {})  # row sentence index -> table number
    tables = 0
    for sent in doc.sentences:
        if not is_table_line(sent.text):
            if sent.paragraph != last_para:
                keys = None  # a line of prose ends the table
            continue
        last_para = sent.paragraph
        head = header_keys(sent.text)
        if head is not None:
            keys = head
            tables += 1
            sent.flags.add("table_header")
            continue
        if re.fullmatch(r"[\s|:+=-]*", sent.text):
            sent.flags.add("table_rule")  # the |---|---| line under a Markdown header
            continue
        cells = _cells(sent.text)
        if keys is None:
            continue
        sent.flags.add("table_row")
        table_of[sent.index] = tables
        if cells and _TOTAL.match(sent.text[cells[0][0] : cells[0][1]] or ""):
            sent.flags.add("table_total")
        for key, (s, e) in zip(keys, cells, strict=False):
            if key:
                sent.cells[key] = (sent.start + s, sent.start + e)
    return doc


def cell(sent: Sentence, key: str) -> str | None:
    span = sent.cells.get(key)
    return None if span is None else sent.text[span[0] - sent.start : span[1] - sent.start]


def cell_count(sent: Sentence, key: str) -> int | None:
    """A count column's number: digits, or zero for nil/none/-; None when the cell says something else."""
    text = cell(sent, key)
    if text is None:
        return None
    if _ZERO_CELL.match(text):
        return 0
    m = _COUNT_CELL.match(text)
    return int(m.group("n")) if m else None


def claim_cell(sent: Sentence) -> str | None:
    """'none' when the claim column says nobody claimed; 'named' when it names something; None when absent."""
    text = cell(sent, "claim")
    if text is None or not text.strip():
        return None
    if re.fullmatch(r"\s*(?:unknown|unk\.?|\?+|awaited|pending|not\s+known|tbc|tbd)\s*", text, re.I):
        return None
    return "none" if _NONE_CELL.match(text) else "named"
