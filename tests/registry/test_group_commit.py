"""Group commit on a real SQLite file: units from several threads share one COMMIT, and a
thread returns normally exactly when its own work is durable.

A COMMIT that really fails comes from a deferred foreign key: each statement passes, the
COMMIT refuses the transaction, as a full disk would refuse it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from credline.registry.connect import engine_for
from credline.registry.group import GroupCommit

SCHEMA = ("CREATE TABLE parents (id INTEGER PRIMARY KEY)",
          "CREATE TABLE rows (name TEXT PRIMARY KEY, parent INTEGER REFERENCES parents(id) "
          "DEFERRABLE INITIALLY DEFERRED)",
          "INSERT INTO parents VALUES (1)")


class Database:
    """A SQLite file through credline's own engine settings, and a group commit over it."""

    def __init__(self, path: Path) -> None:
        self.engine = engine_for(f"sqlite:///{path}")
        with self.engine.begin() as conn:
            for statement in SCHEMA:
                conn.execute(text(statement))
        self.commits = 0
        event.listen(self.engine, "commit", self._count)
        self.writer = threading.Lock()
        self.group = GroupCommit(self.transaction, self.writer)

    def _count(self, _conn: Connection) -> None:
        self.commits += 1

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def names(self) -> set[str]:
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT name FROM rows"))}

    def waiting(self) -> int:
        return len(self.group._queue)


def insert(name: str, parent: int = 1) -> object:
    def work(conn: Connection) -> str:
        conn.execute(text("INSERT INTO rows VALUES (:n, :p)"), {"n": name, "p": parent})
        return name
    return work


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "group.db")
    yield database
    database.engine.dispose()


def run_together(db: Database, works: list[object]) -> list[object]:
    """Each work on a thread of its own, all queued while the writer is held, then let go:
    what each thread got back (a result or the exception it raised)."""
    outcomes: list[object] = [None] * len(works)

    def call(i: int) -> None:
        try:
            outcomes[i] = db.group.run(works[i])  # type: ignore[arg-type]
        except BaseException as exc:  # the outcome, whatever it is, is what is compared
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(works))]
    with db.writer:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while db.waiting() < len(works) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert db.waiting() == len(works)
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    return outcomes


def test_units_queued_together_share_one_commit(db: Database) -> None:
    before = db.commits
    outcomes = run_together(db, [insert(f"n{i}") for i in range(6)])
    assert outcomes == [f"n{i}" for i in range(6)]
    assert db.commits - before == 1
    assert db.names() == {f"n{i}" for i in range(6)}


def test_a_failing_unit_undoes_only_itself(db: Database) -> None:
    outcomes = run_together(db, [insert("a"), insert("a"), insert("b")])
    assert outcomes[0] == "a" and outcomes[2] == "b"
    assert isinstance(outcomes[1], IntegrityError)
    assert db.names() == {"a", "b"}


def test_a_failed_commit_fails_every_unit_of_the_group(db: Database) -> None:
    outcomes = run_together(db, [insert("a"), insert("orphan", parent=99), insert("b")])
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes)
    assert db.names() == set()
    assert db.group.run(insert("c")) == "c"  # the next group starts clean


def test_an_interrupt_in_one_unit_leaves_no_thread_waiting(db: Database) -> None:
    def interrupted(conn: Connection) -> None:
        raise KeyboardInterrupt

    outcomes = run_together(db, [insert("a"), interrupted, insert("b")])
    assert all(isinstance(outcome, BaseException) for outcome in outcomes)
    assert db.names() == set()


KINDS = st.sampled_from(["good", "duplicate", "orphan"])


@settings(max_examples=40, deadline=None)
@given(groups=st.lists(st.lists(KINDS, min_size=1, max_size=6), min_size=1, max_size=5))
def test_a_thread_returns_normally_exactly_when_its_work_is_durable(
        tmp_path_factory: pytest.TempPathFactory, groups: list[list[str]]) -> None:
    db = Database(tmp_path_factory.mktemp("group") / "group.db")
    try:
        returned: set[str] = set()
        for g, kinds in enumerate(groups):
            works, names = [], []
            for i, kind in enumerate(kinds):
                name = "dup" if kind == "duplicate" else f"g{g}u{i}"
                names.append(name)
                works.append(insert(name, parent=99 if kind == "orphan" else 1))
            for name, outcome in zip(names, run_together(db, works), strict=True):
                if not isinstance(outcome, BaseException):
                    assert outcome == name
                    returned.add(name)
        assert db.names() == returned
    finally:
        db.engine.dispose()
