"""`corridor brief`: an organisation's daily security brief as HTML or PDF, read as that organisation (its
TLP-restricted records and what is shared with it; never another organisation's AMBER or RED records).

User mistakes (unknown organisation, bad date or format) end with one line on stderr and exit status 2, like
the rest of the CLI."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer

FORMATS = ("html", "pdf")


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def brief(
    org: Annotated[str, typer.Option("--org", help="Organisation (name or id)")],
    on: Annotated[str | None, typer.Option("--date", help="Day of the brief, YYYY-MM-DD (default: today, PKT)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default: brief-ORG-DATE.FORMAT here)")] = None,
    radius_km: Annotated[float, typer.Option("--radius-km", help="What counts as near a site")] = 100.0,
    dpi: Annotated[int, typer.Option("--dpi", help="Resolution of the map and chart")] = 150,
) -> None:
    """The daily security brief of an organisation: incidents near its sites, risk changes, tomorrow's movements."""
    from corridor.brief.render import file_name, render_html, render_pdf
    from corridor.brief.service import BriefError, gather, organisation_viewer
    from corridor.clock import now
    from corridor.config import load_settings
    from corridor.ops.service import LOCAL
    from corridor.store.db import Store

    if fmt not in FORMATS:
        _fail(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if not 30 <= dpi <= 600:
        _fail(f"--dpi: {dpi} is outside 30-600")
    try:
        day = date.fromisoformat(on) if on else now().astimezone(LOCAL).date()
    except ValueError:
        _fail(f"--date: {on!r} is not a date in YYYY-MM-DD form")
    started = time.perf_counter()
    store = Store(load_settings().database_url)
    try:
        store.upgrade()
        with store.sessions() as session:
            b = gather(session, organisation_viewer(session, org), day, radius_km=radius_km)
    except BriefError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    target = out or Path(file_name(b, fmt))
    try:
        if fmt == "pdf":
            target.write_bytes(render_pdf(b, dpi))
        else:
            target.write_text(render_html(b, dpi), encoding="utf-8")
    except OSError as exc:
        _fail(f"{target}: {exc.strerror or exc}")
    took = time.perf_counter() - started
    sys.stderr.write(f"TLP:{b.marking} brief of {b.org_name} for {day}, {took:.1f} s: {b.summary}\n")
    print(target)
