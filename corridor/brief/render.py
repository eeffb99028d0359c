"""A `Brief` as one self-contained HTML file (Jinja2; pictures as data: URIs, CSS inline, system fonts) and
as an A4 PDF (WeasyPrint) whose every page carries the brief's TLP marking in its header and footer.

Nothing here reaches the network: the template names no external resource, and WeasyPrint is given a
fetcher that only reads data: URIs, so a stray reference fails closed instead of making a request.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from corridor.brief.charts import TYPE_COLOURS, daily_chart, incident_map
from corridor.brief.service import Brief, BriefIncident

TEMPLATES = Path(__file__).resolve().parent / "templates"
RATED_SHOWN = 40  # rows of the ratings table; the rest are counted
# TLP 2.0 (FIRST): coloured text on a black background
TLP_COLOURS = {
    "CLEAR": "#FFFFFF",
    "GREEN": "#33FF00",
    "AMBER": "#FFC000",
    "AMBER+STRICT": "#FFC000",
    "RED": "#FF2B2B",
}
TLP_MEANING = {
    "CLEAR": "Recipients may share this brief without restriction.",
    "GREEN": "Recipients may share this brief within their community, not publicly.",
    "AMBER": "Recipients may share this brief only within their organisation and its clients, on a need-to-know basis.",
    "AMBER+STRICT": "Recipients may share this brief only within their own organisation.",
    "RED": "For the named recipient only; not to be shared further.",
}


def _figures(i: BriefIncident) -> str:
    """Killed / injured, with the foreign victims among them: '4 / 2 (foreign 1 / 0)'."""

    def n(v: int | None) -> str:
        return "?" if v is None else str(v)

    text = "–" if i.killed is None and i.injured is None else f"{n(i.killed)} / {n(i.injured)}"
    if i.killed_foreign or i.injured_foreign:
        who = f"{i.nationality} " if i.nationality else "foreign "
        text += f" ({who}{i.killed_foreign or 0} / {i.injured_foreign or 0})"
    return text


def _css_string(value: object) -> Markup:
    """Text for a CSS string inside <style> (raw text in HTML: entities are not decoded there, so it is escaped
    for CSS instead; '<' too, so no value can close the style element)."""
    out = []
    for ch in str(value):
        out.append(f"\\{ord(ch):x} " if ch in '"\\<>\n\r' or ord(ch) < 32 else ch)
    return Markup("".join(out))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["figures"] = _figures
    env.filters["css_string"] = _css_string
    env.filters["kind"] = lambda s: str(s).replace("_", " ")
    env.globals["tlp_colour"] = lambda t: TLP_COLOURS.get(t, "#FFFFFF")
    env.globals["type_colour"] = lambda t: TYPE_COLOURS.get(t, TYPE_COLOURS["other"])
    return env


_ENV = _environment()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(brief: Brief, dpi: int = 150) -> str:
    """The brief as one HTML document that needs nothing else: no CDN, no web font, no remote image."""
    the_map = incident_map(brief, dpi)
    chart = daily_chart(brief, dpi)
    context: dict[str, Any] = {
        "b": brief,
        "map_uri": _data_uri(the_map.png),
        "chart_uri": _data_uri(chart.png),
        "notes": [*brief.notes, *the_map.notes, *chart.notes],
        "map_credit": the_map.credit,
        "marking": f"TLP:{brief.marking}",
        "marking_colour": TLP_COLOURS[brief.marking],
        "marking_meaning": TLP_MEANING[brief.marking],
        "ratings_shown": brief.ratings[:RATED_SHOWN],
        "ratings_hidden": max(0, len(brief.ratings) - RATED_SHOWN),
        "generated": generated_stamp(brief.generated_at),
    }
    return _ENV.get_template("brief.html").render(**context)


def render_pdf(brief: Brief, dpi: int = 150) -> bytes:
    """The brief as an A4 PDF (WeasyPrint), with the marking on every page."""
    return html_to_pdf(render_html(brief, dpi))


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    offline = URLFetcher(allowed_protocols={"data"})
    pdf = HTML(string=html, base_url=None, url_fetcher=offline).write_pdf()
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)


def file_name(brief: Brief, fmt: str) -> str:
    """brief-harbour-power-co-2024-10-07.pdf: ASCII only, safe in a Content-Disposition header."""
    ascii_name = unicodedata.normalize("NFKD", brief.org_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "organisation"
    return f"brief-{slug[:60]}-{brief.day.isoformat()}.{fmt}"


def generated_stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} PKT"
