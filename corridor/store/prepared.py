"""The API's hot reads on PostgreSQL, run on the driver's cursor with SQL compiled once.

Every API request runs two or three small statements (the token check, then show's incident and mentions or the
list's page and mentions). SQLAlchemy's execution of a cached statement still costs ~130 µs of Python each on
top of psycopg's own ~100 µs (it builds an execution context, looks the compiled form up under the statement's
cache key, processes parameters and wraps the cursor in a Result): a fifth of a show request's server CPU
(bench/api_cpu.py). The statements themselves are already built once per viewer (`queries`, `visible()`), so
here each is also compiled once, to its SQL text and the values it carries (the viewer's ids, constants), and
`fetch` runs that text on the psycopg connection SQLAlchemy's pool lent, with the per-call values.

What SQLAlchemy gave is kept: the rows carry the statement's column names and go through each column type's result
processing (`UTCDateTime` and JSON, the same public `result_processor` SQLAlchemy applies); the per-call values
through their types' bind processing; a driver error goes through SQLAlchemy's own handling, so a dropped
connection is invalidated (and the pool renewed) exactly as before, and the caller gets the same exception.

Only for autocommit connections on PostgreSQL (`Store.read_engine`): inside a transaction, or on SQLite, `fetch`
is plain `Connection.execute`, so what it returns and how it fails never depend on the path taken.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from corridor.store.db import PLAN_EACH_CALL

Processor = Callable[[Any], Any]
# A row as `fetch` returns it: SQLAlchemy's Row, or on the driver path a named tuple; both give the columns as
# attributes, by position and as `_asdict()`.
Row = Any
Statement = sa.Select[*tuple[Any, ...]]


class Compiled:
    """One statement as SQL text for one dialect: the values it holds fixed, the names of those given per call."""

    def __init__(self, statement: Statement, dialect: sa.Dialect, per_call: frozenset[str]) -> None:
        compiled = statement.compile(dialect=dialect)
        # expanding IN lists (the visibility filter's TLP list) are written out; per-call values stay parameters
        expanded = compiled.construct_expanded_state(dict.fromkeys(per_call))
        missing = per_call - set(expanded.parameters)
        if missing:  # a per-call list would change the SQL text with its length
            raise ValueError(f"per-call values must be plain parameters, not expanding lists: {sorted(missing)}")
        self.sql: str = expanded.statement
        processors = expanded.processors  # by the names in the SQL text (an expanded list's too)
        self.binds: dict[str, Processor | None] = {name: processors.get(name) for name in per_call}
        self.fixed: dict[str, Any] = {}
        for name, value in expanded.parameters.items():
            if name not in per_call:
                process = processors.get(name)
                self.fixed[name] = process(value) if process is not None and value is not None else value
        columns = list(statement.selected_columns)
        self._types = [c.type.dialect_impl(dialect) for c in columns]
        self._dialect = dialect
        # known from the first result: the columns' names as the SQL labels them (as SQLAlchemy's rows name
        # them: a second `id` is `id_1`) and the types' processing, which may depend on the driver's type codes
        self.shape: tuple[Callable[[Iterable[Any]], Any], list[tuple[int, Processor]]] | None = None
        self.prepare: bool | None = False if statement.get_execution_options().get(PLAN_EACH_CALL) else None

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        params = dict(self.fixed)
        for name, value in values.items():
            process = self.binds[name]
            params[name] = process(value) if process is not None and value is not None else value
        return params

    def rows(self, data: Sequence[Sequence[Any]], description: Sequence[Any]) -> list[Any]:
        shape = self.shape
        if shape is None:
            results: list[tuple[int, Processor]] = []
            for i, (type_, col) in enumerate(zip(self._types, description, strict=True)):
                converts = type_.result_processor(self._dialect, col[1])
                if converts is not None:
                    results.append((i, converts))
            names = [col[0] for col in description]
            make: Callable[[Iterable[Any]], Any] = namedtuple("Row", names, rename=True)._make  # type: ignore[attr-defined]
            shape = self.shape = (make, results)
        make, results = shape
        if not results:
            return [make(r) for r in data]
        out = []
        for r in data:
            values = list(r)
            for i, process in results:
                values[i] = process(values[i])
            out.append(make(values))
        return out


@functools.lru_cache(maxsize=8192)
def compiled(statement: Statement, dialect: sa.Dialect, per_call: frozenset[str]) -> Compiled:
    """Statements are built once per viewer and filter shape (`queries`), so they are compiled once each too."""
    return Compiled(statement, dialect, per_call)


def fetch(conn: sa.Connection, statement: Statement, values: Mapping[str, Any]) -> list[Any]:
    """All rows of `statement` with `values`: named tuples with the statement's column names (`row.id`,
    `row._asdict()`), the same values `conn.execute(statement, values).all()` gives."""
    if conn.dialect.name != "postgresql":
        return list(conn.execute(statement, dict(values)).all())
    raw = conn.connection.driver_connection
    if raw is None or not raw.autocommit:  # in a transaction: SQLAlchemy keeps track of it
        return list(conn.execute(statement, dict(values)).all())
    c = compiled(statement, conn.dialect, frozenset(values))
    params = c.parameters(values)
    cursor = raw.cursor()
    try:
        cursor.execute(c.sql, params, prepare=c.prepare)
        data = cursor.fetchall()
        description = cursor.description
    except BaseException as exc:  # as SQLAlchemy does: it wraps, invalidates (dropped, interrupted), re-raises
        conn._handle_dbapi_exception(exc, c.sql, params, cursor, None)
        raise  # not reached: the handler always raises
    finally:
        cursor.close()
    return c.rows(data, description)
