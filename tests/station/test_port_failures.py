"""What a failure on one port does: the transport's errors reach the station as DeviceFaults
(so they fail that device alone), and what must stop the station (the registry, or a bug) is
reported on the port that met it, without the text of a bug's exception."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.core.device import Credential, DeviceFault, VerifyMismatch
from credline.core.policy import Profile
from credline.core.profile import parse_profile
from credline.core.protocol import LOCK, PUT
from credline.core.secret import Password
from credline.files.profiles import load_profile
from credline.keystore.base import LocalKey
from credline.registry import RegistryError
from credline.station.contracts import StationConfig
from credline.station.events import Event, Phase, PortEvent
from credline.station.ledger import RegistryLedger
from credline.station.runner import Station
from credline.transport.hook_device import Untrustworthy, connector
from credline.transport.ports import PortWatcher
from tests.device.ptydevice import PtyDevice, error, ok
from tests.station.fakes import Bench, CrashingLedger, FakeDevice, Ledgers, World

REPO = Path(__file__).resolve().parents[2]
SECRET = "WW4V6P8BPYR2"


@pytest.fixture
def profile() -> Profile:
    return parse_profile('[product]\nid = "acme-cam"\nname = "Acme Camera"\n', "test.toml")


class BuggyLink:
    """A Link with a bug: its HELLO raises what no Link may raise, with a secret in it."""

    def hello(self) -> None:
        raise RuntimeError(f"something went wrong near {SECRET}")

    def close(self) -> None:
        pass


class BrokenLedger(CrashingLedger):
    def reserve(self, serial: str, port: str, hardware_id: str,
                fingerprint_at: object = None) -> None:
        raise RegistryError("registry sqlite:///x.db failed: disk I/O error")


@pytest.fixture
def ledgers(tmp_path: Path) -> Iterator[Ledgers]:
    made = Ledgers(tmp_path / "registry", World())
    yield made
    made.close()


def station(profile: Profile, key: LocalKey, ledger: RegistryLedger, connect: object,
            ports: tuple[str, ...], events: list[Event]) -> Station:
    return Station(StationConfig("B1", poll=0.001), profile,
                   Deriver(key, profile.format), ledger, connect,  # type: ignore[arg-type]
                   PortWatcher(fixed=ports), None, events.append, ["S1", "S2"])


def fails(events: list[Event]) -> dict[str, str]:
    return {e.port: e.reason or "" for e in events
            if isinstance(e, PortEvent) and e.phase is Phase.FAIL}


def test_a_bug_is_named_on_its_port_without_its_text(profile: Profile, master_key: LocalKey,
                                                     ledgers: Ledgers) -> None:
    world = ledgers.world
    bench = Bench(world, {p: [FakeDevice(f"hw-{p}", world)] for p in ("p0", "p1")})
    events: list[Event] = []

    def connect(port: str) -> object:
        return BuggyLink() if port == "p0" else bench.connect(port)

    with pytest.raises(RuntimeError):  # the run still ends: after a bug nothing is certain
        station(profile, master_key, ledgers.new(Deriver(master_key, profile.format).key_id),
                connect, ("p0", "p1"), events).run()
    reason = fails(events)["p0"]
    assert reason.startswith("internal error (RuntimeError), a bug in credline: please report")
    assert "the station stops" in reason
    assert not any(SECRET in str(e) for e in events)


def test_a_registry_failure_stops_the_station_and_says_where(
        profile: Profile, master_key: LocalKey, ledgers: Ledgers) -> None:
    world = ledgers.world
    bench = Bench(world, {"p0": [FakeDevice("hw-0", world)]})
    events: list[Event] = []
    good = ledgers.new(Deriver(master_key, profile.format).key_id)
    broken = BrokenLedger(world, good.registry, good.log, good.scope)
    ledgers.runs.append(broken)
    with pytest.raises(RegistryError, match="disk I/O error"):
        station(profile, master_key, broken, bench.connect, ("p0",), events).run()
    # The environment's hint rides along: it is what the operator should check.
    assert fails(events)["p0"].startswith("registry sqlite:///x.db failed: disk I/O error "
                                          "(check the database server, the network and the "
                                          "disk); the station stops")


# -- the serial hook as the station's Link (transport.hook_device.HookDevice), over a pty --

DEMO = load_profile(REPO / "factory" / "profiles" / "demo-device.toml")


def credential() -> Credential:
    return Credential("demo-device", "SN0001", Password(SECRET), "e98c6960947e8461", 0)


def test_a_bad_reply_after_the_write_is_as_untrustworthy_as_a_verify_mismatch() -> None:
    with PtyDevice(script=lambda r, h: ok(r, b"\x09") if r.cmd == LOCK else h.encode()) as dev:
        link = connector(DEMO)(dev.port)
        try:
            link.hello()
            link.put(credential())
            link.verify(credential())
            with pytest.raises(Untrustworthy, match="answered LOCK with state 9"):
                link.lock()
        finally:
            link.close()
    assert issubclass(Untrustworthy, VerifyMismatch)


def test_a_refusal_is_a_plain_device_fault() -> None:
    with PtyDevice(script=lambda r, h: error(r, 1) if r.cmd == PUT else h.encode()) as dev:
        link = connector(DEMO)(dev.port)
        try:
            with pytest.raises(DeviceFault, match="its flash could not be written") as info:
                link.put(credential())
        finally:
            link.close()
    assert not isinstance(info.value, VerifyMismatch)  # nothing says the record is bad


@pytest.mark.parametrize("hwid", [b"AB CD", b"\x1b[32mPASS", b"x" * 65])
def test_a_hardware_id_that_cannot_be_a_serial_fails_at_hello(hwid: bytes) -> None:
    with PtyDevice(hwid=hwid) as dev:
        link = connector(DEMO, hwid_is_serial=True)(dev.port)
        try:
            with pytest.raises(DeviceFault, match="which cannot be its serial"):
                link.hello()
        finally:
            link.close()
        plain = connector(DEMO)(dev.port)  # serials from a work order: any hardware id will do
        try:
            assert plain.hello().hardware_id.isprintable()
        finally:
            plain.close()
