"""`corridor backfill`: extract a news archive in parallel partitions on a Dask cluster and merge it into the store.

Archives are JSONL files (one `{"url", "published", "outlet", "title", "html" | "text"}` per line), WARC files
(`.warc`, `.warc.gz`: every HTTP 200 response or resource record is a report) or folder trees of .txt/.html/feed
files. The driver first indexes them (where each report starts and ends: cheap, sequential), then cuts the index
into partitions of `partition_size` reports. A Dask task per partition reads its reports itself, runs the
extraction pipeline (pure: no store, no network) and stores the partition in one transaction together with a
`backfill_partitions` row, taking its turn for the merge; so a partition is either wholly in the store or not at
all, and a re-run of the same archives with the same partitioning skips what is already there. Only the small
per-partition counts come back to the driver.

The result does not depend on the partitioning or on the order partitions finish in: the merge is
order-independent (corridor.ingest.merge) and documents are keyed by content hash, so a back-fill gives the
incidents a single-process `corridor ingest` of the same reports gives. Back-filled history raises no proximity
alerts: old incidents are not news to the people near them.

Where the work runs: `local` starts a LocalCluster of `workers` processes on this machine; `tcp://HOST:PORT`
uses a running `dask scheduler` whose workers can import corridor, read the archive paths and reach the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from corridor.clock import now
from corridor.extract.pipeline import DEFAULT, prepare, to_result
from corridor.ingest.merge import merge_mentions
from corridor.ingest.reader import InputError, RawDocument, expand_paths, read_bytes, read_path
from corridor.ingest.service import MERGE_LOCK, Item, Outcome, add_document
from corridor.model.schemas import ExtractionResult
from corridor.store.db import Store, serialize
from corridor.store.tables import BackfillPartition, Document, Mention

WARC_SUFFIXES = (".warc", ".warc.gz")


class BackfillError(ValueError):
    """An archive that cannot be back-filled, with the reason."""


@dataclass(frozen=True)
class Unit:
    """Where one report (or, for a feed file, several) lies: a whole file, or a byte range of an archive."""

    archive: str
    kind: str  # file | jsonl | warc
    offset: int = 0
    length: int = -1


# ---------------------------------------------------------------- indexing


def _jsonl_units(path: Path) -> Iterator[Unit]:
    offset = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                yield Unit(str(path), "jsonl", offset, len(line))
            offset += len(line)


def _warc_units(path: Path) -> Iterator[Unit]:
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            if record.format not in ("warc", "arc2warc"):
                # warcio reads anything it cannot parse as a WARC header as an old ARC line: refuse it instead
                raise BackfillError(
                    f"{path}: not a readable WARC archive (a {record.format} record at byte {it.get_record_offset()})"
                )
            wanted = record.rec_type == "resource" or (
                record.rec_type == "response"
                and record.http_headers is not None
                and record.http_headers.get_statuscode() == "200"
            )
            offset = it.get_record_offset()
            record.content_stream().read()  # reach the record's end, so its length is known
            if wanted:
                yield Unit(str(path), "warc", offset, it.get_record_length())


def index_archives(paths: Iterable[Path]) -> list[Unit]:
    """Every report unit of the archives, in a stable order (arguments in order, folders sorted, archives in file
    order). Raises BackfillError for an archive that does not exist or cannot be read."""
    units: list[Unit] = []
    for path in paths:
        if not path.exists():
            raise BackfillError(f"{path}: no such file or folder")
        files = list(expand_paths([path])) if path.is_dir() else [path]
        for f in files:
            name = f.name.lower()
            try:
                if name.endswith(".jsonl"):
                    units.extend(_jsonl_units(f))
                elif name.endswith(WARC_SUFFIXES):
                    units.extend(_warc_units(f))
                else:
                    units.append(Unit(str(f), "file"))
            except OSError as exc:
                raise BackfillError(f"{f}: cannot read ({exc.strerror or exc})") from exc
            except BackfillError:
                raise
            except Exception as exc:  # warcio's own errors for a damaged archive
                if not name.endswith(WARC_SUFFIXES):
                    raise
                raise BackfillError(f"{f}: not a readable WARC archive ({type(exc).__name__}: {exc})") from exc
    return units


def run_key(units: list[Unit], partition_size: int) -> str:
    """A fingerprint of the archives as they are now (files, sizes, modification times, the units in them) and of
    the partitioning: a re-run with the same key may skip the partitions it finished."""
    h = hashlib.sha256(f"partition_size={partition_size}\n".encode())
    stamps: dict[str, tuple[int, int]] = {}
    for u in units:
        if u.archive not in stamps:
            st = os.stat(u.archive)
            stamps[u.archive] = (st.st_size, st.st_mtime_ns)
        h.update(json.dumps([u.archive, u.kind, u.offset, u.length, *stamps[u.archive]]).encode())
    return h.hexdigest()


def partitions(units: list[Unit], partition_size: int) -> list[list[Unit]]:
    return [units[i : i + partition_size] for i in range(0, len(units), partition_size)]


# ---------------------------------------------------------------- extraction (runs on the Dask workers)


@dataclass
class Extracted:
    """One report of a partition: extracted, or refused with the reader's reason."""

    where: str
    raw: RawDocument | None = None
    result: ExtractionResult | None = None
    text: str = ""
    item: Item | None = None
    error: str | None = None


def _read_unit(unit: Unit, max_bytes: int | None) -> list[tuple[RawDocument, Item]]:
    where = unit.archive if unit.kind == "file" else f"{unit.archive}@{unit.offset}"
    if unit.kind == "file":
        return [(raw, Item(Path(unit.archive), None)) for raw in read_path(Path(unit.archive), max_bytes=max_bytes)]
    with open(unit.archive, "rb") as fh:
        fh.seek(unit.offset)
        blob = fh.read(unit.length)
    if unit.kind == "jsonl":
        return _jsonl_record(blob, where, max_bytes)
    return _warc_record(blob, where, max_bytes)


def _jsonl_record(blob: bytes, where: str, max_bytes: int | None) -> list[tuple[RawDocument, Item]]:
    try:
        obj = json.loads(blob)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not a JSON line ({exc})") from exc
    if not isinstance(obj, dict):
        raise InputError(f"{where}: a JSON line must be an object")
    body = obj.get("html") if obj.get("html") is not None else obj.get("text")
    if not isinstance(body, str):
        raise InputError(f"{where}: the record has neither html nor text")
    try:
        published = date.fromisoformat(obj["published"]) if obj.get("published") else None
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: published {obj.get('published')!r} is not a YYYY-MM-DD date") from exc
    url = obj.get("url") if isinstance(obj.get("url"), str) else None
    outlet = obj.get("outlet") if isinstance(obj.get("outlet"), str) else None
    out = []
    for raw in read_bytes(body.encode("utf-8"), url=url, max_bytes=max_bytes):
        raw.path = raw.path or where
        raw.title = raw.title or obj.get("title")
        out.append((raw, Item(Path(where), published, url, outlet)))
    return out


def _warc_record(blob: bytes, where: str, max_bytes: int | None) -> list[tuple[RawDocument, Item]]:
    import io

    from warcio.archiveiterator import ArchiveIterator

    try:
        record = next(iter(ArchiveIterator(io.BytesIO(blob))))
        url = record.rec_headers.get_header("WARC-Target-URI")
        payload = record.content_stream().read()
    except Exception as exc:  # warcio raises its own types for a damaged record
        raise InputError(f"{where}: unreadable WARC record ({type(exc).__name__}: {exc})") from exc
    return [(raw, Item(Path(where), None, url)) for raw in read_bytes(payload, url=url, max_bytes=max_bytes)]


def extract_partition(units: list[Unit], max_bytes: int | None = None) -> list[Extracted]:
    """Read and extract every report of one partition (a Dask task: no store, no network)."""
    out: list[Extracted] = []
    for unit in units:
        where = unit.archive if unit.kind == "file" else f"{unit.archive}@{unit.offset}"
        try:
            pairs = _read_unit(unit, max_bytes)
        except InputError as exc:
            out.append(Extracted(where, error=str(exc)))
            continue
        for raw, item in pairs:
            doc = DEFAULT(prepare(raw, item.published))
            out.append(Extracted(where, raw, to_result(doc), doc.text, item))
    return out


# ---------------------------------------------------------------- storing (on the driver)


@dataclass
class PartitionResult:
    partition: int
    documents: int = 0
    new: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: bool = False
    failures: list[Outcome] = field(default_factory=list)


def store_partition(store: Store, run: str, partition: int, extracted: list[Extracted]) -> PartitionResult:
    """Store one partition's reports and mark it finished, in one transaction: the partition's documents and
    mentions are added together and merged in one pass (a partition of a date-ordered archive is a few runs of
    nearby days, so the merge searches a few date ranges instead of querying once per report)."""
    res = PartitionResult(partition)
    with store.transaction() as session:
        serialize(session, MERGE_LOCK)
        if session.scalar(
            sa.select(BackfillPartition.id).where(
                BackfillPartition.run == run, BackfillPartition.partition == partition
            )
        ):
            res.skipped = True
            return res
        shas = [e.raw.sha256 for e in extracted if e.raw is not None]
        stored: set[str] = set()
        for i in range(0, len(shas), 500):
            stored.update(session.scalars(sa.select(Document.sha256).where(Document.sha256.in_(shas[i : i + 500]))))
        mentions: list[Mention] = []
        for e in extracted:
            res.documents += 1
            if e.error is not None or e.raw is None or e.result is None or e.item is None:
                res.failed += 1
                res.failures.append(Outcome(e.where, "failed", e.error))
                continue
            if e.raw.sha256 in stored:
                res.duplicates += 1
                continue
            stored.add(e.raw.sha256)
            _, ms = add_document(session, e.raw, e.result, e.text, e.item)
            mentions.extend(ms)
            res.new += 1
        session.flush()
        merge_mentions(session, mentions)
        session.add(
            BackfillPartition(
                run=run,
                partition=partition,
                documents=res.documents,
                new=res.new,
                duplicates=res.duplicates,
                failed=res.failed,
                finished_at=now(),
            )
        )
    return res


_STORES: dict[str, Store] = {}  # one Store (engine, connection pool) per store URL in each Dask worker process


def process_partition(url: str, run: str, partition: int, units: list[Unit], max_bytes: int | None) -> PartitionResult:
    """A Dask task: extract one partition and store it, from the worker itself.

    Workers store their own partitions (taking turns for the merge, as the queue's workers do) rather than
    sending the extracted reports back for one process to store: that process would be a serial bottleneck,
    competing for the cores with the workers, and the reports would cross the network twice. The workers must
    reach the store: PostgreSQL for a cluster of several hosts, a SQLite file for a local cluster."""
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = Store(url)
    return store_partition(store, run, partition, extract_partition(units, max_bytes))


def finished_partitions(store: Store, run: str) -> set[int]:
    with store.sessions() as session:
        return set(session.scalars(sa.select(BackfillPartition.partition).where(BackfillPartition.run == run)))


# ---------------------------------------------------------------- the run


@dataclass
class BackfillReport:
    run: str
    units: int
    partitions: int
    skipped: int = 0
    documents: int = 0
    new: int = 0
    duplicates: int = 0
    failed: int = 0
    failures: list[Outcome] = field(default_factory=list)


def backfill(
    store: Store,
    archives: list[Path],
    *,
    scheduler: str = "local",
    workers: int = 2,
    partition_size: int = 500,
    max_bytes: int | None = None,
    progress: Callable[[PartitionResult, int], None] | None = None,
) -> BackfillReport:
    """Back-fill `archives` into `store` (see the module's docstring); `progress(result, total)` after each
    partition."""
    if partition_size < 1:
        raise BackfillError("the partition size must be at least 1")
    units = index_archives(archives)
    run = run_key(units, partition_size)
    parts = partitions(units, partition_size)
    done = finished_partitions(store, run)
    report = BackfillReport(run, len(units), len(parts), skipped=len(done & set(range(len(parts)))))
    todo = [i for i in range(len(parts)) if i not in done]
    if not todo:
        return report
    url = store.url
    with _client(scheduler, workers) as client:
        from distributed import as_completed

        futures = {
            client.submit(
                process_partition,
                url,
                run,
                i,
                parts[i],
                max_bytes,
                key=f"corridor-backfill-{run[:12]}-{i}",
                retries=2,  # a lost worker or a lock wait that timed out: the partition is atomic and idempotent
            ): i
            for i in todo
        }
        for future in as_completed(futures):
            res: PartitionResult = future.result()
            future.release()
            report.documents += res.documents
            report.new += res.new
            report.duplicates += res.duplicates
            report.failed += res.failed
            report.failures.extend(res.failures)
            if res.skipped:
                report.skipped += 1
            if progress:
                progress(res, len(parts))
    return report


class _client:
    """A Dask client on a local cluster of `workers` processes, or on a running scheduler at tcp://HOST:PORT."""

    def __init__(self, scheduler: str, workers: int) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Any:
        from distributed import Client, LocalCluster

        if self.scheduler == "local":
            self.cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,  # the pipeline is pure Python: processes, not threads, give parallelism
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            self.client = Client(self.cluster)
        elif self.scheduler.startswith("tcp://"):
            self.client = Client(self.scheduler, timeout="30s")
        else:
            raise BackfillError(f"scheduler must be 'local' or tcp://HOST:PORT, got {self.scheduler!r}")
        return self.client

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
