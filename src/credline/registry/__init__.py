"""The device registry: who got which serial, generation and fingerprint, in which state.

One schema (:mod:`credline.registry.schema`), two backends: a SQLite file for one station,
PostgreSQL for a cell of stations sharing one registry. Every state change is one
transaction; uniqueness of serials and fingerprints is enforced by database constraints, so
concurrent stations cannot both win. States and moves are :mod:`credline.core.lifecycle`'s.

A cell's rules live here, in the WHERE clauses, so that no station can break them:

- a row in flight is held by one station (and run) under a lease; only its holder moves it;
- a reserved row whose lease lapsed may be taken over by any station (no password is out);
- a written or verified row is bound to a hardware id: another station may take it over
  only for that same device, and only once the holder's lease lapsed;
- a lost device's serial is retired, or re-issued at the next generation, only by
  :meth:`Registry.retire` / :meth:`Registry.reissue` (explicit, logged commands).

Never holds a password or key: fingerprints and key ids only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, func, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from credline.core.compliance import BatchTerms
from credline.core.errors import BadInput, CredlineError, RegistryError, SerialTaken
from credline.core.lifecycle import DeviceState
from credline.registry import schema as s
from credline.registry.cell import CellRows
from credline.registry.connect import (
    check_sqlite_file,
    describe,
    engine_for,
    not_a_registry,
    now,
    safe_url,
)
from credline.registry.devices import (
    Ack,
    ClaimRefused,
    Device,
    Holder,
    IllegalTransition,
    device_from_row,
)
from credline.registry.group import GroupCommit
from credline.registry.prepared import PreparedCache
from credline.registry.reading import DeviceReads
from credline.registry.terms import SupportPeriod, enforce, support_period, support_periods

T = TypeVar("T")

__all__ = ["STATES", "Ack", "ClaimRefused", "Device", "Holder", "IllegalTransition",
           "Registry", "RegistryError", "SerialTaken", "Snapshot", "SupportPeriod",
           "open_registry"]

STATES = tuple(DeviceState)
UPGRADABLE = (2,)  # schema versions Registry.init upgrades in place


@dataclass(frozen=True)
class Snapshot:
    """Everything ``audit verify`` compares with the logs, read in one transaction."""

    url: str
    devices: list[Device]  # every row, retired ones too
    batches: list[dict[str, Any]]
    keys: dict[str, bytes]  # station id -> Ed25519 public key
    heads: dict[str, tuple[int, str]]  # station id -> (log_seq, log_head)
    events: list[dict[str, Any]]


class Registry(CellRows, DeviceReads):
    """A connection to one registry database. Use :func:`open_registry`."""

    def __init__(self, url: str, engine: Engine, reader: Engine) -> None:
        self.url = safe_url(url)
        self._engine = engine
        self._reader = reader
        self._batch_keys: dict[str, str] = {}  # a batch's key never changes: read it once
        self._prepared = PreparedCache(engine.dialect)
        # SQLite has one writer at a time; threads of this process queue here rather than in
        # SQLite's busy handler, which sleeps in steps of milliseconds, and a device's moves
        # share their transaction with the moves other ports make meanwhile (group commit).
        # Other processes still wait in the busy handler. PostgreSQL orders concurrent
        # transactions itself.
        self._group: GroupCommit | None = None
        self._writing: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        # SQLite: the one connection that writes, kept open and used only under the lock
        # (a pool checkout, its events and its reset cost more than a device's move).
        self._writer: Connection | None = None
        # SQLite: reading connections, kept open and lent to one thread at a time (every
        # HELLO of every port asks the registry whether the device has a row to finish, and
        # the pool's checkout, events and reset cost more than that question).
        self._idle_readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        if engine.dialect.name == "sqlite":
            writer = threading.Lock()
            self._writing = writer
            self._group = GroupCommit(self._transaction, writer)

    # -- plumbing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; database failures become :class:`RegistryError` messages.

        Constraint violations pass through as ``IntegrityError``: callers decide what a lost
        race means (a taken serial, a fingerprint collision).
        """
        with self._writing, self._transaction() as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction, without the writer lock (the caller holds it where there is one)."""
        try:
            if self._group is None:  # PostgreSQL: a pooled connection, many at once
                with self._engine.begin() as conn:
                    yield conn
                return
            if self._writer is None:
                self._writer = self._engine.connect()
            try:
                with self._writer.begin():
                    yield self._writer
            except DBAPIError:  # the connection itself may be what failed: a fresh one next
                self._writer.close()
                self._writer = None
                raise
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise describe(self.url, exc) from None

    def _run(self, conn: Connection, statement: Any, values: dict[str, Any]) -> Any:
        return self._prepared.run(conn, statement, values)

    def _commit(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in a committed transaction, shared with the work other threads
        commit at the same moment where the database has one writer (:mod:`.group`)."""
        if self._group is not None:
            return self._group.run(work)
        with self._tx() as conn:
            return work(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read transaction: one consistent view, given up at the end."""
        try:
            if self._group is None:  # PostgreSQL: a pooled connection
                with self._reader.connect() as pooled:
                    yield pooled
                return
            with self._readers_lock:
                lent = self._idle_readers.pop() if self._idle_readers else None
            if lent is None:
                lent = self._reader.connect()
            broken = False
            try:
                with lent.begin():
                    yield lent
            except DBAPIError:  # the connection itself may be what failed: a fresh one next
                broken = True
                lent.close()
                raise
            finally:
                if not broken:
                    with self._readers_lock:
                        self._idle_readers.append(lent)
        except DBAPIError as exc:
            raise describe(self.url, exc) from None

    def _keep_readers(self, count: int, ask: Callable[[Connection], object]) -> None:
        """SQLite: open ``count`` reading connections now, each having run ``ask`` once (its
        statement compiled), kept for :meth:`_read` to lend; PostgreSQL's pool keeps its own."""
        if self._group is None:
            return
        with contextlib.ExitStack() as held:  # all at once: each its own connection
            for _ in range(count):
                ask(held.enter_context(self._read()))

    def init(self) -> None:
        """Create the tables, or check that an existing registry is one this credline reads."""
        with self._tx() as conn:
            if inspect(conn).has_table("credline_schema"):
                version = conn.execute(select(s.schema_version.c.version)).scalar()
                if version == s.SCHEMA_VERSION:
                    return
                if version in UPGRADABLE:
                    # Version 3 only added tables: create them, keep every row.
                    s.metadata.create_all(conn)
                    conn.execute(s.schema_version.update().values(version=s.SCHEMA_VERSION))
                    return
                if version is not None:
                    raise RegistryError(
                        f"registry {self.url} has schema version {version}; this credline "
                        f"reads version {s.SCHEMA_VERSION} only",
                        hint="use the credline that made it, or a new registry")
            s.metadata.create_all(conn)
            conn.execute(s.schema_version.delete())
            conn.execute(insert(s.schema_version).values(version=s.SCHEMA_VERSION))

    def check_schema(self) -> None:
        """Refuse a database that is not a credline registry of this schema version."""
        with self._read() as conn:
            if not inspect(conn).has_table("credline_schema"):
                raise not_a_registry(self.url)
            version = conn.execute(select(s.schema_version.c.version)).scalar()
        if version in UPGRADABLE:
            raise RegistryError(f"registry {self.url} has schema version {version}; this "
                                f"credline reads version {s.SCHEMA_VERSION}",
                                hint=f"upgrade it in place (rows kept) with 'credline "
                                f"registry init {self.url}'")
        if version != s.SCHEMA_VERSION:
            raise RegistryError(f"registry {self.url} has schema version {version}; this "
                                f"credline reads version {s.SCHEMA_VERSION} only")

    def close(self) -> None:
        with self._writing:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._readers_lock:
            readers, self._idle_readers = self._idle_readers, []
        for reader in readers:
            reader.close()
        self._engine.dispose()
        self._reader.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- stations ----------------------------------------------------------------------------
    def register_station(self, station_id: str, public_key: bytes) -> None:
        with self._tx() as conn:
            known = conn.execute(select(s.stations.c.public_key).where(
                s.stations.c.station_id == station_id)).scalar()
            if known is None:
                conn.execute(insert(s.stations).values(
                    station_id=station_id, public_key=public_key.hex(), created_at=now(),
                    log_seq=0, log_head="0" * 64))
            elif known != public_key.hex():
                raise BadInput(f"station {station_id!r} is already enrolled with another key "
                               f"in {self.url}")

    def station_key(self, station_id: str) -> bytes | None:
        with self._read() as conn:
            known = conn.execute(select(s.stations.c.public_key).where(
                s.stations.c.station_id == station_id)).scalar()
        return bytes.fromhex(known) if known else None

    def station_keys(self) -> dict[str, bytes]:
        with self._read() as conn:
            rows = conn.execute(select(s.stations.c.station_id, s.stations.c.public_key))
            return {row.station_id: bytes.fromhex(row.public_key) for row in rows}

    def station_heads(self) -> dict[str, tuple[int, str]]:
        """Per station: (sequence number, hash) of its newest acknowledged log entry."""
        with self._read() as conn:
            rows = conn.execute(select(s.stations.c.station_id, s.stations.c.log_seq,
                                       s.stations.c.log_head))
            return {row.station_id: (int(row.log_seq), row.log_head) for row in rows}

    # -- batches -----------------------------------------------------------------------------
    def open_batch(self, batch_id: str, product: str, key_id: str, profile_id: str,
                   station_id: str, *, allow_closed: bool = False,
                   terms: BatchTerms | None = None) -> str:
        """Open a batch (idempotent for the same product and key; resuming is allowed).

        Returns its state, ``open`` or (with ``allow_closed``, for a rerun of a finished
        batch) ``closed``. Stations opening batches of a new product at the same moment race
        to insert the product and key rows; the loser's transaction is simply run again.
        ``terms`` (:func:`credline.core.compliance.batch_terms` of the profile) are checked
        first, in the same transaction (:mod:`credline.registry.terms`): a reused key under
        ``scope = "batch"`` or a shortened support period is refused, nothing written.
        """
        for attempt in range(3):
            try:
                return self._open_batch(batch_id, product, key_id, profile_id, station_id,
                                        allow_closed, terms)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _open_batch(self, batch_id: str, product: str, key_id: str, profile_id: str,
                    station_id: str, allow_closed: bool, terms: BatchTerms | None) -> str:
        with self._tx() as conn:
            enforce(conn, batch_id, product, key_id, terms, station_id, profile_id)
            if conn.execute(select(s.products.c.product).where(
                    s.products.c.product == product)).first() is None:
                conn.execute(insert(s.products).values(product=product, created_at=now()))
            owner = conn.execute(select(s.keys.c.product).where(
                s.keys.c.key_id == key_id)).scalar()
            if owner is None:
                conn.execute(insert(s.keys).values(key_id=key_id, product=product,
                                                   created_at=now()))
            elif owner != product:
                raise BadInput(f"key {key_id} already belongs to product {owner!r}, not "
                               f"{product!r}: use one key per product line")
            row = conn.execute(select(s.batches).where(s.batches.c.batch_id == batch_id)).first()
            if row is None:
                conn.execute(insert(s.batches).values(
                    batch_id=batch_id, product=product, key_id=key_id, profile_id=profile_id,
                    station_id=station_id, state="open", opened_at=now()))
            elif (row.product, row.key_id) != (product, key_id):
                raise BadInput(f"batch {batch_id!r} already exists for product {row.product!r} "
                               f"with key {row.key_id}; it cannot be reused for {product!r} "
                               f"with key {key_id}")
            elif row.state == "closed":
                if allow_closed:
                    return "closed"
                raise BadInput(f"batch {batch_id!r} was closed on {row.closed_at:%Y-%m-%d}; "
                               "open a new batch")
        return "open"

    def support_period(self, product: str) -> SupportPeriod | None:
        """The support period ``product`` has published, or None."""
        with self._read() as conn:
            return support_period(conn, product)

    def support_periods(self) -> list[SupportPeriod]:
        with self._read() as conn:
            return support_periods(conn)

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(select(s.batches).where(s.batches.c.batch_id == batch_id)).first()
        return dict(row._mapping) if row else None

    def require_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch's row; BadInput, naming this registry, when it has none."""
        batch = self.batch(batch_id)
        if batch is None:
            raise BadInput(f"batch {batch_id!r} is not in registry {self.url}")
        return batch

    def batches(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(select(s.batches).order_by(s.batches.c.opened_at))
            return [dict(row._mapping) for row in rows]

    def station_counts(self) -> list[tuple[str, str, str, int]]:
        """(batch, station, state, devices) for every batch and station of the registry:
        one grouped read, for the cell's live view."""
        d = s.devices.c
        query = select(d.batch_id, d.station_id, d.state, func.count()).group_by(
            d.batch_id, d.station_id, d.state).order_by(d.batch_id, d.station_id)
        with self._read() as conn:
            return [(row[0], row[1], row[2], int(row[3])) for row in conn.execute(query)]

    def events(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(select(s.events).order_by(s.events.c.id))
            return [dict(row._mapping) for row in rows]

    def snapshot(self) -> Snapshot:
        """One consistent view of devices, batches, stations and events (read only)."""
        with self._read() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            devices = [device_from_row(row) for row in conn.execute(
                select(s.devices).order_by(s.devices.c.id))]
            batches = [dict(row._mapping) for row in conn.execute(
                select(s.batches).order_by(s.batches.c.batch_id))]
            stations = list(conn.execute(select(s.stations)))
            events = [dict(row._mapping) for row in conn.execute(
                select(s.events).order_by(s.events.c.id))]
        return Snapshot(self.url, devices, batches,
                        {row.station_id: _public_key(row.public_key) for row in stations},
                        {row.station_id: (int(row.log_seq), row.log_head) for row in stations},
                        events)


def _public_key(text: str) -> bytes:
    """A station's enrolled key; an unreadable one is no key (its entries are unsigned)."""
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        return b""


def open_registry(url: str, *, create: bool = True) -> Registry:
    """Connect to a registry; with ``create``, make its tables if it has none.

    Without ``create`` the database must already be a credline registry of this version
    (what ``credline registry init`` makes); a SQLite file that does not exist is refused
    before anything creates it.
    """
    if not create:
        check_sqlite_file(url)
    engine = engine_for(url)
    reader = engine_for(url, writer=False) if engine.dialect.name == "sqlite" else engine
    registry = Registry(url, engine, reader)
    try:
        if create:
            registry.init()
        else:
            registry.check_schema()
    except OperationalError as exc:
        registry.close()
        raise describe(registry.url, exc) from None
    except CredlineError:
        registry.close()
        raise
    return registry
