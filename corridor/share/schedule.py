"""Scheduled sync: pull from and push to one remote TAXII collection every so often, for one organisation.

Where each remote stands is kept in the store (`sync_state`, one row per remote URL, collection and
organisation): the pull cursor (the remote's date_added of the newest object received), the push cursor (the
newest local date_added offered), the last success, and the failures in a row. A restarted `corridor share
sync` resumes from the cursors instead of receiving and sending everything again.

A failed run (remote down, refused, malformed answer) is recorded and the next one waits longer: every x 2, x 4,
... up to `max_wait` (default 1 hour, or every when that is longer), so a server that is down is not hammered;
the first success goes back to the plain interval. A pull and its cursor commit together, so a run that fails
half-way leaves the cursor where the last complete pull put it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import sqlalchemy as sa

from corridor.clock import now
from corridor.share.stix import StixError
from corridor.share.sync import Remote, SyncError, pull_since, push_since, step_back
from corridor.store.db import Store
from corridor.store.tables import SyncState
from corridor.store.visibility import Viewer


@dataclass
class Job:
    remote: Remote
    org_id: str
    pull: bool = True
    push: bool = True
    group_id: str | None = None  # local sharing group: pulled objects are shared with it, pushes send its collection
    overlap: float = 60.0  # seconds each cursor steps back (see share/sync.py)


@dataclass
class Run:
    ok: bool
    pulled: int = 0  # objects received
    incidents: int = 0
    foreign: int = 0
    pushed: int = 0  # objects sent
    error: str | None = None
    failures: int = 0  # failures in a row, this run included
    wait: float = 0.0  # seconds until the next run
    cursors: dict[str, str | None] = field(default_factory=dict)


FAILURES = (requests.RequestException, OSError, ValueError, StixError, SyncError)


def _state(store: Store, job: Job) -> SyncState:
    key = (job.remote.url, job.remote.collection or "", job.org_id)
    with store.transaction() as s:
        row = s.scalar(
            sa.select(SyncState).where(
                SyncState.remote == key[0], SyncState.collection == key[1], SyncState.org_id == key[2]
            )
        )
        if row is None:
            row = SyncState(remote=key[0], collection=key[1], org_id=key[2], failures=0, pulled=0, pushed=0)
            s.add(row)
            s.flush()
        return row


def run_once(store: Store, job: Job) -> Run:
    """One sync: pull (import and pull cursor in one transaction), then push; the outcome is recorded."""
    from taxii2client.exceptions import TAXIIServiceException

    viewer = Viewer(user_id=None, org_id=job.org_id, role="admin")  # the local operator acting for the organisation
    state = _state(store, job)
    run = Run(ok=True)
    try:
        if job.pull:
            with store.transaction() as s:
                got = pull_since(s, viewer, job.remote, step_back(state.pull_cursor, job.overlap), job.group_id)
                row = s.get(SyncState, state.id)
                assert row is not None
                if got.cursor is not None:
                    row.pull_cursor = got.cursor
                row.pulled += got.objects
                state.pull_cursor = row.pull_cursor
            run.pulled, run.incidents, run.foreign = got.objects, len(got.imported.incidents), len(got.imported.foreign)
        if job.push:
            with store.sessions() as s:
                sent = push_since(s, viewer, job.remote, step_back(state.push_cursor, job.overlap), job.group_id)
            run.pushed = sent.sent
            with store.transaction() as s:
                row = s.get(SyncState, state.id)
                assert row is not None
                row.push_cursor, row.pushed = sent.cursor, row.pushed + sent.sent
    except (*FAILURES, TAXIIServiceException) as exc:
        run.ok, run.error = False, f"{type(exc).__name__}: {exc}"[:2000]
    with store.transaction() as s:
        row = s.get(SyncState, state.id)
        assert row is not None
        row.last_attempt_at = now()
        if run.ok:
            row.last_success_at, row.failures, row.last_error = row.last_attempt_at, 0, None
        else:
            row.failures, row.last_error = row.failures + 1, run.error
        run.failures = row.failures
        run.cursors = {"pull": row.pull_cursor, "push": row.push_cursor}
    return run


def next_wait(every: float, failures: int, max_wait: float = 3600.0) -> float:
    """Seconds until the next run: the interval, doubled for each failure in a row, capped."""
    if failures <= 0:
        return every
    return float(min(every * 2 ** min(failures, 30), max(every, max_wait)))


def run_every(
    store: Store,
    job: Job,
    every: float,
    runs: int | None = None,
    max_wait: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[Run], None] | None = None,
) -> list[Run]:
    """Sync now and then every `every` seconds (longer after failures), `runs` times (forever with None)."""
    done: list[Run] = []
    while runs is None or len(done) < runs:
        run = run_once(store, job)
        run.wait = next_wait(every, run.failures, max_wait)
        done.append(run)
        if report is not None:
            report(run)
        if runs is not None and len(done) >= runs:
            break
        sleep(run.wait)
    return done
