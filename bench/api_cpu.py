"""CPU time per API request: the server processes' (and PostgreSQL's) CPU seconds over a wrk run, per request.

Wall-clock latency on a shared 2-core host moves with whatever else runs; the CPU one request costs does not, so
this is the figure to compare before and after a change to the read path. Needs a PostgreSQL server (run under
scripts/pg-test-cluster.sh, or with CORRIDOR_TEST_DATABASE_URL naming one) and wrk.

    python bench/api_cpu.py --incidents 100000 --seconds 5 --clients 16

The store is built once per size into a database `apicpu_<n>` on that server and kept for the next run (the
token and ids beside it in the temporary folder named by --state); --fresh builds it anew.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import TOWNS, build_store
from proc_cpu import Meter, postmaster, tree
from scale import PG_ENV, WRK_SCRIPT, _port, _wait_ready

ROOT = Path(__file__).resolve().parents[1]


def prepare(server: str, n: int, state: Path, fresh: bool) -> tuple[str, str, list[str]]:
    base = sa.make_url(server)
    name = f"apicpu_{n}"
    url = base.set(database=name)
    saved = state / f"{name}.json"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).scalar()
        if exists and (fresh or not saved.exists()):
            c.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"')
    admin.dispose()
    text = url.render_as_string(hide_password=False)
    if not exists:
        t0 = time.perf_counter()
        token, ids = build_store(text, n)
        with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as c:
            c.exec_driver_sql("VACUUM ANALYZE")
        saved.write_text(json.dumps({"token": token, "ids": random.Random(3).sample(ids, min(20000, len(ids)))}))
        print(f"built {n} incidents in {time.perf_counter() - t0:.0f} s")
    data = json.loads(saved.read_text())
    return text, data["token"], data["ids"]


def wrk(base: str, script: Path, clients: int, seconds: int) -> tuple[int, float, float, int]:
    """(requests, p50 ms, p99 ms, non-2xx) of one wrk run."""
    cmd = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    from scale import _ms

    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return count, p50, p99, int(bad.group(1)) if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--clients", type=int, nargs="+", default=[16])
    ap.add_argument("--server-workers", type=int, default=2)
    ap.add_argument("--kinds", nargs="+", default=["show", "list"], choices=["show", "list"])
    ap.add_argument("--state", type=Path, default=Path(tempfile.gettempdir()) / "corridor-apicpu")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--hold", action="store_true", help="print the server's pid and wait (for a profiler)")
    a = ap.parse_args()
    server_url = os.environ.get(PG_ENV)
    if not server_url:
        raise SystemExit(f"{PG_ENV} must name a PostgreSQL server (run under scripts/pg-test-cluster.sh)")
    a.state.mkdir(parents=True, exist_ok=True)
    url, token, ids = prepare(server_url, a.incidents, a.state, a.fresh)
    pg_pid = postmaster(sa.make_url(url))
    ids_file = a.state / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    towns = ",".join(f"{{{lat}, {lon}}}" for _, _, lat, lon in TOWNS)
    port = _port()
    home = Path(tempfile.mkdtemp(prefix="corridor-apicpu-home-"))
    env = {**os.environ, "CORRIDOR_DATABASE_URL": url, "CORRIDOR_HOME": str(home)}
    cmd = [sys.executable, "-m", "corridor.cli.main", "serve", "--port", str(port)]
    cmd += ["--workers", str(a.server_workers)]
    log = (home / "serve.log").open("w")  # the access log is written, as under bench/scale.py
    server = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        for kind in a.kinds:
            script = a.state / f"{kind}.lua"
            script.write_text(WRK_SCRIPT % {"ids": ids_file, "towns": towns, "seed": 5, "token": token, "kind": kind})
            wrk(base, script, 4, 2)  # warm
            for c in a.clients:
                meter = Meter(server.pid, pg_pid)
                meter.start()
                n, p50, p99, bad = wrk(base, script, c, a.seconds)
                server_s, pg_s = meter.stop()
                print(
                    f"{kind:4s} {c:3d} clients: {n / a.seconds:6.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                    f"server CPU {server_s * 1000 / n:5.2f} ms/req  PostgreSQL CPU {pg_s * 1000 / n:5.2f} ms/req"
                    + (f"  ({bad} errors)" if bad else "")
                )
        if a.hold:
            print(f"server pids: {tree(server.pid)}; Ctrl-C to stop", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.wait()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
