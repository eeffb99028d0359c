"""Pydantic types for what crosses a boundary: the `corridor extract` contract, API bodies, exports.

The field names here ARE the extraction contract (see docs/extraction.md); change them only with it.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from corridor.model.enums import DatePrecision, EventKind, EventType, GeoPrecision


class Evidence(BaseModel):
    """The text that supports one field, with character offsets into the cleaned document text."""

    field: str
    text: str
    start: int
    end: int


class PlaceRef(BaseModel):
    name: str | None = None
    city: str | None = None
    district: str | None = None
    province: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    precision: GeoPrecision | None = None


class ExtractedIncident(BaseModel):
    """What one document says about one incident (a Mention, before it is stored)."""

    model_config = ConfigDict(use_enum_values=True)

    event_type: EventType
    date: str | None = Field(None, description="YYYY-MM-DD, YYYY-MM or YYYY at date_precision")
    date_precision: DatePrecision | None = None
    place: PlaceRef = Field(default_factory=PlaceRef)
    killed_total: int | None = None
    injured_total: int | None = None
    killed_foreign: int | None = None
    injured_foreign: int | None = None
    foreign_nationality: str | None = None
    perpetrator: str | None = None
    claimed: bool | None = None
    is_new: bool = True
    confidence: float = 0.5
    evidence: list[Evidence] = Field(default_factory=list)


class ExtractedEvent(BaseModel):
    model_config = ConfigDict(use_enum_values=True)

    kind: EventKind
    date: str | None = None
    place: str | None = None
    summary: str


class DocumentInfo(BaseModel):
    path: str | None = None
    url: str | None = None
    title: str | None = None
    published: Date | None = None
    sha256: str


class ExtractionResult(BaseModel):
    document: DocumentInfo
    incidents: list[ExtractedIncident] = Field(default_factory=list)
    events: list[ExtractedEvent] = Field(default_factory=list)

    def to_json_obj(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
