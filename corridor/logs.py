"""Log output for the server: plain text (the default, for a person at a terminal) or one JSON object per line on
stderr (for a log shipper: journald, Docker, Loki, Elasticsearch), chosen with `corridor serve --log-format` or
CORRIDOR_LOG_FORMAT.

Only the standard logging module is used. Code that has something worth recording calls `event(name, **fields)`;
the fields become top-level keys of the JSON line (and `key=value` pairs in text), so a log query can filter on
them without parsing a message.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
EVENTS = "corridor.events"  # ingest outcomes, alerts raised, backups
REQUESTS = "corridor.request"  # one line per HTTP request

# LogRecord attributes that are not ours to copy into the JSON object
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def event(name: str, level: int = logging.INFO, logger: str = EVENTS, **fields: Any) -> None:
    """Record that `name` happened, with `fields` as structured data (they must be JSON-serialisable or str()-able).

    Never raises: observability must not break the work it observes."""
    log = logging.getLogger(logger)
    if log.isEnabledFor(level):
        log.log(level, name, extra={"fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC, ISO 8601), level, logger, pid, event (the message) and the record's
    structured fields. uvicorn's own records (startup, errors) come out the same way."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process or os.getpid(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        for key, value in record.__dict__.items():  # extra={...} given by other libraries
            if key not in _RESERVED and key != "fields" and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...`: the structured fields stay visible in plain text."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return line


def resolve_format(value: str | None) -> str:
    """The log format asked for (flag, then CORRIDOR_LOG_FORMAT), 'text' when neither says; a clear error for
    anything else."""
    fmt = (value or os.environ.get("CORRIDOR_LOG_FORMAT") or "text").strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def logging_config(fmt: str, level: str = "info") -> dict[str, Any]:
    """A dictConfig for uvicorn's `log_config` (applied in every worker process, so it must be plain data).

    json: everything (uvicorn included) as JSON lines on stderr; uvicorn's access log is off, because
    corridor.request writes a richer line per request (route template, duration, request id).
    text: uvicorn's usual output with its access log; corridor's events as text lines; corridor.request stays
    quiet so requests are not logged twice."""
    lvl = level.upper()
    quiet = "WARNING"
    if fmt == "json":
        formatter: dict[str, Any] = {"()": "corridor.logs.JsonFormatter"}
    else:
        formatter = {"()": "corridor.logs.TextFormatter"}
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "corridor": formatter,
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "corridor", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stderr"},
        },
        "root": {"handlers": ["stderr"], "level": quiet},  # other libraries' warnings, in the same format
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl},
            "uvicorn.access": {"handlers": ["access"], "level": lvl if fmt == "text" else quiet, "propagate": False},
            "corridor": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            REQUESTS: {"level": lvl if fmt == "json" else quiet},
        },
    }
    return config
