"""`corridor backup OUT` and `corridor restore IN`: the store (SQLite or PostgreSQL, from CORRIDOR_DATABASE_URL or
CORRIDOR_HOME as every command) to and from one file. Thin over corridor.store.backup; refusals end with one line
on stderr and exit status 2, like the rest of the CLI.

Neither command opens the store through `Store.upgrade()` first: a backup must copy the store as it is, and a
restore must look at the target before anything creates tables in it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from corridor.config import load_settings


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def backup(
    out: Annotated[Path, typer.Argument(help="The backup file to write (SQLite copy, or pg_dump custom format).")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Copy the store to OUT, consistently, while the server keeps running (SQLite backup API, or pg_dump)."""
    from corridor.logs import event
    from corridor.store.backup import BackupError
    from corridor.store.backup import backup as do_backup

    settings = load_settings()
    try:
        result = do_backup(settings.database_url, out, force=force)
    except BackupError as exc:
        _fail(str(exc))
    event("store.backup", engine=result.engine, bytes=result.bytes, revision=",".join(result.revision))
    print(f"backup of {settings.display_url} written to {result.path}")
    print(f"  {result.engine}, {_size(result.bytes)}, migration {', '.join(result.revision)}")


def restore(
    src: Annotated[Path, typer.Argument(metavar="IN", help="A file made by `corridor backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a store that already holds data.")] = False,
) -> None:
    """Replace the store with a backup: refuses a store holding data without --force, checks the file is a corridor
    store at a known migration, migrates it to head and verifies the audit log's hash chain. Stop the server first."""
    from corridor.logs import event
    from corridor.store.backup import BackupError
    from corridor.store.backup import restore as do_restore

    settings = load_settings()
    try:
        result = do_restore(settings.database_url, src, force=force)
    except BackupError as exc:
        _fail(str(exc))
    event("store.restore", engine=result.engine, source=str(src), revision=",".join(result.migrated_to))
    print(f"restored {src} into {settings.display_url}")
    print(f"  backup at migration {', '.join(result.revision)}, store now at {', '.join(result.migrated_to)}")
    print(f"  audit log intact: {result.audit_entries} entries")
