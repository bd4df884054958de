"""The station end to end on virtual devices (the real C hook on ptys, real pyserial, the
real SQLite registry and signed log): many ports at once, kill -9 and resume, faults."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.files.profiles import load_profile
from credline.keystore import keyfile
from credline.provenance import verify_log
from credline.registry import open_registry
from credline.station.assembly import StationOptions, build_station
from credline.station.events import Phase, PortEvent
from credline.transport.virtual import VirtualDevice, build
from tests.conftest import PASSPHRASE, credline_command, subprocess_env

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory" / "profiles" / "demo-device.toml"


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


class Line:
    """Ports as stable symlinks; behind each, a queue of virtual devices swapped in turn, as
    an operator takes a finished device off and plugs the next one in."""

    def __init__(self, root: Path, ports: int, per_port: int, **options: object) -> None:
        self.root = root
        (root / "ports").mkdir(parents=True)
        self.queues = [[VirtualDevice(root / f"flash-{p}-{i}.bin", hwid=f"HW{p:02d}{i:02d}",
                                      **options)  # type: ignore[arg-type]
                        for i in range(per_port)] for p in range(ports)]
        self.current = [0] * ports
        self.passed: set[int] = set()  # ports whose current device the station reported PASS
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._operator, daemon=True)

    def link(self, p: int) -> Path:
        return self.root / "ports" / f"port{p}"

    def start(self) -> Line:
        for p, queue in enumerate(self.queues):
            queue[0].start()
            self.link(p).symlink_to(queue[0].port)
        self.thread.start()
        return self

    def on_event(self, event: object) -> None:
        """The operator watches the screen: PASS on a port means take that device off."""
        if isinstance(event, PortEvent) and event.phase is Phase.PASS:
            self.passed.add(int(Path(event.port).name.removeprefix("port")))

    def _operator(self) -> None:
        while not self.stop.is_set():
            for p, queue in enumerate(self.queues):
                i = self.current[p]
                if i + 1 < len(queue) and p in self.passed:
                    self.passed.discard(p)
                    # Plug the next device in behind the port, then take the old one away
                    # once any exchange the station had open with it is over.
                    queue[i + 1].start()
                    # Made outside the watched folder: a station globbing ports/* must
                    # never take the half-made link for a port of its own.
                    tmp = self.root / f"port{p}.new"
                    tmp.symlink_to(queue[i + 1].port)
                    os.replace(tmp, self.link(p))
                    self.current[p] = i + 1
                    threading.Timer(0.5, queue[i].stop).start()
            self.stop.wait(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for queue in self.queues:
            for device in queue:
                device.stop()

    @property
    def devices(self) -> list[VirtualDevice]:
        return [device for queue in self.queues for device in queue]


def check_batch(env: dict[str, Path], devices: list[VirtualDevice], serials: list[str],
                batch: str) -> None:
    """Registry, log and devices agree: every serial locked once, on exactly one device."""
    url = f"sqlite:///{env['db']}"
    deriver = Deriver(keyfile.load(env["key"], PASSPHRASE), load_profile(PROFILE).format)
    with open_registry(url) as reg:
        report = verify_log(env["root"] / "provenance.jsonl", reg)
        assert report.ok, report.summary()
        assert reg.status(batch)["locked"] == len(serials)
        rows = {d.serial: d for d in reg.devices(batch)}
    on_devices = {}
    for device in devices:
        view = device.runtime()
        if view["provisioned"] == "1":
            assert view["serial"] not in on_devices, "a serial on two devices"
            on_devices[view["serial"]] = device
    assert sorted(on_devices) == sorted(serials) == sorted(rows)
    for serial, device in on_devices.items():
        password = deriver.password("demo-device", serial, rows[serial].generation)  # type: ignore[arg-type]
        assert device.runtime(password.reveal())["password"] == "match"
        assert rows[serial].fingerprint == deriver.fingerprint(password)


def test_32_devices_on_8_ports(station_env: dict[str, Path]) -> None:
    root = station_env["root"]
    serials = [f"E2E-{i:03d}" for i in range(32)]
    order = _work_order(root, "\n".join(serials) + "\n")
    line = Line(root / "line", ports=8, per_port=4).start()
    try:
        options = StationOptions(batch="B32", patterns=(str(root / "line" / "ports" / "*"),),
                                 work_order=order, registry_url=f"sqlite:///{station_env['db']}",
                                 log_path=root / "provenance.jsonl",
                                 station_key=root / "station.key", label_dir=root / "labels",
                                 idle_exit=20.0)
        events: list[object] = []

        def emit(event: object) -> None:
            events.append(event)
            line.on_event(event)

        built = build_station(load_profile(PROFILE), keyfile.load(station_env["key"]), options,
                              emit)  # type: ignore[arg-type]
        try:
            complete = built.station.run()
            failures = [str(e)[:240] for e in events if "FAIL" in str(e) or "Batch" in str(e)]
            assert complete is True, "\n".join(failures)
        finally:
            built.close()
        assert built.station.passed == 32 and built.station.failed == 0
    finally:
        line.close()
    check_batch(station_env, line.devices, serials, "B32")
    assert len(list((root / "labels").glob("*.zpl"))) == 32


def _work_order(root: Path, text: str) -> Path:
    order = root / "order.txt"
    order.write_text(text)
    return order


def _station_env() -> dict[str, str]:
    """What `credline station run` needs in its environment: both passphrases."""
    return subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE, CREDLINE_STATION_PASSPHRASE=PASSPHRASE)


def _station_command(env: dict[str, Path], ports: list[str], order: Path) -> list[str]:
    root = env["root"]
    command = [*credline_command(), "station", "run", "--profile", str(PROFILE), "--key",
               str(env["key"]), "--batch", "BK", "--serials", str(order), "--registry",
               f"sqlite:///{env['db']}", "--log", str(root / "provenance.jsonl"),
               "--station-key", str(root / "station.key"), "--labels", str(root / "labels"),
               "--plain", "--idle-exit", "3"]
    for port in ports:
        command += ["--port", port]
    return command


@pytest.mark.parametrize("seed", range(4))
def test_kill_9_at_random_points_then_resume(station_env: dict[str, Path], seed: int) -> None:
    root = station_env["root"]
    serials = [f"K-{i:03d}" for i in range(4)]
    order = _work_order(root, "\n".join(serials) + "\n")
    # Slow flash and a throttled line, so that kills land in the middle of devices.
    devices = [VirtualDevice(root / f"flash{i}.bin", hwid=f"K{i}", baud=115200,
                             flash_delay_ms=120).start() for i in range(4)]
    env = _station_env()
    command = _station_command(station_env, [d.port for d in devices], order)
    rng = random.Random(seed)
    try:
        for _ in range(2):
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(rng.uniform(0.6, 2.6))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120,
                               check=False)
        assert final.returncode == 0, final.stdout + final.stderr
        check_batch(station_env, devices, serials, "BK")
    finally:
        for device in devices:
            device.stop()


def test_faults_give_plain_messages_and_lose_nothing(station_env: dict[str, Path]) -> None:
    root = station_env["root"]
    order = _work_order(root, "F-001\nF-002\nF-003\n")
    good = VirtualDevice(root / "good.bin", hwid="GOOD").start()
    dying = VirtualDevice(root / "dying.bin", hwid="DYING", power_cut_after_write=3000).start()
    env = _station_env()
    try:
        first = subprocess.run(_station_command(station_env, [good.port, dying.port], order),
                               env=env, capture_output=True, text=True, timeout=120,
                               check=False)
        assert first.returncode == 1  # a device failed: the batch is not complete
        out = first.stdout + first.stderr
        assert "PASS" in out and "FAIL" in out and "Traceback" not in out
        assert "run the same command to carry on" in out
        # The operator plugs the dying device back in, and a fresh one for the last serial.
        dying.restart(power_cut_after_write=0)
        fresh = VirtualDevice(root / "fresh.bin", hwid="FRESH").start()
        good.stop()
        second = subprocess.run(
            _station_command(station_env, [dying.port, fresh.port], order), env=env,
            capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 0, second.stdout + second.stderr
        good.start()
        check_batch(station_env, [good, dying, fresh], ["F-001", "F-002", "F-003"], "BK")
        fresh.stop()
    finally:
        good.stop()
        dying.stop()


class GarbageDevice:
    """Something on a serial port that answers every byte with noise: a pty whose other end
    sends random bytes, frame delimiters included, so that frames arrive with bad CRCs."""

    def __init__(self, seed: int) -> None:
        self.master, slave = os.openpty()
        self.port = os.ttyname(slave)
        self._slave = slave
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._answer, daemon=True)
        self._thread.start()

    def _answer(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    os.read(self.master, 4096)
                    noise = bytes(self._rng.choice((0xC0, self._rng.randrange(256)))
                                  for _ in range(self._rng.randrange(1, 64)))
                    os.write(self.master, noise)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self._slave)


def test_a_device_answering_garbage_fails_plainly_and_holds_nothing(
        station_env: dict[str, Path]) -> None:
    root = station_env["root"]
    order = _work_order(root, "G-001\nG-002\n")
    garbage = GarbageDevice(seed=7)
    good = VirtualDevice(root / "good.bin", hwid="GOOD").start()
    env = _station_env()
    try:
        result = subprocess.run(_station_command(station_env, [garbage.port, good.port], order),
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        out = result.stdout + result.stderr
        assert result.returncode == 1, out  # one serial left over: the batch stays open
        assert f"{garbage.port}" in out and "did not answer" in out and "Traceback" not in out
        assert good.runtime()["serial"] == "G-001"
        with open_registry(f"sqlite:///{station_env['db']}") as reg:
            assert reg.status("BK").get("locked") == 1
            assert reg.device("demo-device", "G-002") is None  # never reserved for the noise
            assert verify_log(root / "provenance.jsonl", reg).ok
    finally:
        good.stop()
        garbage.close()


def test_a_device_locked_by_another_batch_is_set_aside(station_env: dict[str, Path]) -> None:
    from tests.device.conftest import record
    from tests.device.exchange import provision_device

    root = station_env["root"]
    order = _work_order(root, "L-001\n")
    foreign = VirtualDevice(root / "foreign.bin", hwid="FOREIGN").start()
    provision_device(foreign.port, record("OTHER-1"))
    env = _station_env()
    try:
        result = subprocess.run(_station_command(station_env, [foreign.port], order), env=env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 1
        assert "already locked with serial OTHER-1" in result.stdout + result.stderr
        assert foreign.runtime()["serial"] == "OTHER-1"
        with open_registry(f"sqlite:///{station_env['db']}") as reg:
            assert reg.device("demo-device", "L-001") is None  # nothing reserved or lost
    finally:
        foreign.stop()


@pytest.mark.parametrize(("content", "fragment"), [
    ("A-1\nA-2\nA-1\n", "line 3: duplicate serial 'A-1' (first at line 1)"),
    ("A-1\nA 2\n", "line 2: invalid serial 'A 2'"),
])
def test_bad_work_orders_are_refused_before_any_device_is_touched(
        station_env: dict[str, Path], content: str, fragment: str) -> None:
    root = station_env["root"]
    order = _work_order(root, content)
    device = VirtualDevice(root / "d.bin").start()
    env = _station_env()
    try:
        result = subprocess.run(_station_command(station_env, [device.port], order), env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 2 and fragment in result.stderr
        assert device.runtime()["provisioned"] == "0"
        assert not (root / "provenance.jsonl").exists()
    finally:
        device.stop()


def test_wrong_key_passphrase_is_refused_plainly(station_env: dict[str, Path]) -> None:
    root = station_env["root"]
    order = _work_order(root, "W-1\n")
    env = subprocess_env(CREDLINE_PASSPHRASE="wrong", CREDLINE_STATION_PASSPHRASE=PASSPHRASE)
    result = subprocess.run(_station_command(station_env, ["/dev/null"], order), env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "wrong passphrase" in result.stderr
    assert "Traceback" not in result.stderr
