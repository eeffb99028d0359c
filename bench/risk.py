"""Risk engine speed: fit on 50,000 incidents, score every covered cell, time point ratings (and routes, once
the road network is bundled). Targets (issue): fit < 60 s, point rating < 5 ms, route < 50 ms on one core.

Usage: python bench/risk.py [--events 50000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import h3
import numpy as np

from corridor.risk.hawkes import Events, fit, simulate
from corridor.risk.service import covered_cells


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50_000)
    a = ap.parse_args()
    cells = covered_cells()
    days = 3650.0
    # about half background, half triggered (alpha 0.5), spread over Pakistan's covered area
    rows = simulate(
        (24.0, 61.5, 36.5, 75.5), rate=a.events * 0.5 / days, alpha=0.5, omega=0.03, sigma=10.0, days=days, seed=7
    )
    ev = Events.build(rows)
    print(f"{len(ev)} incidents over {days:.0f} days, {len(cells)} covered cells")
    t0 = time.perf_counter()
    model = fit(ev, set(cells))
    fit_s = time.perf_counter() - t0
    print(
        f"fit: {fit_s:.1f} s ({model.iterations} EM iterations; alpha {model.alpha:.3f}, omega "
        f"{model.omega:.4f}/day, sigma {model.sigma:.1f} km)"
    )
    day = model.day_of(date(2024, 6, 1))
    t0 = time.perf_counter()
    for c in cells:
        lat, lon = h3.cell_to_latlng(c)
        model.intensity(lat, lon, day)
    all_s = time.perf_counter() - t0
    print(f"score every cell: {all_s:.2f} s ({all_s / len(cells) * 1000:.2f} ms per cell)")
    rng = np.random.default_rng(1)
    keys = list(cells)
    times = []
    for _ in range(2000):
        lat, lon = h3.cell_to_latlng(keys[int(rng.integers(len(keys)))])
        t = time.perf_counter()
        model.intensity(lat + rng.normal(0, 0.02), lon + rng.normal(0, 0.02), day)
        times.append(time.perf_counter() - t)
    times.sort()
    p99 = times[int(len(times) * 0.99)]
    print(f"point rating: p50 {statistics.median(times) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    # a long route over the bundled road network, rated on the fitted 50k-incident model
    from corridor.geo.roads import RoadNetwork
    from corridor.risk.routes import plan
    from corridor.risk.service import RiskModel

    net = RoadNetwork.load()
    rm = RiskModel(model, [], 1.0)
    route_times = []
    for _ in range(20):
        t = time.perf_counter()
        r = plan(rm, net, "Karachi", "Khunjerab", date(2024, 6, 1))
        route_times.append(time.perf_counter() - t)
    print(
        f"route Karachi-Khunjerab ({r['km']:.0f} km, {len(r['legs'])} segments): "
        f"median {statistics.median(route_times) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
