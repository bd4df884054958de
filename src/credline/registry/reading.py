"""The reading half of the device rows: a serial's row, a batch's rows, counts, export.

Every read is one read transaction (one consistent view) on the registry's reading
connections; nothing here writes.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from credline.core.lifecycle import IN_FLIGHT, DeviceState
from credline.files.output import output_text
from credline.registry import schema as s
from credline.registry.devices import Device, device_from_row, state_in


class DeviceReads:
    """The device reads of :class:`credline.registry.Registry` (a mixin over its plumbing)."""

    url: str

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def require_batch(self, batch_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def device(self, product: str, serial: str) -> Device | None:
        """The serial's live row, else its newest retired one, else None."""
        with self._read() as conn:
            row = conn.execute(select(s.devices).where(
                s.devices.c.product == product, s.devices.c.serial == serial).order_by(
                (s.devices.c.state == DeviceState.RETIRED.value).asc(),
                s.devices.c.generation.desc())).first()
        return device_from_row(row) if row else None

    def devices(self, batch_id: str, state: DeviceState | str | None = None, *,
                station_id: str | None = None) -> list[Device]:
        query = select(s.devices).where(s.devices.c.batch_id == batch_id)
        if state is not None:
            query = query.where(s.devices.c.state == DeviceState(state).value)
        if station_id is not None:
            query = query.where(s.devices.c.station_id == station_id)
        with self._read() as conn:
            return [device_from_row(row) for row in conn.execute(query.order_by(s.devices.c.id))]

    def in_flight(self, batch_id: str) -> list[Device]:
        with self._read() as conn:
            rows = conn.execute(select(s.devices).where(
                s.devices.c.batch_id == batch_id,
                state_in(IN_FLIGHT)).order_by(s.devices.c.id))
            return [device_from_row(row) for row in rows]

    def status(self, batch_id: str | None = None) -> dict[str, int]:
        """Rows by state, of one batch or all; BadInput for a batch the registry lacks."""
        if batch_id is not None:
            self.require_batch(batch_id)
        query = select(s.devices.c.state, func.count()).group_by(s.devices.c.state)
        if batch_id is not None:
            query = query.where(s.devices.c.batch_id == batch_id)
        with self._read() as conn:
            counts: dict[str, int] = {row[0]: row[1] for row in conn.execute(query)}
        return {state.value: int(counts.get(state.value, 0)) for state in DeviceState}

    def fingerprints(self, product: str) -> Iterator[tuple[str, str]]:
        """(serial, fingerprint) of every row of the product that has one, retired too."""
        query = select(s.devices.c.serial, s.devices.c.fingerprint).where(
            and_(s.devices.c.product == product, s.devices.c.fingerprint.is_not(None)))
        with self._read() as conn:
            for row in conn.execute(query.execution_options(yield_per=10000)):
                yield row[0], row[1]

    def export(self, batch_id: str, out: Path, stream: TextIO | None = None) -> int:
        """Write the batch as CSV (fingerprints, never passwords); returns the row count.
        ``out`` follows :func:`credline.files.output.output_text` (``-``: ``stream``)."""
        self.require_batch(batch_id)
        columns = ("serial", "product", "generation", "key_id", "fingerprint", "state",
                   "station_id", "hardware_id", "port", "reason")
        count = 0
        with output_text(out, stream) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for device in self.devices(batch_id):
                writer.writerow(["" if (value := getattr(device, c)) is None else value
                                 for c in columns])
                count += 1
        return count
