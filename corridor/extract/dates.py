"""Dates: find date expressions and resolve them against the publication date, at the right precision.

Pitfalls designed against (DESIGN.md): a weekday equal to the publication weekday is that day; the report's
own date is not the attack's; year-only mentions keep year precision; a wrong weekday or month in the text is
mended when the weekday and the day of the month disagree. dateparser is used only to parse a matched
absolute expression that the fast path cannot read, with languages=['en'] and a RELATIVE_BASE.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from corridor.extract import prefilter
from corridor.extract.document import Doc

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS["sept"] = 9
WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}

_MON = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_WD = r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_YEAR = r"((?:19|20)\d\d)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", prefilter.compile(rf"\b{_YEAR}-(\d\d)-(\d\d)\b")),
    ("dmy_num", prefilter.compile(rf"\b(\d{{1,2}})([/.-])(\d{{1,2}})\2{_YEAR}\b")),
    # "on the night between Saturday and Sunday", "the intervening night of Friday and Saturday": the onset
    (
        "night_between",
        prefilter.compile(
            rf"\b(?:the\s+)?(?:intervening\s+)?night\s+(?:between|of)\s+{_WD}\s+(?:and|to)\s+{_WD}\b", re.I
        ),
    ),
    # (Wednesday,) November 13(, 2024)  |  (Wednesday,) 13 November (2024)
    ("wd_mdy", prefilter.compile(rf"\b(?:{_WD},?\s+(?:the\s+)?)?{_MON}\s+{_DAY}\b(?:,?\s+{_YEAR})?", re.I)),
    (
        "wd_dmy",
        prefilter.compile(
            rf"\b(?:{_WD},?\s+(?:the\s+)?)?{_DAY}(?:\s*[/-]\s*\d{{1,2}})?\s+(?:of\s+)?{_MON}\b(?:,?\s+{_YEAR})?", re.I
        ),
    ),
    (
        "rel_month",
        prefilter.compile(
            rf"\b(last|this|earlier\s+this|in|since|until|by|during|early|late|mid-?)\s+{_MON}(?:\s+{_YEAR})?\b",
            re.I,
        ),
    ),
    ("month_year", prefilter.compile(rf"\b{_MON},?\s+{_YEAR}\b", re.I)),
    # "the October blast", "the March suicide bombing": an event named by its month
    (
        "the_month",
        prefilter.compile(
            rf"\bthe\s+{_MON}(?=\s+(?:[\w-]+\s+){{0,2}}?(?:bombing|blast|attack|assault|shooting|ambush|raid|"
            r"explosion|killings?|massacre|hijacking|kidnapping|abduction)s?\b)",
            re.I,
        ),
    ),
    # "on Wednesday last week": that weekday of the calendar week before the report's
    ("weekday_last_week", prefilter.compile(rf"\b(?:on\s+)?{_WD}\s+(?:of\s+)?last\s+week\b", re.I)),
    # "on the 5th": that day of the report's month, or of the month before when it is still to come
    (
        "ordinal_day",
        prefilter.compile(
            rf"\bon\s+the\s+(\d{{1,2}})(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?{_MON})(?!\s+(?:day|anniversary|floor))",
            re.I,
        ),
    ),
    # "at the weekend", "over the weekend": the last Saturday or Sunday, no finer than its month
    ("weekend", prefilter.compile(r"\b(?:at|over|during)\s+the\s+weekend\b", re.I)),
    (
        "weekday",
        prefilter.compile(
            rf"\b(last\s+|this\s+|on\s+|late\s+|early\s+)?{_WD}(\s+(?:morning|afternoon|evening|night))?\b",
            re.I,
        ),
    ),
    (
        "relative",
        prefilter.compile(
            r"\b(yesterday|today|tonight|this\s+morning|this\s+afternoon|this\s+evening|last\s+night|earlier\s+today"
            r"|(\w+)\s+(days?|weeks?|months?|years?)\s+ago|last\s+week|earlier\s+this\s+week|this\s+week|last\s+month|earlier\s+this\s+month"
            r"|this\s+month|last\s+year|earlier\s+this\s+year|this\s+year)\b",
            re.I,
        ),
    ),
    ("year", prefilter.compile(rf"\b(in|since|during|of|until|by|from|early|late|mid-?)?\s*{_YEAR}\b(?!-\d)", re.I)),
]
_NUMWORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "an": 1,
}


@dataclass
class DateMention:
    start: int
    end: int
    text: str
    value: date | None  # first day of the period at `precision`
    precision: str | None  # day | month | year
    kind: str  # absolute | relative | weekday | year | month
    role: str = "point"  # point | range (since/until: bounds of an aggregate, not an event date)

    def iso(self) -> str | None:
        if self.value is None or self.precision is None:
            return None
        return format_date(self.value, self.precision)


def format_date(d: date, precision: str) -> str:
    return {"day": d.isoformat(), "month": d.strftime("%Y-%m"), "year": str(d.year)}[precision]


def months_before(d: date, n: int) -> date:
    """The first day of the calendar month n months before d's ("five months after" a September story: April)."""
    k = d.year * 12 + (d.month - 1) - n
    return date(k // 12, k % 12 + 1, 1)


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _weekday_back(published: date, wd: int, last: bool = False) -> date:
    """The most recent `wd` on or before the publication date ("on Friday" in a Friday paper is that day)."""
    delta = (published.weekday() - wd) % 7
    if last and delta == 0:
        delta = 7
    return published - timedelta(days=delta)


def _mend_day(day: date, weekday: int | None, published: date | None) -> date:
    """When the text's weekday and day of the month disagree, pick the reading that fits both best."""
    if weekday is None or day.weekday() == weekday:
        return day
    candidates = [day]
    for months in (-1, 1):
        m = day.month + months
        y = day.year + (m - 1) // 12
        alt = _safe_date(y, (m - 1) % 12 + 1, day.day)
        if alt and alt.weekday() == weekday and (published is None or alt <= published):
            return alt  # wrong month in the text
    if published is not None:
        by_weekday = _weekday_back(published, weekday)
        if abs((by_weekday - day).days) <= 3:
            candidates.append(by_weekday)
        if day > published:
            return by_weekday
    return candidates[0]


def _year_for(month: int, day: int | None, published: date | None) -> int | None:
    """The year of a month(/day) given without one: the latest not after the publication date."""
    if published is None:
        return None
    y = published.year
    probe = _safe_date(y, month, day or 1)
    if probe is None or probe > published + timedelta(days=1):
        y -= 1
    return y


@lru_cache(maxsize=4096)
def _dateparser(text: str, base: date | None) -> datetime | None:
    import dateparser

    settings = {"PREFER_DATES_FROM": "past", "STRICT_PARSING": False}
    if base is not None:
        settings["RELATIVE_BASE"] = datetime(base.year, base.month, base.day)
    return dateparser.parse(text, languages=["en"], settings=settings)


def find_dates(text: str, published: date | None, offset: int = 0) -> list[DateMention]:
    """Date expressions in `text`, resolved against `published`; unresolvable ones keep value None."""
    taken: list[tuple[int, int]] = []
    out: list[DateMention] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for kind, pat in _PATTERNS:
        for m in pat.finditer(text):
            s, e = m.span()
            if not free(s, e):
                continue
            dm = _resolve(kind, m, published)
            if dm is None:
                continue
            taken.append((s, e))
            dm.start, dm.end, dm.text = s + offset, e + offset, m.group(0)
            out.append(dm)
    out.sort(key=lambda d: d.start)
    return out


def _resolve(kind: str, m: re.Match[str], published: date | None) -> DateMention | None:
    g = m.groups()
    mk = lambda v, p, k, role="point": DateMention(0, 0, "", v, p, k, role)  # noqa: E731
    if kind == "iso":
        d = _safe_date(int(g[0]), int(g[1]), int(g[2]))
        return mk(d, "day", "absolute") if d else None
    if kind == "dmy_num":
        # day first, as Pakistan and most of the world write it; month first only where the day cannot be one
        n1, n2, yy = int(g[0]), int(g[2]), int(g[3])
        d = _safe_date(yy, n2, n1) if n2 <= 12 else _safe_date(yy, n1, n2)
        return mk(d, "day", "absolute") if d else None
    if kind == "the_month":
        if published is None:
            return mk(None, None, "month")
        named = MONTHS[g[0].lower()]
        return mk(date(published.year if named <= published.month else published.year - 1, named, 1), "month", "month")
    if kind == "weekday_last_week":
        if published is None:
            return mk(None, None, "weekday")
        monday = published - timedelta(days=published.weekday() + 7)
        return mk(monday + timedelta(days=WEEKDAYS[g[0].lower()]), "day", "weekday")
    if kind == "ordinal_day":
        if published is None:
            return mk(None, None, "relative")
        dom = int(g[0])
        yy, mm = published.year, published.month
        if dom > published.day:
            yy, mm = (yy - 1, 12) if mm == 1 else (yy, mm - 1)
        on = _safe_date(yy, mm, dom)
        return mk(on, "day", "relative") if on else None
    if kind == "weekend":
        if published is None:
            return mk(None, None, "relative")
        saturday = _weekday_back(published, 5, last=published.weekday() in (5, 6))
        return mk(saturday.replace(day=1), "month", "relative")
    if kind == "night_between":
        if published is None:
            return mk(None, None, "weekday")
        return mk(_weekday_back(published, WEEKDAYS[g[0].lower()]), "day", "weekday")
    if kind in ("wd_mdy", "wd_dmy"):
        if kind == "wd_mdy":
            wd, mon, day, year = g
        else:
            wd, day, mon, year = g
        if mon[0].islower():
            return None
        month = MONTHS[mon.lower().rstrip(".")]
        dnum = int(day)
        if not 1 <= dnum <= 31:
            return None
        y = int(year) if year else _year_for(month, dnum, published)
        if y is None:
            return mk(None, None, "absolute")
        d = _safe_date(y, month, dnum)
        if d is None:
            parsed = _dateparser(m.group(0), published)
            return mk(parsed.date(), "day", "absolute") if parsed else None
        d = _mend_day(d, WEEKDAYS[wd.lower()] if wd else None, published)
        return mk(d, "day", "absolute")
    if kind == "rel_month":
        lead, mon, year = g
        if mon[0].islower():
            return None
        lead = " ".join(lead.lower().split())
        month = MONTHS[mon.lower().rstrip(".")]
        role = "range" if lead in ("since", "until", "by") else "point"
        if year:
            return mk(date(int(year), month, 1), "month", "month", role)
        if published is None:
            return mk(None, None, "month", role)
        y = published.year
        if lead == "last":
            if month >= published.month:
                y -= 1
        elif lead in ("this", "earlier this"):
            pass
        elif month > published.month:
            y -= 1
        return mk(date(y, month, 1), "month", "month", role)
    if kind == "month_year":
        mon, year = g
        if mon[0].islower():
            return None
        return mk(date(int(year), MONTHS[mon.lower().rstrip(".")], 1), "month", "month")
    if kind == "weekday":
        lead, wd, _part = g
        if published is None:
            return mk(None, None, "weekday")
        lead = (lead or "").strip().lower()
        return mk(_weekday_back(published, WEEKDAYS[wd.lower()], last=lead == "last"), "day", "weekday")
    if kind == "relative":
        phrase = " ".join(m.group(0).lower().split())
        if published is None:
            return mk(None, None, "relative")
        p = published
        if phrase in ("yesterday", "last night"):
            return mk(p - timedelta(days=1), "day", "relative")
        if phrase in ("today", "tonight", "this morning", "this afternoon", "this evening", "earlier today"):
            return mk(p, "day", "relative")
        if phrase.endswith("ago"):
            n = g[1].lower() if g[1] else ""
            count = int(n) if n.isdigit() else _NUMWORDS.get(n)
            if not count:
                return None
            unit = (g[2] or "day").lower().rstrip("s")
            if unit == "day":
                return mk(p - timedelta(days=count), "day", "relative")
            if unit == "week":  # "two weeks ago": the month it falls in, no finer
                d = p - timedelta(days=7 * count)
                return mk(date(d.year, d.month, 1), "month", "relative")
            if unit == "month":
                return mk(months_before(p, count), "month", "relative")
            return mk(date(p.year - count, 1, 1), "year", "relative")
        if phrase in ("last week",):
            d = p - timedelta(days=7)
            return mk(date(d.year, d.month, 1), "month", "relative")
        if phrase in ("this week", "earlier this week", "this month", "earlier this month"):
            return mk(date(p.year, p.month, 1), "month", "relative")
        if phrase == "last month":
            d = date(p.year, p.month, 1) - timedelta(days=1)
            return mk(date(d.year, d.month, 1), "month", "relative")
        if phrase == "last year":
            return mk(date(p.year - 1, 1, 1), "year", "relative")
        if phrase in ("this year", "earlier this year"):
            return mk(date(p.year, 1, 1), "year", "relative")
        return None
    if kind == "year":
        lead, year = g
        y = int(year)
        if published is not None and y > published.year:
            return None
        role = "range" if (lead or "").lower() in ("since", "until", "by", "from") else "point"
        return mk(date(y, 1, 1), "year", "year", role)
    return None


# "QUETTA, Nov 10 (Frontier Wire) -": the dateline gives the report's date, not the event's.
DATELINE = prefilter.compile(
    r"^[A-Z][A-Za-z .'-]{1,40},\s*[^()\n]{0,30}?\((?:[^)]{1,40})\)\s*[-–—:]|^[A-Z][A-Z .'-]{1,40},"
    r"\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,8})(?:,?\s+\d{4})?\s*[-–—:]"
)


SPEECH_DATE = prefilter.compile(
    r"\b(?:said|says|told\s+\w+|stated|announced|reported|confirmed|added|statement|"
    r"spokes\w+\s+said)\s+(?:late\s+|early\s+)?(?:on\s+)?$",
    re.I,
)


def tag_dates(doc: Doc) -> Doc:
    for sent in doc.sentences:
        sent.dates = find_dates(sent.text, doc.published, sent.start)
        head = DATELINE.match(sent.text)
        for d in sent.dates:
            if head and d.start - sent.start < head.end():
                d.role = "dateline"
            elif SPEECH_DATE.search(sent.text[: d.start - sent.start]):
                d.role = "speech"  # "the military said on Tuesday": when it was said, not when it happened
    return doc
