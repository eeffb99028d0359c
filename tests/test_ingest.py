import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from corridor.ingest.service import Item, ingest_items
from corridor.store.db import Store
from corridor.store.tables import Document, Incident, Mention

from .conftest import ROOT
from .reports import variant, write_reports


def _items(folder: Path) -> list[Item]:
    return [Item(p, date.fromisoformat(pub)) for p, pub in write_reports(folder)]


def _picture(store: Store) -> list[tuple[object, ...]]:
    """The incident picture as content (no ids): what must not depend on ingest order."""
    with store.sessions() as s:
        rows = []
        for inc in s.scalars(sa.select(Incident).where(Incident.status != "merged")).all():
            docs = tuple(sorted(m.document.sha256[:12] for m in inc.mentions))
            rows.append(
                (
                    inc.event_type,
                    inc.date,
                    inc.date_precision,
                    inc.city,
                    inc.province,
                    inc.killed_total,
                    inc.injured_total,
                    inc.killed_foreign,
                    inc.perpetrator,
                    inc.claimed,
                    docs,
                )
            )
        return sorted(rows, key=repr)


def test_ingest_is_idempotent(store: Store, tmp_path: Path) -> None:
    items = _items(tmp_path / "r")
    first = ingest_items(store, items)
    assert first.count("new") == len(items) and not first.failed
    again = ingest_items(store, items)
    assert again.count("duplicate") == len(items) and again.count("new") == 0
    with store.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Document)) == len(items)


def test_reports_of_one_attack_merge_and_conflicts_are_kept(store: Store, tmp_path: Path) -> None:
    ingest_items(store, _items(tmp_path / "r"))
    with store.sessions() as s:
        live = s.scalars(sa.select(Incident).where(Incident.status != "merged")).all()
        besham = [i for i in live if i.district == "Shangla"]
        assert len(besham) == 1, [(i.city, i.date) for i in live]
        inc = besham[0]
        assert len({m.document_id for m in inc.mentions}) == 4  # three reports + the back-reference
        assert inc.date == date(2024, 3, 26) and inc.date_precision == "day"
        assert inc.killed_total == 6  # two sources say six, one says "at least five"
        prov = inc.provenance["killed_total"]
        assert prov["conflict"] is True and set(prov["sources"]) == {"5", "6"}
        assert inc.killed_foreign == 5 and inc.foreign_nationality == "Chinese"
        quetta = [i for i in live if i.city == "Quetta"]
        assert len(quetta) == 1 and quetta[0].perpetrator == "BLA" and quetta[0].claimed is True


def test_merge_does_not_depend_on_order(tmp_path: Path, new_store_url: Callable[..., str]) -> None:
    items = _items(tmp_path / "r")
    pictures = []
    for n, order in enumerate([items, items[::-1], items[2:] + items[:2]]):
        s = Store(new_store_url(f"o{n}"))
        s.upgrade()
        ingest_items(s, order)
        pictures.append(_picture(s))
        s.dispose()
    assert pictures[0] == pictures[1] == pictures[2]


def test_bad_inputs_fail_alone_and_store_nothing(store: Store, tmp_path: Path) -> None:
    good = _items(tmp_path / "r")[:1]
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 4)
    report = ingest_items(store, [Item(tmp_path / "empty.txt"), *good, Item(tmp_path / "bin.txt")])
    assert report.count("new") == 1
    reasons = [o.reason for o in report.failed]
    assert any("empty" in (r or "") for r in reasons) and any("binary" in (r or "") for r in reasons)
    with store.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_killed_ingest_leaves_a_consistent_store_and_resumes(tmp_path: Path, new_store_url: Callable[..., str]) -> None:
    """SIGKILL a real ingest mid-way, then re-run it: the result equals an uninterrupted ingest. The CLI starts
    from an empty database and creates the store itself, as `corridor ingest` does for a user."""
    folder = tmp_path / "many"
    folder.mkdir()
    n = 160
    for i in range(n):
        (folder / f"r{i:04d}.txt").write_text(variant(i), encoding="utf-8")
    url = new_store_url("crash", empty=True)
    env = {**os.environ, "CORRIDOR_HOME": str(tmp_path / "home"), "CORRIDOR_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "corridor.cli.main", "ingest", str(folder)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "crash.db"  # SQLite: polled only once the CLI has created it
    deadline = time.time() + 120
    killed_at = 0
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    while time.time() < deadline and proc.poll() is None:
        if not url.startswith("sqlite") or db.exists():
            try:
                with eng.connect() as c:
                    killed_at = c.exec_driver_sql("SELECT count(*) FROM documents").scalar() or 0
            except sa.exc.DBAPIError:  # not created yet, or (SQLite) locked
                killed_at = 0
            if killed_at >= 20:
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.05)
    proc.wait(timeout=30)
    eng.dispose()
    assert 0 < killed_at < n, "the ingest was not interrupted mid-way"
    store = Store(url)
    with store.sessions() as s:
        # every stored document is complete: it has its mentions and they have incidents
        docs = s.scalars(sa.select(Document)).all()
        assert all(d.text and d.mentions for d in docs)
        assert s.scalar(sa.select(sa.func.count()).select_from(Mention).where(Mention.incident_id.is_(None))) == 0
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "failed 0" in done.stdout
    ref = Store(new_store_url("ref"))
    ref.upgrade()
    ingest_items(ref, [Item(p) for p in sorted(folder.iterdir())])
    assert _picture(store) == _picture(ref)
    with store.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Document)) == n
    store.dispose()
    ref.dispose()
