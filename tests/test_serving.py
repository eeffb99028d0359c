"""Serving in production: /healthz, /readyz, /metrics, JSON request logs, several workers behind one port.

The server tests start the real `corridor serve --workers 2 --log-format json` on 127.0.0.1 (a free port) once
for the module and talk to it over HTTP; the readiness and access-rule tests use the app in-process.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from corridor.identity.service import add_org, add_user, create_token
from corridor.logs import REQUESTS, JsonFormatter, TextFormatter, event, resolve_format
from corridor.ops.service import add_site
from corridor.store.db import Store, upgrade
from corridor.store.revisions import heads, scripts
from corridor.store.seed import seed_actors
from corridor.store.visibility import Viewer
from corridor.web.app import create_app

from .conftest import ROOT
from .databases import TestDatabases
from .reports import REPORTS

QUETTA = REPORTS["quetta.txt"]


# ---------------------------------------------------------------- helpers


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Parsed Prometheus text: (sample name, labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    token: str
    log: Path
    proc: subprocess.Popen[bytes]

    def lines(self) -> list[dict[str, Any]]:
        """Every line the server wrote to stderr, parsed (a line that is not JSON fails the test)."""
        text = self.log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10) -> list[dict[str, Any]]:
        """Log lines matching pred, waiting for the first (the request line is written just after the reply)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [x for x in self.lines() if pred(x)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def logged(self, request_ids: set[str], timeout: float = 10) -> list[dict[str, Any]]:
        """The request lines of these request ids, once every one of them is written."""
        deadline = time.monotonic() + timeout
        while True:
            found = [x for x in self.lines() if x["logger"] == REQUESTS and x.get("request_id") in request_ids]
            if {x["request_id"] for x in found} >= request_ids or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def scrape(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        r = httpx.get(f"{self.base}/metrics", timeout=10)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        return samples(r.text)


@pytest.fixture(scope="module")
def served(databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(databases, tmp_path_factory.mktemp("served")) as server:
        yield server


@contextlib.contextmanager
def serving(databases: TestDatabases, home: Path) -> Iterator[Served]:
    """`corridor serve --workers 2 --log-format json` on a store of its own in `home`, until the block ends."""
    url = databases.url(home / "corridor.db")
    store = Store(url)
    store.upgrade()
    with store.transaction() as s:
        seed_actors(s)
        org = add_org(s, "Liaison Cell", "agency")
        user = add_user(s, org, "analyst1", "analyst", "correct horse battery")
        token = create_token(s, user, "serving tests", ["read", "write"], timedelta(days=1)).token
        # a site at Quetta railway station: the Quetta report raises an alert for it
        add_site(s, Viewer(user_id=user.id, org_id=org.id, role="admin"), "Quetta office", 30.195, 67.004)
    store.dispose()

    port = free_port()
    log = home / "server.log"
    env = {**os.environ, "CORRIDOR_HOME": str(home), "CORRIDOR_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("CORRIDOR_METRICS_TOKEN", None)
    cmd = [sys.executable, "-m", "corridor.cli.main", "serve", "--port", str(port), "--workers", "2"]
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [*cmd, "--log-format", "json"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up:\n" + log.read_text()
            time.sleep(0.2)
        yield Served(base, token, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        databases.drop(url)


# ---------------------------------------------------------------- the real server


def test_two_workers_share_the_port_and_their_metrics_add_up(served: Served) -> None:
    workers = {x["pid"] for x in served.wait_for(lambda x: x["event"].startswith("Started server process"))}
    deadline = time.monotonic() + 30
    while len(workers) < 2 and time.monotonic() < deadline:  # the second worker may still be importing
        time.sleep(0.2)
        workers = {x["pid"] for x in served.lines() if x["event"].startswith("Started server process")}
    assert len(workers) == 2, "two worker processes started"

    before = value(served.scrape(), "corridor_http_requests_total", method="GET", route="/api/v1/health", status="200")

    def one(i: int) -> str:
        r = httpx.get(f"{served.base}/api/v1/health", headers={"X-Request-ID": f"spread-{i}"}, timeout=10)
        assert r.status_code == 200
        return r.headers["x-request-id"]

    sent: list[str] = []
    answered_by: set[int] = set()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for batch in range(20):  # connections go to the workers in turn; go on until both have answered
            sent += pool.map(one, range(batch * 40, batch * 40 + 40))
            answered_by = {x["pid"] for x in served.logged(set(sent))}
            if len(answered_by) == 2:
                break
    assert answered_by == workers, "both workers answered requests"
    after = value(served.scrape(), "corridor_http_requests_total", method="GET", route="/api/v1/health", status="200")
    # whichever worker answers the scrape, it counts the requests of both (multiprocess mode)
    assert after - before == len(sent)

    # connections kept open (a proxy's keep-alive pool, a load generator) are split evenly between the workers
    by_client: list[set[int]] = []
    for n in range(8):
        with httpx.Client(base_url=served.base, timeout=10) as client:
            ids = [f"kept-{n}-{i}" for i in range(3)]
            for rid in ids:
                assert client.get("/api/v1/health", headers={"X-Request-ID": rid}).status_code == 200
            by_client.append({x["pid"] for x in served.logged(set(ids))})
    assert all(len(pids) == 1 for pids in by_client), "a connection stays with its worker"
    per_worker = collections.Counter(next(iter(pids)) for pids in by_client)
    assert sorted(per_worker.values()) == [4, 4], per_worker


def test_a_dead_worker_is_replaced_on_its_slot(databases: TestDatabases, tmp_path: Path) -> None:
    """The supervisor hands connections to the workers in turn: a worker that dies is replaced on its slot, and
    the new worker is handed its share of connections again."""
    import signal

    with serving(databases, tmp_path) as server:

        def started() -> set[int]:
            return {x["pid"] for x in server.lines() if x["event"].startswith("Started server process")}

        deadline = time.monotonic() + 30
        while len(started()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        first = started()
        assert len(first) == 2
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        while len(started()) < 3 and time.monotonic() < deadline + 30:
            time.sleep(0.2)
        (successor,) = started() - first
        ids = [f"after-{i}" for i in range(80)]
        for rid in ids:  # a new connection each: handed to the two workers in turn
            r = httpx.get(f"{server.base}/api/v1/health", headers={"X-Request-ID": rid}, timeout=10)
            assert r.status_code == 200
        answered = {x["pid"] for x in server.logged(set(ids))}
        assert answered == (first - {victim}) | {successor}, "both slots are served again"


def test_request_log_lines_are_json_with_route_status_duration_and_request_id(served: Served) -> None:
    r = httpx.get(
        f"{served.base}/api/v1/incidents/00000000-0000-0000-0000-000000000000",
        headers={"Authorization": f"Bearer {served.token}", "X-Request-ID": "trace-4711"},
        timeout=10,
    )
    assert r.status_code == 404 and r.headers["x-request-id"] == "trace-4711"
    (line,) = served.wait_for(lambda x: x.get("request_id") == "trace-4711")
    assert line["logger"] == "corridor.request" and line["level"] == "info"
    assert line["method"] == "GET" and line["path"] == "/api/v1/incidents/{incident_id}" and line["status"] == 404
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 10_000
    assert line["ts"].endswith("+00:00") and isinstance(line["pid"], int)

    generated = httpx.get(f"{served.base}/api/v1/health", timeout=10).headers["x-request-id"]
    assert served.wait_for(lambda x: x.get("request_id") == generated), "a generated request id is logged too"
    served.lines()  # every line on stderr parses as JSON (uvicorn's own included)
    assert not [x for x in served.lines() if x["logger"] == "uvicorn.access"], "one line per request, not two"


def test_ingest_and_alerts_move_the_metrics_and_are_logged(served: Served) -> None:
    before = served.scrape()
    headers = {"Authorization": f"Bearer {served.token}"}
    files = {"file": ("quetta.txt", QUETTA[1].encode(), "text/plain")}
    r = httpx.post(
        f"{served.base}/api/v1/documents", files=files, data={"published": QUETTA[0]}, headers=headers, timeout=60
    )
    assert r.status_code == 201 and r.json()["status"] == "new", r.text
    document_id = r.json()["document_id"]
    again = httpx.post(f"{served.base}/api/v1/documents", files=files, headers=headers, timeout=60)
    assert again.json()["status"] == "duplicate"
    after = served.scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("corridor_documents_ingested_total", outcome="new") == 1
    assert delta("corridor_documents_ingested_total", outcome="duplicate") == 1
    assert delta("corridor_alerts_raised_total", target_kind="site") == 1
    assert delta("corridor_alert_latency_seconds_count") == 1
    assert 0 <= delta("corridor_alert_latency_seconds_sum") < 60
    # both answered 201 (a duplicate upload is not an error; its body says "duplicate")
    assert delta("corridor_http_requests_total", method="POST", route="/api/v1/documents", status="201") == 2
    assert delta("corridor_http_request_duration_seconds_count", method="POST", route="/api/v1/documents", status="201")
    assert value(after, "corridor_store_up") == 1
    assert value(after, "corridor_queue_depth") == 0

    (stored,) = served.wait_for(lambda x: x["event"] == "ingest.new" and x.get("document_id") == document_id)
    assert stored["logger"] == "corridor.events" and stored["incidents"] >= 1
    assert served.wait_for(lambda x: x["event"] == "ingest.duplicate")
    raised = served.wait_for(lambda x: x["event"] == "alerts.raised")
    assert raised and raised[-1]["alerts"] == 1 and raised[-1]["latency_ms"] >= 0


def test_probes_and_metrics_over_http(served: Served) -> None:
    assert httpx.get(f"{served.base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{served.base}/readyz", timeout=30)
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    text = httpx.get(f"{served.base}/metrics").text
    assert "# HELP corridor_queue_depth Jobs waiting in the ingest queue" in text
    # a reverse proxy on this host connects from loopback as well: a forwarded request is not a local one
    proxied = httpx.get(f"{served.base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403 and "loopback" in proxied.json()["detail"]


# ---------------------------------------------------------------- in-process


@pytest.fixture
def local(store: Store) -> TestClient:
    """The app, called as if from 127.0.0.1."""
    return TestClient(create_app(store), client=("127.0.0.1", 40000))


def test_probes_stay_out_of_the_api_schema(local: TestClient) -> None:
    paths = local.get("/api/v1/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


def test_healthz_needs_no_store_and_readyz_says_the_store_is_down(
    local: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_a: object, **_k: object) -> None:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(store.engine, "connect", down)
    assert local.get("/healthz").json() == {"status": "ok"}
    r = local.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not ready" and r.json()["reason"].startswith("store unreachable")


def test_readyz_fails_with_the_reason_when_the_store_is_behind_its_migrations(
    new_store_url: Callable[..., str],
) -> None:
    (head,) = heads()
    previous = scripts().get_revision(head).down_revision
    assert isinstance(previous, str)
    store = Store(new_store_url("behind", empty=True))
    upgrade(store.engine, previous)
    client = TestClient(create_app(store))  # given a store, the app does not migrate it
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["reason"] == (
        f"the store is behind its migrations: at {previous}, head is {head} (run `corridor init` to upgrade)"
    )
    migrations = {"ok": False, "current": [previous], "head": [head], "reason": body["reason"]}
    assert body["checks"]["migrations"] == migrations
    assert client.get("/healthz").status_code == 200, "alive all the same: a restart would not help"
    store.upgrade()
    assert client.get("/readyz").status_code == 200
    store.dispose()


def test_readyz_fails_when_a_newer_corridor_migrated_the_store(store: Store) -> None:
    with store.transaction() as s:
        s.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    r = TestClient(create_app(store)).get("/readyz")
    assert r.status_code == 503
    assert r.json()["reason"] == (
        "the store is at revision 9999_future, which this corridor does not know (migrated by a newer one?)"
    )


def test_readyz_fails_when_the_risk_model_cannot_load(local: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import corridor.risk.service as risk_service

    def broken() -> None:
        raise FileNotFoundError("attacks_pk.csv")

    risk_service.load_history_cached.cache_clear()
    monkeypatch.setattr(risk_service, "load_history", broken)
    r = local.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reason"] == "risk model not loadable: FileNotFoundError: attacks_pk.csv"
    assert r.json()["checks"]["store"]["ok"] and r.json()["checks"]["migrations"]["ok"]


def test_metrics_only_for_loopback_or_the_token(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = TestClient(create_app(store), client=("198.51.100.7", 40000))
    assert remote.get("/metrics").status_code == 403
    local = TestClient(create_app(store), client=("::1", 40000))
    assert local.get("/metrics").status_code == 200

    monkeypatch.setenv("CORRIDOR_METRICS_TOKEN", "scrape-me-7f3a")
    app = create_app(store)
    remote, local = TestClient(app, client=("198.51.100.7", 1)), TestClient(app, client=("127.0.0.1", 1))
    assert remote.get("/metrics", headers={"Authorization": "Bearer scrape-me-7f3a"}).status_code == 200
    wrong = remote.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and "CORRIDOR_METRICS_TOKEN" in wrong.json()["detail"]
    assert local.get("/metrics").status_code == 403, "with a token set, loopback needs it too"


def test_request_metrics_use_route_templates_not_raw_paths(local: TestClient) -> None:
    for n in range(3):
        local.get(f"/api/v1/incidents/{n:08d}-0000-0000-0000-000000000000")
    local.get("/no/such/page/123")
    scraped = samples(local.get("/metrics").text)
    routes = {dict(labels).get("route") for name, labels in scraped if name == "corridor_http_requests_total"}
    assert "/api/v1/incidents/{incident_id}" in routes and "unmatched" in routes
    assert not [r for r in routes if r and "0000" in r]


# ---------------------------------------------------------------- log formatting


def test_json_and_text_formatters() -> None:
    log = logging.getLogger("corridor.events")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    log.addHandler(handler)
    old = log.level
    log.setLevel(logging.INFO)
    try:
        event("ingest.new", document_id="d-1", incidents=2, reason=None)
    finally:
        log.removeHandler(handler)
        log.setLevel(old)
    (record,) = records
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "ingest.new" and parsed["document_id"] == "d-1" and parsed["incidents"] == 2
    assert parsed["level"] == "info" and parsed["logger"] == "corridor.events"
    assert TextFormatter().format(record).endswith("corridor.events: ingest.new document_id=d-1 incidents=2")

    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failing))["exc"]


def test_log_format_from_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRIDOR_LOG_FORMAT", raising=False)
    assert resolve_format(None) == "text"
    monkeypatch.setenv("CORRIDOR_LOG_FORMAT", "JSON")
    assert resolve_format(None) == "json"
    assert resolve_format("text") == "text"
    with pytest.raises(ValueError, match="log format must be one of text, json, got 'xml'"):
        resolve_format("xml")


def test_the_dispatcher_hands_connections_to_the_workers_in_turn() -> None:
    """Connections opened together are handed out evenly, each to one worker's channel, a dead worker's turn
    passing to the others (with a socket per worker the kernel hashed them: 22/42 of 64 happened)."""
    from corridor.web.serving import Dispatcher, listening_socket

    listener = listening_socket("127.0.0.1", 0)
    port = listener.getsockname()[1]
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(3)]
    alive = [True, True, False]  # the third worker is dead: its turns go to the others
    dispatcher = Dispatcher(listener, [ours for ours, _ in pairs], lambda slot: alive[slot])
    dispatcher.start()
    handed: list[list[socket.socket]] = [[], [], []]
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(64)]
    try:
        for i, (_, theirs) in enumerate(pairs):
            theirs.settimeout(0.5)
            while True:
                try:
                    _, fds, _, _ = socket.recv_fds(theirs, 16, 16)
                except TimeoutError:
                    break
                handed[i] += [socket.socket(fileno=fd) for fd in fds]
        assert [len(h) for h in handed] == [32, 32, 0]
        for n, client in enumerate(clients):  # each handed descriptor is one of the clients' connections
            client.sendall(b"%02d" % n)
        got = sorted(conn.recv(2) for conn in handed[0] + handed[1])
        assert got == sorted(b"%02d" % n for n in range(64))
    finally:
        dispatcher.stop()
        for c in clients + handed[0] + handed[1]:
            c.close()
    with pytest.raises(SystemExit):  # a taken port: a clear refusal, before any worker starts
        taken = socket.create_server(("127.0.0.1", 0))
        try:
            listening_socket("127.0.0.1", taken.getsockname()[1])
        finally:
            taken.close()


def test_a_worker_serves_handed_connections_with_tcp_nodelay_and_stops_when_the_supervisor_goes() -> None:
    """Without TCP_NODELAY every keep-alive answer after the first waits for the client's delayed ACK (asyncio
    sets it only on connections it accepted itself from a socket declared TCP)."""
    import asyncio

    from corridor.web.serving import take_connections

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[tuple[int, bytes]] = []
    orphaned = asyncio.Event()

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            sock = transport.get_extra_info("socket")
            self.nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

        def data_received(self, data: bytes) -> None:
            seen.append((self.nodelay, data))
            self.transport.write(data.upper())  # type: ignore[attr-defined]

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        theirs.setblocking(False)
        loop.add_reader(theirs.fileno(), take_connections, theirs, loop, Echo, orphaned.set)
        client = socket.create_connection(listener.getsockname()[:2], timeout=5)
        conn, _ = listener.accept()
        socket.send_fds(ours, [b"c"], [conn.fileno()])
        conn.close()  # the worker holds its own copy
        client.sendall(b"ping")
        answer = await loop.run_in_executor(None, client.recv, 4)
        client.close()
        ours.close()  # the supervisor goes
        await asyncio.wait_for(orphaned.wait(), 5)
        return answer

    try:
        assert asyncio.run(main()) == b"PING"
    finally:
        listener.close()
        theirs.close()
    assert seen == [(1, b"ping")]


def test_admission_lets_a_few_requests_in_at_once_and_never_holds_the_probes() -> None:
    import asyncio

    from corridor.web.admission import Admission

    inside = 0
    most = 0
    release = asyncio.Event()
    probes: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal inside, most
        if scope["path"] == "/healthz":
            probes.append(scope["path"])
            return
        inside += 1
        most = max(most, inside)
        await release.wait()
        inside -= 1

    gate = Admission(app, limit=3)
    from corridor import telemetry

    before = telemetry.REQUESTS_WAITING._value.get()

    async def run() -> None:
        calls = [asyncio.create_task(gate({"type": "http", "path": "/api/v1/x"}, None, None)) for _ in range(10)]
        await asyncio.sleep(0.05)
        assert most == 3  # seven wait their turn, and /metrics says so
        assert telemetry.REQUESTS_WAITING._value.get() - before == 7
        await asyncio.wait_for(gate({"type": "http", "path": "/healthz"}, None, None), 1)  # not behind them
        release.set()
        await asyncio.wait_for(asyncio.gather(*calls), 5)

    asyncio.run(run())
    assert most == 3 and inside == 0 and probes == ["/healthz"]
    assert telemetry.REQUESTS_WAITING._value.get() == before


def test_slow_work_takes_its_own_lane_and_quick_reads_never_wait_behind_it() -> None:
    """A document to extract, a PDF brief, a risk fit or a TAXII exchange waits only for its own kind: with both
    heavy turns taken and the main lane's one turn busy, a read still gets in as soon as that turn is free."""
    import asyncio

    from corridor.web.admission import Admission, is_heavy

    assert is_heavy("/api/v1/documents/url") and is_heavy("/api/v1/brief") and is_heavy("/taxii2/api/collections/")
    assert not is_heavy("/api/v1/incidents") and not is_heavy("/api/v1/incidents/abc")
    inside: dict[str, int] = {"heavy": 0, "light": 0}
    most: dict[str, int] = {"heavy": 0, "light": 0}
    release = {"heavy": asyncio.Event(), "light": asyncio.Event()}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = "heavy" if is_heavy(scope["path"]) else "light"
        inside[kind] += 1
        most[kind] = max(most[kind], inside[kind])
        await release[kind].wait()
        inside[kind] -= 1

    gate = Admission(app, limit=1, heavy_limit=2)

    async def run() -> None:
        heavy = [asyncio.create_task(gate({"type": "http", "path": "/api/v1/brief"}, None, None)) for _ in range(5)]
        light = [asyncio.create_task(gate({"type": "http", "path": "/api/v1/incidents"}, None, None)) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert inside == {"heavy": 2, "light": 1}  # the reads are not queued behind the five briefs
        release["light"].set()
        await asyncio.wait_for(asyncio.gather(*light), 5)  # every read done while the briefs still wait
        assert inside["heavy"] == 2 and not all(t.done() for t in heavy)
        release["heavy"].set()
        await asyncio.wait_for(asyncio.gather(*heavy), 5)

    asyncio.run(run())
    assert most == {"heavy": 2, "light": 1}


def test_admission_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from corridor.web.admission import DEFAULT, DEFAULT_HEAVY, configured_heavy_limit, configured_limit

    for name, read, default in (
        ("CORRIDOR_MAX_CONCURRENCY", configured_limit, DEFAULT),
        ("CORRIDOR_MAX_HEAVY", configured_heavy_limit, DEFAULT_HEAVY),
    ):
        monkeypatch.delenv(name, raising=False)
        assert read() == default
        monkeypatch.setenv(name, "12")
        assert read() == 12
        for bad in ("0", "many"):
            monkeypatch.setenv(name, bad)
            with pytest.raises(ValueError, match=name):
                read()


def test_readyz_does_not_fit_the_risk_model(local: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe answers in milliseconds whatever the store holds: the fit waits for the first risk request."""
    import corridor.web.routes.risk as risk_routes

    def never(*_args: object) -> None:
        raise AssertionError("readiness fitted the risk model")

    monkeypatch.setattr(risk_routes, "build_model", never)
    r = local.get("/readyz")
    assert r.status_code == 200, r.text
    from corridor.risk.service import load_history

    assert r.json()["checks"]["risk_model"] == {"ok": True, "history": len(load_history())}


def test_gunicorn_workers_declare_their_listeners_as_tcp() -> None:
    """deploy/gunicorn.conf.py's post_worker_init: the same TCP_NODELAY repair for gunicorn's listening sockets."""
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "deploy" / "gunicorn.conf.py")
    assert spec and spec.loader
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # as gunicorn makes them: protocol 0
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    worker = SimpleNamespace(sockets=[listener])
    try:
        assert listener.proto == 0
        conf.post_worker_init(worker)
        (got,) = worker.sockets
        assert got.proto == socket.IPPROTO_TCP and got.getsockname() == listener.getsockname()
        with socket.create_connection(got.getsockname()[:2], timeout=5):
            accepted, _ = got.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP  # what asyncio checks before setting TCP_NODELAY
        got.close()
    finally:
        listener.close()
