"""The cell's part of the device rows: leases, claims by hardware id, lost devices, and
closing a batch only when nothing of it is in flight on any station.

Each rule is a WHERE clause (see :mod:`credline.registry`); Python never decides alone that a
row may change hands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from credline.core.lifecycle import IN_FLIGHT, DeviceState
from credline.registry import schema as s
from credline.registry.connect import now
from credline.registry.devices import (
    BOUND_IN_FLIGHT,
    Ack,
    ClaimRefused,
    Device,
    DeviceRows,
    Holder,
    InsertedRow,
    device_from_row,
    lease_lapsed,
    state_in,
    station_statements,
)

# Built once: every HELLO on every port asks it.
_CLAIMABLE = select(s.devices.c.id).where(
    s.devices.c.batch_id == bindparam("b_batch"), s.devices.c.product == bindparam("b_product"),
    s.devices.c.hardware_id == bindparam("b_hardware"),
    state_in(BOUND_IN_FLIGHT))


class CellRows(DeviceRows):
    """Device rows as a cell of stations shares them."""

    def prepare_for_station(self, ports: int = 1) -> None:
        """Compile the statements a station's every device runs, and open a reading
        connection a port, each asked the HELLO's question once, before the first device:
        every port's first device at once waited 4 ms for the statements, and up to 12 for
        a connection of its own."""
        for statement in (_CLAIMABLE, *station_statements()):
            self._prepared.prepare(statement)
        self._keep_readers(ports, lambda conn: self._run(conn, _CLAIMABLE, {
            "b_batch": "", "b_product": "", "b_hardware": ""}).fetchone())

    def claim(self, batch_id: str, product: str, hardware_id: str, holder: Holder,
              port: str = "") -> Device | None:
        """The row of this batch bound to ``hardware_id`` and still in flight, now held by
        ``holder``; None when the device has none.

        Refused (:class:`ClaimRefused`) while another station holds it under a live lease.
        """
        # Most devices have nothing to claim: ask a reader first, so a HELLO takes no write
        # lock (SQLite has one writer; every port says HELLO on every look).
        with self._read() as conn:
            if self._run(conn, _CLAIMABLE, {"b_batch": batch_id, "b_product": product,
                                            "b_hardware": hardware_id}).fetchone() is None:
                return None
        bound = [s.devices.c.batch_id == batch_id, s.devices.c.product == product,
                 s.devices.c.hardware_id == hardware_id,
                 state_in(BOUND_IN_FLIGHT)]
        with self._tx() as conn:
            row = conn.execute(update(s.devices).where(
                *bound, or_(s.devices.c.station_id == holder.station_id, lease_lapsed())).values(
                station_id=holder.station_id, run_id=holder.run_id,
                lease_until=holder.until(), port=port, updated_at=now()).returning(
                *s.devices.c)).first()
            if row is not None:
                self._event(conn, batch_id, product, row.serial, "claimed",
                            holder.station_id, f"{port} device {hardware_id}")
                return device_from_row(row)
            other = conn.execute(select(s.devices).where(*bound)).first()
        if other is None:
            return None
        raise ClaimRefused(f"serial {other.serial!r} on this device is in progress on station "
                           f"{other.station_id!r}: finish it there, or wait until that station "
                           "stops")

    def park(self, product: str, serial: str, holder: Holder) -> None:
        """Let go of a row whose device went away: its lease lapses now, so any station of
        the cell that sees the same device can finish it."""
        with self._tx() as conn:
            conn.execute(update(s.devices).where(
                s.devices.c.product == product, s.devices.c.serial == serial,
                s.devices.c.station_id == holder.station_id,
                state_in(IN_FLIGHT)).values(lease_until=now()))

    def renew(self, holder: Holder, serials: Iterable[str]) -> None:
        """Extend this run's lease on the rows it is working on."""
        wanted = sorted(set(serials))
        if not wanted:
            return
        with self._tx() as conn:
            conn.execute(update(s.devices).where(
                s.devices.c.station_id == holder.station_id,
                s.devices.c.run_id == holder.run_id, s.devices.c.serial.in_(wanted),
                state_in(IN_FLIGHT)).values(lease_until=holder.until()))

    def retire(self, product: str, serial: str, reason: str, station_id: str,
               ack: Ack | None = None) -> Device:
        """End a serial whose device is lost: its password is never issued again. The row
        names the station that retired it."""
        with self._tx() as conn:
            return self._retire_in(conn, product, serial, reason, station_id, ack)

    def _retire_in(self, conn: Connection, product: str, serial: str, reason: str,
                   station_id: str, ack: Ack | None) -> Device:
        self._move_in(conn, product, serial, DeviceState.RETIRED, station=None,
                      by=station_id, ack=ack, reason=reason, lease_until=None,
                      station_id=station_id, run_id="")
        # The newest retired row of the serial is the one just retired (one live row a serial).
        row = conn.execute(select(s.devices).where(
            s.devices.c.product == product, s.devices.c.serial == serial,
            s.devices.c.state == DeviceState.RETIRED.value).order_by(
            s.devices.c.generation.desc())).first()
        assert row is not None
        return device_from_row(row)

    def reissue(self, product: str, serial: str, reason: str, station_id: str,
                ack: Ack | None = None) -> Device:
        """Retire the serial's row and open a new one at the next generation (a new
        password), reserved by nobody: the next station whose work order has it takes it.
        One transaction: a crash leaves either both or neither."""
        with self._tx() as conn:
            old = self._retire_in(conn, product, serial, reason, station_id, ack)
            stamp = now()
            values = dict(product=product, serial=serial, batch_id=old.batch_id,
                          generation=old.generation + 1, key_id=old.key_id, fingerprint=None,
                          state=DeviceState.RESERVED.value, station_id="", run_id="",
                          lease_until=None, hardware_id=None, port="", reason="",
                          created_at=stamp, updated_at=stamp)
            conn.execute(insert(s.devices).values(**values))
            self._event(conn, old.batch_id, product, serial, "reissued", station_id,
                        f"generation {old.generation + 1}: {reason}")
        return device_from_row(InsertedRow(values))

    def close_batch(self, batch_id: str, station_id: str,
                    seal: Callable[[], tuple[int, str, Ack]]) -> bool:
        """Close the batch if nothing of it is in flight on any station: ``seal()`` writes
        the checkpoint to the closing station's log, under the batch's row lock, and returns
        (entries, head, ack). False (and nothing sealed) when it cannot close yet."""
        with self._tx() as conn:
            state = conn.execute(select(s.batches.c.state).where(
                s.batches.c.batch_id == batch_id).with_for_update()).scalar()
            if state != "open":
                return False
            busy = conn.execute(select(func.count()).where(
                s.devices.c.batch_id == batch_id,
                state_in(IN_FLIGHT))).scalar()
            if busy:
                return False
            entries, head, ack = seal()
            conn.execute(update(s.batches).where(s.batches.c.batch_id == batch_id).values(
                state="closed", closed_at=now(), log_entries=entries, log_head=head,
                closed_by=station_id))
            self._ack(conn, ack)
        return True

