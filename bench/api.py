"""API latency: incident list (bbox + time filter) and show, on a SQLite store with 100,000 incidents.

A load generator runs in separate processes on loopback against a real uvicorn; prints p50/p99 latency and
requests/s per endpoint. Target (issue): p99 < 100 ms on SQLite.

Usage: python bench/api.py [--incidents 100000] [--requests 2000] [--clients 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from corridor.identity.service import add_org, add_user, create_token
from corridor.ids import new_id
from corridor.store.db import Store
from corridor.store.tables import Incident

ROOT = Path(__file__).resolve().parents[1]
TOWNS = [
    ("Quetta", "Balochistan", 30.19, 67.0),
    ("Peshawar", "Khyber Pakhtunkhwa", 34.01, 71.52),
    ("Karachi", "Sindh", 24.86, 67.01),
    ("Bannu", "Khyber Pakhtunkhwa", 32.99, 70.6),
    ("Turbat", "Balochistan", 26.0, 63.05),
    ("Gwadar", "Balochistan", 25.12, 62.32),
    ("Lahore", "Punjab", 31.55, 74.34),
    ("Dera Ismail Khan", "Khyber Pakhtunkhwa", 31.83, 70.9),
]
TYPES = ["bombing", "suicide_bombing", "armed_assault", "targeted_killing", "kidnapping", "attack_on_facility"]


def build_store(url: str, n: int) -> tuple[str, list[str]]:
    store = Store(url)
    store.upgrade()
    rng = random.Random(1)
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    with store.transaction() as s:
        org = add_org(s, "Bench Agency", "agency")
        user = add_user(s, org, "bench", "analyst", "bench-password-123")
        token = create_token(s, user, "bench", ["read"], None).token
        org_id = org.id
    ids = []
    rows = []
    for _ in range(n):
        town, prov, lat, lon = rng.choice(TOWNS)
        iid = new_id()
        ids.append(iid)
        rows.append(
            {
                "id": iid,
                "event_type": rng.choice(TYPES),
                "date": date(2015, 1, 1) + timedelta(days=rng.randrange(3650)),
                "date_precision": "day",
                "place_name": town,
                "city": town,
                "province": prov,
                "country": "Pakistan",
                "lat": lat + rng.uniform(-0.3, 0.3),
                "lon": lon + rng.uniform(-0.3, 0.3),
                "geo_precision": "city",
                "killed_total": rng.randrange(20),
                "status": "draft",
                "confidence": 0.7,
                "provenance": {},
                "first_seen": stamp,
                "last_seen": stamp,
                "created_at": stamp,
                "updated_at": stamp,
                "version": 1,
                "tlp": rng.choice(["CLEAR", "GREEN", "AMBER"]),
                "owner_org_id": org_id,
                "locked_fields": [],
            }
        )
    with store.write_engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(sa.insert(Incident), rows[i : i + 5000])
    store.dispose()
    return token, ids


def client(args: tuple[str, str, str, list[str], int, int]) -> list[tuple[str, float]]:
    base, token, kind, ids, count, seed = args
    rng = random.Random(seed)
    out = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        for _ in range(count):
            if kind == "list":
                town = rng.choice(TOWNS)
                start = date(2015, 1, 1) + timedelta(days=rng.randrange(3000))
                params = {
                    "bbox": f"{town[3] - 0.5},{town[2] - 0.5},{town[3] + 0.5},{town[2] + 0.5}",
                    "since": start.isoformat(),
                    "until": (start + timedelta(days=365)).isoformat(),
                    "limit": "50",
                }
                t0 = time.perf_counter()
                r = c.get("/api/v1/incidents", params=params)
            else:
                t0 = time.perf_counter()
                r = c.get(f"/api/v1/incidents/{rng.choice(ids)}")
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                raise SystemExit(f"{kind}: HTTP {r.status_code} {r.text[:200]}")
            out.append((kind, dt))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="corridor-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    token, ids = build_store(url, a.incidents)
    print(f"store: {a.incidents} incidents built in {time.perf_counter() - t0:.1f} s ({tmp / 'bench.db'})")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "corridor.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "CORRIDOR_DATABASE_URL": url},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        client((base, token, "list", ids, 20, 0))  # warm up
        for kind in ("list", "show"):
            per = a.requests // a.clients
            t0 = time.perf_counter()
            with mp.Pool(a.clients) as pool:
                results = [
                    x
                    for chunk in pool.map(client, [(base, token, kind, ids, per, k) for k in range(a.clients)])
                    for x in chunk
                ]
            wall = time.perf_counter() - t0
            lat = sorted(d for _, d in results)
            p50 = statistics.median(lat) * 1000
            p99 = lat[int(len(lat) * 0.99) - 1] * 1000
            print(
                f"{kind:5s} {len(lat)} requests, {a.clients} clients: p50 {p50:.1f} ms  p99 {p99:.1f} ms  "
                f"{len(lat) / wall:.0f} requests/s"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
