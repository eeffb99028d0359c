"""Scale figures: back-fill on Dask, the API under load on PostgreSQL, the ingest queue.

    python bench/scale.py backfill --docs 50000 --workers 1 2
    python bench/scale.py api --incidents 1000000 --clients 1 16 64 --repeat 3
    python bench/scale.py queue --jobs 2000 --workers 1 2
    python bench/scale.py all                 # the three, with the issue's sizes

Stores: PostgreSQL when CORRIDOR_TEST_DATABASE_URL names a server (run under scripts/pg-test-cluster.sh, as
`make bench-scale` does: every section gets a fresh database copied from the cluster's PostGIS-ready one),
SQLite in a temporary folder otherwise. The API's load generator is wrk (Debian package `wrk`) in a separate
process, against `corridor serve --workers N` on loopback. Nothing here reaches beyond 127.0.0.1.

The archive for back-fill and the queue is the sample corpus rewritten per record: the place names swapped, the
day numbers varied and the year and month moved to a random day of 2015-2025, in date order, so reports spread
over eleven years as in a real archive (a merge looks at stored reports of nearby days and places, so how reports
spread matters), and every record differs in its bytes.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import TOWNS, build_store
from extract import PLACES, corpus

from corridor.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
MONTHS = re.compile(r"\b(" + "|".join(calendar.month_name[1:]) + r")\b")
PG_ENV = "CORRIDOR_TEST_DATABASE_URL"


# ---------------------------------------------------------------- stores


@contextmanager
def fresh_store(name: str, tmp: Path) -> Iterator[str]:
    """A new empty, migrated store: a database on the PostgreSQL server when there is one, else a SQLite file."""
    server = os.environ.get(PG_ENV)
    if not server:
        url = f"sqlite:///{tmp / (name + '.db')}"
        Store(url).upgrade()
        yield url
        return
    base = sa.make_url(server)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    db = f"bench_{name}_{os.getpid()}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{db}" TEMPLATE "{base.database}"')
    url = base.set(database=db).render_as_string(hide_password=False)
    try:
        Store(url).upgrade()
        yield url
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()


def engine_name() -> str:
    return "PostgreSQL 15 + PostGIS" if os.environ.get(PG_ENV) else "SQLite"


# ---------------------------------------------------------------- the archive


def write_archive(path: Path, n: int, seed: int = 11) -> int:
    """n JSONL records spread over 2015-2025 (see the module's docstring); returns the number of words."""
    base = corpus()
    rng = random.Random(seed)
    # in date order, as news archives are kept (GDELT's files, a crawler's WARCs)
    targets = sorted(date(2015, 1, 1) + timedelta(days=rng.randrange(11 * 365)) for _ in range(n))
    words = 0
    with path.open("w", encoding="utf-8") as fh:
        for i, target in enumerate(targets):
            raw, pub = base[i % len(base)]
            text = re.sub(r"\b20[12]\d\b", str(target.year), raw.text)
            text = MONTHS.sub(calendar.month_name[target.month], text)
            text = re.sub(r"\b(\d{1,2})\b", lambda m, i=i: str((int(m.group(1)) + i) % 28 + 1), text)
            a, b = rng.sample(PLACES, 2)
            text = text.replace(a, b)
            text += f"\n<!-- archive record {i} -->\n" if raw.kind == "html" else f"\n\nArchive record {i}.\n"
            published = (target + timedelta(days=rng.randrange(3))).isoformat() if pub else None
            key = "html" if raw.kind == "html" else "text"
            fh.write(json.dumps({"url": f"https://archive.example.org/{i}", "published": published, key: text}))
            fh.write("\n")
            words += len(text.split())
    return words


# ---------------------------------------------------------------- back-fill


def bench_backfill(docs: int, workers: list[int], partition_size: int, extract_alone: bool, tmp: Path) -> None:
    from distributed import Client, LocalCluster

    from corridor.ingest.backfill import backfill, extract_partition, index_archives, partitions

    archive = tmp / "archive.jsonl"
    t0 = time.perf_counter()
    words = write_archive(archive, docs)
    size = archive.stat().st_size / 1e6
    print(f"archive: {docs} records, {words} words, {size:.0f} MB ({time.perf_counter() - t0:.0f} s)")
    parts = partitions(index_archives([archive]), partition_size)
    print(f"back-fill into {engine_name()}, {len(parts)} partitions of {partition_size}, {os.cpu_count()} CPUs")
    rates: dict[int, tuple[float, float]] = {}
    for n in workers:
        extract_rate = float("nan")
        if extract_alone:
            # the parallel half alone: extraction on the cluster, results gathered, nothing stored
            with (
                LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster,
                Client(cluster) as client,
            ):
                t0 = time.perf_counter()
                futures = client.map(extract_partition, parts, pure=False)
                for f in futures:
                    f.result()
                    f.release()
                extract_rate = docs / (time.perf_counter() - t0)
        with fresh_store(f"backfill{n}", tmp) as url:
            store = Store(url)
            t0 = time.perf_counter()
            report = backfill(store, [archive], workers=n, partition_size=partition_size)
            wall = time.perf_counter() - t0
            store.dispose()
        rates[n] = (extract_rate, docs / wall)
        print(
            f"  {n} worker{'s' if n > 1 else ' '}: back-fill {docs / wall:6.0f} documents/s ({wall:.0f} s; new "
            f"{report.new}, duplicate {report.duplicates}, failed {report.failed})"
            + (f";  extraction alone {extract_rate:6.0f} documents/s" if extract_alone else "")
        )
    if len(rates) > 1:
        lo, hi = min(rates), max(rates)
        alone = f", extraction alone {rates[hi][0] / rates[lo][0]:.2f}x" if extract_alone else ""
        print(f"  scaling {lo} -> {hi} workers: back-fill {rates[hi][1] / rates[lo][1]:.2f}x{alone}")


# ---------------------------------------------------------------- API under load

WRK_SCRIPT = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
local towns = {%(towns)s}
math.randomseed(%(seed)d)
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  if "%(kind)s" == "show" then
    return wrk.format("GET", "/api/v1/incidents/" .. ids[math.random(#ids)])
  end
  local t = towns[math.random(#towns)]
  local y = 2015 + math.random(0, 8)
  local m = math.random(1, 12)
  local q = string.format("bbox=%%.2f,%%.2f,%%.2f,%%.2f&since=%%d-%%02d-01&until=%%d-%%02d-01&limit=50",
    t[2] - 0.5, t[1] - 0.5, t[2] + 0.5, t[1] + 0.5, y, m, y + 1, m)
  return wrk.format("GET", "/api/v1/incidents?" .. q)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    if not m:
        raise ValueError(f"not a wrk latency: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(base: str, script: Path, clients: int, seconds: int) -> tuple[float, float, float, int]:
    """(p50 ms, p99 ms, requests/s, non-2xx responses) of one wrk run."""
    cmd = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return p50, p99, rps, int(bad.group(1)) if bad else 0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_api(
    incidents: int, clients: list[int], seconds: int, server_workers: int, tmp: Path, repeat: int = 3
) -> None:
    """Each point is `repeat` wrk runs of fresh connections, printed as medians with the range of p99: on a shared
    host, and with the kernel spreading the connections over the workers' sockets by a hash (an uneven split of 64
    connections, 37/27, moves p99 by tens of percent), one run is one draw."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk; `make bench-scale` installs it)")
    with fresh_store("api", tmp) as url:
        t0 = time.perf_counter()
        token, ids = build_store(url, incidents)
        # what autovacuum does soon after a bulk load: statistics for the planner, the visibility map. In autocommit:
        # VACUUM refuses a transaction, and an ANALYZE in one that is rolled back leaves no statistics at all
        with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as c:
            if c.dialect.name == "postgresql":
                c.exec_driver_sql("VACUUM ANALYZE")
        print(f"API on {engine_name()}: {incidents} incidents loaded in {time.perf_counter() - t0:.0f} s")
        ids_file = tmp / "ids.txt"
        ids_file.write_text("\n".join(random.Random(3).sample(ids, min(20000, len(ids)))) + "\n")
        towns = ",".join(f"{{{lat}, {lon}}}" for _, _, lat, lon in TOWNS)
        port = _port()
        env = {**os.environ, "CORRIDOR_DATABASE_URL": url, "CORRIDOR_HOME": str(tmp / "home")}
        log = (tmp / "serve.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "corridor.cli.main", "serve", "--port", str(port), "--workers", str(server_workers)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base)
            from proc_cpu import Meter, postmaster

            from corridor.web.admission import configured_heavy_limit, configured_limit

            meter = Meter(server.pid, postmaster(sa.make_url(url)))

            print(
                f"  corridor serve --workers {server_workers} (each working on {configured_limit()} request(s) at "
                f"once, {configured_heavy_limit()} slow ones beside); wrk -d{seconds}s per run, {os.cpu_count()} CPUs"
            )
            for kind in ("list", "show"):
                script = tmp / f"{kind}.lua"
                script.write_text(
                    WRK_SCRIPT % {"ids": ids_file, "towns": towns, "seed": 5, "token": token, "kind": kind}
                )
                run_wrk(base, script, 4, 3)  # warm the caches and the connection pools
                for c in clients:
                    runs = []
                    for _ in range(repeat):
                        meter.start()
                        p50, p99, rps, bad = run_wrk(base, script, c, seconds)
                        server_s, pg_s = meter.stop()
                        per = 1000 / max(rps * seconds, 1)  # ms of CPU per request
                        runs.append((p50, p99, rps, server_s * per, pg_s * per, bad))
                    p50, p99, rps, server_ms, pg_ms = (statistics.median(r[i] for r in runs) for i in range(5))
                    bad = sum(r[5] for r in runs)
                    spread = f" ({min(r[1] for r in runs):.1f}-{max(r[1] for r in runs):.1f})" if repeat > 1 else ""
                    flag = f"  ({bad} errors)" if bad else ""
                    print(
                        f"  {kind:4s} {c:3d} clients: p50 {p50:7.1f} ms  p99 {p99:7.1f} ms{spread}  "
                        f"{rps:7.0f} requests/s  CPU per request: server {server_ms:4.2f} ms, "
                        f"PostgreSQL {pg_ms:4.2f} ms{flag}"
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


def _wait_ready(base: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not become ready")


# ---------------------------------------------------------------- the queue


def bench_queue(jobs: int, workers: list[int], tmp: Path) -> None:
    from corridor.ingest.queue import enqueue
    from corridor.ingest.reader import read_bytes

    archive = tmp / "queue.jsonl"
    write_archive(archive, jobs, seed=23)
    records = [json.loads(line) for line in archive.read_text().splitlines()]
    print(f"queue on {engine_name()}: {jobs} jobs, `corridor worker --drain` processes")
    for n in workers:
        with fresh_store(f"queue{n}", tmp) as url:
            store = Store(url)
            with store.transaction() as s:
                for r in records:
                    body = (r.get("html") or r.get("text")).encode()
                    for raw in read_bytes(body, url=r["url"]):
                        raw.published = date.fromisoformat(r["published"]) if r.get("published") else None
                        enqueue(s, raw)
            store.dispose()
            env = {**os.environ, "CORRIDOR_DATABASE_URL": url, "CORRIDOR_HOME": str(tmp / "home")}
            cmd = [sys.executable, "-m", "corridor.cli.main", "worker", "--drain", "--poll", "0.2"]
            t0 = time.perf_counter()
            procs = [
                subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                for _ in range(n)
            ]
            outs = [p.communicate()[0].strip() for p in procs]
            wall = time.perf_counter() - t0
            print(f"  {n} worker{'s' if n > 1 else ' '}: {jobs / wall:6.0f} jobs/s ({wall:.0f} s)  " + " | ".join(outs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("section", choices=["backfill", "api", "queue", "all"])
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--partition-size", type=int, default=500)
    ap.add_argument("--extract-alone", action="store_true", help="also time extraction on the cluster without storing")
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--server-workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="wrk runs per point (api): their median and range")
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="corridor-scale-"))
    try:
        if a.section in ("backfill", "all"):
            bench_backfill(a.docs, a.workers, a.partition_size, a.extract_alone, tmp)
        if a.section in ("queue", "all"):
            bench_queue(a.jobs, a.workers, tmp)
        if a.section in ("api", "all"):
            bench_api(a.incidents, a.clients, a.seconds, a.server_workers, tmp, a.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
