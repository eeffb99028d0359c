"""One id scheme: random UUIDs for records, name-based UUIDs where a value must be reproducible."""

from __future__ import annotations

import uuid

# Namespace for ids derived from content (mentions, incidents created by merging). STIX ids derive from
# record ids with their own namespace in share/.
CORRIDOR_NS = uuid.UUID("6f1d8a62-4c55-5e0e-9a43-2f3c8e8b1c00")


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(*parts: object) -> str:
    """A stable id from parts: the same inputs give the same id on every machine and every run."""
    return str(uuid.uuid5(CORRIDOR_NS, "\x1f".join(str(p) for p in parts)))
