"""Incident picture exports: CSV for spreadsheets, GeoJSON for GIS, JSON for programs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from corridor.store.queries import MentionView, sources_of
from corridor.store.tables import Incident, Mention

COLUMNS = [
    "id",
    "event_type",
    "date",
    "date_precision",
    "place_name",
    "city",
    "district",
    "province",
    "country",
    "lat",
    "lon",
    "geo_precision",
    "killed_total",
    "injured_total",
    "killed_foreign",
    "injured_foreign",
    "foreign_nationality",
    "perpetrator",
    "claimed",
    "status",
    "confidence",
    "tlp",
    "version",
    "sources",
]


_DATE_CHARS = {"day": 10, "month": 7, "year": 4}


def date_text(when: date | None, precision: str | None) -> str | None:
    """A date as precise as it is known: 2024-10-06, 2024-10 or 2024."""
    return None if when is None else when.isoformat()[: _DATE_CHARS.get(precision or "day", 10)]


def list_record(row: sa.Row[Any], mentions: list[MentionView]) -> dict[str, Any]:
    """`incident_record` of a row of the list's columns (COLUMNS but sources, in that order), without looking each
    column up by name: the list builds fifty of these per page."""
    rec = row._asdict()
    rec["date"] = date_text(rec["date"], rec["date_precision"])
    rec["sources"] = sources_of(row, mentions)
    return rec


def incident_record(
    inc: Record, detail: bool = False, mentions: list[Mention] | list[MentionView] | None = None
) -> dict[str, Any]:
    """An incident as plain data; `mentions` restricts the sources shown (to those the caller may see)."""
    shown = inc.mentions if mentions is None else mentions
    rec: dict[str, Any] = {c: getattr(inc, c, None) for c in COLUMNS if c != "sources"}
    rec["date"] = date_text(inc.date, inc.date_precision)
    rec["sources"] = sources_of(inc, shown)
    if detail:
        rec["provenance"] = inc.provenance
        rec["mentions"] = [
            {
                "document": {
                    "id": m.document.id,
                    "sha256": m.document.sha256,
                    "title": m.document.title,
                    "url": m.document.url,
                    "path": m.document.path,
                    "published": m.document.published.isoformat() if m.document.published else None,
                    "outlet": m.document.source.name if m.document.source else None,
                },
                "id": m.id,
                "event_type": m.event_type,
                "date": m.date.isoformat() if m.date else None,
                "date_precision": m.date_precision,
                "place": m.place_name,
                "killed_total": m.killed_total,
                "injured_total": m.injured_total,
                "killed_foreign": m.killed_foreign,
                "injured_foreign": m.injured_foreign,
                "perpetrator": m.perpetrator,
                "claimed": m.claimed,
                "is_new": m.is_new,
                "evidence": m.evidence,
            }
            for m in shown
        ]
    return rec


# visible mentions by incident id (None: all, for the local operator)
Shown = dict[str, list[Mention]] | dict[str, list[MentionView]] | None
Record = Incident | sa.Row[Any]  # an incident, or a row of the incidents table (the API's read path)


def _shown(inc: Record, shown: Shown) -> list[Mention] | list[MentionView] | None:
    return None if shown is None else shown.get(inc.id, [])


def to_json(incidents: list[Incident], shown: Shown = None) -> str:
    return json.dumps(
        [incident_record(i, detail=True, mentions=_shown(i, shown)) for i in incidents], indent=2, ensure_ascii=False
    )


def to_csv(incidents: Sequence[Record], shown: Shown = None) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    for inc in incidents:
        rec = incident_record(inc, mentions=_shown(inc, shown))
        rec["sources"] = "; ".join(rec["sources"])
        w.writerow(rec)
    return buf.getvalue()


def to_geojson(incidents: Sequence[Record], shown: Shown = None) -> str:
    feats = []
    for inc in incidents:
        rec = incident_record(inc, mentions=_shown(inc, shown))
        geom = (
            {"type": "Point", "coordinates": [inc.lon, inc.lat]}
            if inc.lat is not None and inc.lon is not None
            else None
        )
        props = {k: v for k, v in rec.items() if k not in ("lat", "lon")}
        feats.append({"type": "Feature", "id": inc.id, "geometry": geom, "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": feats}, indent=2, ensure_ascii=False)


EXPORTERS = {"json": to_json, "csv": to_csv, "geojson": to_geojson}
