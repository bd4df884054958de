"""The station's orchestration over in-memory devices and ledger: fast, exhaustive on crashes."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from credline.derive import Deriver
from credline.errors import CheckFailed
from credline.keystore.base import LocalKey
from credline.labels import LabelSink, LabelSpec
from credline.policy import Profile
from credline.ports import PortWatcher
from credline.profiles import parse_profile
from credline.progress import Event, Phase, PortEvent
from credline.secret import Password
from credline.station import Credential, Station, StationConfig
from tests.station.fakes import Bench, Crash, FakeDevice, FakeLedger, World, record_digest

PROFILE = '[product]\nid = "acme-cam"\nname = "Acme Camera"\n[label]\nformat = "zpl"\n'


@pytest.fixture
def profile() -> Profile:
    return parse_profile(PROFILE, "test.toml")


def make_bench(world: World, ports: int, per_port: int) -> Bench:
    lines = {f"p{p}": [FakeDevice(f"hw-{p}-{i}", world) for i in range(per_port)]
             for p in range(ports)}
    return Bench(world, lines)


def run_station(bench: Bench, ledger: FakeLedger, profile: Profile, key: LocalKey,
                serials: list[str] | None, labels: Path | None = None,
                events: list[Event] | None = None, idle_exit: float | None = None) -> bool:
    def emit(event: Event) -> None:
        if events is not None:
            events.append(event)
        bench.operator(event)

    sink = LabelSink(labels, LabelSpec(), "B1") if labels else None
    config = StationConfig("B1", poll=0.001, sweep_timeout=2, idle_exit=idle_exit)
    station = Station(config, profile, Deriver(key, profile.format), ledger, bench.connect,
                      PortWatcher(fixed=tuple(sorted(bench.lines))), sink, emit, serials)
    return station.run()


def check_agreement(bench: Bench, ledger: FakeLedger, serials: list[str]) -> None:
    """Registry and devices agree; every serial on exactly one locked device; none twice."""
    locked = [d for d in bench.devices if d.locked]
    on_devices = [d.record.serial for d in locked if d.record]
    assert sorted(on_devices) == sorted(serials), "each serial on exactly one locked device"
    assert {s for s, _ in ledger.locked()} == set(serials)
    for device in locked:
        assert device.record is not None
        row = ledger.rows[device.record.serial]
        assert row.generation == device.record.generation
    fingerprints = [r.fingerprint for r in ledger.rows.values()]
    assert len(fingerprints) == len(set(fingerprints))


def test_twelve_devices_on_four_ports(profile: Profile, master_key: LocalKey,
                                      tmp_path: Path) -> None:
    world = World()
    bench, ledger = make_bench(world, 4, 3), FakeLedger(world)
    serials = [f"SN{i:04d}" for i in range(12)]
    events: list[Event] = []
    assert run_station(bench, ledger, profile, master_key, serials, tmp_path, events)
    check_agreement(bench, ledger, serials)
    assert ledger.closed
    assert sorted(p.name for p in tmp_path.glob("*.zpl")) == [f"{s}.zpl" for s in serials]
    passes = [e for e in events if isinstance(e, PortEvent) and e.phase is Phase.PASS]
    assert len(passes) == 12 and len({e.port for e in passes}) == 4


@pytest.mark.parametrize("seed", range(6))
def test_kill_at_any_step_then_resume(profile: Profile, master_key: LocalKey,
                                      seed: int) -> None:
    rng = random.Random(seed)
    serials = [f"SN{i:04d}" for i in range(9)]
    for _ in range(12):
        world = World()
        bench, ledger = make_bench(world, 3, 3), FakeLedger(world)
        world.crash_at = rng.randint(1, 110)
        with contextlib.suppress(Crash):
            run_station(bench, ledger, profile, master_key, serials)
        world.crash_at = None  # the same command again, same devices on the same ports
        assert run_station(bench, ledger, profile, master_key, serials), world.crash_at
        check_agreement(bench, ledger, serials)
        assert ledger.closed


def test_unplugged_mid_put_gives_the_serial_to_the_next_device(
        profile: Profile, master_key: LocalKey) -> None:
    world = World()
    bench, ledger = make_bench(world, 1, 3), FakeLedger(world)
    bench.lines["p0"][0].fault = "unplug-on-put"
    events: list[Event] = []
    serials = ["A1", "A2"]
    assert not run_station(bench, ledger, profile, master_key, serials, events=events)
    fails = [e for e in events if isinstance(e, PortEvent) and e.phase is Phase.FAIL]
    assert [(e.serial, e.reason) for e in fails] == [
        ("A1", "device stopped answering during the write: check the cable")]
    check_agreement(bench, ledger, serials)
    assert bench.devices[1].record is not None and bench.devices[1].record.serial == "A1"


def test_garbage_and_foreign_locked_devices_fail_in_plain_words(
        profile: Profile, master_key: LocalKey) -> None:
    world = World()
    bench, ledger = make_bench(world, 2, 2), FakeLedger(world)
    bench.lines["p0"][0].fault = "garbage"
    foreign = bench.lines["p1"][0]
    other = FakeLedger(world, batch="B0")
    other.reserve("OLD1", "x", "y")
    ledger.rows["OLD1"] = other.rows["OLD1"]
    ledger.rows["OLD1"].state = "locked"
    # the device was provisioned and locked in batch B0
    foreign.record = Credential("acme-cam", "OLD1", Password("X" * 12), "00", 0)
    foreign.locked = True
    events: list[Event] = []
    serials = ["S1", "S2"]
    assert not run_station(bench, ledger, profile, master_key, serials, events=events)
    reasons = {e.port: e.reason for e in events
               if isinstance(e, PortEvent) and e.phase is Phase.FAIL}
    assert reasons["p0"] == "device answered with garbage: is it in provisioning mode?"
    assert reasons["p1"] == ("device is already locked with serial OLD1 (batch B0, locked), "
                             "not by this batch: set it aside")
    assert foreign.record.serial == "OLD1" and foreign.puts == 0
    assert sorted(s for s, _ in ledger.locked()) == ["S1", "S2"]


def test_verify_mismatch_fails_the_device_and_records_it(
        profile: Profile, master_key: LocalKey) -> None:
    world = World()
    bench, ledger = make_bench(world, 1, 2), FakeLedger(world)
    bench.lines["p0"][0].fault = "corrupt"
    events: list[Event] = []
    assert not run_station(bench, ledger, profile, master_key, ["C1", "C2"], events=events)
    assert ledger.rows["C1"].state == "failed" and ledger.rows["C2"].state == "locked"
    assert not bench.devices[0].locked


def test_policy_violation_stops_the_batch(master_key: LocalKey) -> None:
    # A profile whose policy the derivation cannot meet is refused when the profile loads;
    # simulate a broken encoder instead: the station must stop, not provision.
    profile = parse_profile(PROFILE, "test.toml")
    world = World()
    bench, ledger = make_bench(world, 1, 1), FakeLedger(world)
    deriver_profile = parse_profile(PROFILE.replace("[label]", "[password]\nlength = 13\n"
                                                    "[label]"), "other.toml")
    sink = None
    station = Station(StationConfig("B1", poll=0.001), profile,
                      Deriver(master_key, deriver_profile.format), ledger, bench.connect,
                      PortWatcher(fixed=("p0",)), sink, lambda e: None, ["P1"])
    with pytest.raises(CheckFailed, match="breaks the profile's policy"):
        station.run()
    assert ledger.rows["P1"].state == "failed" and bench.devices[0].puts == 0


def test_record_digest_is_stable(master_key: LocalKey, profile: Profile) -> None:
    deriver = Deriver(master_key, profile.format)
    cred = Credential("acme-cam", "SN1", deriver.password(profile.product, "SN1"),  # type: ignore[arg-type]
                      deriver.key_id, 0)
    assert record_digest(cred) == record_digest(cred)


def test_a_device_left_on_its_port_is_not_provisioned_twice(
        profile: Profile, master_key: LocalKey) -> None:
    world = World()
    bench, ledger = make_bench(world, 2, 1), FakeLedger(world)
    bench.takes_devices_off = False
    bench.lines["p1"][0].fault = "corrupt"
    events: list[Event] = []
    assert not run_station(bench, ledger, profile, master_key, ["S1", "S2", "S3"],
                           events=events, idle_exit=0.3)
    results = [(e.port, e.phase) for e in events
               if isinstance(e, PortEvent) and e.phase in (Phase.PASS, Phase.FAIL, Phase.DONE)]
    assert sorted(results) == [("p0", Phase.PASS), ("p1", Phase.FAIL)]  # PASS stays on screen
    assert sorted(ledger.rows) == ["S1", "S2"] and bench.devices[1].puts == 1
    assert not ledger.closed  # S3 is still to do: the batch stays open


def test_device_reported_serials(master_key: LocalKey) -> None:
    profile = parse_profile(PROFILE + '[device]\nserial_source = "device"\n', "d.toml")
    world = World()
    bench, ledger = make_bench(world, 2, 2), FakeLedger(world)
    assert run_station(bench, ledger, profile, master_key, None)
    assert sorted(s for s, _ in ledger.locked()) == ["hw-0-0", "hw-0-1", "hw-1-0", "hw-1-1"]
    for device in bench.devices:
        assert device.locked and device.record and device.record.serial == device.hardware_id
