"""The domain model: one set of words (DESIGN.md's names) used by every layer."""

from corridor.model.enums import (
    DatePrecision,
    EventKind,
    EventType,
    GeoPrecision,
    IncidentStatus,
)
from corridor.model.schemas import (
    DocumentInfo,
    Evidence,
    ExtractedEvent,
    ExtractedIncident,
    ExtractionResult,
    PlaceRef,
)

__all__ = [
    "DatePrecision",
    "DocumentInfo",
    "EventKind",
    "EventType",
    "Evidence",
    "ExtractedEvent",
    "ExtractedIncident",
    "ExtractionResult",
    "GeoPrecision",
    "IncidentStatus",
    "PlaceRef",
]
