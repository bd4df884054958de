"""The statements a station runs for every device, compiled once and run on the driver.

SQLAlchemy Core still writes them (one schema, SQL in each database's dialect, the same
parameter processing, such as a datetime stored as SQLite text); what this skips is the work
SQLAlchemy repeats on every execution: a cache lookup, an execution context, event dispatch
and a result object. A device's registry moves are four transactions of three statements
each, and that per-execution work was most of the station's CPU time per device: the
bookkeeping every port needs the interpreter for (bench/station.py). Each statement runs
inside a transaction SQLAlchemy opened, on that transaction's own connection.

Nothing here knows a table: :mod:`credline.registry.devices` names the statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement compiled for one database; :meth:`run` executes it with values."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = compiled.string
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            if bind.value is not None or bind.callable is not None:
                raise ValueError(f"{name}: a prepared statement takes every value at run time")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._processors[name] = process
        # qmark (SQLite): values in the order the SQL names them; pyformat (psycopg): by name
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if dialect.positional else None)
        self._error = dialect.loaded_dbapi.Error

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Execute in ``conn``'s transaction; returns the driver's cursor. A driver error
        comes out as SQLAlchemy's (``IntegrityError``, ``OperationalError``...), as from
        ``conn.execute``."""
        processed = {name: self._processors[name](value) if name in self._processors
                     else value for name, value in values.items()}
        params: Any = (processed if self._order is None else
                       tuple(processed[name] for name in self._order))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, params)
        except self._error as exc:
            raise DBAPIError.instance(self.sql, params, exc, self._error) from exc
        return cursor


class PreparedCache:
    """A registry's prepared statements, compiled the first time each is run."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._prepared: dict[int, tuple[ClauseElement, Prepared]] = {}

    def run(self, conn: Connection, statement: ClauseElement,
            values: Mapping[str, Any]) -> Any:
        """``statement`` (built once, at module level or cached) with ``values``."""
        return self.prepare(statement).run(conn, values)

    def prepare(self, statement: ClauseElement) -> Prepared:
        """``statement`` compiled (once): a station prepares its statements before its
        first device, which would otherwise wait for them."""
        found = self._prepared.get(id(statement))
        if found is None or found[0] is not statement:
            found = self._prepared[id(statement)] = (statement,
                                                     Prepared(statement, self._dialect))
        return found[1]
