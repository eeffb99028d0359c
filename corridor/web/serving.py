"""`corridor serve`: the app under uvicorn, in one process or in N worker processes listening on one port.

uvicorn starts workers with multiprocessing's spawn, so each worker imports the app again from an import string
(`corridor.web.app:create_app`, a factory: every worker opens its own store connections) and gets the logging
configuration as plain data. The workers' Prometheus samples meet in PROMETHEUS_MULTIPROC_DIR: set here, before
any worker starts, to a private temporary folder unless the operator chose one (and emptied of the previous
run's files, which would otherwise be added to this run's counts).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

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
        config = uvicorn.Config(
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
            Balanced(config, port_sockets(host, port, workers)).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # the port was taken, the app failed to load: as `uvicorn.run` does
                raise SystemExit(3)
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


def port_sockets(host: str, port: int, n: int) -> list[socket.socket]:
    """`n` TCP listening sockets bound to one port with SO_REUSEPORT: one per worker, so that the kernel spreads
    new connections over the workers.

    With one socket shared by every worker (uvicorn's way, and gunicorn's), the worker whose event loop wakes first
    accepts every connection waiting (asyncio accepts up to the listen backlog in one go). Clients that keep their
    connections open (a reverse proxy's keep-alive pool, a load generator) then mostly land on one worker: at 64
    clients, a 2-worker server answered show requests with p50 79 ms and p99 261 ms, the p99 set by the busier
    worker's queue (bench/api_cpu.py). With a socket each, the kernel hashes each connection to one of them.
    Port 0 picks a free port for the first socket and binds the others to it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(n):
            # declared TCP: asyncio switches Nagle's algorithm off (TCP_NODELAY) only on accepted connections of a
            # socket that says IPPROTO_TCP, and uvicorn's own multi-worker socket says 0; with Nagle on, every
            # keep-alive answer after the first waited for the client's delayed ACK (uvicorn issue 3149)
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sockets.append(sock)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        logging.getLogger("uvicorn.error").error("cannot listen on %s:%s: %s", host, port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    logging.getLogger("uvicorn.error").info("listening on http://%s:%d with %d workers", host, port, n)
    return sockets


class Balanced(Multiprocess):
    """uvicorn's supervisor, with a listening socket per worker slot (`port_sockets`): a worker that dies or is
    replaced (SIGHUP) hands its slot's socket to its successor, so every socket always has a worker."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=[])
        self.slots = sockets
        self.processes_num = len(sockets)

    def spawn(self, slot: int) -> Process:
        process = Process(self.config, [self.slots[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self.spawn(slot) for slot in range(self.processes_num)]

    def restart_all(self) -> None:
        """As uvicorn's: each replacement is serving before the worker it replaces is retired."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self.spawn(slot)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    logging.getLogger("uvicorn.error").error(
                        "new worker [%s] was not ready in time; keeping worker [%s] and aborting the restart",
                        new.pid,
                        old.pid,
                    )
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def keep_subprocess_alive(self) -> None:
        """As uvicorn's: a hung worker is killed and a dead one replaced, on its own slot's socket; a worker that
        failed before serving (the app does not load) stops the server instead of being restarted forever."""
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                logging.getLogger("uvicorn.error").error("worker [%s] failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logging.getLogger("uvicorn.error").info("worker [%s] died; starting another", process.pid)
            self.processes[slot] = self.spawn(slot)
