"""Provisioning devices (the real C hook) through real pyserial over pseudo-terminals: the
virtual device everywhere, and where marked with ``any_device`` or ``KINDS``, an emulated
Cortex-M3 board in QEMU as well (tests/boards.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.framing import Deframer, Frame
from credline.core.lifecycle import DeviceState as LifeState
from credline.core.protocol import HELLO, PUT, DeviceState, WireError
from credline.provenance import verify_log
from credline.registry import open_registry
from credline.transport.serial_hook import (
    DeviceRefused,
    HookLink,
    NoAnswer,
    VerifyFailed,
)
from credline.transport.virtual import BINARY, VirtualDevice
from tests.boards import KINDS, Device, make_device, require
from tests.conftest import PASSPHRASE, credline_command, subprocess_env
from tests.device.conftest import PASSWORD, record
from tests.device.exchange import provision_device

PROFILE = Path(__file__).parent.parent.parent / "factory" / "profiles" / "acme-cam.toml"


def provision_cli(env: dict[str, Path], port: str, serial: str = "SN0001",
                  ) -> subprocess.CompletedProcess[str]:
    """``credline provision`` in a subprocess, on the registry and station of ``env``."""
    root = env["root"]
    return subprocess.run(
        [*credline_command(), "provision", "--port", port, "--key", str(env["key"]),
         "--profile", str(PROFILE), "--serial", serial, "--batch", "B1",
         "--registry", f"sqlite:///{env['db']}", "--log", str(root / "log.jsonl"),
         "--station-key", str(root / "station.key"), "--labels", str(root / "labels"),
         "--plain"],
        env=subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE,
                           CREDLINE_STATION_PASSPHRASE=PASSPHRASE),
        capture_output=True, text=True, timeout=60, check=False)


def test_provision_reboot_and_read_back_with_the_runtime_api(
        any_device: Device, station_env: dict[str, Path]) -> None:
    device = any_device
    result = provision_cli(station_env, device.port)
    assert result.returncode == 0, result.stderr
    assert f"{device.port} PASS SN0001" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    with open_registry(f"sqlite:///{station_env['db']}", create=False) as reg:
        row = reg.devices("B1")[0]
        assert (row.serial, row.state, row.hardware_id) == ("SN0001", LifeState.LOCKED,
                                                            "HW0001")
        assert verify_log(station_env["root"] / "log.jsonl", reg).ok
    device.restart()  # power cycle: a new process on the same flash file
    with HookLink(device.port) as link:
        hello = link.hello()
    assert (hello.state, hello.serial, hello.hardware_id) == (DeviceState.LOCKED, "SN0001",
                                                              "HW0001")
    view = device.runtime(check_password=PASSWORD)
    assert view == {"provisioned": "1", "locked": "1", "serial": "SN0001",
                    "key_id": "e98c6960947e8461", "generation": "0", "password": "match"}
    assert device.runtime(check_password="WW4V6P8BPYR3")["password"] == "mismatch"


def test_provision_needs_an_initialised_registry(device: VirtualDevice,
                                                 station_env: dict[str, Path]) -> None:
    station_env["db"].unlink()
    result = provision_cli(station_env, device.port)
    assert result.returncode == 2, result.stderr
    assert "registry init" in result.stderr and not station_env["db"].exists()
    assert device.runtime()["provisioned"] == "0"


def test_locked_device_refuses_put_and_keeps_its_record(any_device: Device) -> None:
    device = any_device
    provision_device(device.port, record())
    with HookLink(device.port) as link:
        with pytest.raises(DeviceRefused, match="already locked") as info:
            link.put(record(password="0000AAAA1111"))
        assert info.value.code is WireError.LOCKED
        link.verify(record())  # still the original bytes
    with pytest.raises(DeviceRefused, match="already locked"):
        provision_device(device.port, record("SN9"))
    device.restart()  # and after a power cycle: still locked, still answering HELLO
    with pytest.raises(DeviceRefused, match=r"already locked \(serial 'SN0001'\)"):
        provision_device(device.port, record("SN9"))


def test_verifier_records_check_logins_without_storing_the_password(any_device: Device) -> None:
    device = any_device
    from credline.core.record import Record
    from credline.core.secret import Password

    rec = Record.with_verifier("SN7", "e98c6960947e8461", 0, Password(PASSWORD),
                               salt=bytes(16), iterations=2000)
    provision_device(device.port, rec)
    assert device.runtime(check_password=PASSWORD)["password"] == "match"
    assert PASSWORD.encode() not in device.flash.read_bytes()


def test_malformed_frames_get_typed_errors_and_change_nothing(any_device: Device) -> None:
    device = any_device
    provision_device(device.port, record(), lock=False)
    before = device.flash.read_bytes()
    with serial.serial_for_url(device.port, timeout=0.5) as port:
        good = Frame(5, HELLO, b"\x01").encode()
        wrong_crc = good[:-2] + bytes([good[-2] ^ 0xFF]) + good[-1:]
        port.write(wrong_crc)
        oversize = b"\xc0" + b"\x01\x06\x02" + bytes(600) + b"\xc0"
        port.write(oversize)
        truncated = b"\xc0\x01\x07\x02\xc0"
        port.write(truncated)
        bad_record = Frame(8, PUT, b"\x01\x00\x00garbage").encode()
        port.write(bad_record)
        time.sleep(0.5)
        replies = [f for f in Deframer().feed(port.read(4096)) if isinstance(f, Frame)]
    codes = [(f.seq, f.body[1]) for f in replies]
    assert (5, WireError.CRC) in codes and (6, WireError.TOO_BIG) in codes
    assert (8, WireError.INVALID) in codes
    assert not any(seq == 7 for seq, _ in codes)  # too short to carry a CRC: dropped silently
    assert device.flash.read_bytes() == before


def test_a_corrupted_byte_on_the_line_is_retried(device: VirtualDevice) -> None:
    device.restart(corrupt_byte=5)  # damages the device's first reply
    result = provision_device(device.port, record(), timeout=0.5)
    assert result.state is DeviceState.LOCKED


def test_silence_fails_clearly_within_the_timeout(device: VirtualDevice) -> None:
    device.restart(silent=True)
    start = time.monotonic()
    with pytest.raises(NoAnswer, match="did not answer") as info:
        provision_device(device.port, record(), timeout=0.3, retries=2)
    assert time.monotonic() - start < 3
    assert "check the cable" in str(info.value)
    assert device.runtime()["provisioned"] == "0"


def test_verify_detects_different_bytes(any_device: Device) -> None:
    device = any_device
    with HookLink(device.port) as link:
        link.put(record())
        with pytest.raises(VerifyFailed, match="different bytes"):
            link.verify(record(password="AAAABBBBCCCC"))


def test_unplugged_device_is_reported_not_hung(any_device: Device) -> None:
    device = any_device
    with HookLink(device.port, timeout=0.5, retries=1) as link:
        link.hello()
        device.unplug()
        with pytest.raises(NoAnswer):
            link.put(record())


def _writes_of_one_provisioning(tmp_path: Path) -> int:
    """How many flash writes a PUT plus LOCK takes (erase bytes count one each)."""
    return 2 * (4096 + 16 + len(record().encode()) + 4)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=12, deadline=None)
@given(fraction=st.floats(0.0, 1.0))
def test_power_cut_at_any_write_leaves_nothing_or_a_whole_record(
        tmp_path_factory: pytest.TempPathFactory, kind: str, fraction: float) -> None:
    """The C tests cut power at every byte; here, at sampled bytes, through the whole stack.
    The device tears the byte being written and stops: a power cut."""
    require(kind)
    tmp = tmp_path_factory.mktemp("cut")
    total = _writes_of_one_provisioning(tmp)
    cut = 1 + int(fraction * (total - 1))
    dev = make_device(kind, tmp / "flash.bin", "CUT1", power_cut_after_write=cut).start()
    try:
        with pytest.raises(NoAnswer):
            provision_device(dev.port, record(), timeout=0.4, retries=0)
    except BaseException:
        dev.stop()
        raise
    assert dev.power_cut(), "the injected power cut did not happen"
    view = dev.runtime(check_password=PASSWORD)
    assert view["provisioned"] in ("0", "1")
    if view["provisioned"] == "1":
        assert view["serial"] == "SN0001" and view["password"] == "match"
    dev.restart(power_cut_after_write=0)
    try:
        assert provision_device(dev.port, record()).state is DeviceState.LOCKED
    finally:
        dev.stop()


def test_cli_reports_a_missing_port_plainly(station_env: dict[str, Path]) -> None:
    result = provision_cli(station_env, "/dev/ttyNOPE")
    assert result.returncode == 2, result.stderr
    assert "--port /dev/ttyNOPE: no such port" in result.stderr
    assert not (station_env["root"] / "log.jsonl").exists()  # refused before the batch
    assert "Traceback" not in result.stderr


def test_provision_fails_a_foreign_locked_device_plainly(device: VirtualDevice,
                                                         station_env: dict[str, Path]) -> None:
    provision_device(device.port, record("OTHER-1"))  # locked by someone else, not this batch
    result = provision_cli(station_env, device.port)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "OTHER-1" in result.stdout and "Traceback" not in result.stderr
    assert "batch B1 not complete: 0 passed" in result.stderr
    with open_registry(f"sqlite:///{station_env['db']}", create=False) as reg:
        assert all(row.state is not LifeState.LOCKED for row in reg.devices("B1"))
    assert device.runtime()["serial"] == "OTHER-1"


@pytest.mark.parametrize("chunk", ["0", "65", "x"])
def test_the_virtual_device_refuses_a_write_size_it_cannot_model(tmp_path: Path,
                                                                 chunk: str) -> None:
    result = subprocess.run([str(BINARY), "--flash", str(tmp_path / "f.bin"), "--tx-chunk",
                             chunk], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and "--tx-chunk" in result.stderr
