"""Metrics and events of the work itself (ingest, alerts), kept apart from the web layer so that the services
record what they do whoever calls them: the API, the CLI, a scheduled sync.

Metrics are Prometheus counters and histograms of the official `prometheus_client`, in a registry of corridor's
own. With several worker processes (`corridor serve --workers N`, gunicorn) every process writes its samples to
files in PROMETHEUS_MULTIPROC_DIR and a scrape adds them up (`corridor.web.observability` reads them); that
variable must be set before this module is first imported, which `corridor serve` does for its workers.

An alert counts as raised when the transaction that inserted it commits, not when it is computed: a rolled-back
ingest raised nothing, and its alerts never reach an inbox.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.logs import event

if TYPE_CHECKING:
    from corridor.ingest.service import Outcome
    from corridor.store.db import Store
    from corridor.store.tables import Alert, Incident

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus_client opens its sample files there as soon as a metric exists: a folder not made yet (a fresh
    # /run after boot) would make every import of this module fail
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_LATENCY = Histogram(
    "corridor_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (not the raw path) and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "corridor_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUESTS_WAITING = Gauge(
    "corridor_http_requests_waiting",
    "HTTP requests waiting for their turn in a server process (CORRIDOR_MAX_CONCURRENCY are admitted at once): "
    "persistently above zero, the server needs more workers or cores.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DOCUMENTS = Counter(
    "corridor_documents_ingested",
    "Reports through ingest, by outcome: new (stored), duplicate (same bytes seen before), failed (unreadable), "
    "error (the pipeline raised).",
    ["outcome"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "corridor_alerts_raised",
    "Proximity alerts committed, by target kind (person, site, movement).",
    ["target_kind"],
    registry=REGISTRY,
)
ALERT_LATENCY = Histogram(
    "corridor_alert_latency_seconds",
    "From an incident's creation to the commit of an alert it raised. Alerts raised in the ingest that created "
    "the incident take milliseconds; those raised later (a site added, an incident verified or moved) take longer.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
    registry=REGISTRY,
)

_PENDING_ALERTS = "corridor.telemetry.alerts"
log = logging.getLogger(__name__)

P = ParamSpec("P")


def ingested(outcome: Outcome) -> None:
    """Count and log one report's outcome."""
    DOCUMENTS.labels(outcome.status).inc()
    event(
        "ingest." + outcome.status,
        level=logging.WARNING if outcome.status == "failed" else logging.INFO,
        document_id=outcome.document_id,
        incidents=outcome.incidents,
        reason=outcome.reason,
    )


def counts_ingest(fn: Callable[P, Outcome]) -> Callable[P, Outcome]:
    """Decorate the function that ingests one report: its outcome (or its exception, as 'error') is recorded."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            outcome = fn(*args, **kwargs)
        except Exception as exc:
            DOCUMENTS.labels("error").inc()
            event("ingest.error", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}")
            raise
        ingested(outcome)
        return outcome

    return wrapper


def alerts_raised(session: Session, incident: Incident, alerts: Sequence[Alert]) -> None:
    """Note alerts inserted in `session`'s transaction; they are counted and logged when it commits."""
    if not alerts:
        return
    pending: list[tuple[str, datetime | None, list[str]]] = session.info.setdefault(_PENDING_ALERTS, [])
    pending.append((incident.id, incident.created_at, [a.target_kind for a in alerts]))


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_ALERTS, None)
    if not pending:
        return
    try:
        committed = _aware(now())
        for incident_id, created, kinds in pending:
            latency = max(0.0, (committed - _aware(created)).total_seconds()) if created is not None else None
            for kind in kinds:
                ALERTS.labels(kind).inc()
                if latency is not None:
                    ALERT_LATENCY.observe(latency)
            event(
                "alerts.raised",
                incident_id=incident_id,
                alerts=len(kinds),
                latency_ms=round(latency * 1000, 1) if latency is not None else None,
            )
    except Exception:  # never let bookkeeping break a commit that already happened
        log.exception("recording raised alerts failed")


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_ALERTS, None)


# ---------------------------------------------------------------- queue depth

QUEUE_HELP = (
    "Jobs waiting in the ingest queue: queued and due, or held by a worker whose lease ran out "
    "(corridor watch adds them, corridor worker takes them)."
)
JOBS = Counter(
    "corridor_jobs_processed",
    "Ingest jobs a worker finished, by outcome: new, duplicate, failed (unreadable, given up) or error (retried).",
    ["outcome"],
    registry=REGISTRY,
)
FEED_POLLS = Counter(
    "corridor_feed_polls",
    "Feed and page polls by corridor watch, by result: changed, unchanged (304), failed.",
    ["result"],
    registry=REGISTRY,
)


def queue_depth(store: Store) -> float:
    """Read at every scrape, in the scraping process, from the store: the queue is shared by every worker."""
    from corridor.ingest.queue import depth

    return depth(store)
