"""Continuous intake: `corridor watch` polls feeds served on 127.0.0.1 and queues new reports; `corridor worker`
processes ingest them. Conditional GET, politeness and back-off are checked against what the local server saw;
workers are real processes, one of them killed mid-queue, and the picture is compared with a plain ingest."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa

from corridor import telemetry
from corridor.clock import now
from corridor.ingest.queue import claim, counts, enqueue, run_worker
from corridor.ingest.reader import RawDocument
from corridor.ingest.service import Item, ingest_items
from corridor.ingest.watch import FeedListError, FeedSpec, Watcher, load_feeds
from corridor.store.db import Store
from corridor.store.tables import Document, Feed, Job

from .conftest import ROOT
from .reports import REPORTS, variant
from .test_ingest import _picture


@dataclass
class Site:
    """What the local server serves (path -> body, headers, status) and what it was asked."""

    pages: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    seen: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)

    def requests(self, path: str) -> list[tuple[float, str, dict[str, str]]]:
        return [r for r in self.seen if r[1] == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            site.seen.append((time.monotonic(), self.path, headers))
            status, body, extra = site.pages.get(self.path, (404, b"not here", {}))
            etag = extra.get("ETag")
            if status == 200 and etag and headers.get("if-none-match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    s = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _rss(names: list[str]) -> bytes:
    items = []
    for name in names:
        published, text = REPORTS[name]
        title, body = text.split("\n", 1)
        day = time.strptime(published, "%Y-%m-%d")
        items.append(
            f"<item><title>{escape(title)}</title><link>https://news.example.org/{name}</link>"
            f"<pubDate>{time.strftime('%a, %d %b %Y 09:00:00 +0500', day)}</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Example Wire</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _count(store: Store, table: type, *where: sa.ColumnElement[bool]) -> int:
    with store.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


def test_feed_lists_are_checked_with_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "feeds.yaml"
    good.write_text("- url: https://a.example.org/rss\n  outlet: A\n  every: 10m\n- https://b.example.org/page\n")
    specs = load_feeds(good)
    assert [s.url for s in specs] == ["https://a.example.org/rss", "https://b.example.org/page"]
    assert specs[0].every == timedelta(minutes=10) and specs[0].outlet == "A" and specs[1].every is None
    cases = {
        "- url: ftp://x.example.org/\n": "feeds.yaml:1: url must be an http(s) address",
        "- url: https://a.example.org/\n- url: https://a.example.org/\n": "feeds.yaml:2: https://a.example.org/ is "
        "listed twice",
        "- url: https://a.example.org/\n  every: soon\n": "feeds.yaml:1: 'soon' is not a duration",
        "- url: https://a.example.org/\n  colour: red\n": "feeds.yaml:1: unknown key(s) colour",
        "url: https://a.example.org/\n": "feeds.yaml:1: expected a list of feeds",
        "- [unclosed\n": "not valid YAML",
    }
    shipped = load_feeds(ROOT / "deploy" / "feeds.example.yaml")  # the example the deployment recipes mount
    assert shipped and all(s.url.startswith("https://") for s in shipped)
    for text, message in cases.items():
        good.write_text(text)
        with pytest.raises(FeedListError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_feeds(good)


def test_watch_queues_new_items_once_and_workers_ingest_them(store: Store, site: tuple[Site, str]) -> None:
    srv, base = site
    srv.pages["/wire.xml"] = (200, _rss(["wire-early.txt", "quetta.txt"]), {"ETag": '"v1"'})
    stamp = format_datetime(now(), usegmt=True)
    page = f"<html><body><h1>Flash</h1><p>{REPORTS['field.txt'][1]}</p></body></html>".encode()
    srv.pages["/flash.html"] = (200, page, {"Last-Modified": stamp})
    specs = [FeedSpec(f"{base}/wire.xml", "Example Wire"), FeedSpec(f"{base}/flash.html")]
    watcher = Watcher(store, specs, politeness=0.0)
    try:
        first = {r.url: r for r in watcher.run(once=True)}
        assert first[f"{base}/wire.xml"].queued == 2 and first[f"{base}/flash.html"].queued == 1
        assert _count(store, Job, Job.status == "queued") == 3
        assert telemetry.queue_depth(store) == 3

        # unchanged: the feed answers 304 to its ETag, the page is sent again but its item is already queued
        second = {r.url: r for r in watcher.run(once=True)}
        assert second[f"{base}/wire.xml"].result == "unchanged"
        assert srv.requests("/wire.xml")[-1][2].get("if-none-match") == '"v1"'
        assert srv.requests("/flash.html")[-1][2].get("if-modified-since") == stamp
        assert second[f"{base}/flash.html"].queued == 0
        assert _count(store, Job) == 3

        # a new item in the feed: one job more, the old items are not queued twice
        srv.pages["/wire.xml"] = (200, _rss(["wire-early.txt", "quetta.txt", "daily-late.txt"]), {"ETag": '"v2"'})
        third = {r.url: r for r in watcher.run(once=True)}
        assert third[f"{base}/wire.xml"].items == 3 and third[f"{base}/wire.xml"].queued == 1
    finally:
        watcher.close()
    stats = run_worker(store, drain=True, poll=0.05)
    assert (stats.processed, stats.new) == (4, 4)
    assert _count(store, Document) == 4 and _count(store, Job, Job.status == "done") == 4
    assert telemetry.queue_depth(store) == 0
    with store.sessions() as s:
        outlets = {d.source.name if d.source else None for d in s.scalars(sa.select(Document))}
        assert outlets == {"Example Wire", None}
        # the two wire stories and the field report tell one attack: merged as ingest merges them
        incidents = {i.city for i in s.scalars(sa.select(Document)).all() for m in i.mentions for i in [m.incident]}
        assert incidents == {"Besham", "Quetta"}
    # once stored, a report is never queued again, even if its job row is gone
    with store.transaction() as s:
        s.execute(sa.delete(Job))
    with store.transaction() as s:
        raw = next(iter(watcher_raws(srv, "/wire.xml", base)))
        assert enqueue(s, raw) is False


def watcher_raws(srv: Site, path: str, base: str) -> list[RawDocument]:
    from corridor.ingest.reader import read_bytes

    return list(read_bytes(srv.pages[path][1], url=f"{base}{path}"))


def test_politeness_backoff_and_retry_after(store: Store, site: tuple[Site, str]) -> None:
    srv, base = site
    srv.pages["/a.xml"] = (200, _rss(["quetta.txt"]), {})
    srv.pages["/b.xml"] = (200, _rss(["wire-early.txt"]), {})
    srv.pages["/down.xml"] = (500, b"oops", {})
    srv.pages["/busy.xml"] = (503, b"later", {"Retry-After": "3600"})
    every = timedelta(minutes=10)
    specs = [FeedSpec(f"{base}/{n}.xml") for n in ("a", "b", "down", "busy")]
    watcher = Watcher(store, specs, every=every, politeness=0.4)
    try:
        results = {r.url.rsplit("/", 1)[1]: r for r in watcher.poll_due()}
        # four feeds on one host: every request waited the politeness gap after the one before
        times = sorted(t for t, _, _ in srv.seen)
        assert len(times) == 4 and min(b - a for a, b in itertools.pairwise(times)) >= 0.35
        assert results["down.xml"].result == "failed" and "HTTP 500" in (results["down.xml"].error or "")
        assert watcher.due() == []  # nothing is due again right away
        with store.sessions() as s:
            feeds = {f.url.rsplit("/", 1)[1]: f for f in s.scalars(sa.select(Feed))}
        ok, down, busy = feeds["a.xml"], feeds["down.xml"], feeds["busy.xml"]
        assert ok.failures == 0 and ok.next_poll_at - ok.last_polled_at == every
        assert down.failures == 1 and down.next_poll_at - down.last_polled_at == 2 * every
        assert down.last_status == 500 and "HTTP 500" in down.last_error
        assert busy.next_poll_at - busy.last_polled_at >= timedelta(seconds=3600)
        # a second failure doubles the wait again; a success resets it
        watcher.poll(f"{base}/down.xml")
        srv.pages["/down.xml"] = (200, _rss(["field.txt"]), {})
        with store.sessions() as s:
            assert s.scalars(sa.select(Feed).where(Feed.url == f"{base}/down.xml")).one().failures == 2
        assert watcher.poll(f"{base}/down.xml").queued == 1
        with store.sessions() as s:
            mended = s.scalars(sa.select(Feed).where(Feed.url == f"{base}/down.xml")).one()
            assert mended.failures == 0 and mended.last_error is None
    finally:
        watcher.close()


def test_a_job_whose_worker_died_comes_back_after_its_lease(store: Store) -> None:
    with store.transaction() as s:
        for i in range(3):
            body = variant(i).encode()
            enqueue(s, RawDocument(data=body, text=body.decode(), kind="text", url=f"https://x.example.org/{i}"))
    dead = claim(store, "dead-worker:1", lease=timedelta(seconds=1))
    assert dead is not None and dead.attempts == 1
    # while its lease runs, nobody else takes it
    stats = run_worker(store, worker="live:2", drain=True, poll=0.1, lease=timedelta(seconds=30))
    assert stats.processed == 3 and stats.new == 3  # the two free jobs, then the dead worker's once its lease ran out
    with store.sessions() as s:
        jobs = {j.id: j for j in s.scalars(sa.select(Job))}
        assert {j.status for j in jobs.values()} == {"done"}
        assert jobs[dead.id].attempts == 2 and jobs[dead.id].worker == "live:2"
    assert _count(store, Document) == 3


def test_a_job_claimed_too_often_is_given_up(store: Store) -> None:
    with store.transaction() as s:
        body = variant(7).encode()
        enqueue(s, RawDocument(data=body, text=body.decode(), kind="text"))
    for attempt in range(1, 4):
        job = claim(store, f"w:{attempt}", lease=timedelta(0), max_attempts=3)
        assert job is not None and job.attempts == attempt
        time.sleep(0.01)
    assert claim(store, "w:4", lease=timedelta(0), max_attempts=3) is None
    with store.sessions() as s:
        job_row = s.scalars(sa.select(Job)).one()
        assert job_row.status == "failed" and "given up after 3 attempts" in (job_row.error or "")
        assert counts(s)["failed"] == 1


def test_workers_killed_mid_queue_lose_and_duplicate_nothing(
    tmp_path: Path, store: Store, new_store_url: Callable[..., str]
) -> None:
    """Two `corridor worker` processes share a queue; one is SIGKILLed while it works. A third drains what is left
    (the killed worker's job comes back when its lease runs out): every report is stored exactly once and the
    picture equals a plain `ingest` of the same reports."""
    n = 60
    folder = tmp_path / "reports"
    folder.mkdir()
    with store.transaction() as s:
        for i in range(n):
            body = variant(i).encode()
            (folder / f"r{i:03d}.txt").write_bytes(body)
            enqueue(s, RawDocument(data=body, text=body.decode(), kind="text", path=str(folder / f"r{i:03d}.txt")))
    env = {**os.environ, "CORRIDOR_HOME": str(tmp_path / "home"), "CORRIDOR_DATABASE_URL": store.url}
    cmd = [sys.executable, "-m", "corridor.cli.main", "worker", "--lease", "2s", "--poll", "0.1", "--drain"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    deadline = time.time() + 120
    while time.time() < deadline and _count(store, Document) < 10:
        time.sleep(0.05)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait(timeout=30)
    killed_at = _count(store, Document)
    assert killed_at < n, "the queue was drained before the kill"
    survivor = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert survivor.returncode == 0, survivor.stderr
    _, err = procs[1].communicate(timeout=300)
    assert procs[1].returncode == 0, err
    assert _count(store, Document) == n
    assert _count(store, Job, Job.status == "done") == n
    with store.sessions() as s:
        assert s.scalar(sa.select(sa.func.count(sa.distinct(Document.sha256)))) == n
    ref = Store(new_store_url("ref"))
    ref.upgrade()
    ingest_items(ref, [Item(p) for p in sorted(folder.iterdir())])
    assert _picture(store) == _picture(ref)
    ref.dispose()


def test_watch_and_queue_commands(tmp_path: Path, site: tuple[Site, str], new_store_url: Callable[..., str]) -> None:
    srv, base = site
    srv.pages["/wire.xml"] = (200, _rss(["quetta.txt", "wire-early.txt"]), {"ETag": '"a"'})
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"- url: {base}/wire.xml\n  outlet: Example Wire\n- url: {base}/gone.xml\n")
    env = {**os.environ, "CORRIDOR_HOME": str(tmp_path / "home"), "CORRIDOR_DATABASE_URL": new_store_url()}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "corridor.cli.main", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )

    watched = cli("watch", str(feeds), "--once", "--politeness", "0")
    assert watched.returncode == 0, watched.stderr
    assert "changed" in watched.stdout and "2 queued" in watched.stdout and "HTTP 404" in watched.stdout
    status = cli("queue", "status")
    assert "queued 2" in status.stdout and "wire.xml" in status.stdout
    worked = cli("worker", "--drain")
    assert worked.returncode == 0 and "jobs 2: new 2" in worked.stdout, worked.stderr
    assert "queued 0" in cli("queue", "status").stdout and "done 2" in cli("queue", "status").stdout
    feeds.write_text("- url: nowhere\n")
    bad = cli("watch", str(feeds), "--once")
    assert bad.returncode == 2 and "feeds.yaml:1: url must be an http(s) address" in bad.stderr
