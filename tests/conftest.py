"""Shared fixtures: a real store in a temporary place, the real CLI in a subprocess.

The store is SQLite by default. With CORRIDOR_TEST_DATABASE_URL set (`make test` sets it for its second pass, via
scripts/pg-test-cluster.sh), every store is a fresh PostgreSQL + PostGIS database instead: tests ask
`new_store_url` (or `databases`) for their stores rather than naming SQLite files. A test that is about SQLite
itself carries `@pytest.mark.sqlite_only("why")` and is skipped, with that reason, on the PostgreSQL pass; the
browser tests (tests/ui) run on the SQLite pass only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from corridor.store.db import Store
from corridor.store.seed import seed_actors

from .databases import TestDatabases

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = ROOT / "corridor" / "samples"
DATABASES = TestDatabases.from_environment()
UI_TESTS = Path(__file__).with_name("ui")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): about SQLite itself; skipped on the PostgreSQL pass")


def pytest_report_header(config: pytest.Config) -> str:
    return f"corridor test store: {DATABASES.kind}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not DATABASES.postgres:
        return
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if mark is not None:
            reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "about SQLite")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        elif UI_TESTS in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.skip(reason="SQLite only: browser tests (slow) run on the SQLite pass"))


@pytest.fixture(scope="session")
def databases() -> Iterator[TestDatabases]:
    """Where this run keeps stores (SQLite files, or databases on the test PostgreSQL server)."""
    yield DATABASES
    DATABASES.close()


@pytest.fixture
def new_store_url(databases: TestDatabases, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """new_store_url(name="corridor", empty=False): the URL of a store of this test's own, removed after it.
    SQLite: tmp_path/NAME.db. PostgreSQL: a new database, migrated (or, with empty=True, PostGIS only)."""
    made: list[str] = []

    def make(name: str = "corridor", empty: bool = False) -> str:
        url = databases.url(tmp_path / f"{name}.db", empty=empty)
        made.append(url)
        return url

    yield make
    for url in made:
        databases.drop(url)


@pytest.fixture
def store(new_store_url: Callable[..., str]) -> Iterator[Store]:
    s = Store(new_store_url())
    s.upgrade()
    with s.transaction() as session:
        seed_actors(session)
    yield s
    s.dispose()


def run_cli(*args: str, home: Path, timeout: float = 300, **kw: object) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, with its store under `home` (or at env's CORRIDOR_DATABASE_URL)."""
    env = {**os.environ, "CORRIDOR_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("CORRIDOR_DATABASE_URL", None)
    env.update(kw.pop("env", {}) or {})  # type: ignore[arg-type]
    return subprocess.run(
        [sys.executable, "-m", "corridor.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=str(ROOT),
        check=False,
    )


@pytest.fixture
def cli(tmp_path: Path, new_store_url: Callable[..., str]):  # type: ignore[no-untyped-def]
    """The CLI with a store of its own: SQLite at $CORRIDOR_HOME/corridor.db, as a user gets by default, or (on
    the PostgreSQL pass) an empty PostgreSQL database in CORRIDOR_DATABASE_URL. `cli.url` is that store."""
    home = tmp_path / "home"
    url = new_store_url("cli", empty=True) if DATABASES.postgres else f"sqlite:///{home / 'corridor.db'}"
    store_env = {"CORRIDOR_DATABASE_URL": url} if DATABASES.postgres else {}

    def _run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        env = {**store_env, **(kw.pop("env", {}) or {})}  # type: ignore[dict-item]
        return run_cli(*args, home=home, env=env, **kw)

    _run.home = home  # type: ignore[attr-defined]
    _run.url = url  # type: ignore[attr-defined]
    return _run
