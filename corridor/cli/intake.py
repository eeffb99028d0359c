"""Continuous intake: `corridor watch FEEDS.yaml` polls feeds and queues new reports, `corridor worker` ingests them,
`corridor queue` says where the queue stands. Thin over corridor.ingest.watch and corridor.ingest.queue.

Both long-running commands stop cleanly on SIGTERM or Ctrl-C (the poll or job in hand finishes first) and log
one structured line per poll or job (`--log-format json` for a log collector)."""

from __future__ import annotations

import logging.config
import sys
import threading
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

queue_app = typer.Typer(help="The ingest job queue: status, failed jobs, retry.", no_args_is_help=True)
out = Console()
if not out.is_terminal and out.width < 160:
    out = Console(width=160)  # piped: room for the feed table

LogFormat = Annotated[
    str | None,
    typer.Option(envvar="CORRIDOR_LOG_FORMAT", help="text (default) or json: one JSON object per line on stderr."),
]


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def _logging(fmt: str | None) -> None:
    from corridor.logs import logging_config, resolve_format

    try:
        logging.config.dictConfig(logging_config(resolve_format(fmt)))
    except ValueError as exc:
        _fail(str(exc))


def _open_store():
    from corridor.config import load_settings
    from corridor.store.db import Store

    settings = load_settings()
    store = Store(settings.database_url)
    store.upgrade()
    return store, settings


def _interval(text: str, flag: str):
    from corridor.ingest.watch import parse_interval

    try:
        return parse_interval(text)
    except ValueError as exc:
        _fail(f"{flag}: {exc}")


def watch(
    feeds: Annotated[Path, typer.Argument(help="Feed list (YAML: - url: ..., outlet: ..., every: 15m)")],
    every: Annotated[str, typer.Option("--every", help="Default interval between polls of one feed")] = "15m",
    politeness: Annotated[float, typer.Option(help="Seconds between two requests to one host")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Poll every listed feed once, then exit")] = False,
    log_format: LogFormat = None,
) -> None:
    """Poll RSS/Atom feeds and pages with conditional GET and queue new reports for `corridor worker`."""
    from corridor.ingest.queue import stop_on_signals
    from corridor.ingest.watch import FeedListError, Watcher, load_feeds

    try:
        specs = load_feeds(feeds)
    except FeedListError as exc:
        _fail(str(exc))
    interval = _interval(every, "--every")
    _logging(log_format)
    store, settings = _open_store()
    stop = threading.Event()
    watcher = Watcher(
        store, specs, every=interval, politeness=politeness, max_bytes=settings.max_document_bytes, stop=stop
    )
    restore = stop_on_signals(stop)
    try:
        results = watcher.run(once=once)
    finally:
        restore()
        watcher.close()
        store.dispose()
    if once:
        for r in results:
            tail = f"{r.items} items, {r.queued} queued" if r.result == "changed" else (r.error or "")
            out.print(f"{r.result:9} {r.url}  {tail.removeprefix(r.url + ': ')}", soft_wrap=True, markup=False)
        if results and all(r.result == "failed" for r in results):
            raise typer.Exit(1)


def worker(
    lease: Annotated[str, typer.Option(help="How long a job is held before another worker may take it")] = "5m",
    poll: Annotated[float, typer.Option(help="Seconds between looks at an empty queue")] = 2.0,
    drain: Annotated[bool, typer.Option("--drain", help="Exit when the queue is empty")] = False,
    max_jobs: Annotated[int, typer.Option("--max-jobs", help="Exit after this many jobs (0: no limit)")] = 0,
    log_format: LogFormat = None,
) -> None:
    """Take reports from the queue and ingest them (extract, store, merge, alert). Run several to share the work
    (PostgreSQL; on SQLite one is enough, its writes take turns)."""
    from corridor.ingest.queue import run_worker

    lease_td = _interval(lease, "--lease")
    _logging(log_format)
    store, _ = _open_store()
    try:
        stats = run_worker(store, lease=lease_td, poll=poll, drain=drain, max_jobs=max_jobs or None)
    finally:
        store.dispose()
    out.print(
        f"jobs {stats.processed}: new {stats.new}, duplicate {stats.duplicate}, failed {stats.failed}, "
        f"retried later {stats.errors}"
    )


@queue_app.command("status")
def queue_status(
    failed: Annotated[int, typer.Option("--failed", help="List this many failed jobs")] = 10,
) -> None:
    """Jobs by status, feeds with their last poll, and the latest failed jobs with their errors."""
    import sqlalchemy as sa

    from corridor.ingest.queue import counts, failed_jobs
    from corridor.store.tables import Feed

    store, _ = _open_store()
    try:
        with store.sessions() as session:
            by_status = counts(session)
            feeds = session.scalars(sa.select(Feed).order_by(Feed.url)).all()
            bad = failed_jobs(session, failed)
    finally:
        store.dispose()
    out.print("  ".join(f"{k} {v}" for k, v in by_status.items()))
    if feeds:
        table = Table("feed", "last poll", "status", "items", "failures", "next poll", "error")
        for f in feeds:
            table.add_row(
                f.url,
                f.last_polled_at.strftime("%Y-%m-%d %H:%M:%S") if f.last_polled_at else "-",
                str(f.last_status or "-"),
                str(f.items_seen),
                str(f.failures),
                f.next_poll_at.strftime("%Y-%m-%d %H:%M:%S") if f.next_poll_at else "due",
                (f.last_error or "")[:60],
            )
        out.print(table)
    for job in bad:
        where = job.meta.get("url") or job.meta.get("path") or job.key[:12]
        out.print(f"[red]failed[/] {where}: {job.error}")


@queue_app.command("retry")
def queue_retry() -> None:
    """Put every failed job back in the queue (after mending what made it fail)."""
    from corridor.ingest.queue import retry_failed

    store, _ = _open_store()
    try:
        with store.transaction() as session:
            n = retry_failed(session)
    finally:
        store.dispose()
    out.print(f"{n} failed job(s) queued again")


def backfill(
    archives: Annotated[list[Path], typer.Argument(help="JSONL or WARC archives, or folders of reports")],
    scheduler: Annotated[str, typer.Option(help="local, or tcp://HOST:PORT of a running dask scheduler")] = "local",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes of the local cluster")] = 2,
    partition_size: Annotated[int, typer.Option(min=1, help="Reports per partition (the unit of resumption)")] = 500,
) -> None:
    """Extract archived reports in parallel (Dask) and merge them into the store; a re-run skips finished
    partitions. Gives the same incidents as `corridor ingest` of the same reports, whatever the partitioning."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from corridor.ingest.backfill import BackfillError, PartitionResult
    from corridor.ingest.backfill import backfill as run_backfill

    store, settings = _open_store()
    err = Console(stderr=True)
    try:
        with Progress(
            TextColumn("[bold]backfill"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("partitions"),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
        ) as progress:
            task = progress.add_task("", total=None)
            stored = [0]

            def tick(res: PartitionResult, total: int) -> None:
                stored[0] += res.new
                progress.update(task, total=total, advance=1, description=f"{stored[0]} new documents")

            report = run_backfill(
                store,
                archives,
                scheduler=scheduler,
                workers=workers,
                partition_size=partition_size,
                max_bytes=settings.max_document_bytes,
                progress=tick,
            )
    except BackfillError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    out.print(
        f"reports {report.units} in {report.partitions} partitions ({report.skipped} already done): "
        f"new {report.new}, duplicate {report.duplicates}, failed {report.failed}"
    )
    for o in report.failures[:20]:
        out.print(f"  failed {o.reason}", markup=False, soft_wrap=True)
