"""Device rows: reserve, bind, move, claim, release, retire and re-issue, each one transaction.

The cell's rules are the WHERE clauses below (see the package docstring); Python never
decides alone that a row may change hands.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, literal_column, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from credline.core.errors import BadInput, CredlineError, RegistryError, SerialTaken
from credline.core.lifecycle import BOUND, IN_FLIGHT, DeviceState, sources
from credline.registry import schema as s
from credline.registry.connect import now
from credline.registry.prepared import PreparedCache

T = TypeVar("T")
MAX_GENERATION_TRIES = 64


def _inserting(table: Any) -> Any:
    """INSERT of every column but the id, each value a parameter named after its column."""
    return insert(table).values({column.name: bindparam(f"p_{column.name}")
                                 for column in table.c if column.name != "id"})


# The statements a device's every move runs, built once and prepared for the database
# (:mod:`credline.registry.prepared`; see bench/ledger.py for what that saves).
_EVENT = _inserting(s.events)
_ACK = update(s.stations).where(
    s.stations.c.station_id == bindparam("b_station"),
    s.stations.c.log_seq < bindparam("b_seq")).values(log_seq=bindparam("b_seq"),
                                                       log_head=bindparam("b_head"))
_INSERT_DEVICE = _inserting(s.devices)
_BATCH_STATE_FOR_SHARE = select(s.batches.c.state).where(
    s.batches.c.batch_id == bindparam("b_batch")).with_for_update(read=True)
# Bound to a device and not finished: the rows a device can claim back (written, verified).
BOUND_IN_FLIGHT = BOUND & IN_FLIGHT


def live() -> Any:
    """Not retired, in the words of the partial unique index on (product, serial), so that
    SQLite's planner can find a serial's live row by that index."""
    return s.devices.c.state != literal_column(f"'{DeviceState.RETIRED.value}'")


def state_in(states: Iterable[DeviceState]) -> Any:
    """``state IN (...)`` with the states written into the SQL: they are constants of the
    lifecycle, and a list of bound values is re-expanded on every execution."""
    return s.devices.c.state.in_([literal_column(f"'{state.value}'")
                                  for state in sorted(states)])


class InProgress(SerialTaken):
    """Another station of this batch holds the serial under a live lease, or wrote it."""


class Finished(SerialTaken):
    """This batch is done with the serial: locked, failed or retired, on some station."""


class IllegalTransition(BadInput):
    """A device was asked to move to a state it cannot reach from where it is, or by a
    station that does not hold it."""


class ClaimRefused(BadInput):
    """A device claims a row it may not have: another device's, or held live elsewhere."""


@dataclass(frozen=True)
class Holder:
    """Who works on a row: a station, one run of it, and how long its lease lasts."""

    station_id: str
    run_id: str = ""
    lease: float = 30.0  # seconds

    def until(self) -> dt.datetime:
        return now() + dt.timedelta(seconds=self.lease)


@dataclass(frozen=True)
class Ack:
    """The newest log entry behind a registry move: the station's log head, acknowledged."""

    station_id: str
    seq: int
    head: str


@dataclass(frozen=True)
class Device:
    product: str
    serial: str
    batch_id: str
    generation: int
    key_id: str
    fingerprint: str | None
    state: DeviceState
    station_id: str
    port: str
    reason: str
    hardware_id: str | None = None
    run_id: str = ""
    lease_until: dt.datetime | None = None


def _holder(holder: Holder | str) -> Holder:
    return Holder(holder) if isinstance(holder, str) else holder


def device_from_row(row: Any) -> Device:
    """A devices row (or an :class:`InsertedRow`) as a :class:`Device`."""
    lease = row.lease_until
    if lease is not None and lease.tzinfo is None:  # SQLite hands back naive UTC
        lease = lease.replace(tzinfo=dt.UTC)
    return Device(product=row.product, serial=row.serial, batch_id=row.batch_id,
                  generation=int(row.generation), key_id=row.key_id,
                  fingerprint=row.fingerprint, state=DeviceState(row.state),
                  station_id=row.station_id, port=row.port, reason=row.reason,
                  hardware_id=row.hardware_id, run_id=row.run_id, lease_until=lease)


def lease_lapsed() -> Any:
    """The row's lease ran out, or it has none: another station may take it."""
    return or_(s.devices.c.lease_until.is_(None), s.devices.c.lease_until < now())


@functools.cache
def _move_statement(target: DeviceState, holder_only: bool, extra: tuple[str, ...]) -> Any:
    """The UPDATE for one kind of move, built once (every value a bound parameter)."""
    where = [s.devices.c.product == bindparam("w_product"),
             s.devices.c.serial == bindparam("w_serial"), live(),
             state_in(sources(target))]
    if target is DeviceState.WRITTEN:  # nothing is written before its fingerprint is
        where.append(s.devices.c.fingerprint.is_not(None))
    if holder_only:  # only the holder moves a row
        where.append(s.devices.c.station_id == bindparam("w_station"))
    columns = ("state", "reason", "updated_at", *extra)
    return update(s.devices).where(*where).values(
        {name: bindparam(f"v_{name}") for name in columns}).returning(s.devices.c.batch_id)


def station_statements() -> list[Any]:
    """Every statement a station's devices run in a normal run: reserve, bind, verify, lock
    or fail, with the event and the acknowledgement of each."""
    moves = [_move_statement(DeviceState.WRITTEN, True, ("hardware_id",)),
             _move_statement(DeviceState.VERIFIED, True, ()),
             _move_statement(DeviceState.LOCKED, True, ("lease_until",)),
             _move_statement(DeviceState.FAILED, True, ("lease_until",))]
    return [_BATCH_STATE_FOR_SHARE, _INSERT_DEVICE, _EVENT, _ACK, *moves]


class DeviceRows:
    """The device half of :class:`credline.registry.Registry` (a mixin over its plumbing)."""

    url: str
    _batch_keys: dict[str, str]
    _prepared: PreparedCache
    device: Callable[[str, str], Device | None]  # the reading half (registry/reading.py)

    def _tx(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _commit(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    def _run(self, conn: Connection, statement: Any, values: dict[str, Any]) -> Any:
        """A statement built once, run prepared (:mod:`credline.registry.prepared`)."""
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _keep_readers(self, count: int, ask: Callable[[Connection], object]) -> None:
        raise NotImplementedError

    def require_batch(self, batch_id: str) -> dict[str, Any]:
        raise NotImplementedError

    # -- reserving ---------------------------------------------------------------------------
    def reserve(self, batch_id: str, product: str, serial: str, holder: Holder | str,
                port: str = "", hardware_id: str = "", *,
                fingerprint_at: Callable[[int], str] | None = None) -> Device:
        """Hold ``serial`` for this batch, or take over this batch's lapsed reservation.

        With ``fingerprint_at``, a new row is inserted with generation 0 and its fingerprint
        in the same transaction (what :meth:`assign_fingerprint` would do next, one commit
        fewer); a collision falls back to the plain reservation, and the caller assigns.
        Raises :class:`SerialTaken` when another batch holds it or it is retired,
        :class:`InProgress` when another station of the batch holds it live or wrote it.
        The unique constraints decide between racing stations.
        """
        holder = _holder(holder)
        key_id = self._key_of(batch_id)
        fingerprint = None if fingerprint_at is None else fingerprint_at(0)
        for _ in range(4):
            try:
                return self._insert_reserved(batch_id, product, serial, key_id, holder, port,
                                             hardware_id, fingerprint)
            except IntegrityError:
                if fingerprint is not None:  # the serial is taken, or the fingerprint is:
                    fingerprint = None       # try plainly, which tells the two apart
                    continue
                # a row exists: take it over if the rules allow, else say who has it
            taken = self._take_over(batch_id, product, serial, holder, port, hardware_id)
            if taken is not None:
                return taken
            current = self.device(product, serial)
            if current is not None:
                raise self._taken(current, batch_id)
        raise InProgress(f"serial {serial!r} of {product} keeps changing hands; try again")

    def _key_of(self, batch_id: str) -> str:
        key_id = self._batch_keys.get(batch_id)
        if key_id is None:
            batch = self.require_batch(batch_id)
            key_id = self._batch_keys[batch_id] = str(batch["key_id"])
        return key_id

    def _open_for_writing(self, conn: Connection, batch_id: str) -> None:
        # FOR SHARE: a station closing the batch (FOR UPDATE) waits for us, and we for it.
        found = self._run(conn, _BATCH_STATE_FOR_SHARE, {"b_batch": batch_id}).fetchone()
        state = None if found is None else found[0]
        if state != "open":
            raise SerialTaken(f"batch {batch_id!r} is {state or 'missing'} in {self.url}: "
                              "start a new batch for more devices")

    def _insert_reserved(self, batch_id: str, product: str, serial: str, key_id: str,
                         holder: Holder, port: str, hardware_id: str,
                         fingerprint: str | None = None) -> Device:
        stamp = now()
        values = dict(product=product, serial=serial, batch_id=batch_id, generation=0,
                      key_id=key_id, fingerprint=fingerprint, state=DeviceState.RESERVED.value,
                      station_id=holder.station_id, run_id=holder.run_id,
                      lease_until=holder.until(), hardware_id=hardware_id or None, port=port,
                      reason="", created_at=stamp, updated_at=stamp)

        def insert(conn: Connection) -> None:
            self._open_for_writing(conn, batch_id)
            self._run(conn, _INSERT_DEVICE, {f"p_{name}": value
                                             for name, value in values.items()})
            self._event(conn, batch_id, product, serial, "reserved", holder.station_id, port)

        self._commit(insert)
        return device_from_row(InsertedRow(values))

    def _take_over(self, batch_id: str, product: str, serial: str, holder: Holder, port: str,
                   hardware_id: str) -> Device | None:
        """A reservation of this batch that its holder let lapse (no password is out yet)."""
        with self._tx() as conn:
            self._open_for_writing(conn, batch_id)
            row = conn.execute(update(s.devices).where(
                s.devices.c.product == product, s.devices.c.serial == serial,
                s.devices.c.batch_id == batch_id,
                s.devices.c.state == DeviceState.RESERVED.value,
                or_(s.devices.c.station_id == holder.station_id, lease_lapsed())).values(
                station_id=holder.station_id, run_id=holder.run_id,
                lease_until=holder.until(), port=port, hardware_id=hardware_id or None,
                updated_at=now()).returning(*s.devices.c)).first()
            if row is None:
                return None
            self._event(conn, batch_id, product, serial, "reserved", holder.station_id,
                        f"{port} (taken over)")
            return device_from_row(row)

    def _taken(self, current: Device, batch_id: str) -> SerialTaken:
        where = (f"serial {current.serial!r} of {current.product} is {current.state} "
                 f"(batch {current.batch_id!r}, station {current.station_id!r})")
        if current.batch_id != batch_id:
            return SerialTaken(f"serial {current.serial!r} of {current.product} is already "
                               f"held by batch {current.batch_id!r} on station "
                               f"{current.station_id!r} ({current.state})")
        if current.state.in_flight:
            return InProgress(where)
        return Finished(where)

    def assign_fingerprint(self, batch_id: str, product: str, serial: str,
                           derive: Callable[[int], str], *,
                           current: Device | None = None) -> tuple[int, str]:
        """Give a reserved device its generation and fingerprint.

        Tries ``derive(generation)`` from the row's generation upwards (a re-issued serial
        starts above its retired one); a fingerprint ever registered for the product, retired
        ones included, is refused by UNIQUE(product, fingerprint) and the next generation is
        tried (the brief's collision rule). Idempotent on resume.
        """
        # ``current``: the row as the caller's reserve() returned it, saving a read (the
        # UPDATE below checks it still holds).
        first = current if current is not None and current.serial == serial \
            and current.batch_id == batch_id else self._require(product, serial, batch_id)
        if first.fingerprint is not None:
            return first.generation, first.fingerprint
        for generation in range(first.generation, first.generation + MAX_GENERATION_TRIES):
            fingerprint = derive(generation)
            try:
                with self._tx() as conn:
                    done = conn.execute(update(s.devices).where(
                        s.devices.c.product == product, s.devices.c.serial == serial,
                        s.devices.c.batch_id == batch_id,
                        s.devices.c.state == DeviceState.RESERVED.value,
                        s.devices.c.fingerprint.is_(None)).values(
                        generation=generation, fingerprint=fingerprint, updated_at=now()))
                    if done.rowcount != 1:
                        device = self._require(product, serial, batch_id)
                        if device.fingerprint is None:
                            raise IllegalTransition(f"serial {serial!r} changed under us")
                        return device.generation, device.fingerprint
                    if generation != first.generation:
                        self._event(conn, batch_id, product, serial, "collision", "",
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

    # -- moving ------------------------------------------------------------------------------
    def _move(self, product: str, serial: str, target: DeviceState, *,
              holder: Holder | str | None = None, ack: Ack | None = None, reason: str = "",
              **values: object) -> None:
        station = None if holder is None else _holder(holder).station_id
        self._commit(lambda conn: self._move_in(
            conn, product, serial, target, station=station, by=station or "", ack=ack,
            reason=reason, **values))

    def _move_in(self, conn: Connection, product: str, serial: str, target: DeviceState, *,
                 station: str | None, by: str, ack: Ack | None, reason: str,
                 **values: object) -> None:
        """One move inside ``conn``; ``station``, when given, must be the row's holder."""
        statement = _move_statement(target, station is not None, tuple(sorted(values)))
        params = {f"v_{name}": value for name, value in values.items()}
        row = self._run(conn, statement, {
            "w_product": product, "w_serial": serial, "w_station": station,
            "v_state": target.value, "v_reason": reason, "v_updated_at": now(),
            **params}).fetchone()
        if row is None:
            raise self._refused_move(conn, product, serial, target, station)
        self._event(conn, row[0], product, serial, target.value, by, reason)
        self._ack(conn, ack)

    def _refused_move(self, conn: Connection, product: str, serial: str, target: DeviceState,
                      station: str | None) -> CredlineError:
        current = conn.execute(select(s.devices).where(
            s.devices.c.product == product, s.devices.c.serial == serial,
            s.devices.c.state != DeviceState.RETIRED.value)).first()
        if current is None:
            return IllegalTransition(f"serial {serial!r} of {product} has no live row in "
                                     f"registry {self.url}; it cannot become {target}")
        if target is DeviceState.WRITTEN and current.fingerprint is None:
            return IllegalTransition(f"serial {serial!r}: no fingerprint assigned before write")
        if station is not None and current.station_id != station:
            return IllegalTransition(f"serial {serial!r} of {product} is now held by station "
                                     f"{current.station_id!r}; station {station!r} cannot "
                                     f"make it {target}")
        return IllegalTransition(f"serial {serial!r} of {product} is {current.state}; it "
                                 f"cannot become {target}")

    def mark_written(self, product: str, serial: str, hardware_id: str | None = None, *,
                     holder: Holder | str | None = None, ack: Ack | None = None) -> None:
        """Bind the password to ``hardware_id``: from now on it may be on that device only."""
        extra = {} if hardware_id is None else {"hardware_id": hardware_id}
        self._move(product, serial, DeviceState.WRITTEN, holder=holder, ack=ack, **extra)

    def mark_verified(self, product: str, serial: str, *, holder: Holder | str | None = None,
                      ack: Ack | None = None) -> None:
        self._move(product, serial, DeviceState.VERIFIED, holder=holder, ack=ack)

    def mark_locked(self, product: str, serial: str, *, holder: Holder | str | None = None,
                    ack: Ack | None = None) -> None:
        self._move(product, serial, DeviceState.LOCKED, holder=holder, ack=ack,
                          lease_until=None)

    def mark_failed(self, product: str, serial: str, reason: str, *,
                    holder: Holder | str | None = None, ack: Ack | None = None) -> None:
        self._move(product, serial, DeviceState.FAILED, holder=holder, ack=ack,
                          reason=reason, lease_until=None)

    def release(self, batch_id: str, product: str, serial: str, *,
                holder: Holder | str | None = None, ack: Ack | None = None) -> None:
        """Free a serial this batch reserved but never wrote: the row goes away."""
        where = [s.devices.c.product == product, s.devices.c.serial == serial,
                 s.devices.c.batch_id == batch_id,
                 s.devices.c.state == DeviceState.RESERVED.value]
        station = "" if holder is None else _holder(holder).station_id
        if station:
            where.append(s.devices.c.station_id == station)
        with self._tx() as conn:
            done = conn.execute(s.devices.delete().where(*where))
            if done.rowcount != 1:
                raise IllegalTransition(f"serial {serial!r} of {product} is not reserved by "
                                        f"batch {batch_id!r}"
                                        + (f" on station {station!r}" if station else "")
                                        + "; it cannot be released")
            self._event(conn, batch_id, product, serial, "released", station, "")
            self._ack(conn, ack)

    # -- bookkeeping -------------------------------------------------------------------------
    def _event(self, conn: Connection, batch_id: str | None, product: str, serial: str,
               name: str, station_id: str, detail: str) -> None:
        self._run(conn, _EVENT, {"p_at": now(), "p_batch_id": batch_id, "p_product": product,
                                 "p_serial": serial, "p_event": name,
                                 "p_station_id": station_id, "p_detail": detail})

    def _ack(self, conn: Connection, ack: Ack | None) -> None:
        if ack is None:
            return
        # Monotonic: ports of one station commit out of order; the newest entry wins.
        self._run(conn, _ACK, {"b_station": ack.station_id, "b_seq": ack.seq,
                               "b_head": ack.head})


class InsertedRow:
    """Attribute access over a dict of column values (a row just inserted)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
