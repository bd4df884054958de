"""Reaching a registry database: URLs to engines, database failures to plain errors.

SQLite (``sqlite:///factory.db``) runs in WAL mode with writers taking the lock up front;
PostgreSQL (``postgresql://...``) through psycopg. Nothing here knows a table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from credline.core.errors import BadInput, RegistryError

__all__ = ["RegistryError", "check_sqlite_file", "describe", "engine_for", "not_a_registry", "now",
           "safe_url"]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def engine_for(url: str, *, writer: bool = True) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadInput(f"invalid registry URL {safe_url(url)!r} (expected sqlite:///FILE or "
                       "postgresql://USER@HOST[:PORT]/DB)") from None
    except ValueError:  # sqlalchemy's int() of the port
        raise BadInput(f"registry URL {safe_url(url)!r}: the port is not a number") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BadInput(f"registry URL {url!r}: give a file, sqlite:///PATH")
        return _sqlite(parsed, writer)
    if parsed.drivername == "postgresql+psycopg":
        try:
            port = parsed.port
        except ValueError:
            raise BadInput(f"registry URL {safe_url(url)!r}: the port is not a number") from None
        if port is not None and not 1 <= port <= 65535:
            raise BadInput(f"registry URL {safe_url(url)!r}: port {port} is not from 1 to 65535")
        return create_engine(parsed, pool_pre_ping=True)
    raise BadInput(f"registry URL {url!r}: unsupported database {parsed.drivername!r} "
                   "(sqlite or postgresql)")


def _sqlite(parsed: Any, writer: bool) -> Engine:
    # No cap on connections: the registry keeps its readers open and lends them itself (one
    # per port reading at once), so none goes back to the pool to wake a thread waiting there.
    engine = create_engine(parsed, connect_args={"timeout": 60}, max_overflow=-1)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # transactions are ours: BEGIN below
        dbapi.execute("PRAGMA foreign_keys = ON")
        # Write-ahead logging: one fsync per commit instead of a rollback journal's
        # several, and readers never wait for a writer. FULL keeps every commit durable.
        # The mode sticks to the file; on a read-only file the pragma changes nothing.
        dbapi.execute("PRAGMA journal_mode = WAL")
        dbapi.execute("PRAGMA synchronous = FULL")

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        # Writers take the write lock up front (no lock upgrade, so no deadlock between
        # stations); readers use a plain deferred transaction.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if writer else "BEGIN")  # type: ignore[union-attr]

    return engine


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable: hide what sits where a password would
        return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url)


SQLITE_HINT = ("check the SQLite file's folder and permissions, that no other program holds "
               "it locked, and the disk")


def hint_for(url: str) -> str | None:
    """What to check when the registry at ``url`` fails: a SQLite file is no server on a
    network (None: the server's default hint)."""
    return SQLITE_HINT if url.startswith("sqlite") else None


def describe(url: str, exc: DBAPIError) -> RegistryError:
    """A database failure in plain words (the environment failed, not the input)."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    hint = hint_for(url)
    if "readonly" in text or "read-only" in text:
        return RegistryError(f"registry {url} is read-only: {text}", hint=hint)
    if "disk" in text and ("full" in text or "I/O" in text):
        return RegistryError(f"registry {url}: the disk is full ({text})", hint=hint)
    return RegistryError(f"registry {url} failed: {text}", hint=hint)


def not_a_registry(url: str, why: str = "it has no credline tables") -> BadInput:
    return BadInput(f"{url} is not a credline registry ({why}); create one with "
                    f"'credline registry init {url}'")


def check_sqlite_file(url: str) -> None:
    """Refuse a SQLite file that is missing or holds no registry, without changing it.

    A normal connection would create a missing file (a typo'd name) and switch someone
    else's database to WAL mode, so this looks through SQLite's own mode=rw, which never
    creates, and only reads.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return  # engine_for names the bad URL
    if parsed.drivername != "sqlite" or not parsed.database or parsed.query.get("uri"):
        return  # with uri=true, the URL's own mode= parameter decides
    path = Path(parsed.database).absolute()
    if not path.exists():
        raise not_a_registry(safe_url(url), f"no such file {str(path)!r}")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{quote(str(path))}?mode=rw",
                                                uri=True)) as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'credline_schema'").fetchone()
    except sqlite3.OperationalError as exc:  # locked, unreadable: not a verdict on the file
        raise RegistryError(f"registry {safe_url(url)} failed: {exc}",
                            hint=SQLITE_HINT) from None
    except sqlite3.DatabaseError as exc:
        raise not_a_registry(safe_url(url), str(exc)) from None
    if found is None:
        raise not_a_registry(safe_url(url))
