"""Group commit for a SQLite registry: the moves several ports make at once share one
transaction, and one COMMIT (one fsync of SQLite's write-ahead log) makes them all durable.

SQLite has one writer at a time. Without this, the ports of a station queue for the write
lock one transaction at a time, each paying its own BEGIN and fsync, and each holding the
lock while it waits for Python's interpreter lock between its statements: with 8 ports the
lock was held 58% of the run and a device waited 15 ms for it (bench/station.py). Here the
thread that gets the lock runs every unit of work waiting by then, in one transaction, each
unit in a SAVEPOINT of its own when there are several (a unit that fails undoes only itself,
and its thread gets its own error), commits once, and hands each thread its own result.

Durability per unit is what one transaction each would give: no thread returns before the
COMMIT that holds its work, and a failed COMMIT fails every unit of the group. PostgreSQL
orders concurrent transactions (and groups their commits) itself: a registry there runs each
unit in a transaction of its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")
Transaction = Callable[[], contextlib.AbstractContextManager[Connection]]


@dataclass(eq=False)
class _Unit(Generic[T]):
    """One thread's work, then what became of it."""

    work: Callable[[Connection], T]
    result: T | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommit:
    """Runs units of work from many threads in shared transactions (see the module)."""

    def __init__(self, transaction: Transaction, writer: threading.Lock) -> None:
        self._transaction = transaction  # one transaction, database errors translated
        self._writer = writer  # the process's one SQLite writer
        self._queue_lock = threading.Lock()
        self._queue: list[_Unit[Any]] = []

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` inside a committed transaction; its result, or its exception."""
        unit: _Unit[T] = _Unit(work)
        with self._queue_lock:
            self._queue.append(unit)
        with self._writer:
            if not unit.done:  # nobody ran it yet: run it, and whatever else is waiting
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._run(group)
        if unit.error is not None:
            raise unit.error
        return unit.result  # type: ignore[return-value]  # T, set when error is None

    def _run(self, group: list[_Unit[Any]]) -> None:
        try:
            with self._transaction() as conn:
                if len(group) == 1:  # alone: no savepoint needed, its error ends the transaction
                    group[0].result = group[0].work(conn)
                else:
                    for unit in group:
                        _run_nested(conn, unit)
        except BaseException as exc:  # the COMMIT failed, or a bug or ^C: nothing committed
            for unit in group:
                if unit.error is None:
                    unit.error = exc
                    unit.result = None
            if not isinstance(exc, Exception):
                raise
        finally:
            for unit in group:
                unit.done = True


def _run_nested(conn: Connection, unit: _Unit[Any]) -> None:
    # The savepoint straight on the driver: SQLAlchemy's nested transaction costs more than
    # the unit of work it wraps, and nothing else in this transaction needs to know of it.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("SAVEPOINT credline_unit")
    try:
        unit.result = unit.work(conn)
    except Exception as exc:  # undone back to its savepoint; the others go on
        cursor.execute("ROLLBACK TO SAVEPOINT credline_unit")
        unit.error = exc
    cursor.execute("RELEASE SAVEPOINT credline_unit")
