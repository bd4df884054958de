"""A cell: several stations, as separate processes, on one batch, one work order and one
registry, with more devices than serials; one station killed with SIGKILL mid-batch and
started again. Afterwards, read from the devices' own flash: every serial on at most one
device, every device's password matching registry and log, every log passing the audit.

``CREDLINE_CELL_ROUNDS=N`` runs N rounds (the soak); CI runs one round per backend.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.core.lifecycle import DeviceState
from credline.files.profiles import load_profile
from credline.keystore import keyfile
from credline.registry import open_registry
from credline.station.identity import enroll
from credline.transport.virtual import VirtualDevice, build
from tests.conftest import FAST_SCRYPT, PASSPHRASE, TEST_KEY, credline_command, subprocess_env
from tests.registry.conftest import postgres_schema_url

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory" / "profiles" / "demo-device.toml"
ROUNDS = int(os.environ.get("CREDLINE_CELL_ROUNDS", "1"))


@dataclass(frozen=True)
class Shape:
    backend: str
    stations: int
    serials: int
    devices_per_station: int


SHAPES = [Shape("postgres", 4, 24, 8), Shape("sqlite", 2, 12, 8)]


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


@pytest.fixture(params=SHAPES, ids=lambda shape: shape.backend)
def cell(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Shape, str]]:
    shape: Shape = request.param
    if shape.backend == "sqlite":
        yield shape, f"sqlite:///{tmp_path / 'cell.db'}"
    else:
        yield from ((shape, url) for url in postgres_schema_url())


class Station:
    def __init__(self, root: Path, index: int, url: str, key: Path, order: Path) -> None:
        self.name = f"cell-st{index}"
        self.root = root / self.name
        self.root.mkdir()
        self.log = self.root / "provenance.jsonl"
        self.key = self.root / "station.key"
        with open_registry(url, create=False) as reg:
            enroll(self.key, self.name, PASSPHRASE, reg, params=FAST_SCRYPT)
        self.command = [*credline_command(), "station", "run", "--profile", str(PROFILE),
                        "--key", str(key), "--batch", "CELL", "--serials", str(order),
                        "--registry", url, "--log", str(self.log), "--station-key",
                        str(self.key), "--labels", str(self.root / "labels"), "--plain",
                        "--idle-exit", "3", "--lease", "2"]
        self.devices: list[VirtualDevice] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def plug(self, count: int) -> None:
        self.devices = [VirtualDevice(self.root / f"flash{i}.bin", hwid=f"{self.name}-d{i}",
                                      baud=115200, flash_delay_ms=40).start()
                        for i in range(count)]
        for device in self.devices:
            self.command += ["--port", device.port]

    def start(self) -> None:
        env = subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE,
                             CREDLINE_STATION_PASSPHRASE=PASSPHRASE)
        self.out = (self.root / "out.txt").open("ab")
        self.proc = subprocess.Popen(self.command, env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for_entries(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and self.log.read_bytes().count(b"\n") >= count:
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return False  # it finished its share first: the kill lands on a finished run
            time.sleep(0.01)
        return False

    def kill(self) -> None:
        assert self.proc is not None
        # The run may have finished its share first (see wait_for_entries): then its
        # process group is gone and the kill lands on nothing, which is fine.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        self.out.close()
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        for device in self.devices:
            device.stop()


def run_round(shape: Shape, url: str, root: Path, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    key = root / "master.key"
    keyfile.create(key, TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    open_registry(url).close()  # what 'credline registry init' does
    serials = [f"C{seed:02d}-{i:03d}" for i in range(shape.serials)]
    stations = []
    for index in range(shape.stations):
        order = root / f"order{index}.txt"
        shift = index * shape.serials // shape.stations
        order.write_text("".join(f"{s}\n" for s in serials[shift:] + serials[:shift]))
        stations.append(Station(root, index, url, key, order))
    try:
        for station in stations:
            station.plug(shape.devices_per_station)
        for station in stations:
            station.start()
        victim = rng.choice(stations)
        # Kill it in the middle of its own work: once its log has a random number of entries
        # (every device it works on adds four or five).
        victim.wait_for_entries(rng.randint(3, 10), timeout=60)
        victim.kill()
        victim.out.close()
        time.sleep(rng.uniform(0.0, 1.0))
        victim.start()
        codes = {station.name: station.wait(timeout=150) for station in stations}
        for station in stations:
            assert codes[station.name] in (0, 1), (station.root / "out.txt").read_text()
        check_cell(shape, url, stations, serials)
        return codes
    finally:
        for station in stations:
            station.stop()


def check_cell(shape: Shape, url: str, stations: list[Station], serials: list[str]) -> None:
    """What the devices' flash says, against the registry and the logs."""
    deriver = Deriver(keyfile.load(stations[0].root.parent / "master.key", PASSPHRASE),
                      load_profile(PROFILE).format)
    with open_registry(url, create=False) as reg:
        rows = {d.serial: d for d in reg.devices("CELL")
                if d.state is not DeviceState.RETIRED}
    on_devices: dict[str, str] = {}
    for station in stations:
        for device in station.devices:
            view = device.runtime()
            if view["provisioned"] != "1":
                continue
            serial = view["serial"]
            assert serial not in on_devices, f"{serial} on {on_devices.get(serial)} and " \
                f"{device.hwid}"
            on_devices[serial] = device.hwid
            row = rows[serial]
            assert row.hardware_id == device.hwid
            password = deriver.password("demo-device", serial, row.generation)  # type: ignore[arg-type]
            assert device.runtime(password.reveal())["password"] == "match"
            assert row.fingerprint == deriver.fingerprint(password)
    locked = {s for s, row in rows.items() if row.state is DeviceState.LOCKED}
    assert locked <= set(on_devices) and set(on_devices) <= set(serials)
    assert locked == set(serials), f"not locked: {sorted(set(serials) - locked)}"
    audit = subprocess.run([*credline_command(), "audit", "verify",
                            *(str(s.log) for s in stations), "--registry", url],
                           env=subprocess_env(), capture_output=True, text=True, timeout=120,
                           check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.mark.slow
def test_a_cell_of_stations_never_puts_one_password_on_two_devices(
        cell: tuple[Shape, str], tmp_path: Path) -> None:
    shape, url = cell
    with contextlib.ExitStack() as scratch:
        for round_number in range(ROUNDS):
            root = tmp_path / f"round{round_number}"
            root.mkdir()
            if round_number:  # a fresh registry each round, dropped at the end
                url = (f"sqlite:///{root / 'cell.db'}" if shape.backend == "sqlite" else
                       scratch.enter_context(contextlib.contextmanager(postgres_schema_url)()))
            run_round(shape, url, root, seed=round_number)
