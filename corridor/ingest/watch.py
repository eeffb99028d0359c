"""`corridor watch`: poll RSS/Atom feeds and pages, and queue what is new for the workers.

A feed list is a YAML file, versioned with the deployment like the SOP rules:

    - url: https://news.example.org/pakistan/rss
      outlet: Example News
      every: 15m          # optional; the watcher's --every otherwise
    - url: https://agency.example.org/advisories/latest.html

Each poll is a conditional GET (If-None-Match / If-Modified-Since from the last answer's ETag and Last-Modified),
so an unchanged feed costs the publisher a 304 and us nothing. Requests to one host are spaced by at least the
politeness gap, whatever the number of feeds on it. A failure (network error, HTTP error, unreadable body) backs
that feed off exponentially (every x 2^failures, at most six hours), and a 429 or 503 with Retry-After is obeyed.
The watcher only fetches and queues (corridor.ingest.queue): extraction and merging are the workers' job, so a
slow extraction never delays polling and several workers can share a busy intake.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
import yaml

from corridor import __version__, telemetry
from corridor.clock import now, parse_duration
from corridor.ingest.queue import enqueue
from corridor.ingest.reader import InputError, read_bytes
from corridor.logs import event
from corridor.store.db import Store
from corridor.store.tables import Feed

MAX_BACKOFF = timedelta(hours=6)


class FeedListError(ValueError):
    """A feed list that cannot be used, with file:line and the reason."""


def parse_interval(text: str) -> timedelta:
    """'90s', '15m', '1h' (or a bare number of seconds)."""
    return timedelta(seconds=parse_duration(str(text)))


@dataclass(frozen=True)
class FeedSpec:
    url: str
    outlet: str | None = None
    every: timedelta | None = None
    source: str = ""  # file:line


def load_feeds(path: Path) -> list[FeedSpec]:
    """The feeds of a list file; a bad file is refused whole, with the line and the reason."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise FeedListError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise FeedListError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        raise FeedListError(f"{path}:1: the list is empty")
    if not isinstance(data, list) or node is None or not isinstance(node.value, list):
        raise FeedListError(f"{path}:1: expected a list of feeds (- url: ...)")
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for entry, sub in zip(data, node.value, strict=True):
        where = f"{path}:{sub.start_mark.line + 1}"
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise FeedListError(f"{where}: expected a url or a mapping with url, outlet, every")
        unknown = set(entry) - {"url", "outlet", "every"}
        if unknown:
            raise FeedListError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        url = entry.get("url")
        parts = urlsplit(str(url or ""))
        if not isinstance(url, str) or parts.scheme not in ("http", "https") or not parts.netloc:
            raise FeedListError(f"{where}: url must be an http(s) address, got {url!r}")
        if url in seen:
            raise FeedListError(f"{where}: {url} is listed twice")
        seen.add(url)
        every = None
        if entry.get("every") is not None:
            try:
                every = parse_interval(entry["every"])
            except ValueError as exc:
                raise FeedListError(f"{where}: {exc}") from None
        outlet = entry.get("outlet")
        specs.append(FeedSpec(url, str(outlet) if outlet else None, every, where))
    return specs


def register(store: Store, specs: list[FeedSpec]) -> None:
    """Make sure every listed feed has its row (validators and schedule of known feeds are kept)."""
    with store.transaction() as session:
        known = {f.url: f for f in session.scalars(sa.select(Feed).where(Feed.url.in_([s.url for s in specs])))}
        for spec in specs:
            row = known.get(spec.url)
            if row is None:
                session.add(Feed(url=spec.url, outlet=spec.outlet, failures=0, items_seen=0, created_at=now()))
            elif row.outlet != spec.outlet:
                row.outlet = spec.outlet


class HostGate:
    """At least `gap` seconds between two requests to one host (politeness), across all its feeds."""

    def __init__(self, gap: float, stop: threading.Event) -> None:
        self.gap = gap
        self.stop = stop
        self.last: dict[str, float] = {}

    def wait(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        previous = self.last.get(host)
        if previous is not None:
            delay = previous + self.gap - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
        self.last[host] = time.monotonic()


@dataclass
class PollResult:
    url: str
    result: str  # changed | unchanged | failed
    queued: int = 0
    items: int = 0
    error: str | None = None


def _retry_after(value: str | None, at: datetime) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), when - at) if when.tzinfo else None


class Watcher:
    """Polls the feeds of one list against one store."""

    def __init__(
        self,
        store: Store,
        specs: list[FeedSpec],
        *,
        every: timedelta = timedelta(minutes=15),
        politeness: float = 2.0,
        max_bytes: int | None = None,
        timeout: float = 20.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.specs = {s.url: s for s in specs}
        self.every = every
        self.max_bytes = max_bytes
        self.stop = stop or threading.Event()
        self.gate = HostGate(politeness, self.stop)
        self.client = httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": f"corridor/{__version__} (feed watcher)"}
        )
        register(store, specs)

    def close(self) -> None:
        self.client.close()

    def interval(self, url: str) -> timedelta:
        spec = self.specs.get(url)
        return (spec.every if spec and spec.every else None) or self.every

    def due(self) -> list[str]:
        """Listed feeds whose next poll is now or past, soonest first."""
        t = now()
        with self.store.sessions() as session:
            rows = session.execute(sa.select(Feed.url, Feed.next_poll_at).where(Feed.url.in_(list(self.specs)))).all()
        due = [(at or datetime.min.replace(tzinfo=t.tzinfo), url) for url, at in rows if at is None or at <= t]
        return [url for _, url in sorted(due)]

    def next_due_in(self) -> float:
        """Seconds until the next listed feed is due (0 when one is due now)."""
        with self.store.sessions() as session:
            soonest = session.scalar(sa.select(sa.func.min(Feed.next_poll_at)).where(Feed.url.in_(list(self.specs))))
        if soonest is None:
            return 0.0
        if soonest.tzinfo is None:
            soonest = soonest.replace(tzinfo=now().tzinfo)
        return max(0.0, (soonest - now()).total_seconds())

    def poll_due(self) -> list[PollResult]:
        results = []
        for url in self.due():
            if self.stop.is_set():
                break
            results.append(self.poll(url))
        return results

    def poll(self, url: str) -> PollResult:
        """One conditional GET of one feed; new items are queued in the same transaction that records the poll."""
        with self.store.sessions() as session:
            feed = session.scalars(sa.select(Feed).where(Feed.url == url)).one()
            etag, modified, failures, outlet = feed.etag, feed.last_modified, feed.failures, feed.outlet
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        self.gate.wait(url)
        started = now()
        status: int | None = None
        retry_after: timedelta | None = None
        try:
            body, status, new_etag, new_modified, retry_after = self._get(url, headers, started)
            if status == 304:
                return self._record(url, PollResult(url, "unchanged"), status, etag, modified, 0)
            raws = list(read_bytes(body, url=url, max_bytes=self.max_bytes))
        except (httpx.HTTPError, InputError, _HttpStatus) as exc:
            if isinstance(exc, _HttpStatus):
                status, retry_after = exc.status, exc.retry_after
            error = str(exc) if not isinstance(exc, httpx.HTTPError) else f"{url}: {type(exc).__name__}: {exc}"
            return self._record(
                url, PollResult(url, "failed", error=error), status, etag, modified, failures + 1, retry_after
            )
        queued = 0
        with self.store.transaction() as session:
            for raw in raws:
                queued += enqueue(session, raw, outlet=outlet)
            self._update(session, url, status, new_etag, new_modified, 0, None, len(raws))
        result = PollResult(url, "changed", queued=queued, items=len(raws))
        telemetry.FEED_POLLS.labels("changed").inc()
        event("watch.polled", url=url, status=status, items=len(raws), queued=queued)
        return result

    def _get(
        self, url: str, headers: dict[str, str], at: datetime
    ) -> tuple[bytes, int, str | None, str | None, timedelta | None]:
        with self.client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 304:
                return b"", 304, None, None, None
            if resp.status_code >= 400:
                raise _HttpStatus(url, resp.status_code, _retry_after(resp.headers.get("retry-after"), at))
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if self.max_bytes is not None and size > self.max_bytes:
                    raise InputError(f"{url}: larger than the {self.max_bytes / 1e6:.1f} MB limit per document")
                chunks.append(chunk)
            return (
                b"".join(chunks),
                resp.status_code,
                resp.headers.get("etag"),
                resp.headers.get("last-modified"),
                None,
            )

    def _record(
        self,
        url: str,
        result: PollResult,
        status: int | None,
        etag: str | None,
        modified: str | None,
        failures: int,
        retry_after: timedelta | None = None,
    ) -> PollResult:
        with self.store.transaction() as session:
            self._update(session, url, status, etag, modified, failures, result.error, 0, retry_after)
        telemetry.FEED_POLLS.labels(result.result).inc()
        level = logging.WARNING if result.result == "failed" else logging.INFO
        event("watch.polled", level=level, url=url, status=status, result=result.result, error=result.error)
        return result

    def _update(
        self,
        session: sa.orm.Session,
        url: str,
        status: int | None,
        etag: str | None,
        modified: str | None,
        failures: int,
        error: str | None,
        items: int,
        retry_after: timedelta | None = None,
    ) -> None:
        t = now()
        wait = self.interval(url)
        if failures:
            wait = min(wait * 2**failures, MAX_BACKOFF)
        if retry_after is not None:
            wait = max(wait, retry_after)
        feed = session.scalars(sa.select(Feed).where(Feed.url == url)).one()
        feed.last_polled_at = t
        feed.next_poll_at = t + wait
        feed.last_status = status
        feed.failures = failures
        feed.last_error = error
        feed.items_seen += items
        if not failures:
            feed.etag, feed.last_modified = etag, modified

    def run(self, once: bool = False) -> list[PollResult]:
        """Poll what is due until stopped (SIGTERM/SIGINT through `stop`); `once`: one round of every listed feed."""
        if once:
            return [self.poll(url) for url in self.specs if not self.stop.is_set()]
        results: list[PollResult] = []
        while not self.stop.is_set():
            results.extend(self.poll_due())
            self.stop.wait(min(self.next_due_in(), 60.0) or 0.5)
        return results


class _HttpStatus(Exception):
    def __init__(self, url: str, status: int, retry_after: timedelta | None) -> None:
        super().__init__(f"{url}: HTTP {status}")
        self.status = status
        self.retry_after = retry_after
