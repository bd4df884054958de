"""The station's orchestration over in-memory devices and the real ledger (SQLite registry,
signed log): fast, exhaustive on crashes."""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import credline.files.atomic as atomicfile
from credline.core.derive import Deriver
from credline.core.device import Connect, Credential
from credline.core.errors import CheckFailed
from credline.core.lifecycle import DeviceState
from credline.core.policy import Profile
from credline.core.profile import parse_profile
from credline.core.secret import Password
from credline.files.atomic import temporary_of
from credline.keystore.base import LocalKey
from credline.labels import LabelSink, LabelSpec
from credline.provenance import verify_log
from credline.station.contracts import LeaseLost, StationConfig
from credline.station.events import Event, Phase, PortEvent
from credline.station.ledger import RegistryLedger
from credline.station.runner import Station
from credline.transport.ports import PortWatcher
from tests.station.fakes import Bench, Crash, FakeDevice, FakeLink, Ledgers, World

PROFILE = '[product]\nid = "acme-cam"\nname = "Acme Camera"\n[label]\nformat = "zpl"\n'


@pytest.fixture
def profile() -> Profile:
    return parse_profile(PROFILE, "test.toml")


@pytest.fixture
def ledgers(tmp_path: Path) -> Iterator[Ledgers]:
    made = Ledgers(tmp_path / "registry", World())
    yield made
    made.close()


def make_bench(world: World, ports: int, per_port: int) -> Bench:
    lines = {f"p{p}": [FakeDevice(f"hw-{p}-{i}", world) for i in range(per_port)]
             for p in range(ports)}
    return Bench(world, lines)


def run_station(bench: Bench, ledgers: Ledgers, profile: Profile, key: LocalKey,
                serials: list[str] | None, labels: Path | None = None,
                events: list[Event] | None = None, idle_exit: float | None = None,
                connect: Connect | None = None, ledger: RegistryLedger | None = None) -> bool:
    def emit(event: Event) -> None:
        if events is not None:
            events.append(event)
        bench.operator(event)

    sink = LabelSink(labels, LabelSpec(), "B1") if labels else None
    config = StationConfig("B1", poll=0.001, idle_exit=idle_exit)
    deriver = Deriver(key, profile.format)
    station = Station(config, profile, deriver, ledger or ledgers.new(deriver.key_id),
                      connect or bench.connect,
                      PortWatcher(fixed=tuple(sorted(bench.lines))), sink, emit, serials)
    return station.run()


def check_agreement(bench: Bench, ledgers: Ledgers, serials: list[str]) -> None:
    """Registry, log and devices agree; every serial on exactly one locked device, none on
    two devices at all (locked or not)."""
    held = [d.record.serial for d in bench.devices if d.record]
    assert len(held) == len(set(held)), "a serial on two devices"
    locked = [d for d in bench.devices if d.locked]
    on_devices = [d.record.serial for d in locked if d.record]
    assert sorted(on_devices) == sorted(serials), "each serial on exactly one locked device"
    rows = ledgers.rows()
    assert {s for s, r in rows.items() if r.state is DeviceState.LOCKED} == set(serials)
    for device in locked:
        assert device.record is not None
        row = rows[device.record.serial]
        assert row.generation == device.record.generation
        assert row.hardware_id == device.hardware_id
    fingerprints = [r.fingerprint for r in rows.values()]
    assert len(fingerprints) == len(set(fingerprints))
    report = verify_log(ledgers.log_path, ledgers.registry)
    assert report.ok, report.summary()


def test_twelve_devices_on_four_ports(profile: Profile, master_key: LocalKey,
                                      tmp_path: Path, ledgers: Ledgers) -> None:
    bench = make_bench(ledgers.world, 4, 3)
    serials = [f"SN{i:04d}" for i in range(12)]
    events: list[Event] = []
    assert run_station(bench, ledgers, profile, master_key, serials, tmp_path, events)
    check_agreement(bench, ledgers, serials)
    assert ledgers.closed
    assert sorted(p.name for p in tmp_path.glob("*.zpl")) == [f"{s}.zpl" for s in serials]
    passes = [e for e in events if isinstance(e, PortEvent) and e.phase is Phase.PASS]
    assert len(passes) == 12 and len({e.port for e in passes}) == 4


@pytest.mark.parametrize("seed", range(6))
def test_kill_at_any_step_then_resume(profile: Profile, master_key: LocalKey,
                                      seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    serials = [f"SN{i:04d}" for i in range(9)]
    for trial in range(6):
        ledgers = Ledgers(tmp_path / f"trial{trial}", World())
        try:
            bench = make_bench(ledgers.world, 3, 3)
            ledgers.world.crash_at = rng.randint(1, 160)
            with contextlib.suppress(Crash):
                run_station(bench, ledgers, profile, master_key, serials)
            crashed_at = ledgers.world.crash_at
            ledgers.world.crash_at = None  # the same command again, same devices and ports
            assert run_station(bench, ledgers, profile, master_key, serials), crashed_at
            check_agreement(bench, ledgers, serials)
            assert ledgers.closed
        finally:
            ledgers.close()


def test_unplugged_mid_put_keeps_the_serial_for_that_device_alone(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    bench = make_bench(ledgers.world, 1, 3)
    lost = bench.lines["p0"][0]
    lost.fault = "unplug-on-put"
    events: list[Event] = []
    serials = ["A1", "A2"]
    assert not run_station(bench, ledgers, profile, master_key, serials, events=events)
    fails = [e for e in events if isinstance(e, PortEvent) and e.phase is Phase.FAIL]
    assert [(e.serial, e.reason) for e in fails] == [
        ("A1", "device stopped answering during the write: check the cable; plug the "
               "device back in to finish it")]
    # A1's password may be on the unplugged device: it is bound to it, never reissued.
    row = ledgers.rows()["A1"]
    assert row.state is DeviceState.WRITTEN and row.hardware_id == lost.hardware_id
    assert [d.record.serial for d in bench.devices if d.record] == ["A2"]
    assert not ledgers.closed
    # The operator plugs it back in (the write never happened): it gets A1, and only it.
    lost.fault = None
    bench.removed.remove(lost)
    bench.lines["p0"].insert(0, lost)
    assert run_station(bench, ledgers, profile, master_key, serials)
    check_agreement(bench, ledgers, serials)
    assert lost.record is not None and lost.record.serial == "A1" and ledgers.closed


def test_garbage_and_foreign_locked_devices_fail_in_plain_words(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    bench = make_bench(ledgers.world, 2, 2)
    bench.lines["p0"][0].fault = "garbage"
    foreign = bench.lines["p1"][0]
    # The device was provisioned and locked in batch B0 by another station.
    registry = ledgers.registry
    registry.open_batch("B0", "acme-cam", Deriver(master_key, profile.format).key_id,
                        "old.toml", "st0")
    registry.reserve("B0", "acme-cam", "OLD1", "st0")
    registry.assign_fingerprint("B0", "acme-cam", "OLD1", lambda g: "f" * 64)
    registry.mark_written("acme-cam", "OLD1", foreign.hardware_id)
    registry.mark_verified("acme-cam", "OLD1")
    registry.mark_locked("acme-cam", "OLD1")
    foreign.record = Credential("acme-cam", "OLD1", Password("X" * 12), "00", 0)
    foreign.locked = True
    events: list[Event] = []
    serials = ["S1", "S2"]
    assert not run_station(bench, ledgers, profile, master_key, serials, events=events)
    reasons = {e.port: e.reason for e in events
               if isinstance(e, PortEvent) and e.phase is Phase.FAIL}
    assert reasons["p0"] == "device answered with garbage: is it in provisioning mode?"
    assert reasons["p1"] == ("device is already locked with serial OLD1 (batch B0 on station "
                             "st0, locked), not by this batch: set it aside")
    assert foreign.record.serial == "OLD1" and foreign.puts == 0
    assert sorted(s for s, r in ledgers.rows().items()
                  if r.state is DeviceState.LOCKED) == ["S1", "S2"]


def test_a_device_claiming_anothers_serial_is_set_aside_and_changes_nothing(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    """A device that says it holds (or is locked with) a serial this batch bound to another
    device cannot prove it: it is set aside and the row stays exactly as it was."""
    bench = make_bench(ledgers.world, 1, 1)
    real = FakeDevice("real-H0002", ledgers.world)
    real.fault = "unplug-on-put"
    bench.lines["p0"].insert(0, real)
    assert not run_station(bench, ledgers, profile, master_key, ["H0002"])
    before = ledgers.rows()["H0002"]
    assert before.state is DeviceState.WRITTEN and before.hardware_id == "real-H0002"
    for locked in (False, True):
        liar = FakeDevice(f"liar-{locked}", ledgers.world)
        liar.record = Credential("acme-cam", "H0002", Password("Y" * 12),
                                 Deriver(master_key, profile.format).key_id, 0)
        liar.locked = locked
        bench.lines["p0"] = [liar]
        events: list[Event] = []
        assert not run_station(bench, ledgers, profile, master_key, ["H0002"], events=events)
        reasons = [e.reason for e in events if isinstance(e, PortEvent)
                   and e.phase is Phase.FAIL]
        assert reasons and "which this batch gave to device real-H0002" in str(reasons[0])
        assert ledgers.rows()["H0002"] == before and liar.puts == 0


def test_verify_mismatch_fails_the_device_and_records_it(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    bench = make_bench(ledgers.world, 1, 2)
    bench.lines["p0"][0].fault = "corrupt"
    events: list[Event] = []
    assert not run_station(bench, ledgers, profile, master_key, ["C1", "C2"], events=events)
    rows = ledgers.rows()
    assert rows["C1"].state is DeviceState.FAILED and rows["C2"].state is DeviceState.LOCKED
    assert not bench.devices[0].locked


def test_labels_are_drafted_while_the_device_writes_and_named_only_once_it_is_locked(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Named temporaries (as where O_TMPFILE is missing): a draft nobody discards would show.
    monkeypatch.setattr(atomicfile, "_PROC_FD", tmp_path / "no-proc")
    folder = tmp_path / "labels"
    bench = make_bench(ledgers.world, 1, 4)
    bench.lines["p0"][0].fault = "corrupt"  # VERIFY mismatch: failed after its draft began
    bench.lines["p0"][1].fault = "unplug-on-put"  # parked for its return
    at_lock: list[tuple[str, bool, bool]] = []

    def drafted(name: str) -> bool:
        return folder.is_dir() and any(temporary_of(n) == name for n in os.listdir(folder))

    class WatchingLink(FakeLink):
        def lock(self) -> None:  # what the label folder holds when LOCK goes out
            assert self.device.record is not None
            name = f"{self.device.record.serial}.zpl"
            deadline = time.monotonic() + 5
            while not drafted(name) and time.monotonic() < deadline:
                time.sleep(0.001)
            at_lock.append((name, drafted(name), (folder / name).exists()))
            super().lock()

    def connect(port: str) -> WatchingLink:
        return WatchingLink(bench.connect(port).device)

    serials = ["L1", "L2", "L3", "L4"]
    assert not run_station(bench, ledgers, profile, master_key, serials, folder,
                           connect=connect)
    assert at_lock == [("L3.zpl", True, False), ("L4.zpl", True, False)]
    rows = ledgers.rows()
    assert rows["L1"].state is DeviceState.FAILED and rows["L2"].state is DeviceState.WRITTEN
    # The failed and the parked device's drafts were dropped: no file holds their passwords.
    assert sorted(os.listdir(folder)) == ["B1-labels.pdf", "L3.zpl", "L4.zpl"]


def test_the_verified_step_is_recorded_while_the_device_locks(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    # Each side waits for the other to have begun: done one after the other, as before,
    # the recording waits out its 5 s and the station stops on its AssertionError.
    bench = make_bench(ledgers.world, 2, 2)
    ledger = ledgers.new(Deriver(master_key, profile.format).key_id)
    locking: dict[str, threading.Event] = {}
    recorded: list[str] = []
    advance = ledger.advance

    def recording(serial: str, state: DeviceState, port: str, **fields: object) -> None:
        if state is DeviceState.VERIFIED:
            assert locking.setdefault(serial, threading.Event()).wait(5), "LOCK never began"
        advance(serial, state, port, **fields)

    class LockingLink(FakeLink):
        def lock(self) -> None:
            assert self.device.record is not None
            serial = self.device.record.serial
            locking.setdefault(serial, threading.Event()).set()
            recorded.append(serial)
            super().lock()

    ledger.advance = recording  # type: ignore[method-assign]
    events: list[Event] = []
    serials = ["V1", "V2", "V3", "V4"]
    assert run_station(bench, ledgers, profile, master_key, serials, events=events,
                       connect=lambda port: LockingLink(bench.connect(port).device),
                       ledger=ledger)
    ledger.close()
    assert sorted(recorded) == serials
    check_agreement(bench, ledgers, serials)  # the log has verified before locked, each
    log = [json.loads(line) for line in ledgers.log_path.read_text().splitlines()]
    for serial in serials:
        steps = [e["event"] for e in log if e["fields"].get("serial") == serial]
        assert steps[-2:] == ["device.verified", "device.locked"], steps


def test_a_lease_lost_while_the_device_locks_fails_it_and_the_line_goes_on(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    bench = make_bench(ledgers.world, 1, 2)
    ledger = ledgers.new(Deriver(master_key, profile.format).key_id)
    advance = ledger.advance

    def stolen(serial: str, state: DeviceState, port: str, **fields: object) -> None:
        if serial == "S1" and state is DeviceState.VERIFIED:
            raise LeaseLost(f"serial {serial} is now written and held by st2: this station "
                            "lost its lease and leaves it alone")
        advance(serial, state, port, **fields)

    ledger.advance = stolen  # type: ignore[method-assign]
    events: list[Event] = []
    assert not run_station(bench, ledgers, profile, master_key, ["S1", "S2"], events=events,
                           ledger=ledger)
    ledger.close()
    fails = [e for e in events if isinstance(e, PortEvent) and e.phase is Phase.FAIL]
    assert [(e.serial, "lost its lease" in str(e.reason)) for e in fails] == [("S1", True)]
    rows = ledgers.rows()
    # Not parked (the row is not this station's to park) and not failed: left alone.
    assert rows["S1"].state is DeviceState.WRITTEN and rows["S2"].state is DeviceState.LOCKED


def test_policy_violation_stops_the_batch(master_key: LocalKey, ledgers: Ledgers) -> None:
    # A profile whose policy the derivation cannot meet is refused when the profile loads;
    # simulate a broken encoder instead: the station must stop, not provision.
    profile = parse_profile(PROFILE, "test.toml")
    bench = make_bench(ledgers.world, 1, 1)
    deriver_profile = parse_profile(PROFILE.replace("[label]", "[password]\nlength = 13\n"
                                                    "[label]"), "other.toml")
    deriver = Deriver(master_key, deriver_profile.format)
    station = Station(StationConfig("B1", poll=0.001), profile, deriver,
                      ledgers.new(deriver.key_id), bench.connect, PortWatcher(fixed=("p0",)),
                      None, lambda e: None, ["P1"])
    with pytest.raises(CheckFailed, match="breaks the profile's policy"):
        station.run()
    assert ledgers.rows()["P1"].state is DeviceState.FAILED and bench.devices[0].puts == 0


def test_a_device_left_on_its_port_is_not_provisioned_twice(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    bench = make_bench(ledgers.world, 2, 1)
    bench.takes_devices_off = False
    bench.lines["p1"][0].fault = "corrupt"
    events: list[Event] = []
    assert not run_station(bench, ledgers, profile, master_key, ["S1", "S2", "S3"],
                           events=events, idle_exit=0.3)
    results = [(e.port, e.phase) for e in events
               if isinstance(e, PortEvent) and e.phase in (Phase.PASS, Phase.FAIL, Phase.DONE)]
    assert sorted(results) == [("p0", Phase.PASS), ("p1", Phase.FAIL)]  # PASS stays on screen
    assert sorted(ledgers.rows()) == ["S1", "S2"] and bench.devices[1].puts == 1
    assert not ledgers.closed  # S3 is still to do: the batch stays open


def test_device_reported_serials(master_key: LocalKey, ledgers: Ledgers) -> None:
    profile = parse_profile(PROFILE + '[device]\nserial_source = "device"\n', "d.toml")
    bench = make_bench(ledgers.world, 2, 2)
    assert run_station(bench, ledgers, profile, master_key, None)
    assert sorted(s for s, r in ledgers.rows().items() if r.state is DeviceState.LOCKED) == [
        "hw-0-0", "hw-0-1", "hw-1-0", "hw-1-1"]
    for device in bench.devices:
        assert device.locked and device.record and device.record.serial == device.hardware_id


def test_the_station_that_finishes_last_closes_the_batch(
        profile: Profile, master_key: LocalKey, tmp_path: Path) -> None:
    """Two stations on one work order: st2 runs all its devices while st1's only device is
    in flight, and ends first (the batch cannot close: st1 holds a serial). st1 never tries
    the serials st2 did, yet when it ends it must see the work order done and close the
    batch; before, both ended "not complete" and the batch stayed open."""
    serials = [f"SN{i:04d}" for i in range(4)]
    first = Ledgers(tmp_path / "cell", World(), station="st1")
    second = Ledgers(tmp_path / "cell", World(), station="st2")
    try:
        bench1 = make_bench(first.world, 1, 1)
        bench2 = Bench(second.world, {"q0": [FakeDevice(f"hw-st2-{i}", second.world)
                                             for i in range(3)]})
        closed_when_second_ended: list[bool] = []

        def while_first_is_writing(event: Event) -> None:
            if isinstance(event, PortEvent) and event.phase is Phase.WRITING \
                    and not closed_when_second_ended:
                run_station(bench2, second, profile, master_key, serials, idle_exit=0.05)
                closed_when_second_ended.append(second.closed)

        assert run_station(bench1, first, profile, master_key, serials,
                           events=_Calling(while_first_is_writing), idle_exit=0.05)
        assert closed_when_second_ended == [False]  # st1 held SN0000 when st2 ended
        assert first.closed
        rows = first.rows()
        assert {s: r.station_id for s, r in rows.items()} == {
            "SN0000": "st1", "SN0001": "st2", "SN0002": "st2", "SN0003": "st2"}
        assert all(r.state is DeviceState.LOCKED for r in rows.values())
    finally:
        for ledger in second.runs:
            ledger.close()
        first.close()


class _Calling(list[Event]):
    """An events list that also hands each event to a function as it comes."""

    def __init__(self, call: Callable[[Event], None]) -> None:
        super().__init__()
        self._call = call

    def append(self, event: Event) -> None:
        super().append(event)
        self._call(event)
