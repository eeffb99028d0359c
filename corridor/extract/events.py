"""Events: the non-violent news a report carries (meetings, statements, policy), kept apart from incidents.

The place of a meeting (Baku, Beijing) is the event's place; it never becomes an incident location.
"""

from __future__ import annotations

from corridor.extract import lexicon as lx
from corridor.extract.document import Doc, Sentence
from corridor.extract.incidents import event_date, is_anchor
from corridor.model.enums import EventKind
from corridor.model.schemas import ExtractedEvent


def _kind(sent: Sentence) -> str | None:
    """Only events anchored in time or space are worth reporting; talk without either is not an event."""
    dated = event_date(sent) is not None
    if "meeting" in sent.flags and (dated or any(p.locative for p in sent.places)):
        return "meeting"
    if not dated:
        return None
    if lx.POLICY.search(sent.text) and "trigger" not in sent.flags:
        return "policy"
    if "statement" in sent.flags:
        return "statement"
    return None


def extract_events(doc: Doc) -> Doc:
    events: list[ExtractedEvent] = []
    for sent in doc.sentences:
        if sent.is_title or is_anchor(sent):
            continue
        kind = _kind(sent)
        if kind is None:
            continue
        d = event_date(sent)
        place = next((p.place.name for p in sent.places if p.locative), None) or next(
            (p.place.name for p in sent.places), None
        )
        summary = sent.text if len(sent.text) <= 240 else sent.text[:237].rsplit(" ", 1)[0] + "..."
        events.append(
            ExtractedEvent(
                kind=EventKind(kind),
                date=d.iso() if d else None,
                place=place,
                summary=summary,
            )
        )
    doc.events = events
    return doc
