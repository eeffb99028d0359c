"""The ingest job queue: reports fetched by `corridor watch` wait in the store until a `corridor worker` ingests them.

The queue is a table (`jobs`), so it needs nothing beside the store and survives restarts. A worker claims the
oldest available job by giving it a lease; on PostgreSQL the claim reads with `FOR UPDATE SKIP LOCKED`, so
several workers on several machines take different jobs without waiting on each other; on SQLite every write
transaction runs alone (BEGIN IMMEDIATE), so claims cannot collide either, but there is no point in more than one
worker there.

What a worker killed at any moment leaves behind:
- before its ingest commits: nothing stored; the job stays `running` until its lease runs out, then the next
  claim takes it again (`attempts` counts claims; a job claimed `max_attempts` times is given up as `failed`);
- after its ingest commits: the job was marked `done` in that same transaction, so nobody redoes it.
Either way no report is lost and none is stored twice (documents are keyed by content hash as well).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from corridor import telemetry
from corridor.clock import now
from corridor.ids import new_id
from corridor.ingest.reader import InputError, RawDocument
from corridor.ingest.service import Item, Outcome, ingest_raw
from corridor.logs import event
from corridor.store.db import Store
from corridor.store.tables import Document, Job

DEFAULT_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
STATUSES = ("queued", "running", "done", "failed")


def worker_name() -> str:
    """host:pid, what the jobs table and the logs say a job's worker was."""
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(session: Session, raw: RawDocument, *, outlet: str | None = None, tlp: str = "CLEAR") -> bool:
    """Queue one report unless it is queued or stored already; True when a job was added.

    The insert skips a key the table already holds (ON CONFLICT DO NOTHING), so two watchers polling the same
    feed at once add one job."""
    key = raw.sha256
    if session.scalar(sa.select(Document.id).where(Document.sha256 == key)):
        return False
    stamp = now()
    meta = {
        "kind": raw.kind,
        "path": raw.path,
        "url": raw.url,
        "title": raw.title,
        "published": raw.published.isoformat() if raw.published else None,
        "outlet": outlet or raw.outlet,
        "tlp": tlp,
    }
    values = {
        "id": new_id(),
        "kind": "ingest",
        "key": key,
        "data": raw.data,
        "text": raw.text,
        "meta": meta,
        "status": "queued",
        "attempts": 0,
        "available_at": stamp,
        "enqueued_at": stamp,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(Job) if dialect == "postgresql" else sqlite.insert(Job)
    stmt = insert.values(**values).on_conflict_do_nothing(index_elements=["key"]).returning(Job.id)
    return session.execute(stmt).first() is not None


@dataclass(frozen=True)
class Claimed:
    """A job a worker holds, detached from any session."""

    id: str
    key: str
    raw: RawDocument
    item: Item
    attempts: int


def _claimable(t: Any) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Job.status == "queued", Job.available_at <= t),
        sa.and_(Job.status == "running", Job.lease_until < t),
    )


def claim(
    store: Store, worker: str, lease: timedelta = DEFAULT_LEASE, max_attempts: int = MAX_ATTEMPTS
) -> Claimed | None:
    """Take the oldest available job (or one whose worker's lease ran out) and lease it to `worker`."""
    while True:
        with store.transaction() as session:
            t = now()
            q = sa.select(Job).where(_claimable(t)).order_by(Job.available_at, Job.id).limit(1)
            if session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            job = session.scalars(q).first()
            if job is None:
                return None
            if job.status == "running":
                event("queue.lease_expired", level=logging.WARNING, job_id=job.id, worker=job.worker)
            if job.attempts >= max_attempts:
                job.status = "failed"
                job.outcome = "failed"
                job.finished_at = t
                job.lease_until = None
                job.error = f"given up after {job.attempts} attempts (last: {job.error or 'lease ran out'})"
                event("queue.given_up", level=logging.ERROR, job_id=job.id, attempts=job.attempts)
                continue  # the transaction commits the give-up; look for the next job
            job.status = "running"
            job.attempts += 1
            job.lease_until = t + lease
            job.worker = worker
            return Claimed(job.id, job.key, _raw(job), _item(job), job.attempts)


def _raw(job: Job) -> RawDocument:
    m = job.meta
    return RawDocument(
        data=job.data,
        text=job.text,
        kind=m.get("kind") or "html",
        path=m.get("path"),
        url=m.get("url"),
        title=m.get("title"),
        published=date.fromisoformat(m["published"]) if m.get("published") else None,
        outlet=m.get("outlet"),
    )


def _item(job: Job) -> Item:
    m = job.meta
    return Item(Path(m.get("path") or ""), None, m.get("url"), m.get("outlet"), None, m.get("tlp") or "CLEAR")


def _finish(session: Session, job: Claimed, worker: str, outcome: Outcome) -> None:
    """Mark the job done, in the caller's transaction, if this worker still holds it."""
    session.execute(
        sa.update(Job)
        .where(Job.id == job.id, Job.worker == worker, Job.status == "running")
        .values(
            status="done" if outcome.status != "failed" else "failed",
            outcome=outcome.status,
            document_id=outcome.document_id,
            error=outcome.reason if outcome.status == "failed" else None,
            finished_at=now(),
            lease_until=None,
        )
    )


def _retry_later(store: Store, job: Claimed, worker: str, error: str) -> None:
    """The pipeline raised: put the job back with an exponential delay (30 s, 1, 2, 4 min...)."""
    delay = timedelta(seconds=30 * 2 ** (job.attempts - 1))
    with store.transaction() as session:
        session.execute(
            sa.update(Job)
            .where(Job.id == job.id, Job.worker == worker, Job.status == "running")
            .values(status="queued", available_at=now() + delay, lease_until=None, error=error[:2000])
        )


def process(store: Store, job: Claimed, worker: str) -> Outcome:
    """Ingest one claimed job. Input the reader refuses fails the job for good (retrying cannot mend it); an
    exception from the pipeline puts it back for a later attempt and is logged, never swallowed."""
    try:
        outcome = ingest_raw(store, job.raw, job.item, then=lambda s, o: _finish(s, job, worker, o))
    except InputError as exc:
        outcome = Outcome(job.item.url or job.key, "failed", str(exc))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logging.getLogger(__name__).exception("job %s failed (attempt %d)", job.id, job.attempts)
        _retry_later(store, job, worker, error)
        telemetry.JOBS.labels("error").inc()
        return Outcome(job.item.url or job.key, "error", error)
    if outcome.status != "new":  # nothing was stored, so the storing transaction did not mark the job
        with store.transaction() as session:
            _finish(session, job, worker, outcome)
    telemetry.JOBS.labels(outcome.status).inc()
    return outcome


@dataclass
class WorkerStats:
    processed: int = 0
    new: int = 0
    duplicate: int = 0
    failed: int = 0
    errors: int = 0

    def add(self, outcome: Outcome) -> None:
        self.processed += 1
        if outcome.status == "new":
            self.new += 1
        elif outcome.status == "duplicate":
            self.duplicate += 1
        elif outcome.status == "failed":
            self.failed += 1
        else:
            self.errors += 1


def run_worker(
    store: Store,
    *,
    worker: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
    poll: float = 2.0,
    drain: bool = False,
    max_jobs: int | None = None,
    stop: threading.Event | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> WorkerStats:
    """Take jobs until stopped: SIGTERM or SIGINT let the job in hand finish, then return. With `drain`, return
    once the queue is empty and no worker holds a job (a held job returns if its worker dies); `max_jobs` bounds
    the number of jobs taken."""
    name = worker or worker_name()
    stop = stop or threading.Event()
    stats = WorkerStats()
    restore = stop_on_signals(stop)
    event("worker.start", worker=name, store=store.dialect)
    try:
        while not stop.is_set() and (max_jobs is None or stats.processed < max_jobs):
            job = claim(store, name, lease)
            if job is None:
                if drain and not _held(store):
                    break  # nothing queued, and no other worker holds a job that could come back
                stop.wait(poll)
                continue
            outcome = process(store, job, name)
            stats.add(outcome)
            if on_outcome:
                on_outcome(outcome)
    finally:
        restore()
        event("worker.stop", worker=name, **stats.__dict__)
    return stats


def _held(store: Store) -> bool:
    """Jobs some worker holds now: they come back to the queue if that worker dies before its lease runs out."""
    with store.sessions() as session:
        return bool(session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.status == "running")))


def stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Set `stop` on SIGTERM/SIGINT (main thread only); returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def counts(session: Session) -> dict[str, int]:
    """Jobs by status (every status present, zero when none)."""
    out = dict.fromkeys(STATUSES, 0)
    for status, n in session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)):
        out[status] = n
    return out


def depth(store: Store) -> float:
    """Jobs waiting: queued, or running on a lease that ran out (for /metrics)."""
    with store.sessions() as session:
        return float(session.scalar(sa.select(sa.func.count()).select_from(Job).where(_claimable(now()))) or 0)


def failed_jobs(session: Session, limit: int = 20) -> list[Job]:
    return list(
        session.scalars(sa.select(Job).where(Job.status == "failed").order_by(Job.finished_at.desc()).limit(limit))
    )


def retry_failed(session: Session) -> int:
    """Put every failed job back in the queue with a fresh count of attempts (after the cause was mended)."""
    result = session.execute(
        sa.update(Job)
        .where(Job.status == "failed")
        .values(status="queued", attempts=0, available_at=now(), outcome=None, finished_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
