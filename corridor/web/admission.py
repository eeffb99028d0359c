"""How many requests one server process works on at once; the rest wait their turn in the event loop.

Routes run in a thread pool (40 threads) and hold a database connection each. Under load, letting every open
connection in at once made 30 threads fight over one interpreter lock and 60 PostgreSQL backends over two
cores: at 64 clients a 2-worker server answered half as many requests per second as at 16 (bench/scale.py api).
Admitting a few at a time keeps the throughput of the best concurrency whatever the number of clients, and a
waiting request holds neither a thread nor a connection, so the pool can never be drained by queued requests.

CORRIDOR_MAX_CONCURRENCY sets the number per process (default 4). The probes (/healthz, /readyz, /metrics)
never wait: a busy server is not a dead one.
"""

from __future__ import annotations

import asyncio
import os
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send

from corridor import telemetry

DEFAULT = 4
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def configured_limit() -> int:
    raw = os.environ.get("CORRIDOR_MAX_CONCURRENCY", "")
    try:
        value = int(raw) if raw else DEFAULT
    except ValueError as exc:
        raise ValueError(f"CORRIDOR_MAX_CONCURRENCY must be a positive integer, got {raw!r}") from exc
    if value < 1:
        raise ValueError(f"CORRIDOR_MAX_CONCURRENCY must be a positive integer, got {raw!r}")
    return value


class Admission:
    """A plain ASGI middleware with one semaphore per event loop (a server process has one; tests may run the
    same app under several)."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or configured_limit()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in PROBES:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        if gate.locked():
            telemetry.REQUESTS_WAITING.inc()
            try:
                await gate.acquire()
            finally:
                telemetry.REQUESTS_WAITING.dec()
        else:
            await gate.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            gate.release()
