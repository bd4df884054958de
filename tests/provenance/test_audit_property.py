"""Property: any honest interleaving of 2-3 stations' ledger steps on shared batches (with
crashes between a log entry and its registry move, restarts, devices moving between
stations, retirements and re-issues) audits clean; then any single registry field edited,
outside the write-ahead allowance the docs describe, is caught.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from credline.core.lifecycle import FINAL
from credline.core.lifecycle import DeviceState as S
from credline.provenance.chain import read_chain
from credline.provenance.replay import Row, replay
from credline.registry import Device
from credline.station.contracts import Refused
from credline.station.ledger import RegistryLedger
from credline.station.retire import Lost, reissue, retire
from tests.provenance.cell import KEY_ID, PRODUCT, Cell, fingerprint_at, provision
from tests.registry.conftest import postgres_schema_url

SERIALS = [f"SN{i}" for i in range(8)]
BATCHES = ("B1", "B2")
STEP = st.sampled_from(["reserve", "advance", "advance", "advance", "fail", "release", "park",
                        "claim", "crash", "restart", "retire", "reissue", "finish"])


@contextlib.contextmanager
def fresh_url(backend: str, root: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{root / 'f.db'}"
    else:
        with contextlib.contextmanager(postgres_schema_url)() as url:
            yield url


class Model:
    """Drives a cell with honest steps chosen by hypothesis; the registry says what is legal."""

    def __init__(self, cell: Cell, stations: list[str], data: st.DataObject) -> None:
        self.cell, self.stations, self.data = cell, stations, data
        self.batch = 0
        for name in stations:
            self.restart(name)

    @property
    def batch_id(self) -> str:
        return BATCHES[self.batch]

    def ledger(self, station: str) -> RegistryLedger:
        return self.cell.ledgers[(station, self.batch_id)]

    def rows(self, station: str | None = None, states: frozenset[S] | None = None
             ) -> list[Device]:
        found = self.cell.registry.devices(self.batch_id, station_id=station)
        return [d for d in found if states is None or d.state in states]

    def pick(self, options: list[Device]) -> Device | None:
        return self.data.draw(st.sampled_from(options)) if options else None

    def restart(self, station: str) -> None:
        self.cell.start(station, self.batch_id).resume()

    def step(self, station: str, kind: str) -> bool:
        """One step; False once every batch is closed."""
        getattr(self, f"do_{kind}")(station, self.ledger(station))
        return self.batch < len(BATCHES)

    def do_reserve(self, station: str, ledger: RegistryLedger) -> None:
        serial = self.data.draw(st.sampled_from(SERIALS))
        with contextlib.suppress(Refused):
            ledger.reserve(serial, f"/dev/{station}", f"hw-{serial}-{station}")

    def do_advance(self, station: str, ledger: RegistryLedger) -> None:
        row = self.pick(self.rows(station, frozenset({S.RESERVED, S.WRITTEN, S.VERIFIED})))
        if row is None:
            return
        if row.state is S.RESERVED:
            hardware = row.hardware_id or f"hw-{row.serial}-{station}"
            generation, fingerprint = ledger.assign(row.serial, fingerprint_at(row.serial))
            ledger.bind(row.serial, row.port, hardware, generation, fingerprint)
        else:
            ledger.advance(row.serial, S.LOCKED if row.state is S.VERIFIED else S.VERIFIED,
                           row.port)

    def do_fail(self, station: str, ledger: RegistryLedger) -> None:
        row = self.pick(self.rows(station, frozenset({S.RESERVED, S.WRITTEN, S.VERIFIED})))
        if row is not None:
            ledger.fail(row.serial, row.port, "device said no")

    def do_release(self, station: str, ledger: RegistryLedger) -> None:
        row = self.pick(self.rows(station, frozenset({S.RESERVED})))
        if row is not None:
            ledger.release(row.serial, row.port, "unplugged before write")

    def do_park(self, station: str, ledger: RegistryLedger) -> None:
        row = self.pick(self.rows(station, frozenset({S.RESERVED, S.WRITTEN, S.VERIFIED})))
        if row is not None:
            ledger.park(row.serial)

    def do_claim(self, station: str, ledger: RegistryLedger) -> None:
        now = dt.datetime.now(dt.UTC)
        parked = [d for d in self.rows(None, frozenset({S.WRITTEN, S.VERIFIED}))
                  if d.station_id != station and d.lease_until is not None
                  and d.lease_until <= now and d.hardware_id]
        row = self.pick(parked)
        if row is not None:
            assert ledger.claim(row.hardware_id or "", f"/dev/{station}") is not None

    def do_crash(self, station: str, ledger: RegistryLedger) -> None:
        """The entry of a move is logged, then the station dies before the registry moves."""
        row = self.pick(self.rows(station, frozenset({S.RESERVED, S.WRITTEN, S.VERIFIED})))
        if row is None:
            return
        base = dict(batch=self.batch_id, product=PRODUCT, operator="ann", serial=row.serial,
                    port=row.port)
        facts = dict(key_id=KEY_ID, generation=row.generation, fingerprint=row.fingerprint,
                     hardware_id=row.hardware_id)
        event = self.data.draw(st.sampled_from(["move", "device.failed"]), label="crash")
        if event == "device.failed":
            ledger.log.append(event, **base, reason="power cut")
        elif row.state is S.RESERVED:
            generation, fingerprint = ledger.assign(row.serial, fingerprint_at(row.serial))
            ledger.log.append("device.written", **base, key_id=KEY_ID, generation=generation,
                              fingerprint=fingerprint, hardware_id=row.hardware_id)
        else:
            target = "locked" if row.state is S.VERIFIED else "verified"
            ledger.log.append(f"device.{target}", **base, **facts)
        self.restart(station)

    def do_restart(self, station: str, ledger: RegistryLedger) -> None:
        self.restart(station)

    def _lost(self, station: str, again: bool) -> None:
        row = self.pick(self.rows(None, frozenset({S.WRITTEN, S.VERIFIED, S.FAILED})))
        if row is not None:
            step = reissue if again else retire
            step(self.cell.registry, self.ledger(station).log,
                 Lost(self.batch_id, row.serial, "device lost"))

    def do_retire(self, station: str, ledger: RegistryLedger) -> None:
        self._lost(station, again=False)

    def do_reissue(self, station: str, ledger: RegistryLedger) -> None:
        self._lost(station, again=True)

    def do_finish(self, station: str, ledger: RegistryLedger) -> None:
        if ledger.finish(True) == "batch closed":
            self.batch += 1
            if self.batch < len(BATCHES):
                for name in self.stations:
                    self.restart(name)


def edits(cell: Cell) -> list[tuple[str, dict[str, object]]]:
    """Every single-field registry edit the audit must catch (SQL, parameters): each fact the
    logs hold, outside the write-ahead allowance of an open batch."""
    snap = cell.registry.snapshot()
    rows = replay([read_chain(cell.log_path(s), snap.keys) for s in sorted(snap.keys)]).rows
    closed = {b["batch_id"] for b in snap.batches if b["state"] == "closed"}
    found: list[tuple[str, dict[str, object]]] = []
    for device in snap.devices:
        row = _row_of(rows.get((device.product, device.serial), []), device)
        found += _device_edits(device, row, device.batch_id in closed, snap.keys)
    for batch in snap.batches:
        where = {"b": batch["batch_id"]}
        found.append(("UPDATE batches SET state = :v WHERE batch_id = :b",
                      {**where, "v": "open" if batch["batch_id"] in closed else "closed"}))
        if batch["batch_id"] in closed:
            found.append(("UPDATE batches SET log_entries = log_entries + 1 "
                          "WHERE batch_id = :b", where))
            found.append(("UPDATE batches SET log_head = :v WHERE batch_id = :b",
                          {**where, "v": "0" * 64}))
    for station, (seq, _) in snap.heads.items():
        if seq > 0:
            found.append(("UPDATE stations SET log_seq = log_seq + 1 WHERE station_id = :s",
                          {"s": station}))
            found.append(("UPDATE stations SET log_head = :v WHERE station_id = :s",
                          {"s": station, "v": "f" * 64}))
    found.append(("INSERT INTO events (at, batch_id, product, serial, event, station_id, "
                  "detail) VALUES ('2026-01-01', 'B1', :p, 'SN-none', 'locked', 'st1', '')",
                  {"p": PRODUCT}))
    return found


def _row_of(rows: list[Row], device: Device) -> Row | None:
    return next((r for r in reversed(rows) if r.now.generation == device.generation), None)


_ROW = "WHERE product = :p AND serial = :s AND generation = :g"
SET = {column: f"UPDATE devices SET {column} = :v {_ROW}"  # noqa: S608 - fixed names only
       for column in ("state", "fingerprint", "key_id", "hardware_id", "station_id")}
LATER_GENERATION = f"UPDATE devices SET generation = generation + 7 {_ROW}"  # noqa: S608
DELETE_ROW = f"DELETE FROM devices {_ROW}"  # noqa: S608
DELETE_EVENTS = "DELETE FROM events WHERE product = :p AND serial = :s AND event = :e"


def _other_holder(row: Row, device: Device, stations: dict[str, bytes]) -> str | None:
    """A holder the logs rule out. The documented allowance: the station of the last step
    or of its redo; a retired row may name any enrolled station (a claim logs nothing)."""
    if device.state is S.RETIRED:
        return "st-nobody"
    step = row.moves[-1]
    others = sorted(set(stations) - {device.station_id} - {line.station for line in step.run})
    return others[0] if others else None


def _device_edits(device: Device, row: Row | None, closed: bool,
                  stations: dict[str, bytes]) -> list[tuple[str, dict[str, object]]]:
    where = {"p": device.product, "s": device.serial, "g": device.generation}
    if row is None or (row.state is S.RESERVED and not row.now.reserved_by_log) or (
            row.state is None and device.state is S.RESERVED):
        return []  # the registry reserves first (again): no log fact stands behind it yet
    allowed = set() if closed else set(row.now.behind)  # the write-ahead allowance
    found = [(SET["state"], {**where, "v": state.value})
             for state in S if state not in allowed | {device.state}
             and not (device.state is S.RETIRED and state is not S.RETIRED)]
    if None not in allowed:
        found.append((DELETE_ROW, where))
    if row.now.fingerprint is not None and device.state is not S.RESERVED:
        found += [(SET["fingerprint"], {**where, "v": "e" * 64}), (LATER_GENERATION, where),
                  (SET["key_id"], {**where, "v": "0" * 16}),
                  (SET["hardware_id"], {**where, "v": "hw-x"})]
    if device.state is not S.RESERVED and (device.state in FINAL or closed):
        other = _other_holder(row, device, stations)
        if other is not None:
            found.append((SET["station_id"], {**where, "v": other}))
    if device.state is not S.RESERVED:
        found.append((DELETE_EVENTS, {"p": device.product, "s": device.serial,
                                      "e": device.state.value}))
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_honest_interleavings_audit_clean_and_any_single_edit_is_caught(
        backend: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("cell")
    stations = [f"st{i}" for i in range(1, data.draw(st.integers(2, 3), label="stations") + 1)]
    with fresh_url(backend, root) as url:
        cell = Cell(url, root, tuple(stations))
        try:
            model = Model(cell, stations, data)
            for _ in range(data.draw(st.integers(5, 40), label="steps")):
                station = data.draw(st.sampled_from(stations), label="station")
                if not model.step(station, data.draw(STEP, label="step")):
                    break
            provision(model.ledger(stations[0]) if model.batch < len(BATCHES) else
                      cell.start(stations[0], "B3"), "SN-last")  # at least one fact
            report = cell.audit(*stations)
            assert report.ok, report.findings
            sql, params = data.draw(st.sampled_from(edits(cell)), label="edit")
            try:
                assert cell.sql(sql, **params), (sql, params)
            except IntegrityError:
                return  # the database itself refuses that edit
            assert not cell.audit(*stations).ok, (sql, params)
        finally:
            cell.close()
