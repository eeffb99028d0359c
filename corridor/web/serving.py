"""`corridor serve`: the app under uvicorn, in one process or in N worker processes sharing one listening socket.

uvicorn starts workers with multiprocessing's spawn, so each worker imports the app again from an import string
(`corridor.web.app:create_app`, a factory: every worker opens its own store connections) and gets the logging
configuration as plain data. The workers' Prometheus samples meet in PROMETHEUS_MULTIPROC_DIR: set here, before
any worker starts, to a private temporary folder unless the operator chose one (and emptied of the previous
run's files, which would otherwise be added to this run's counts).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from corridor.logs import logging_config, resolve_format
from corridor.web.observability import MULTIPROC_ENV

APP = "corridor.web.app:create_app"
# the files prometheus_client writes in multiprocess mode: counter_<pid>.db, gauge_livesum_<pid>.db, ...
_SAMPLE_FILE = re.compile(r"^(counter|histogram|summary|gauge_[a-z]+)_\d+\.db$")


def clear_samples(folder: Path) -> int:
    """Remove a previous run's sample files from `folder` (only those: it may hold other things)."""
    removed = 0
    for p in folder.glob("*.db"):
        if _SAMPLE_FILE.match(p.name):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """The folder the workers share metric samples through; a temporary one we own (and remove afterwards) when
    workers > 1 and the operator set none. Returns that temporary folder, or None when there is none to remove."""
    chosen = os.environ.get(MULTIPROC_ENV)
    if chosen:
        folder = Path(chosen)
        folder.mkdir(parents=True, exist_ok=True)
        clear_samples(folder)
        return None
    if workers <= 1:
        return None
    own = Path(tempfile.mkdtemp(prefix="corridor-metrics-"))
    os.environ[MULTIPROC_ENV] = str(own)
    return own


def run_server(
    host: str,
    port: int,
    workers: int = 1,
    log_format: str | None = None,
    log_level: str = "info",
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve until interrupted. log_format: 'text' (default) or 'json' (also from CORRIDOR_LOG_FORMAT).

    forwarded_allow_ips: the reverse proxies (comma-separated addresses or networks) whose X-Forwarded-For and
    X-Forwarded-Proto are believed; then the client address (login rate limits) and the scheme (Secure cookies)
    are the original request's. None: no header is believed, the peer is the client."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    fmt = resolve_format(log_format)
    own = prepare_multiprocess_dir(workers)
    try:
        config = NoDelayConfig(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=logging_config(fmt, log_level),
            log_level=log_level,
            access_log=fmt == "text",  # json: corridor.request writes the richer line
            proxy_headers=bool(forwarded_allow_ips),
            forwarded_allow_ips=forwarded_allow_ips or None,
        )
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # the port was taken, the app failed to load: as `uvicorn.run` does
                raise SystemExit(3)
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


def _no_delay_listener(sock: socket.socket) -> socket.socket:
    """The listening socket, told that it speaks TCP.

    uvicorn binds the socket itself for several workers and leaves its protocol number at 0; accepted
    connections inherit it, and asyncio only switches Nagle's algorithm off (TCP_NODELAY) on connections that say
    IPPROTO_TCP. With Nagle on, every keep-alive response after the first waited for the client's delayed ACK:
    52 ms for a 10 ms request under `--workers 2` (uvicorn issue 3149). The same descriptor, declared as TCP."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


class NoDelayConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        return _no_delay_listener(super().bind_socket())
