"""The cell's invariants, as a hypothesis state machine over the real registry (SQLite and
PostgreSQL) and the real ledger: several stations interleaved, each crashing at any step and
starting a new run, leases lapsing, devices coming and going between stations, lost devices
retired or re-issued.

Whatever happens: a password (a serial at a generation) is bound to at most one device, ever;
a serial has at most one live row; no fingerprint is registered twice.
"""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import update

from credline.core.lifecycle import DeviceState
from credline.provenance import ProvenanceLog, public_bytes
from credline.registry import Registry, open_registry
from credline.registry import schema as s
from credline.station.contracts import Refused
from credline.station.ledger import RegistryLedger, Scope

STATIONS = ("st1", "st2", "st3")
DEVICES = tuple(f"HW{i}" for i in range(5))
SERIALS = tuple(f"X{i}" for i in range(4))
_runs = itertools.count()


class Cell(RuleBasedStateMachine):
    registry: Registry
    root: Path

    def __init__(self) -> None:
        super().__init__()
        self.batch = f"B{next(_runs)}-{secrets.token_hex(3)}"
        self.product = f"p-{self.batch}"
        self.signers = {name: Ed25519PrivateKey.generate() for name in STATIONS}
        self.runs: dict[str, RegistryLedger] = {}
        self.bound: dict[tuple[str, int], set[str]] = {}  # (serial, generation) -> devices
        self.key_id = secrets.token_hex(8)  # one key per product line
        self.registry.open_batch(self.batch, self.product, self.key_id, "p.toml", "st1")
        for name in STATIONS:
            self.registry.register_station(f"{self.batch}-{name}",
                                           public_bytes(self.signers[name]))
            self._new_run(name)

    def _new_run(self, name: str) -> None:
        if name in self.runs:
            self.runs[name].close()  # the old run died: nothing of it is finished
        station_id = f"{self.batch}-{name}"
        log = ProvenanceLog.open(self.root / f"{station_id}.jsonl", self.signers[name],
                                 station_id, repair=True)
        ledger = RegistryLedger(self.registry, log,
                                Scope(self.batch, self.product, self.key_id, station_id),
                                lease=60)
        self.runs[name] = ledger
        ledger.resume()

    def _bind(self, serial: str, hardware_id: str) -> None:
        row = self.registry.device(self.product, serial)
        assert row is not None
        self.bound.setdefault((serial, row.generation), set()).add(hardware_id)

    @rule(name=st.sampled_from(STATIONS))
    def crash_and_restart(self, name: str) -> None:
        self._new_run(name)

    @rule(name=st.sampled_from(STATIONS), serial=st.sampled_from(SERIALS),
          device=st.sampled_from(DEVICES))
    def provision_up_to_write(self, name: str, serial: str, device: str) -> None:
        """What a station does for a blank device: reserve, derive, bind (then PUT)."""
        ledger = self.runs[name]
        try:
            ledger.reserve(serial, "p", device)
            generation, fingerprint = ledger.assign(
                serial, lambda g: f"{secrets.token_hex(24)}{g:016x}")
            ledger.bind(serial, "p", device, generation, fingerprint)
        except Refused:
            return
        self._bind(serial, device)

    @rule(name=st.sampled_from(STATIONS), device=st.sampled_from(DEVICES),
          lock=st.booleans())
    def device_shows_up(self, name: str, device: str, lock: bool) -> None:
        """A device says hello at a station: its bound row (if any) is finished there."""
        ledger = self.runs[name]
        try:
            pending = ledger.claim(device, "p")
        except Refused:
            return
        if pending is None:
            return
        self._bind(pending.serial, device)
        try:
            if pending.state is DeviceState.WRITTEN:
                ledger.advance(pending.serial, DeviceState.VERIFIED, "p")
            if lock:
                ledger.advance(pending.serial, DeviceState.LOCKED, "p")
        except Refused:
            return

    @rule(name=st.sampled_from(STATIONS), serial=st.sampled_from(SERIALS))
    def device_goes_away(self, name: str, serial: str) -> None:
        row = self.registry.device(self.product, serial)
        if row is not None and row.station_id == f"{self.batch}-{name}":
            self.runs[name].park(serial)

    @rule()
    def time_passes(self) -> None:
        """Every lease lapses (a station stalled or died long ago)."""
        with self.registry._tx() as conn:
            conn.execute(update(s.devices).where(s.devices.c.product == self.product).values(
                lease_until=None))

    @rule(serial=st.sampled_from(SERIALS), reissue=st.booleans())
    def device_lost(self, serial: str, reissue: bool) -> None:
        row = self.registry.device(self.product, serial)
        if row is None or row.state not in (DeviceState.WRITTEN, DeviceState.VERIFIED,
                                             DeviceState.FAILED):
            return
        (self.registry.reissue if reissue else self.registry.retire)(
            self.product, serial, "lost in test", "qa")

    @invariant()
    def one_password_one_device(self) -> None:
        for (serial, generation), devices in self.bound.items():
            assert len(devices) <= 1, f"{serial} generation {generation} on {devices}"

    @invariant()
    def one_live_row_and_unique_fingerprints(self) -> None:
        rows = self.registry.devices(self.batch)
        live = [r.serial for r in rows if r.state is not DeviceState.RETIRED]
        assert len(live) == len(set(live))
        prints = [r.fingerprint for r in rows if r.fingerprint]
        assert len(prints) == len(set(prints))
        for row in rows:
            if row.state.bound:
                assert row.hardware_id, row

    def teardown(self) -> None:
        for ledger in self.runs.values():
            ledger.close()


def test_cell_invariants_hold_under_any_interleaving(registry_url: str,
                                                     tmp_path: Path) -> None:
    registry = open_registry(registry_url)
    Cell.registry, Cell.root = registry, tmp_path
    try:
        run_state_machine_as_test(Cell, settings=settings(
            max_examples=25, stateful_step_count=30, deadline=None,
            suppress_health_check=[HealthCheck.too_slow]))
    finally:
        registry.close()


@pytest.mark.parametrize("holder_alive", [True, False])
def test_a_written_row_moves_only_with_its_device(registry_url: str, tmp_path: Path,
                                                  holder_alive: bool) -> None:
    """Station 2 cannot take station 1's written row for another device, ever; for the same
    device only once station 1 let go (its lease lapsed or it parked the row)."""
    registry = open_registry(registry_url)
    Cell.registry, Cell.root = registry, tmp_path
    cell = Cell()
    try:
        cell.provision_up_to_write("st1", "X0", "HW0")
        assert cell.runs["st2"].claim("HW1", "p") is None  # another device: nothing to claim
        if holder_alive:
            with pytest.raises(Refused, match="in progress on station"):
                cell.runs["st2"].claim("HW0", "p")
        else:
            cell.runs["st1"].park("X0")
            pending = cell.runs["st2"].claim("HW0", "p")
            assert pending is not None and pending.serial == "X0"
            row = registry.device(cell.product, "X0")
            assert row is not None and row.station_id.endswith("st2")
        with pytest.raises(Refused):
            cell.runs["st3"].reserve("X0", "p", "HW2")
    finally:
        cell.teardown()
        registry.close()
