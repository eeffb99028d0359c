"""Shared fixtures: a real SQLite store in a temporary folder, the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.store.db import Store
from corridor.store.seed import seed_actors

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = ROOT / "corridor" / "samples"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'corridor.db'}")
    s.upgrade()
    with s.transaction() as session:
        seed_actors(session)
    yield s
    s.dispose()


def run_cli(*args: str, home: Path, timeout: float = 300, **kw: object) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, with its store under `home`."""
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
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"

    def _run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, home=home, **kw)

    _run.home = home  # type: ignore[attr-defined]
    return _run
