"""The document object that travels through the pipeline. Each stage reads earlier layers, adds its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corridor.extract.actors import ActorMention
    from corridor.extract.dates import DateMention
    from corridor.extract.figures import Figure
    from corridor.extract.places import PlaceMention
    from corridor.model.schemas import ExtractedEvent, ExtractedIncident


@dataclass
class Sentence:
    """A sentence of the cleaned text with everything stages found in it (offsets into Doc.text)."""

    index: int
    start: int
    end: int
    text: str
    paragraph: int = 0
    is_title: bool = False
    dates: list[DateMention] = field(default_factory=list)
    places: list[PlaceMention] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    actors: list[ActorMention] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    event_types: list[str] = field(default_factory=list)  # cues found, strongest first
    cells: dict[str, tuple[int, int]] = field(default_factory=dict)  # a table row's columns: key -> (start, end)


@dataclass
class Doc:
    """One report: the cleaned text, its metadata, and the layers the stages add."""

    text: str
    published: date | None = None
    title: str | None = None
    url: str | None = None
    path: str | None = None
    sha256: str = ""
    sentences: list[Sentence] = field(default_factory=list)
    incidents: list[ExtractedIncident] = field(default_factory=list)
    events: list[ExtractedEvent] = field(default_factory=list)
    context_provinces: dict[str, int] = field(default_factory=dict)
    debug: dict[str, Any] = field(default_factory=dict)
