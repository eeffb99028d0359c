"""`corridor share sync REMOTE --org ORG --every 15m`: scheduled pull and push with one remote TAXII collection.

Runs until stopped (or `--runs N` times), one line per run; failures back off (see `share/schedule.py`). The
cursors live in the store, so a restart resumes where the last run stopped. `--status` prints where every
remote stands and exits."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from corridor.share.schedule import Job
    from corridor.store.db import Store


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def _human(seconds: float) -> str:
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds * 1000:g}ms"


def sync(
    remote: Annotated[str | None, typer.Argument(help="TAXII discovery URL of the other server")] = None,
    org: Annotated[str | None, typer.Option("--org", help="The organisation this server syncs for")] = None,
    every: Annotated[str, typer.Option("--every", help="Interval: 30s, 15m, 1h ...")] = "15m",
    runs: Annotated[int, typer.Option("--runs", help="Stop after this many runs (0: run until stopped)")] = 0,
    do_pull: Annotated[bool, typer.Option("--pull/--no-pull", help="Receive the remote collection")] = True,
    do_push: Annotated[bool, typer.Option("--push/--no-push", help="Send what the organisation may pass on")] = True,
    collection: Annotated[str | None, typer.Option(help="Remote collection title or id")] = None,
    group: Annotated[
        str | None, typer.Option(help="Local sharing group: share what is pulled with it, push its collection")
    ] = None,
    token_env: Annotated[str, typer.Option(help="Environment variable holding the remote API token")] = (
        "CORRIDOR_REMOTE_TOKEN"
    ),
    overlap: Annotated[float, typer.Option(help="Seconds each cursor steps back (late commits on the remote)")] = 60.0,
    max_wait: Annotated[str, typer.Option("--max-wait", help="Longest back-off after failures")] = "1h",
    status: Annotated[bool, typer.Option("--status", help="Print where each remote stands and exit")] = False,
) -> None:
    """Pull from and push to a remote TAXII collection now and every --every, backing off after failures."""
    from corridor.config import load_settings
    from corridor.store.db import Store

    store = Store(load_settings().database_url)
    store.upgrade()
    try:
        if status:
            _status(store)
            return
        job = _job(store, remote, org, do_pull, do_push, collection, group, token_env)
        job.overlap = overlap
        _loop(store, job, _duration(every, "--every"), runs, _duration(max_wait, "--max-wait"), remote or "")
    finally:
        store.dispose()


def _duration(text: str, flag: str) -> float:
    from corridor.clock import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        _fail(f"{flag}: {exc}")


def _job(
    store: Store,
    remote: str | None,
    org: str | None,
    do_pull: bool,
    do_push: bool,
    collection: str | None,
    group: str | None,
    token_env: str,
) -> Job:
    from corridor.identity.service import IdentityError, find_org
    from corridor.share.groups import GroupError, get_group
    from corridor.share.schedule import Job
    from corridor.share.sync import Remote
    from corridor.store.visibility import Viewer

    if not remote or not org:
        _fail("give the remote's TAXII URL and --org (or --status)")
    if not do_pull and not do_push:
        _fail("--no-pull and --no-push leave nothing to do")
    token = os.environ.get(token_env)
    if not token:
        _fail(f"set {token_env} to an API token of the remote server")
    with store.sessions() as session:
        try:
            org_id = find_org(session, org).id
            group_id = get_group(session, Viewer(None, org_id, "admin"), group).id if group else None
        except (IdentityError, GroupError) as exc:
            _fail(str(exc))
    rem = Remote(url=remote, token=token, collection=collection)
    return Job(rem, org_id, pull=do_pull, push=do_push, group_id=group_id)


def _loop(store: Store, job: Job, every: float, runs: int, max_wait: float, remote: str) -> None:
    from corridor.clock import now
    from corridor.share.schedule import Run, run_every

    def report(r: Run) -> None:
        stamp = now().strftime("%Y-%m-%dT%H:%M:%SZ")
        if r.ok:
            line = (
                f"{stamp} {remote}: pulled {r.pulled} objects ({r.incidents} incidents, {r.foreign} other), "
                f"pushed {r.pushed}; next in {_human(r.wait)}"
            )
        else:
            line = f"{stamp} {remote}: failed ({r.failures} in a row): {r.error}; retry in {_human(r.wait)}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        run_every(store, job, every, runs or None, max_wait, report=report)
    except KeyboardInterrupt:
        sys.stdout.write("stopped; the next run resumes from the stored cursors\n")


def _status(store: Store) -> None:
    import sqlalchemy as sa

    from corridor.store.tables import Organisation, SyncState

    with store.sessions() as session:
        rows = session.execute(
            sa.select(SyncState, Organisation.name)
            .join(Organisation, Organisation.id == SyncState.org_id)
            .order_by(SyncState.remote, SyncState.collection, Organisation.name)
        )
        for st, name in rows:
            ok = st.last_success_at.strftime("%Y-%m-%dT%H:%M:%SZ") if st.last_success_at else "never"
            line = (
                f"{st.remote} [{st.collection or 'default'}] for {name}: last success {ok}, "
                f"pull cursor {st.pull_cursor or '-'}, push cursor {st.push_cursor or '-'}, "
                f"received {st.pulled}, sent {st.pushed}"
            )
            if st.failures:
                line += f", {st.failures} failures in a row: {st.last_error}"
            sys.stdout.write(line + "\n")
