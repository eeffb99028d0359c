"""What an operator's tools ask a running server: is the process alive (/healthz), may it take traffic (/readyz),
how is it doing (/metrics, Prometheus), and what did it do (one log line per request).

These three routes are for machines on the operator's side (a load balancer, Kubernetes, Prometheus), not for
API clients: they stay out of the OpenAPI document and carry no `access(...)` rule, so the authorisation matrix
does not see them. /healthz and /readyz say nothing secret and are open; /metrics answers loopback callers that
did not come through a proxy, or anyone with CORRIDOR_METRICS_TOKEN as a bearer token (then only them).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor import __version__, telemetry
from corridor.logs import REQUESTS
from corridor.store.db import Store
from corridor.store.revisions import schema_state
from corridor.web import problems

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "CORRIDOR_METRICS_TOKEN"
request_log = logging.getLogger(REQUESTS)


def install(app: FastAPI) -> None:
    """Add the request middleware (outermost, so its timing covers everything) and the three routes."""
    app.state.metrics_token = os.environ.get(TOKEN_ENV) or None
    app.add_middleware(RequestTelemetry)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)


# ---------------------------------------------------------------- requests


def _route_template(scope: Scope) -> str:
    """The matched route's template (/api/v1/incidents/{incident_id}), never the raw path: one time series per
    route, however many ids are asked for; paths that match no route share one label."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "unmatched"


class RequestTelemetry:
    """A plain ASGI middleware (no BaseHTTPMiddleware: streamed bodies pass through untouched) that times every
    HTTP request, counts it by route template and status, and writes one corridor.request log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        header_rid: str | None = None

        async def watch(message: Message) -> None:
            nonlocal status, header_rid
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for key, value in message.get("headers", ()):
                    if key.lower() == b"x-request-id":
                        header_rid = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            seconds = time.perf_counter() - start
            route = _route_template(scope)
            method = scope.get("method", "?")
            telemetry.HTTP_LATENCY.labels(method, route, str(status)).observe(seconds)
            telemetry.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            rid = (scope.get("state") or {}).get("request_id") or header_rid
            level = logging.DEBUG if route in PROBES else logging.INFO  # probes every few seconds: not news
            if request_log.isEnabledFor(level):
                request_log.log(
                    level,
                    "request",
                    extra={
                        "fields": {
                            "method": method,
                            "path": route,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                            "request_id": rid,
                        }
                    },
                )


# ---------------------------------------------------------------- health and readiness


def healthz() -> dict[str, str]:
    """Liveness: the process answers. Touches nothing else, so a slow or absent store never gets it restarted."""
    return {"status": "ok"}


def readyz(request: Request) -> JSONResponse:
    """Readiness: the store answers, its schema is at this code's migration head, and what the risk model is built
    from loads (the bundled history, the covered cells). 503 with the failing check's reason otherwise.

    The model itself is not fitted here: a probe must answer in milliseconds whatever the size of the store, and
    the fit belongs to the first risk request (a fraction of a second on a real incident picture)."""
    store: Store = request.app.state.store
    checks: dict[str, dict[str, Any]] = {}
    try:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            checks["store"] = {"ok": True}
            state = schema_state(conn)
    except Exception as exc:
        checks["store"] = {"ok": False, "reason": f"store unreachable: {type(exc).__name__}: {exc}"[:500]}
        return _readiness(checks)
    reason = state.problem()
    checks["migrations"] = {"ok": reason is None, "current": sorted(state.current), "head": sorted(state.heads)}
    if reason is not None:
        checks["migrations"]["reason"] = reason
        return _readiness(checks)
    try:
        from corridor.risk.service import check_inputs

        checks["risk_model"] = {"ok": True, "history": check_inputs()}
    except Exception as exc:
        checks["risk_model"] = {"ok": False, "reason": f"risk model not loadable: {type(exc).__name__}: {exc}"[:500]}
    return _readiness(checks)


def _readiness(checks: dict[str, dict[str, Any]]) -> JSONResponse:
    failed = [c["reason"] for c in checks.values() if not c["ok"]]
    body: dict[str, Any] = {"status": "not ready" if failed else "ready", "checks": checks}
    if failed:
        body["reason"] = failed[0]
    return JSONResponse(body, status_code=503 if failed else 200)


# ---------------------------------------------------------------- metrics


def _may_scrape(request: Request) -> tuple[bool, str]:
    token: str | None = request.app.state.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
        return ok, "metrics need the bearer token set in CORRIDOR_METRICS_TOKEN"
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    # a reverse proxy on the same host connects from loopback too: a forwarded request is not a local one
    proxied = any(h in request.headers for h in ("forwarded", "x-forwarded-for", "x-real-ip"))
    why = "metrics are served to loopback callers only (set CORRIDOR_METRICS_TOKEN to scrape from elsewhere)"
    return loopback and not proxied, why


class StoreCollector(Collector):
    """Gauges read from the store at scrape time, in the scraping process: they describe the deployment, not a
    worker, so they are not summed across workers."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterable[Metric]:
        up = 1.0
        try:
            with self.store.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:
            up = 0.0
        yield GaugeMetricFamily("corridor_store_up", "1 when the store answers a query, 0 when it does not.", up)
        try:
            depth = float(telemetry.queue_depth(self.store)) if up else 0.0
        except Exception:
            depth = float("nan")
        yield GaugeMetricFamily("corridor_queue_depth", telemetry.QUEUE_HELP, depth)
        info = GaugeMetricFamily("corridor_build_info", "The running corridor's version.", labels=["version"])
        info.add_metric([__version__], 1.0)
        yield info


class _Own(Collector):
    """This process's corridor metrics (single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        return telemetry.REGISTRY.collect()


def scrape_registry(store: Store) -> CollectorRegistry:
    """What one scrape reports. With PROMETHEUS_MULTIPROC_DIR (several workers) the counters and histograms of
    every worker, live or exited, are read from its files and summed; otherwise this process's own, plus its CPU
    and memory (which mean nothing summed across workers, so multiprocess mode leaves them out)."""
    registry = CollectorRegistry(auto_describe=False)
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_Own())
        registry.register(ProcessCollector(registry=None))
    registry.register(StoreCollector(store))
    return registry


def metrics(request: Request) -> Response:
    ok, why = _may_scrape(request)
    if not ok:
        return problems.problem_response(request, 403, "Forbidden", why)
    body = generate_latest(scrape_registry(request.app.state.store))
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
