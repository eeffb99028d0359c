"""`corridor serve`: the app under uvicorn, in one process or in N worker processes serving one port.

With N workers the supervisor process listens on the port and hands each new connection to the workers in turn
(`Dispatcher`, `HandedServer`); a worker that dies is replaced on its slot.

uvicorn starts workers with multiprocessing's spawn, so each worker imports the app again from an import string
(`corridor.web.app:create_app`, a factory: every worker opens its own store connections) and gets the logging
configuration as plain data. The workers' Prometheus samples meet in PROMETHEUS_MULTIPROC_DIR: set here, before
any worker starts, to a private temporary folder unless the operator chose one (and emptied of the previous
run's files, which would otherwise be added to this run's counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
            listener = listening_socket(host, port)
            logging.getLogger("uvicorn.error").info(
                "listening on http://%s:%d with %d workers", host, listener.getsockname()[1], workers
            )
            Balanced(config, listener, workers).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # the port was taken, the app failed to load: as `uvicorn.run` does
                raise SystemExit(3)
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's TCP listening socket (port 0: a free one), bound here in the supervisor before any worker
    starts, so that a taken port is reported once and the workers never race for it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # declared TCP: asyncio switches Nagle's algorithm off (TCP_NODELAY) only on connections of a socket that says
    # IPPROTO_TCP, and uvicorn's own multi-worker socket says 0; with Nagle on, every keep-alive answer after the
    # first waited for the client's delayed ACK (uvicorn issue 3149). The workers set it on what they are handed.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        logging.getLogger("uvicorn.error").error("cannot listen on %s:%s: %s", host, port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    return sock


class Dispatcher(threading.Thread):
    """Accepts the server's connections in the supervisor and hands each to the next worker in turn, through a
    Unix socket per worker slot (the connection's descriptor passed with SCM_RIGHTS), as Node's cluster does.

    Why not let the workers accept: with one shared socket, the worker whose event loop woke first accepted every
    waiting connection (asyncio accepts up to the backlog at once), and clients that keep their connections open (a
    reverse proxy's keep-alive pool, a load generator) mostly landed on one worker. With a socket per worker
    (SO_REUSEPORT), the kernel hashes each connection to one of them: 64 connections split 32/32 or 22/42 by chance,
    and the busier worker's queue set the p99 (show at 64 clients: 65-81 ms when even, 95-107 ms when not;
    bench/api_cpu.py). Handed out in turn, they split evenly."""

    def __init__(self, listener: socket.socket, channels: list[socket.socket], alive: Callable[[int], bool]) -> None:
        super().__init__(name="corridor-dispatch", daemon=True)
        self.listener = listener
        self.channels = channels
        self.alive = alive
        self.turn = 0
        self.stopping = threading.Event()
        listener.settimeout(0.5)  # to notice `stop` (closing a socket does not wake a thread blocked in accept)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.listener.close()

    def run(self) -> None:
        log = logging.getLogger("uvicorn.error")
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:  # out of descriptors, a connection reset before it was accepted: go on
                log.warning("accept failed: %s", exc)
                time.sleep(0.05)
                continue
            with conn:  # our copy is closed once the worker holds its own
                if not self.hand(conn):
                    log.error("no worker could take a connection; closed it")

    def hand(self, conn: socket.socket) -> bool:
        """To the next live worker in turn (a dead one's slot is skipped until its successor runs)."""
        n = len(self.channels)
        for _ in range(n):
            slot, self.turn = self.turn, (self.turn + 1) % n
            if not self.alive(slot):
                continue
            try:
                socket.send_fds(self.channels[slot], [b"c"], [conn.fileno()])
                return True
            except OSError as exc:
                logging.getLogger("uvicorn.error").warning("worker slot %d refused a connection: %s", slot, exc)
        return False


class HandedServer(uvicorn.Server):
    """A worker's server: it serves the connections the supervisor's `Dispatcher` hands it on `channel` instead of
    accepting its own; everything else (lifespan, protocol, graceful shutdown) is uvicorn's."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # no listening socket of its own
        if not self.started:
            return
        loop = asyncio.get_running_loop()
        config = self.config

        def protocol() -> asyncio.Protocol:  # as uvicorn's own `create_protocol`
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop
            )

        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), take_connections, self.channel, loop, protocol, self._orphaned)

    def _orphaned(self) -> None:
        """The supervisor is gone: nobody hands out connections any more, so this worker stops too."""
        self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with contextlib.suppress(ValueError, OSError):  # stop taking connections: the successor takes them
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets)


def take_connections(
    channel: socket.socket,
    loop: asyncio.AbstractEventLoop,
    protocol: Callable[[], asyncio.Protocol],
    orphaned: Callable[[], None],
) -> None:
    """Serve every connection waiting on `channel` with a new `protocol` (the reader callback of a worker's
    channel). TCP_NODELAY is set on each: asyncio would set it only on connections it accepted itself from a socket
    declared TCP, and with Nagle's algorithm on every keep-alive answer waits for the client's delayed ACK."""
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(channel, 16, 16)
        except (BlockingIOError, InterruptedError):
            return
        if not data:  # end of file: the supervisor's end is closed
            loop.remove_reader(channel.fileno())
            orphaned()
            return
        for fd in fds:
            conn = socket.socket(fileno=fd)
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(loop.connect_accepted_socket(protocol, conn))
            task.add_done_callback(_report)


def _report(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("uvicorn.error").warning("a handed connection failed: %s", task.exception())


class Worker(Process):
    """uvicorn's worker process, running a `HandedServer` on its slot's channel."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config, [channel])
        self.channel = channel

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = HandedServer(self.config, self.channel)
        return self._server


class Balanced(Multiprocess):
    """uvicorn's supervisor, with the `Dispatcher` handing connections to the workers in turn; a worker that dies or
    is replaced (SIGHUP) leaves its slot's channel to its successor."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, workers: int) -> None:
        super().__init__(config, sockets=[])
        self.processes_num = workers
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(workers)]
        self.channels = [theirs for _, theirs in pairs]  # kept here too, for each slot's next worker
        for ours, theirs in pairs:
            theirs.set_inheritable(True)
            ours.setblocking(False)  # a worker that stops reading (hung, dying) never stalls the dispatcher
        self.dispatcher = Dispatcher(listener, [ours for ours, _ in pairs], self._alive)

    def _alive(self, slot: int) -> bool:
        return slot < len(self.processes) and self.processes[slot].process.is_alive()

    def spawn(self, slot: int) -> Process:
        process = Worker(self.config, self.channels[slot])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self.spawn(slot) for slot in range(self.processes_num)]
        self.dispatcher.start()

    def terminate_all(self) -> None:
        self.dispatcher.stop()  # no new connections while the workers finish theirs
        super().terminate_all()

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
