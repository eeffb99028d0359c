"""gunicorn with uvicorn workers: the alternative to `corridor serve --workers N` (docs/deploy.md).

    pip install gunicorn uvicorn-worker            # not corridor dependencies: only this way of serving needs them
    export PROMETHEUS_MULTIPROC_DIR=/run/corridor/metrics
    gunicorn -c deploy/gunicorn.conf.py 'corridor.web.app:create_app()'

What gunicorn adds over `corridor serve`: it replaces a worker that stops answering (timeout), restarts workers
after a number of requests, and reloads them gracefully on SIGHUP. Settings come from the same environment as
`corridor serve` (CORRIDOR_*), plus CORRIDOR_BIND and CORRIDOR_WORKERS here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from corridor.logs import logging_config, resolve_format

bind = os.environ.get("CORRIDOR_BIND", "127.0.0.1:8765")
workers = int(os.environ.get("CORRIDOR_WORKERS", "4"))
worker_class = "uvicorn_worker.UvicornWorker"
timeout = 120  # a large report's extraction or a PDF brief may take a while; a stuck worker is replaced after it
graceful_timeout = 30
max_requests = 10_000
max_requests_jitter = 1_000
accesslog = None  # corridor.request writes one line per request (JSON with CORRIDOR_LOG_FORMAT=json)
forwarded_allow_ips = os.environ.get("CORRIDOR_FORWARDED_ALLOW_IPS", "127.0.0.1")

_fmt = resolve_format(None)
logconfig_dict: dict[str, Any] = logging_config(_fmt)
logconfig_dict["loggers"]["gunicorn.error"] = {"handlers": ["stderr"], "level": "INFO", "propagate": False}


def on_starting(server: Any) -> None:
    """Once, in the arbiter, before any worker: migrate the store (workers must not race to do it) and empty the
    metrics folder of the previous run's samples."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        raise RuntimeError("set PROMETHEUS_MULTIPROC_DIR to a folder for the workers' metrics (see docs/deploy.md)")
    from corridor.config import load_settings
    from corridor.store.db import Store
    from corridor.web.serving import clear_samples

    clear_samples(Path(folder))
    store = Store(load_settings().database_url)
    try:
        store.upgrade()
    finally:
        store.dispose()


def post_worker_init(worker: Any) -> None:
    """In each worker, before it serves: its listening sockets declared as TCP, so that asyncio switches Nagle's
    algorithm off on every accepted connection. gunicorn creates them with protocol number 0, and asyncio then
    leaves TCP_NODELAY off: each keep-alive response waits for the client's delayed ACK, about 40 ms on Linux
    (uvicorn issue 3149; `corridor serve` sets it on every connection it hands a worker)."""
    import socket

    worker.sockets = [
        socket.socket(s.family, s.type, socket.IPPROTO_TCP, fileno=os.dup(s.fileno()))
        if s.family in (socket.AF_INET, socket.AF_INET6) and s.proto != socket.IPPROTO_TCP
        else s
        for s in worker.sockets
    ]


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges must stop counting (its counters stay, summed into the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
