"""Back-fill on Dask: archives (JSONL, WARC, folders) extracted in partitions on real local clusters give the same
incident picture as a single-process ingest of the same reports, whatever the partitioning; an interrupted run
resumes where it stopped; bad records fail alone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from corridor.ingest.backfill import BackfillError, PartitionResult, backfill, index_archives
from corridor.ingest.service import Item, ingest_items
from corridor.store.db import Store
from corridor.store.tables import BackfillPartition, Document

from .conftest import ROOT
from .reports import REPORTS, variant
from .test_ingest import _picture


def _corpus(folder: Path, n: int = 30) -> list[tuple[Path, str]]:
    """The test reports plus `n` distinct ones, as files with their publication dates."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (published, text) in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
        out.append((folder / name, published))
    for i in range(n):
        p = folder / f"v{i:03d}.txt"
        p.write_text(variant(i), encoding="utf-8")
        out.append((p, f"2023-{1 + (i // 28) % 12:02d}-28"))
    return out


def _jsonl(files: list[tuple[Path, str]], path: Path, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [
        json.dumps({"url": f"https://news.example.org/{p.name}", "published": pub, "text": p.read_text()})
        for p, pub in files
    ]
    path.write_text("\n".join([*lines[:5], *extra, *lines[5:]]) + "\n", encoding="utf-8")
    return path


def _count(store: Store, table: type) -> int:
    with store.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


@pytest.fixture
def reference(tmp_path: Path, new_store_url: Callable[..., str]) -> Iterator[tuple[list[tuple[Path, str]], Store]]:
    files = _corpus(tmp_path / "reports")
    ref = Store(new_store_url("reference"))
    ref.upgrade()
    ingest_items(ref, [Item(p, date.fromisoformat(pub)) for p, pub in files])
    yield files, ref
    ref.dispose()


def test_backfill_equals_a_single_ingest_whatever_the_partitioning(
    tmp_path: Path, new_store_url: Callable[..., str], reference: tuple[list[tuple[Path, str]], Store]
) -> None:
    files, ref = reference
    archive = _jsonl(files, tmp_path / "archive.jsonl")
    expected = _picture(ref)
    assert len(expected) > 20
    from distributed import LocalCluster

    # two partitionings, two kinds of scheduler: a local cluster made by corridor, a running one reached over tcp
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        for size, scheduler in ((4, "local"), (11, cluster.scheduler_address)):
            store = Store(new_store_url(f"p{size}"))
            store.upgrade()
            report = backfill(store, [archive], scheduler=scheduler, workers=2, partition_size=size)
            assert report.units == len(files) and report.new == len(files) and report.failed == 0
            assert report.partitions == -(-len(files) // size)
            assert _count(store, Document) == len(files)
            assert _picture(store) == expected, f"partition size {size}"
            store.dispose()


def test_an_interrupted_backfill_resumes_and_skips_finished_partitions(
    tmp_path: Path, new_store_url: Callable[..., str], reference: tuple[list[tuple[Path, str]], Store]
) -> None:
    files, ref = reference
    archive = _jsonl(files, tmp_path / "archive.jsonl", extra=["{not json", '{"url": "https://x.example.org/"}'])
    store = Store(new_store_url())
    store.upgrade()
    seen: list[int] = []

    def stop_after_two(res: PartitionResult, total: int) -> None:
        seen.append(res.partition)
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C between partitions

    with pytest.raises(KeyboardInterrupt):
        backfill(store, [archive], workers=1, partition_size=6, progress=stop_after_two)
    total = -(-(len(files) + 2) // 6)
    with store.sessions() as s:
        finished = s.scalars(sa.select(BackfillPartition)).all()
        # the partitions that were done when the run stopped, and no half-stored one: a finished partition is
        # wholly stored, an unfinished one not at all
        assert 2 <= len(finished) < total
        assert _count(store, Document) == sum(p.new for p in finished)
    report = backfill(store, [archive], workers=1, partition_size=6)
    assert report.skipped == len(finished) and report.partitions == total
    assert report.failed + sum(p.failed for p in finished) == 2
    assert _count(store, Document) == len(files)
    assert _picture(store) == _picture(ref)
    again = backfill(store, [archive], workers=1, partition_size=6)
    assert again.skipped == again.partitions and again.new == 0
    store.dispose()


def test_warc_and_folder_archives(tmp_path: Path, new_store_url: Callable[..., str]) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    warc = tmp_path / "crawl.warc.gz"
    with warc.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for name in ("quetta.txt", "wire-early.txt"):
            published, text = REPORTS[name]
            title, body = text.split("\n", 1)
            html = (
                f'<html><head><meta property="article:published_time" content="{published}"></head>'
                f"<body><h1>{title}</h1><p>{body}</p></body></html>"
            ).encode()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    f"https://news.example.org/{name}", "response", payload=io.BytesIO(html), http_headers=headers
                )
            )
        gone = StatusAndHeaders("404 Not Found", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                "https://news.example.org/gone", "response", payload=io.BytesIO(b"<html>gone</html>"), http_headers=gone
            )
        )
    folder = tmp_path / "folder"
    _corpus(folder, n=3)
    units = index_archives([warc, folder])
    assert [u.kind for u in units].count("warc") == 2  # the 404 is not a report
    store = Store(new_store_url())
    store.upgrade()
    report = backfill(store, [warc, folder], workers=1, partition_size=50)
    assert report.new == 2 + len(REPORTS) + 3 and report.failed == 0
    with store.sessions() as s:
        crawled = s.scalars(sa.select(Document).where(Document.url == "https://news.example.org/quetta.txt")).one()
        assert crawled.published == date(2024, 11, 9)  # from the page's own metadata
        (incident,) = {m.incident for m in crawled.mentions}
        assert (incident.city, incident.date, incident.killed_total) == ("Quetta", date(2024, 11, 9), 26)
    store.dispose()


def test_missing_and_damaged_archives_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BackfillError, match="no such file"):
        index_archives([tmp_path / "nowhere.jsonl"])
    bad = tmp_path / "bad.warc"
    bad.write_bytes(b"this is not a warc file\r\n\r\n")
    with pytest.raises(BackfillError, match="not a readable WARC archive"):
        index_archives([bad])


def test_backfill_command(tmp_path: Path, new_store_url: Callable[..., str]) -> None:
    files = _corpus(tmp_path / "reports", n=4)
    archive = _jsonl(files, tmp_path / "archive.jsonl")
    env = {**os.environ, "CORRIDOR_HOME": str(tmp_path / "home"), "CORRIDOR_DATABASE_URL": new_store_url()}
    cmd = [sys.executable, "-m", "corridor.cli.main", "backfill", str(archive), "--workers", "1"]
    done = subprocess.run([*cmd, "--partition-size", "3"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"reports {len(files)} in 3 partitions (0 already done): new {len(files)}" in done.stdout
    again = subprocess.run([*cmd, "--partition-size", "3"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert "(3 already done): new 0" in again.stdout
    missing = subprocess.run(
        [*cmd[:4], str(tmp_path / "none.jsonl")], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "none.jsonl: no such file" in missing.stderr
