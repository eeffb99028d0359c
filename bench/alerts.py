"""Alert fan-out speed: 100,000 people at 5,000 sites; time from a new incident to all its alerts computed
(spatial index on h3 cells, not a scan). Target (issue): < 50 ms.

Usage: python bench/alerts.py [--people 100000] [--sites 5000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import h3
import sqlalchemy as sa

from corridor.identity.service import add_org
from corridor.ids import new_id
from corridor.ops.service import alert_targets, raise_alerts
from corridor.store.db import Store
from corridor.store.tables import Alert, Incident, Person, Site

TOWNS = [
    (24.86, 67.01),
    (30.19, 67.0),
    (34.01, 71.52),
    (33.70, 73.05),
    (31.55, 74.34),
    (25.12, 62.32),
    (26.0, 63.05),
    (35.29, 73.29),
    (34.93, 72.87),
    (27.70, 68.86),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--sites", type=int, default=5_000)
    ap.add_argument("--incidents", type=int, default=200)
    a = ap.parse_args()
    rng = random.Random(3)
    store = Store(f"sqlite:///{Path(tempfile.mkdtemp()) / 'alerts.db'}")
    store.upgrade()
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    with store.transaction() as s:
        org_id = add_org(s, "Bench Co", "company").id
    sites = []
    for _ in range(a.sites):
        la, lo = rng.choice(TOWNS)
        la, lo = la + rng.uniform(-0.8, 0.8), lo + rng.uniform(-0.8, 0.8)
        sites.append(
            {
                "id": new_id(),
                "org_id": org_id,
                "name": f"site {len(sites)}",
                "kind": "site",
                "lat": la,
                "lon": lo,
                "radius_m": 500.0,
                "cell": h3.latlng_to_cell(la, lo, 5),
                "created_at": stamp,
            }
        )
    people = [
        {
            "id": new_id(),
            "org_id": org_id,
            "name": f"person {k}",
            "nationality": "Chinese",
            "site_id": rng.choice(sites)["id"],
            "created_at": stamp,
        }
        for k in range(a.people)
    ]
    with store.write_engine.begin() as conn:
        conn.execute(sa.insert(Site), sites)
        for k in range(0, len(people), 10_000):
            conn.execute(sa.insert(Person), people[k : k + 10_000])
    times, compute, counts = [], [], []
    for _ in range(a.incidents):
        la, lo = rng.choice(TOWNS)
        with store.transaction() as s:
            inc = Incident(
                event_type="bombing",
                date=date(2025, 1, 2),
                date_precision="day",
                place_name="x",
                lat=la + rng.uniform(-0.5, 0.5),
                lon=lo + rng.uniform(-0.5, 0.5),
                geo_precision="city",
                killed_total=rng.choice([0, 1, 3, 6, 12]),
                status="draft",
                version=1,
                tlp="CLEAR",
                provenance={},
                locked_fields=[],
                created_at=stamp,
                updated_at=stamp,
                first_seen=stamp,
                last_seen=stamp,
                confidence=0.8,
            )
            s.add(inc)
            s.flush()
            t = time.perf_counter()
            alert_targets(s, inc)
            compute.append(time.perf_counter() - t)
            t = time.perf_counter()
            alerts = raise_alerts(s, inc)
            times.append(time.perf_counter() - t)
            counts.append(len(alerts))
    with store.sessions() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(Alert))
    times.sort()
    compute.sort()
    print(
        f"{a.people} people at {a.sites} sites; {a.incidents} incidents, {total} alerts "
        f"(median {statistics.median(counts):.0f} per incident)"
    )
    print(
        f"compute every alert of a new incident: p50 {statistics.median(compute) * 1000:.1f} ms, "
        f"p99 {compute[int(len(compute) * 0.99) - 1] * 1000:.1f} ms"
    )
    print(
        f"compute and store them: p50 {statistics.median(times) * 1000:.1f} ms, "
        f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
