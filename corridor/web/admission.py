"""How many requests one server process works on at once; the rest wait their turn in the event loop.

Routes run in a thread pool and hold a database connection each. Under load, letting every open connection in at
once made 30 threads fight over one interpreter lock and 60 PostgreSQL backends over two cores: at 64 clients a
2-worker server answered half as many requests per second as at 16 (bench/scale.py api). A waiting request holds
neither a thread nor a connection, so the pool can never be drained by queued requests.

Two lanes, so that quick reads never queue behind slow work:

- **Heavy** requests (a document to extract and merge, a page fetched from a URL, a brief rendered to PDF, a risk
  model fitted, a TAXII exchange: paths under HEAVY) take turns among themselves, CORRIDOR_MAX_HEAVY at a time
  (default 2).
- **Every other** request takes turns in the main lane, CORRIDOR_MAX_CONCURRENCY at a time (default 1). The
  requests of this lane are a few milliseconds of Python and a few database round trips on the same host; one
  at a time per process is the most a core gives them, and it serves them in arrival order: on 2 cores, 2
  workers, 64 clients, show answered 939 requests/s with p99 101 ms at 1, 958 with p99 105 ms at 2, and 856 with
  p99 189 ms at 4 (bench/api_cpu.py; threads of one process only take the interpreter lock from each other).
  Raise it when requests wait on a database on another host: then a process has time to spare while it waits.

The probes (/healthz, /readyz, /metrics) never wait: a busy server is not a dead one.
"""

from __future__ import annotations

import asyncio
import os
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send

from corridor import telemetry

DEFAULT = 1
DEFAULT_HEAVY = 2
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
HEAVY = ("/api/v1/documents", "/api/v1/brief", "/api/v1/risk", "/taxii2")


def _positive_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}") from exc
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


def configured_limit() -> int:
    return _positive_env("CORRIDOR_MAX_CONCURRENCY", DEFAULT)


def configured_heavy_limit() -> int:
    return _positive_env("CORRIDOR_MAX_HEAVY", DEFAULT_HEAVY)


def is_heavy(path: str) -> bool:
    return path.startswith(HEAVY)


class Admission:
    """A plain ASGI middleware with one pair of semaphores per event loop (a server process has one; tests may run
    the same app under several)."""

    def __init__(self, app: ASGIApp, limit: int | None = None, heavy_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or configured_limit()
        self.heavy_limit = heavy_limit or configured_heavy_limit()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]]
        self._gates = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in PROBES:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        gates = self._gates.get(loop)
        if gates is None:
            gates = self._gates[loop] = (asyncio.Semaphore(self.limit), asyncio.Semaphore(self.heavy_limit))
        gate = gates[1] if is_heavy(path) else gates[0]
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
