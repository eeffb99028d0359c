"""Bytes in, decoded text out, or one clear error saying why not.

A reader never guesses silently: empty files, binary files, files over the size limit and undecodable
bytes raise InputError with a message meant for the person who gave us the file.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from charset_normalizer import from_bytes

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
FEED_SUFFIXES = {".rss", ".atom", ".xml"}


class InputError(Exception):
    """A report we cannot read, with a reason fit to show the user."""


@dataclass
class RawDocument:
    """One report's bytes and what we know of it before extraction."""

    data: bytes
    text: str  # decoded, not yet cleaned
    kind: str  # text | html | rss-item
    path: str | None = None
    url: str | None = None
    title: str | None = None
    published: date | None = None
    outlet: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]


def decode(data: bytes, where: str = "input") -> str:
    """Decode report bytes: BOM first, then strict UTF-8, then the best detected legacy encoding."""
    if not data.strip():
        raise InputError(f"{where}: empty file")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(enc)
            except UnicodeDecodeError as exc:
                raise InputError(f"{where}: declares {enc} by its byte-order mark but is not valid {enc}") from exc
    if b"\x00" in data[:4096]:
        raise InputError(f"{where}: binary file (contains NUL bytes), not a text, HTML or feed document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data[:200_000]).best()
        if best is None or best.encoding is None:
            raise InputError(f"{where}: not text in any encoding we recognise") from None
        try:
            text = data.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            text = data.decode("cp1252", errors="replace")
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\r\n\t\f")
    if controls > max(8, len(text[:4096]) // 50):
        raise InputError(f"{where}: binary file (control characters), not a text, HTML or feed document")
    return text


_HTML_SNIFF = re.compile(r"^\s*(<!doctype html|<html|<head|<body|<article|<div|<p[ >])", re.I)
_FEED_SNIFF = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(rss|feed|rdf:RDF)\b", re.I | re.S)


def sniff_kind(text: str, suffix: str = "") -> str:
    """'html', 'feed' or 'text', from the content first and the file name second."""
    head = text[:2048]
    if _FEED_SNIFF.match(head):
        return "feed"
    if _HTML_SNIFF.match(head) or suffix in HTML_SUFFIXES:
        return "html"
    return "text"


def read_bytes(
    data: bytes, *, path: str | None = None, url: str | None = None, max_bytes: int | None = None
) -> Iterator[RawDocument]:
    """Documents in one input: one for a text or HTML page, one per item for a feed."""
    where = path or url or "input"
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(
            f"{where}: {len(data) / 1e6:.1f} MB is over the {max_bytes / 1e6:.1f} MB limit per "
            "document (set CORRIDOR_MAX_DOCUMENT_BYTES to raise it)"
        )
    text = decode(data, where)
    kind = sniff_kind(text, Path(path).suffix.lower() if path else "")
    if kind == "feed":
        from corridor.ingest.feeds import feed_items

        yield from feed_items(data, path=path, url=url)
        return
    yield RawDocument(data=data, text=text, kind=kind, path=path, url=url)


def read_path(path: Path, *, max_bytes: int | None = None) -> list[RawDocument]:
    """Read one file; raises InputError for anything we cannot use."""
    where = str(path)
    if not path.exists():
        raise InputError(f"{where}: no such file")
    if path.is_dir():
        raise InputError(f"{where}: is a directory")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise InputError(
                f"{where}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.1f} MB limit per "
                "document (set CORRIDOR_MAX_DOCUMENT_BYTES to raise it)"
            )
        data = path.read_bytes()
    except PermissionError as exc:
        raise InputError(f"{where}: permission denied") from exc
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or exc})") from exc
    return list(read_bytes(data, path=where, max_bytes=max_bytes))


def expand_paths(paths: list[Path]) -> Iterator[Path]:
    """Files under the given paths (folders walked in sorted order; hidden files skipped)."""
    for p in paths:
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if (child.is_file() or child.is_symlink()) and not any(
                    part.startswith(".") for part in child.relative_to(p).parts
                ):
                    yield child
        else:
            yield p
