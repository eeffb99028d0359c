"""The extraction pipeline: small stages over one Doc, run in order. Each stage is a plain function
Doc -> Doc, so any stage can be tested alone on a hand-built Doc, and the list can be changed by callers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from corridor.extract.actors import tag_actors
from corridor.extract.clean import clean_html, clean_text
from corridor.extract.dates import tag_dates
from corridor.extract.document import Doc
from corridor.extract.events import extract_events
from corridor.extract.figures import tag_figures
from corridor.extract.incidents import extract_incidents
from corridor.extract.places import tag_places
from corridor.extract.segment import segment
from corridor.extract.tables import tag_tables
from corridor.ingest.reader import RawDocument
from corridor.model.schemas import DocumentInfo, ExtractionResult

Stage = Callable[[Doc], Doc]
DEFAULT_STAGES: tuple[Stage, ...] = (
    segment,
    tag_tables,
    tag_dates,
    tag_actors,
    tag_places,
    tag_figures,
    extract_incidents,
    extract_events,
)


class Pipeline:
    def __init__(self, stages: Sequence[Stage] = DEFAULT_STAGES) -> None:
        self.stages = list(stages)

    def __call__(self, doc: Doc) -> Doc:
        for stage in self.stages:
            doc = stage(doc)
        return doc


DEFAULT = Pipeline()


def prepare(raw: RawDocument, published: date | None = None) -> Doc:
    """Clean a raw document into a Doc; `published` (the caller's word) wins over the page's own metadata."""
    cleaned = clean_html(raw.text, raw.url) if raw.kind in ("html", "rss-item") else clean_text(raw.text)
    return Doc(
        text=cleaned.text,
        published=published or raw.published or cleaned.published,
        title=raw.title or cleaned.title,
        url=raw.url,
        path=raw.path,
        sha256=raw.sha256,
    )


def extract_raw(raw: RawDocument, published: date | None = None, pipeline: Pipeline = DEFAULT) -> ExtractionResult:
    doc = pipeline(prepare(raw, published))
    return to_result(doc)


def extract_text(text: str, published: date | None = None, pipeline: Pipeline = DEFAULT) -> ExtractionResult:
    raw = RawDocument(data=text.encode("utf-8"), text=text, kind="text")
    return extract_raw(raw, published, pipeline)


def to_result(doc: Doc) -> ExtractionResult:
    return ExtractionResult(
        document=DocumentInfo(path=doc.path, url=doc.url, title=doc.title, published=doc.published, sha256=doc.sha256),
        incidents=doc.incidents,
        events=doc.events,
    )
