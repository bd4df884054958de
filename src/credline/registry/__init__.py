"""The device registry: who got which serial, generation and fingerprint, in which state.

One schema (:mod:`credline.registry.schema`), two backends: a SQLite file
(``sqlite:///factory.db``) for one station, PostgreSQL (``postgresql://...``) for several
stations or lines sharing one registry. Every state change is one transaction; uniqueness of
serials and fingerprints is enforced by database constraints, so concurrent stations cannot
both win. Devices move reserved → written → verified → locked, or to failed.

Never holds a password or key: fingerprints and key ids only.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError

from credline.atomicfile import atomic_text
from credline.errors import BadInput, CredlineError
from credline.registry import schema as s

STATES = ("reserved", "written", "verified", "locked", "failed")
_NEXT = {"written": ("reserved",), "verified": ("written",), "locked": ("verified",),
         "failed": ("reserved", "written", "verified")}
MAX_GENERATION_TRIES = 64


class RegistryError(CredlineError):
    """The registry cannot be used: unreachable, read-only, full, or from a newer credline."""


class SerialTaken(CredlineError):
    """Another batch or station already holds this serial."""


class IllegalTransition(CredlineError):
    """A device was asked to move to a state it cannot reach from where it is."""


@dataclass(frozen=True)
class Device:
    product: str
    serial: str
    batch_id: str
    generation: int
    key_id: str
    fingerprint: str | None
    state: str
    station_id: str
    port: str
    reason: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _engine_for(url: str, *, writer: bool = True) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadInput(f"invalid registry URL {url!r} (expected sqlite:///FILE or "
                       "postgresql://USER@HOST/DB)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BadInput(f"registry URL {url!r}: give a file, sqlite:///PATH")
        engine = create_engine(parsed, connect_args={"timeout": 60})

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
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

        return engine
    if parsed.drivername == "postgresql+psycopg":
        return create_engine(parsed, pool_pre_ping=True)
    raise BadInput(f"registry URL {url!r}: unsupported database {parsed.drivername!r} "
                   "(sqlite or postgresql)")


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


class Registry:
    """A connection to one registry database. Use :func:`open_registry`."""

    def __init__(self, url: str, engine: Engine, reader: Engine) -> None:
        self.url = _safe(url)
        self._engine = engine
        self._reader = reader
        # A batch's key never changes and batches are never deleted: read each one once.
        self._batch_keys: dict[str, str] = {}
        # SQLite has one writer at a time; threads of this process queue here rather than in
        # SQLite's busy handler, which sleeps in steps of milliseconds. Other processes still
        # wait there. PostgreSQL orders concurrent transactions itself.
        self._writing: contextlib.AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext())

    # -- plumbing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; database failures become :class:`RegistryError` messages.

        Constraint violations pass through as ``IntegrityError``: callers decide what a lost
        race means (a taken serial, a fingerprint collision).
        """
        try:
            with self._writing, self._engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise self._error(exc) from None

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._reader.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise self._error(exc) from None

    def _error(self, exc: DBAPIError) -> RegistryError:
        text = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        if "readonly" in text or "read-only" in text:
            return RegistryError(f"registry {self.url} is read-only: {text}")
        if "disk" in text and ("full" in text or "I/O" in text):
            return RegistryError(f"registry {self.url}: the disk is full ({text})")
        return RegistryError(f"registry {self.url} failed: {text}",
                             hint="check the database server and the network")

    def init(self) -> None:
        """Create the tables, or check that an existing registry is one this credline reads."""
        with self._tx() as conn:
            if inspect(conn).has_table("credline_schema"):
                version = conn.execute(select(s.schema_version.c.version)).scalar()
                if version is not None and version > s.SCHEMA_VERSION:
                    raise RegistryError(
                        f"registry {self.url} has schema version {version}, newer than this "
                        f"credline understands ({s.SCHEMA_VERSION}); upgrade credline")
                if version == s.SCHEMA_VERSION:
                    return
            s.metadata.create_all(conn)
            conn.execute(s.schema_version.delete())
            conn.execute(insert(s.schema_version).values(version=s.SCHEMA_VERSION))

    def close(self) -> None:
        self._engine.dispose()
        self._reader.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- stations, keys, batches -------------------------------------------------------------
    def register_station(self, station_id: str, public_key: bytes) -> None:
        with self._tx() as conn:
            known = conn.execute(select(s.stations.c.public_key).where(
                s.stations.c.station_id == station_id)).scalar()
            if known is None:
                conn.execute(insert(s.stations).values(station_id=station_id,
                                                       public_key=public_key.hex(),
                                                       created_at=_now()))
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

    def open_batch(self, batch_id: str, product: str, key_id: str, profile_id: str,
                   station_id: str, *, allow_closed: bool = False) -> str:
        """Open a batch (idempotent for the same product and key; resuming is allowed).

        Returns its state, ``open`` or (with ``allow_closed``, for a rerun of a finished
        batch) ``closed``. Stations opening batches of a new product at the same moment race
        to insert the product and key rows; the loser's transaction is simply run again.
        """
        for attempt in range(3):
            try:
                return self._open_batch(batch_id, product, key_id, profile_id, station_id,
                                        allow_closed)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _open_batch(self, batch_id: str, product: str, key_id: str, profile_id: str,
                    station_id: str, allow_closed: bool) -> str:
        with self._tx() as conn:
            if conn.execute(select(s.products.c.product).where(
                    s.products.c.product == product)).first() is None:
                conn.execute(insert(s.products).values(product=product, created_at=_now()))
            owner = conn.execute(select(s.keys.c.product).where(
                s.keys.c.key_id == key_id)).scalar()
            if owner is None:
                conn.execute(insert(s.keys).values(key_id=key_id, product=product,
                                                   created_at=_now()))
            elif owner != product:
                raise BadInput(f"key {key_id} already belongs to product {owner!r}, not "
                               f"{product!r}: use one key per product line")
            row = conn.execute(select(s.batches).where(s.batches.c.batch_id == batch_id)).first()
            if row is None:
                conn.execute(insert(s.batches).values(
                    batch_id=batch_id, product=product, key_id=key_id, profile_id=profile_id,
                    station_id=station_id, state="open", opened_at=_now()))
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

    def close_batch(self, batch_id: str, entries: int, head_hash: str) -> None:
        """Close a batch, recording the provenance checkpoint (entry count and head hash)."""
        with self._tx() as conn:
            done = conn.execute(update(s.batches).where(
                s.batches.c.batch_id == batch_id, s.batches.c.state == "open").values(
                state="closed", closed_at=_now(), log_entries=entries, log_head=head_hash))
            if done.rowcount != 1:
                raise BadInput(f"batch {batch_id!r} is not open in {self.url}")

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(select(s.batches).where(s.batches.c.batch_id == batch_id)).first()
        return dict(row._mapping) if row else None

    # -- devices -----------------------------------------------------------------------------
    def reserve(self, batch_id: str, product: str, serial: str, station_id: str,
                port: str = "") -> Device:
        """Hold ``serial`` for this batch; resumes this batch's own earlier reservation.

        Raises :class:`SerialTaken` when another batch holds it. The unique constraint
        decides between racing stations.
        """
        key_id = self._batch_keys.get(batch_id)
        if key_id is None:
            batch = self.batch(batch_id)
            if batch is None:
                raise BadInput(f"batch {batch_id!r} is not open in {self.url}")
            key_id = self._batch_keys[batch_id] = batch["key_id"]
        now = _now()
        try:
            with self._tx() as conn:
                conn.execute(insert(s.devices).values(
                    product=product, serial=serial, batch_id=batch_id, generation=0,
                    key_id=key_id, state="reserved", station_id=station_id,
                    port=port, reason="", created_at=now, updated_at=now))
                self._event(conn, batch_id, product, serial, "reserved", f"{station_id} {port}")
            return Device(product, serial, batch_id, 0, key_id, None, "reserved", station_id,
                          port, "")
        except IntegrityError:
            pass  # already registered: decide below from the row that won
        device = self.device(product, serial)
        assert device is not None
        if device.batch_id != batch_id:
            raise SerialTaken(f"serial {serial!r} of {product} is already held by batch "
                              f"{device.batch_id!r} on station {device.station_id!r} "
                              f"({device.state})")
        if device.station_id != station_id and device.state in ("reserved", "written"):
            with self._tx() as conn:
                conn.execute(update(s.devices).where(
                    s.devices.c.product == product, s.devices.c.serial == serial).values(
                    station_id=station_id, port=port, updated_at=_now()))
            return self.device(product, serial) or device
        return device

    def assign_fingerprint(self, batch_id: str, product: str, serial: str,
                           derive: Callable[[int], str]) -> tuple[int, str]:
        """Give a reserved device its generation and fingerprint.

        Tries ``derive(generation)`` from 0 upwards; a fingerprint already registered for the
        product is refused by the UNIQUE(product, fingerprint) constraint and the next
        generation is tried (the brief's collision rule). Idempotent on resume.
        """
        for generation in range(MAX_GENERATION_TRIES):
            fingerprint = derive(generation)
            try:
                with self._tx() as conn:
                    done = conn.execute(update(s.devices).where(
                        s.devices.c.product == product, s.devices.c.serial == serial,
                        s.devices.c.batch_id == batch_id,
                        s.devices.c.fingerprint.is_(None)).values(
                        generation=generation, fingerprint=fingerprint, updated_at=_now()))
                    if done.rowcount != 1:
                        # Not this batch's, or assigned already (a resume): the row says.
                        device = self._require(product, serial, batch_id)
                        if device.fingerprint is None:
                            raise IllegalTransition(f"serial {serial!r} changed under us")
                        return device.generation, device.fingerprint
                    if generation:
                        self._event(conn, batch_id, product, serial, "collision",
                                    f"re-derived with generation {generation}")
                return generation, fingerprint
            except IntegrityError:
                continue
        raise RegistryError(f"serial {serial!r}: {MAX_GENERATION_TRIES} generations all "
                            "collided; the key or the encoder is broken")

    def _require(self, product: str, serial: str, batch_id: str | None = None) -> Device:
        device = self.device(product, serial)
        if device is None:
            raise BadInput(f"serial {serial!r} of {product} is not in registry {self.url}")
        if batch_id is not None and device.batch_id != batch_id:
            raise SerialTaken(f"serial {serial!r} of {product} belongs to batch "
                              f"{device.batch_id!r}, not {batch_id!r}")
        return device

    def _move(self, product: str, serial: str, state: str, reason: str = "") -> None:
        where = [s.devices.c.product == product, s.devices.c.serial == serial,
                 s.devices.c.state.in_(_NEXT[state])]
        if state == "written":  # nothing is written before its fingerprint is registered
            where.append(s.devices.c.fingerprint.is_not(None))
        with self._tx() as conn:
            batch = conn.execute(update(s.devices).where(*where).values(
                state=state, reason=reason, updated_at=_now()).returning(
                s.devices.c.batch_id)).scalar()
            if batch is None:
                current = conn.execute(select(s.devices.c.state, s.devices.c.fingerprint).where(
                    s.devices.c.product == product, s.devices.c.serial == serial)).first()
                if current is None:
                    raise BadInput(f"serial {serial!r} of {product} is not in registry "
                                   f"{self.url}")
                if state == "written" and current.fingerprint is None:
                    raise IllegalTransition(f"serial {serial!r}: no fingerprint assigned "
                                            "before write")
                raise IllegalTransition(f"serial {serial!r} of {product} is {current.state}; "
                                        f"it cannot become {state}")
            self._event(conn, batch, product, serial, state, reason)

    def mark_written(self, product: str, serial: str) -> None:
        self._move(product, serial, "written")

    def mark_verified(self, product: str, serial: str) -> None:
        self._move(product, serial, "verified")

    def mark_locked(self, product: str, serial: str) -> None:
        self._move(product, serial, "locked")

    def mark_failed(self, product: str, serial: str, reason: str) -> None:
        self._move(product, serial, "failed", reason)

    def release(self, batch_id: str, product: str, serial: str) -> None:
        """Free a serial this batch reserved but never wrote (the device went away first)."""
        with self._tx() as conn:
            done = conn.execute(s.devices.delete().where(
                s.devices.c.product == product, s.devices.c.serial == serial,
                s.devices.c.batch_id == batch_id, s.devices.c.state == "reserved"))
            if done.rowcount != 1:
                raise IllegalTransition(f"serial {serial!r} of {product} is not reserved by "
                                        f"batch {batch_id!r}; it cannot be released")
            self._event(conn, batch_id, product, serial, "released", "")

    def retry(self, product: str, serial: str) -> None:
        """Put a failed device back to reserved (same batch), keeping its fingerprint."""
        with self._tx() as conn:
            conn.execute(update(s.devices).where(
                s.devices.c.product == product, s.devices.c.serial == serial,
                s.devices.c.state == "failed").values(state="reserved", reason="",
                                                      updated_at=_now()))

    def device(self, product: str, serial: str) -> Device | None:
        with self._read() as conn:
            row = conn.execute(select(s.devices).where(
                s.devices.c.product == product, s.devices.c.serial == serial)).first()
        return _device(row) if row else None

    def devices(self, batch_id: str, state: str | None = None) -> list[Device]:
        query = select(s.devices).where(s.devices.c.batch_id == batch_id)
        if state is not None:
            query = query.where(s.devices.c.state == state)
        with self._read() as conn:
            return [_device(row) for row in conn.execute(query.order_by(s.devices.c.id))]

    def status(self, batch_id: str | None = None) -> dict[str, int]:
        query = select(s.devices.c.state, func.count()).group_by(s.devices.c.state)
        if batch_id is not None:
            query = query.where(s.devices.c.batch_id == batch_id)
        with self._read() as conn:
            counts: dict[str, int] = {row[0]: row[1] for row in conn.execute(query)}
        return {state: int(counts.get(state, 0)) for state in STATES}

    def fingerprints(self, product: str) -> Iterator[tuple[str, str]]:
        """(serial, fingerprint) of every device of the product that has one."""
        query = select(s.devices.c.serial, s.devices.c.fingerprint).where(
            s.devices.c.product == product, s.devices.c.fingerprint.is_not(None))
        with self._read() as conn:
            for row in conn.execute(query.execution_options(yield_per=10000)):
                yield row[0], row[1]

    def export(self, batch_id: str, out: Path) -> int:
        """Write the batch as CSV (fingerprints, never passwords); returns the row count."""
        if self.batch(batch_id) is None:
            raise BadInput(f"batch {batch_id!r} is not in registry {self.url}")
        columns = ("serial", "product", "generation", "key_id", "fingerprint", "state",
                   "station_id", "port", "reason")
        count = 0
        with atomic_text(out) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for device in self.devices(batch_id):
                writer.writerow(["" if (value := getattr(device, c)) is None else value
                                 for c in columns])
                count += 1
        return count

    def _event(self, conn: Connection, batch_id: str | None, product: str, serial: str,
               name: str, detail: str) -> None:
        conn.execute(insert(s.events).values(at=_now(), batch_id=batch_id, product=product,
                                             serial=serial, event=name, detail=detail))


def _device(row: Any) -> Device:
    return Device(product=row.product, serial=row.serial, batch_id=row.batch_id,
                  generation=int(row.generation), key_id=row.key_id,
                  fingerprint=row.fingerprint, state=row.state, station_id=row.station_id,
                  port=row.port, reason=row.reason)


def _not_a_registry(safe_url: str, why: str = "it has no credline tables") -> BadInput:
    return BadInput(f"{safe_url} is not a credline registry ({why}); create one with "
                    f"'credline registry init {safe_url}'")


def _check_sqlite_file(url: str) -> None:
    """Refuse a SQLite file that is missing or holds no registry, without changing it.

    A normal connection would create a missing file (a typo'd name) and switch someone
    else's database to WAL mode, so this looks through SQLite's own mode=rw, which never
    creates, and only reads.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # _engine_for names the bad URL
    if parsed.drivername != "sqlite" or not parsed.database or parsed.query.get("uri"):
        return  # with uri=true, the URL's own mode= parameter decides
    path = Path(parsed.database).absolute()
    if not path.exists():
        raise _not_a_registry(_safe(url), f"no such file {str(path)!r}")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{quote(str(path))}?mode=rw",
                                                uri=True)) as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'credline_schema'").fetchone()
    except sqlite3.OperationalError as exc:  # locked, unreadable: not a verdict on the file
        raise RegistryError(f"registry {_safe(url)} failed: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise _not_a_registry(_safe(url), str(exc)) from None
    if found is None:
        raise _not_a_registry(_safe(url))


def open_registry(url: str, *, create: bool = True) -> Registry:
    """Connect to a registry; with ``create``, make its tables if it has none.

    Without ``create`` (every command but ``registry init``), a database without credline's
    tables is refused, and a missing SQLite file is refused without being created.
    """
    if not create:
        _check_sqlite_file(url)
    engine = _engine_for(url)
    reader = _engine_for(url, writer=False) if engine.dialect.name == "sqlite" else engine
    registry = Registry(url, engine, reader)
    try:
        if create:
            registry.init()
        else:
            with registry._read() as conn:
                if not inspect(conn).has_table("credline_schema"):
                    raise _not_a_registry(registry.url)
    except BadInput:
        registry.close()
        raise
    except OperationalError as exc:
        registry.close()
        raise registry._error(exc) from None
    return registry
