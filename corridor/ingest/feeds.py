"""RSS/Atom feeds: each item becomes its own document (its own content hash, url and date)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import feedparser

from corridor.ingest.reader import InputError, RawDocument


def feed_items(data: bytes, *, path: str | None = None, url: str | None = None) -> Iterator[RawDocument]:
    where = path or url or "feed"
    parsed = feedparser.parse(data)
    if parsed.bozo and not parsed.entries:
        raise InputError(f"{where}: not a readable RSS/Atom feed ({parsed.get('bozo_exception')})")
    outlet = parsed.feed.get("title")
    for entry in parsed.entries:
        parts = [entry.get("title") or ""]
        contents = entry.get("content") or []
        body = contents[0].get("value") if contents else entry.get("summary") or entry.get("description") or ""
        parts.append(body)
        html = "<html><body><h1>{}</h1>{}</body></html>".format(*parts)
        published = None
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        if stamp:
            published = date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday)
        # The item's identity is its own content, not the feed file's: the same story in two snapshots
        # of a feed is one document.
        key = json.dumps(
            {"link": entry.get("link"), "title": entry.get("title"), "body": body},
            sort_keys=True,
            ensure_ascii=False,
        ).encode("utf-8")
        yield RawDocument(
            data=key,
            text=html,
            kind="rss-item",
            path=path,
            url=entry.get("link") or url,
            title=entry.get("title"),
            published=published,
            outlet=outlet,
        )
