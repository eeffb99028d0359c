"""Clean: the article's own text, without the page furniture that scrapers carry along.

HTML goes through trafilatura (main-content extraction); plain text is cleaned line by line. Both then lose
boilerplate lines and sidebar blocks (related stories, trending lists), which otherwise turn other attacks
into incidents of this document.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

import trafilatura

log = logging.getLogger(__name__)

_BOILERPLATE = re.compile(
    r"""^(
        loading(\s+now)?\.*|post\s+comment|leave\s+a\s+(comment|reply)|share(\s+this)?(\s+(article|story|post))?:?
        |(share\s+on\s+)?(facebook|twitter|whatsapp|linkedin|telegram|email|print|copy\s+link)(\s*[|·•,]\s*\w+)*
        |advertisement|sponsored(\s+content)?|subscribe.*|sign\s+up.*|newsletter.*|follow\s+us.*
        |(we\s+use\s+)?cookies?.*|accept(\s+all)?(\s+cookies)?|skip\s+to\s+(main\s+)?content|menu|search
        |(read|see)\s+(more|also).*|also\s+read:?.*|related(\s+(stories|news|articles|posts|coverage))?:?.*
        |more\s+from.*|(most\s+(read|popular|viewed)|trending(\s+now)?|latest(\s+news)?|top\s+stories)\s*:?
        |original\s+source:.*|source:\s*\S+\s*$|the\s+post\s+.+\s+appeared\s+first\s+on\s+.+
        |(photo|image|file\s+photo|picture|video)\s*(:|—|-|by\b|credit).*|.*\s[—-]\s*(afp|reuters|ap|ppi|app|xinhua|file)\s*(photo)?\s*$
        |click\s+here.*|tags?:.*|filed\s+under.*|comments?\s*\(\d+\)|\d+\s+comments?|all\s+rights\s+reserved.*
        |copyright.*|©.*|back\s+to\s+top|next\s+article.*|previous\s+article.*|embed(ded)?\s+(post|tweet).*
        |(pic|view)\.twitter\.com/\S+.*|—\s*\S+\s*\(@\w+\)\s+\w+\s+\d+,\s+\d{4}
    )$""",
    re.I | re.X,
)
# Headings that open a block of other stories: everything after them until the next real paragraph goes.
_SIDEBAR = re.compile(
    r"^(related(\s+(stories|news|articles|posts|coverage))?|read\s+more|more\s+stories|also\s+read|trending"
    r"(\s+now)?|most\s+(read|popular|viewed)|latest(\s+news)?|top\s+stories|you\s+may\s+also\s+like"
    r"|recommended|editor'?s\s+picks?|in\s+other\s+news|more\s+from\s+.*)\s*:?\s*$",
    re.I,
)


@dataclass
class Cleaned:
    text: str
    title: str | None
    published: date | None


def _is_paragraph(line: str) -> bool:
    """A line of running prose: long enough and ending like a sentence."""
    return len(line.split()) >= 12 and line.rstrip()[-1:] in ".!?\"'”’)"


def clean_lines(text: str) -> list[str]:
    lines: list[str] = []
    in_sidebar = False
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.replace("\u00a0", " ").split())
        if not line:
            continue
        if _SIDEBAR.match(line):
            in_sidebar = True
            continue
        if in_sidebar:
            if _is_paragraph(line):
                in_sidebar = False
            else:
                continue
        if _BOILERPLATE.match(line):
            continue
        line = re.sub(r"\s*\b(READ MORE|Read more|Also read)\s*[:»›>-].*$", "", line).strip()
        if line:
            lines.append(line)
    return lines


_HEADER = re.compile(r"[|]|--|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b\d{1,2}:\d{2}\b|^\W*$")


def _looks_like_headline(line: str) -> bool:
    words = line.split()
    if not 3 <= len(words) <= 25 or line[-1:] in ".!?:" or _HEADER.search(line):
        return False
    letters = [c for c in line if c.isalpha()]
    return not letters or sum(c.isupper() for c in letters) / len(letters) < 0.7


def _guess_title(lines: list[str]) -> str | None:
    """The headline: the first of the opening lines that reads like one (not a dateline or agency header)."""
    heads = [line for line in lines[:3] if _looks_like_headline(line)]
    return next((h for h in heads if len(h.split()) >= 5), heads[0] if heads else None)


def clean_text(text: str) -> Cleaned:
    lines = clean_lines(text)
    title = _guess_title(lines)
    return Cleaned(text="\n".join(lines), title=title, published=None)


def clean_html(html: str, url: str | None = None) -> Cleaned:
    """Main text, title and publication date of an HTML page."""
    body = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        favor_precision=True,
        deduplicate=False,
        with_metadata=False,
    )
    try:
        # extensive=False: the date comes from the page's markup (meta tags, JSON-LD, time elements, the URL),
        # never from htmldate's last resort, dateparser tried in every language it knows on whatever looks like
        # a date. A malformed published_time ("2023-15-30T21:13:8+13:8") sent one page there for 2.5 seconds.
        meta = trafilatura.extract_metadata(html, default_url=url, extensive=False)
    except (ValueError, TypeError, OverflowError) as exc:
        # a page with a malformed date or header must still be read; its metadata is then unknown
        log.warning("page metadata unreadable (%s): %s", url or "html", exc)
        meta = None
    title = meta.title if meta and meta.title else None
    published = None
    if meta and meta.date:
        try:
            published = date.fromisoformat(meta.date[:10])
        except ValueError:
            published = None
    if not body:
        # trafilatura found no main content (very short or broken pages): fall back to all visible text.
        body = trafilatura.html2txt(html) or ""
    lines = clean_lines(body)
    if title and not (lines and lines[0] == title):
        lines.insert(0, title)
    return Cleaned(text="\n".join(lines), title=title or _guess_title(lines), published=published)
