"""Ingest service: reports in, Documents + Mentions + merged Incidents out.

Each report is one transaction: its document, its mentions and the incident changes they cause commit
together or not at all, so a crash or Ctrl-C mid-ingest leaves no half-written report. Reports are keyed by
the SHA-256 of their bytes, so re-ingesting anything is a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from corridor import telemetry
from corridor.clock import now
from corridor.extract.pipeline import DEFAULT, prepare, to_result
from corridor.ingest.merge import merge_mentions
from corridor.ingest.reader import InputError, RawDocument, expand_paths, read_path
from corridor.model.schemas import ExtractionResult
from corridor.store.db import Store, serialize
from corridor.store.tables import Document, Mention, Source


@dataclass
class Outcome:
    """What happened to one report."""

    where: str
    status: str  # new | duplicate | failed
    reason: str | None = None
    document_id: str | None = None
    incidents: int = 0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


@dataclass
class Item:
    """One input to ingest with the metadata the caller knows (from a manifest or flags)."""

    path: Path
    published: date | None = None
    url: str | None = None
    outlet: str | None = None
    owner_org_id: str | None = None
    tlp: str = "CLEAR"  # public news by default; field reports get the marking their sender gives


def read_manifest(path: Path) -> list[Item]:
    """A JSONL manifest: one {"path", "url", "outlet", "published"} per line; paths relative to the file."""
    items: list[Item] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read manifest ({exc.strerror or exc})") from exc
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            p = Path(obj["path"])
            published = date.fromisoformat(obj["published"]) if obj.get("published") else None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}:{lineno}: bad manifest line ({exc})") from exc
        items.append(Item(p if p.is_absolute() else path.parent / p, published, obj.get("url"), obj.get("outlet")))
    return items


def _source(session: Session, outlet: str | None) -> Source | None:
    if not outlet:
        return None
    src = session.scalar(sa.select(Source).where(Source.name == outlet))
    if src is None:
        src = Source(name=outlet, kind="outlet", created_at=now())
        session.add(src)
        session.flush()
    return src


MERGE_LOCK = "corridor.ingest.merge"


def _store_one(
    store: Store,
    raw: RawDocument,
    result: ExtractionResult,
    text: str,
    item: Item,
    then: Callable[[Session, Outcome], None] | None = None,
) -> Outcome:
    """One report in one transaction; `then` runs inside it (a queue marks its job done with the document, so a
    worker that dies after the commit leaves no job to redo, and one that dies before it leaves nothing stored)."""
    with store.transaction() as session:
        # the merge below reads the incident picture and changes it: concurrent ingests take turns (PostgreSQL)
        serialize(session, MERGE_LOCK)
        outcome = store_document(session, raw, result, text, item)
        if then is not None:
            then(session, outcome)
        return outcome


def store_document(
    session: Session, raw: RawDocument, result: ExtractionResult, text: str, item: Item, *, alerts: bool = True
) -> Outcome:
    """Store one extracted report in the caller's transaction (which holds MERGE_LOCK): its Document, Mentions and
    the merge into incidents; with `alerts`, people, sites and movements near what changed are alerted."""
    where = raw.path or raw.url or "input"
    if session.scalar(sa.select(Document.id).where(Document.sha256 == raw.sha256)):
        return Outcome(where, "duplicate", "same bytes already ingested")
    doc, mentions = add_document(session, raw, result, text, item)
    session.flush()
    touched = merge_mentions(session, mentions)
    if alerts:
        # people, sites and movements near a new or changed incident are alerted in the same transaction
        from corridor.ops.service import raise_alerts
        from corridor.store.tables import Incident as IncidentRow

        for iid in sorted(touched):
            row = session.get(IncidentRow, iid)
            if row is not None:
                raise_alerts(session, row)
    return Outcome(where, "new", None, doc.id, len(touched))


def add_document(
    session: Session, raw: RawDocument, result: ExtractionResult, text: str, item: Item
) -> tuple[Document, list[Mention]]:
    """The Document and Mention rows of one extracted report, added to the session, not yet merged. The caller
    has checked that the report is not stored yet."""
    stamp = now()
    doc = Document(
        sha256=raw.sha256,
        source=_source(session, item.outlet or raw.outlet),
        path=raw.path,
        url=item.url or raw.url,
        title=result.document.title,
        published=result.document.published,
        fetched_at=stamp,
        language="en",
        content_type=raw.kind,
        size_bytes=len(raw.data),
        text=text,
        owner_org_id=item.owner_org_id,
        tlp=item.tlp,
    )
    session.add(doc)
    mentions = []
    for i, inc in enumerate(result.incidents):
        p = inc.place
        d = None
        if inc.date:
            parts = [*inc.date.split("-"), "01", "01"]
            d = date(int(parts[0]), int(parts[1]), int(parts[2]))
        m = Mention(
            document=doc,
            ordinal=i,
            event_type=str(inc.event_type),
            date=d,
            date_precision=inc.date_precision,
            place_name=p.name,
            city=p.city,
            district=p.district,
            province=p.province,
            country=p.country,
            lat=p.lat,
            lon=p.lon,
            geo_precision=p.precision,
            killed_total=inc.killed_total,
            injured_total=inc.injured_total,
            killed_foreign=inc.killed_foreign,
            injured_foreign=inc.injured_foreign,
            foreign_nationality=inc.foreign_nationality,
            perpetrator=inc.perpetrator,
            claimed=inc.claimed,
            is_new=inc.is_new,
            confidence=inc.confidence,
            evidence=[e.model_dump() for e in inc.evidence],
            created_at=stamp,
        )
        session.add(m)
        mentions.append(m)
    return doc, mentions


@telemetry.counts_ingest  # outcomes counted and logged (metrics, JSON logs) for every caller
def ingest_raw(
    store: Store, raw: RawDocument, item: Item, then: Callable[[Session, Outcome], None] | None = None
) -> Outcome:
    """Extract and store one report; duplicates are detected before any work is done. `then` runs in the storing
    transaction when there is one (see `_store_one`)."""
    with store.sessions() as session:
        if session.scalar(sa.select(Document.id).where(Document.sha256 == raw.sha256)):
            return Outcome(raw.path or raw.url or "input", "duplicate", "same bytes already ingested")
    doc = DEFAULT(prepare(raw, item.published))
    try:
        return _store_one(store, raw, to_result(doc), doc.text, item, then)
    except IntegrityError:
        # another process stored the same bytes between our check and our write
        return Outcome(raw.path or raw.url or "input", "duplicate", "same bytes already ingested")


def ingest_items(
    store: Store,
    items: Iterable[Item],
    max_bytes: int | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> Report:
    report = Report()
    for item in items:
        outcomes: list[Outcome] = []
        try:
            raws = read_path(item.path, max_bytes=max_bytes)
        except InputError as exc:
            outcomes.append(Outcome(str(item.path), "failed", str(exc)))
        else:
            if not raws:
                outcomes.append(Outcome(str(item.path), "failed", f"{item.path}: feed has no items"))
            for raw in raws:
                outcomes.append(ingest_raw(store, raw, item))
        for o in outcomes:
            if o.status == "failed":  # unreadable input never reaches ingest_raw: count it here
                telemetry.ingested(o)
            report.outcomes.append(o)
            if progress:
                progress(o)
    return report


def items_from_paths(paths: list[Path], published: date | None = None) -> list[Item]:
    return [Item(p, published) for p in expand_paths(paths)]
