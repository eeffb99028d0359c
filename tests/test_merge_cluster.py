"""The clustering of mentions compares only mentions whose dates can agree; it must give exactly what comparing
every pair gives (the rule as first written, kept here as the reference), on random pools of every kind."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from corridor.ingest.merge import MentionView, cluster, compatible

TOWNS = [
    (30.19, 67.0, "Balochistan"),
    (30.3, 67.1, "Balochistan"),
    (34.0, 71.5, "Khyber Pakhtunkhwa"),
    (24.86, 67.0, "Sindh"),
]
TYPES = ["bombing", "suicide_bombing", "armed_assault", "kidnapping", "threat"]


def reference(mentions: Sequence[MentionView]) -> list[list[MentionView]]:
    ms = sorted(mentions, key=lambda m: m.key)
    fine = [m for m in ms if m.date_precision == "day"]
    coarse = [m for m in ms if m.date_precision != "day"]
    parent = {m.id: m.id for m in ms}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for i, a in enumerate(fine):
        for b in fine[i + 1 :]:
            if compatible(a, b):
                union(a.id, b.id)
    for m in coarse:
        matches = [f for f in fine if compatible(m, f)]
        if matches:
            roots = {find(f.id) for f in matches}
            best = min(
                roots,
                key=lambda r: (
                    -sum(1 for f in matches if find(f.id) == r),
                    min(f.key for f in fine if find(f.id) == r),
                ),
            )
            parent[m.id] = best
    pending = [m for m in coarse if find(m.id) == m.id]
    for i, a in enumerate(pending):
        for b in pending[i + 1 :]:
            if compatible(a, b) and find(b.id) == b.id:
                parent[b.id] = find(a.id)
    groups: dict[str, list[MentionView]] = {}
    for m in ms:
        groups.setdefault(find(m.id), []).append(m)
    return sorted(groups.values(), key=lambda g: g[0].key)


def _pool(rng: random.Random, n: int) -> list[MentionView]:
    out = []
    for i in range(n):
        lat, lon, prov = rng.choice(TOWNS)
        precision = rng.choices(["day", "month", "year", None], weights=[6, 2, 1, 1])[0]
        d = date(2023, 12, 1) + timedelta(days=rng.randrange(90))
        if precision == "month":
            d = d.replace(day=1)
        elif precision == "year":
            d = date(d.year, 1, 1)
        geo = rng.choice(["point", "city", "district", "province", "country"])
        out.append(
            MentionView(
                id=f"m{i:04d}",
                document_id=f"d{rng.randrange(n // 2 + 1)}",
                ordinal=0,
                published=None,
                fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                sha256=f"{rng.getrandbits(64):016x}",
                event_type=rng.choice(TYPES),
                date=d if precision else None,
                date_precision=precision,
                lat=lat + rng.uniform(-0.2, 0.2),
                lon=lon + rng.uniform(-0.2, 0.2),
                geo_precision=geo,
                province=prov if geo != "country" else None,
                country="Pakistan",
                is_new=rng.random() < 0.7,
                confidence=0.8,
            )
        )
    return out


def _ids(groups: list[list[MentionView]]) -> list[list[str]]:
    return [[m.id for m in g] for g in groups]


def test_clustering_equals_comparing_every_pair() -> None:
    for seed in range(12):
        rng = random.Random(seed)
        pool = _pool(rng, rng.choice([20, 80, 250]))
        expected = _ids(reference(pool))
        assert _ids(cluster(pool)) == expected, seed
        rng.shuffle(pool)
        assert _ids(cluster(pool)) == expected, seed  # and input order does not matter
        assert len(expected) < len(pool)  # the pools are dense enough to merge something


def _spread_pool(rng: random.Random, n: int) -> list[MentionView]:
    """Mentions anywhere from the equator to the far north (where a degree of longitude is short), some without
    coordinates or province, many sharing days and provinces: the spatial buckets' hardest cases."""
    provinces = ["Balochistan", "Sindh", "Khyber Pakhtunkhwa", "Punjab", None]
    out = []
    for i in range(n):
        lat = rng.choice([rng.uniform(-5, 70), 30.0 + rng.choice([-0.001, 0.0, 0.999, 1.0]), 68.5])
        lon = rng.choice([rng.uniform(-10, 80), 67.0 + rng.choice([-0.001, 0.0, 0.999]), 179.9, -179.9])
        precision = rng.choices(["day", "month", "year", None], weights=[6, 2, 1, 1])[0]
        d = date(2024, 1, 1) + timedelta(days=rng.randrange(40))
        if precision == "month":
            d = d.replace(day=1)
        elif precision == "year":
            d = date(d.year, 1, 1)
        has_point = rng.random() < 0.9
        out.append(
            MentionView(
                id=f"s{i:04d}",
                document_id=f"d{rng.randrange(n // 3 + 1)}",
                ordinal=0,
                published=None,
                fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                sha256=f"{rng.getrandbits(64):016x}",
                event_type=rng.choice([*TYPES, "targeted_killing", "attack_on_facility", "other"]),
                date=d if precision else None,
                date_precision=precision,
                lat=lat if has_point else None,
                lon=lon if has_point else None,
                geo_precision=rng.choice(["point", "city", "district", "province", "country", None]),
                province=rng.choice(provinces),
                country="Pakistan",
                is_new=True,
                confidence=0.8,
            )
        )
    # neighbours across cell edges and across the antimeridian's cells, within every radius
    for i, m in enumerate(list(out[: n // 4])):
        if m.lat is not None and m.lon is not None:
            dlat, dlon = rng.uniform(-0.7, 0.7), rng.uniform(-1.5, 1.5)
            out.append(
                MentionView(
                    **{
                        **m.__dict__,
                        "id": f"t{i:04d}",
                        "document_id": f"e{i}",
                        "lat": m.lat + dlat,
                        "lon": m.lon + dlon,
                        "sha256": f"{rng.getrandbits(64):016x}",
                    }
                )
            )
    return out


def test_clustering_equals_comparing_every_pair_on_spread_pools() -> None:
    for seed in range(10):
        rng = random.Random(100 + seed)
        pool = _spread_pool(rng, rng.choice([40, 150, 300]))
        expected = _ids(reference(pool))
        assert _ids(cluster(pool)) == expected, seed
        assert len(expected) < len(pool)
