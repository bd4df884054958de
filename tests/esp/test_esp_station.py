"""``credline station run`` with ``[device] transport = "esp"``: esptool's Python API against
ROM loader doubles, the registry, the signed log, labels, audit and QA, as on hook batches.
Each test checks the bytes in the doubles' flash files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.core.ids import ProductId, Serial
from credline.core.lifecycle import DeviceState
from credline.core.policy import PasswordFormat
from credline.files.profiles import load_profile
from credline.image.nvs import NvsBuilder, read_credential
from credline.keystore import open_key
from credline.keystore.base import LocalKey
from credline.registry import open_registry
from credline.station.assembly import StationOptions, build_station
from credline.station.events import Event, Phase, PortEvent
from credline.station.identity import enroll
from credline.transport.esp_double import EspDouble
from tests.conftest import (
    FAST_SCRYPT,
    PASSPHRASE,
    TEST_KEY,
    CliResult,
    credline_command,
    subprocess_env,
)
from tests.esp.conftest import OFFSET, PROFILE, SIZE

Cli = Callable[..., CliResult]
DERIVER = Deriver(LocalKey(TEST_KEY, "test"), PasswordFormat.default())


def image_of(serial: str, generation: int = 0) -> bytes:
    password = DERIVER.password(ProductId("demo-esp"), Serial(serial), generation).reveal()
    return NvsBuilder(SIZE, key_id=DERIVER.key_id).build(serial, password, generation)


def partition(double: EspDouble) -> bytes:
    return double.flash_path.read_bytes()[OFFSET:OFFSET + SIZE]


def args(env: dict[str, Path], serials: list[str], ports: list[str], *extra: str,
         station: str = "station.key", log: str = "log.jsonl") -> list[str]:
    root = env["root"]
    (root / "order.txt").write_text("".join(s + "\n" for s in serials))
    return ["station", "run", "--profile", str(PROFILE), "--key", str(env["key"]),
            "--batch", "E7", "--serials", str(root / "order.txt"),
            *[a for port in ports for a in ("--port", port)],
            "--registry", f"sqlite:///{env['db']}", "--log", str(root / log),
            "--station-key", str(root / station), "--labels", str(root / "labels"),
            "--plain", "--idle-exit", "0.5", *extra]


def rows(env: dict[str, Path]) -> dict[str, tuple[DeviceState, str | None]]:
    with open_registry(f"sqlite:///{env['db']}", create=False) as reg:
        return {d.serial: (d.state, d.hardware_id) for d in reg.devices("E7")}


def test_station_provisions_esp32s_through_esptool(cli: Cli, station_env: dict[str, Path],
                                                   doubles: list[EspDouble]) -> None:
    serials = ["E-001", "E-002", "E-003"]
    result = cli(*args(station_env, serials, [d.port for d in doubles]))
    assert result.exit_code == 0, result.output
    table = rows(station_env)
    assert {s for s, (state, _) in table.items() if state is DeviceState.LOCKED} == set(serials)
    macs = {hwid for _, hwid in table.values()}
    assert macs == {d.mac for d in doubles}  # the MAC is the hardware id
    by_mac = {d.mac: d for d in doubles}
    for serial, (_, mac) in table.items():
        assert mac is not None
        assert partition(by_mac[mac]) == image_of(serial)
    assert len(list((station_env["root"] / "labels").glob("*.zpl"))) == 3
    audit = cli("audit", "verify", str(station_env["root"] / "log.jsonl"), "--registry",
                f"sqlite:///{station_env['db']}")
    assert audit.exit_code == 0, audit.output
    again = cli(*args(station_env, serials, [d.port for d in doubles]))
    assert again.exit_code == 0, again.output  # nothing rewritten, nothing added
    assert rows(station_env) == table


def test_garbage_and_unplugged_boards_fail_alone(cli: Cli, station_env: dict[str, Path],
                                                 tmp_path: Path) -> None:
    good = EspDouble(tmp_path / "good.flash", "02:00:00:00:01:01").start()
    noisy = EspDouble(tmp_path / "noisy.flash", "02:00:00:00:01:02", garbage=True).start()
    torn = EspDouble(tmp_path / "torn.flash", "02:00:00:00:01:03", unplug_after=0).start()
    try:
        result = cli(*args(station_env, ["G-1", "G-2", "G-3"],
                           [good.port, noisy.port, torn.port]))
    finally:
        for double in (good, noisy, torn):
            double.stop()
    assert result.exit_code == 1, result.output
    fails = [line for line in result.stdout.splitlines() if " FAIL" in line]
    assert any(noisy.port in line and "connecting" in line for line in fails), fails
    assert all(len(line) <= 400 for line in fails), [len(line) for line in fails]  # short
    assert any(torn.port in line and "writing the partition" in line for line in fails), fails
    assert all("Traceback" not in line for line in result.output.splitlines())
    table = rows(station_env)
    locked = [s for s, (state, mac) in table.items() if state is DeviceState.LOCKED]
    assert len(locked) == 1 and table[locked[0]][1] == good.mac
    assert partition_of(tmp_path / "good.flash") == image_of(locked[0])
    # the torn board's serial is bound to it (parked for its return), nobody else's
    parked = [s for s, (state, mac) in table.items() if mac == torn.mac]
    assert len(parked) == 1 and table[parked[0]][0] is DeviceState.WRITTEN
    assert read_credential(partition_of(tmp_path / "torn.flash")[:4096]) is None
    assert partition_of(tmp_path / "noisy.flash") == b"\xff" * SIZE


def test_each_port_gets_its_own_esptool_progress(station_env: dict[str, Path],
                                                  doubles: list[EspDouble]) -> None:
    """esptool's logger is one global object; three ports flash at once, and each port's
    row sees its own board's progress, up to 100%, for its own serial."""
    root = station_env["root"]
    (root / "order.txt").write_text("P-1\nP-2\nP-3\n")
    events: list[Event] = []
    options = StationOptions(batch="E7", ports=tuple(d.port for d in doubles),
                             work_order=root / "order.txt",
                             registry_url=f"sqlite:///{station_env['db']}",
                             log_path=root / "log.jsonl", station_key=root / "station.key",
                             label_dir=root / "labels", idle_exit=0.5, poll=0.05)
    built = build_station(load_profile(PROFILE), open_key(str(station_env["key"])), options,
                          events.append)
    try:
        assert built.station.run()
    finally:
        built.close()
    port_events = [e for e in events if isinstance(e, PortEvent)]
    for double in doubles:
        mine = [e for e in port_events if e.port == double.port]
        serial = next(e.serial for e in mine if e.phase is Phase.PASS)
        progress = [e.reason for e in mine if e.phase is Phase.WRITING and e.reason]
        assert progress[-1] == "100%" and len(progress) >= 3, progress
        assert {e.serial for e in mine if e.phase is Phase.WRITING} == {serial}


def partition_of(path: Path) -> bytes:
    return path.read_bytes()[OFFSET:OFFSET + SIZE]


def test_a_torn_board_plugged_back_in_is_finished_with_its_own_password(
        cli: Cli, station_env: dict[str, Path], tmp_path: Path) -> None:
    torn = EspDouble(tmp_path / "t.flash", "02:00:00:00:02:01", unplug_after=0).start()
    first = cli(*args(station_env, ["T-1"], [torn.port]))
    torn.stop()
    assert first.exit_code == 1, first.output
    back = EspDouble(tmp_path / "t.flash", "02:00:00:00:02:01").start()
    try:
        second = cli(*args(station_env, ["T-1"], [back.port]))
    finally:
        back.stop()
    assert second.exit_code == 0, second.output
    assert rows(station_env) == {"T-1": (DeviceState.LOCKED, "02:00:00:00:02:01")}
    assert partition_of(tmp_path / "t.flash") == image_of("T-1")


REACHED = {"reserved": set(DeviceState),
           "written": {DeviceState.WRITTEN, DeviceState.VERIFIED, DeviceState.LOCKED},
           "locked": {DeviceState.LOCKED}}


@pytest.mark.parametrize("moment", sorted(REACHED))
def test_kill_9_mid_batch_resumes_with_nothing_lost_or_duplicated(
        cli: Cli, station_env: dict[str, Path], tmp_path: Path, moment: str) -> None:
    """Killed once a row has reached ``moment`` (reserved, bound and written, or locked)."""
    serials = [f"K-{i:03d}" for i in range(6)]
    boards = [EspDouble(tmp_path / f"k{i}.flash", f"02:00:00:00:03:{i:02x}").start()
              for i in range(6)]
    try:
        # two ports; each board waits its turn on a port, as on a jig
        run = args(station_env, serials, [boards[0].port, boards[1].port])
        proc = subprocess.Popen([*credline_command(), *run], env=subprocess_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            while proc.poll() is None and not any(
                    state in REACHED[moment] for state, _ in rows(station_env).values()):
                time.sleep(0.02)  # waiting for the moment, not timing anything
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL  # it was cut short at that moment
        # the same two boards again: the one cut short is finished, the other done or new
        middle = cli(*args(station_env, serials, [b.port for b in boards[:2]]))
        assert middle.exit_code == 1 and "not complete" in middle.stderr, middle.output
        done = cli(*args(station_env, serials, [b.port for b in boards[2:]]))
        assert done.exit_code == 0, done.output
    finally:
        for board in boards:
            board.stop()
    table = rows(station_env)
    assert {s: st for s, (st, _) in table.items()} == dict.fromkeys(serials, DeviceState.LOCKED)
    macs = [mac for _, mac in table.values()]
    assert sorted(macs) == sorted(b.mac for b in boards)  # one board, one serial
    by_mac = {b.mac: b for b in boards}
    for serial, (_, mac) in table.items():
        assert mac is not None
        assert partition_of(by_mac[mac].flash_path) == image_of(serial)
    audit = cli("audit", "verify", str(station_env["root"] / "log.jsonl"), "--registry",
                f"sqlite:///{station_env['db']}")
    assert audit.exit_code == 0, audit.output


def test_two_stations_on_one_registry_never_give_a_serial_twice(
        station_env: dict[str, Path], tmp_path: Path) -> None:
    root = station_env["root"]
    with open_registry(f"sqlite:///{station_env['db']}", create=False) as reg:
        enroll(root / "station2.key", "st2", PASSPHRASE, reg, params=FAST_SCRYPT)
    serials = [f"U-{i:03d}" for i in range(6)]
    boards = [EspDouble(tmp_path / f"u{i}.flash", f"02:00:00:00:04:{i:02x}").start()
              for i in range(6)]
    try:
        runs = [subprocess.Popen([*credline_command(), *args(
                    station_env, serials, [b.port for b in boards[i::2]], station=key,
                    log=log)], env=subprocess_env(), stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True)
                for i, (key, log) in enumerate((("station.key", "log1.jsonl"),
                                                ("station2.key", "log2.jsonl")))]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
    finally:
        for board in boards:
            board.stop()
    # whichever ends first may see serials still in flight on the other (exit 1, "left")
    assert sorted(run.returncode for run in runs) in ([0, 0], [0, 1]), outputs
    table = rows(station_env)
    assert {s: st for s, (st, _) in table.items()} == dict.fromkeys(serials, DeviceState.LOCKED)
    assert sorted(mac for _, mac in table.values()) == sorted(b.mac for b in boards)
    by_mac = {b.mac: b for b in boards}
    for serial, (_, mac) in table.items():
        assert mac is not None
        assert partition_of(by_mac[mac].flash_path) == image_of(serial)


def test_a_board_whose_flash_reads_back_wrong_is_set_aside(
        cli: Cli, station_env: dict[str, Path], tmp_path: Path) -> None:
    worn = EspDouble(tmp_path / "w.flash", "02:00:00:00:05:01", stuck_at=OFFSET + 70).start()
    try:
        result = cli(*args(station_env, ["W-1", "W-2"], [worn.port]))
    finally:
        worn.stop()
    assert result.exit_code == 1, result.output
    assert f"{worn.port} FAIL W-1: {worn.port}: the partition at 0x10000 differs" in \
        result.stdout
    # its serial is failed for good (its password is on no other board), W-2 is untouched
    assert rows(station_env) == {"W-1": (DeviceState.FAILED, worn.mac)}


def test_over_socket_urls_the_boards_are_reset_as_on_a_dev_board(
        cli: Cli, station_env: dict[str, Path], tmp_path: Path) -> None:
    """reset = "rts" (the default, DTR/RTS into download mode and a hard reset after), run
    against doubles on loopback socket:// ports, which take the modem-line changes."""
    root = station_env["root"]
    profile = root / "rts.toml"
    profile.write_text(PROFILE.read_text().replace('reset = "none"', 'reset = "rts"')
                       .replace("../labels/default.toml",
                                str(PROFILE.parent.parent / "labels/default.toml")))
    boards = [EspDouble(tmp_path / f"s{i}.flash", f"02:00:00:00:06:{i:02x}",
                        loopback=True).start() for i in range(2)]
    try:
        run = args(station_env, ["S-1", "S-2"], [b.port for b in boards])
        run[run.index(str(PROFILE))] = str(profile)
        result = cli(*run)
    finally:
        for board in boards:
            board.stop()
    assert result.exit_code == 0, result.output
    assert all(b.port.startswith("socket://127.0.0.1:") for b in boards)
    table = rows(station_env)
    by_mac = {b.mac: b for b in boards}
    for serial, (state, mac) in table.items():
        assert state is DeviceState.LOCKED and mac is not None
        assert partition_of(by_mac[mac].flash_path) == image_of(serial)


def test_provision_one_esp32(cli: Cli, station_env: dict[str, Path],
                             doubles: list[EspDouble]) -> None:
    root = station_env["root"]
    result = cli("provision", "--port", doubles[0].port, "--key", str(station_env["key"]),
                 "--profile", str(PROFILE), "--serial", "ONE-1", "--batch", "E7",
                 "--registry", f"sqlite:///{station_env['db']}", "--log",
                 str(root / "log.jsonl"), "--station-key", str(root / "station.key"),
                 "--labels", str(root / "labels"), "--plain")
    assert result.exit_code == 0, result.output
    assert rows(station_env) == {"ONE-1": (DeviceState.LOCKED, doubles[0].mac)}
    assert partition(doubles[0]) == image_of("ONE-1")
    assert partition(doubles[1]) == b"\xff" * SIZE  # the others untouched
