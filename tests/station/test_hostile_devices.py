"""Hostile devices beside a good one, through ``credline station run``: each kind of bad reply
of issue 12, on a scripted pty device, fails that device alone; the good device (the real C
hook on a virtual device) on the next port is locked; nothing a device sends reaches the
screen, the log or a label file as terminal control."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.framing import Frame
from credline.core.protocol import HELLO, LOCK, PUT, DeviceState
from credline.provenance import verify_log
from credline.registry import open_registry
from credline.transport.virtual import VirtualDevice, build
from tests.device.ptydevice import PtyDevice, Script, ok
from tests.station.test_station_e2e import _station_command, _station_env, _work_order

SERIALS = ("H-001", "H-002")
ESCAPES = b"\x1b[32mPASS\x1b[0m"
FORGED = b"\x1b[32mPASS\x1b[0m\r\n10:00:00 /dev/ttyUSB9 PASS H-FORGED"


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


def answering(cmd: int, make: Callable[[Frame], bytes]) -> Script:
    """Honest, except that ``cmd`` is answered with ``make(request)``."""
    def script(request: Frame, honest: Frame) -> bytes:
        return make(request) if request.cmd == cmd else honest.encode()
    return script


def every_reply_in_version_9(request: Frame, honest: Frame) -> bytes:
    return Frame(honest.seq, honest.cmd, honest.body, version=9).encode()


# name: (the hostile device, what its FAIL line says, the state its serial may end in)
HOSTILE: dict[str, tuple[Callable[[], PtyDevice], str, str | None]] = {
    "hello-hwid-20-of-2": (lambda: PtyDevice(script=answering(
        HELLO, lambda r: ok(r, bytes([1, 1, 1, 0, 20]) + b"AB"))),
        "hardware id of 20 bytes", None),
    "hello-hwid-250-of-3": (lambda: PtyDevice(script=answering(
        HELLO, lambda r: ok(r, bytes([1, 1, 1, 0, 250]) + b"ABC"))),
        "hardware id of 250 bytes", None),
    "put-ok-empty": (lambda: PtyDevice(script=answering(PUT, lambda r: ok(r, b""))),
                     "answered PUT with 0 bytes", "failed"),
    "put-ok-state-9": (lambda: PtyDevice(script=answering(PUT, lambda r: ok(r, b"\x09"))),
                       "answered PUT with state 9", "failed"),
    "lock-ok-empty": (lambda: PtyDevice(script=answering(LOCK, lambda r: ok(r, b""))),
                      "answered LOCK with 0 bytes", "failed"),
    "lock-ok-state-9": (lambda: PtyDevice(script=answering(LOCK, lambda r: ok(r, b"\x09"))),
                        "answered LOCK with state 9", "failed"),
    "reply-version-9": (lambda: PtyDevice(script=every_reply_in_version_9),
                        "answered in protocol version 9", None),
    "forged-serial": (lambda: PtyDevice(hwid=b"FORGER", serial=FORGED,
                                        state=DeviceState.LOCKED),
                      "already locked with serial \\x1b[32mPASS\\x1b[0m\\x0d\\x0a10:00:00",
                      None),
    "escapes-in-hwid": (lambda: PtyDevice(hwid=ESCAPES), "", "locked"),
}


def run_station(env: dict[str, Path], ports: list[str]) -> subprocess.CompletedProcess[bytes]:
    order = _work_order(env["root"], "".join(s + "\n" for s in SERIALS))
    return subprocess.run(_station_command(env, ports, order), env=_station_env(),
                          capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_device_fails_alone_and_the_good_one_is_locked(
        station_env: dict[str, Path], kind: str) -> None:
    make, fragment, hostile_end = HOSTILE[kind]
    root = station_env["root"]
    good = VirtualDevice(root / "good.bin", hwid="GOOD").start()
    try:
        with make() as hostile:
            result = run_station(station_env, [hostile.port, good.port])
        view = good.runtime()
    finally:
        good.stop()
    raw = result.stdout + result.stderr
    out = raw.decode("utf-8", "replace")
    assert result.returncode in (0, 1), out
    assert "internal error" not in out and "Traceback" not in out
    assert b"\x1b" not in raw and b"\r" not in raw, out  # no device paints this screen
    if fragment:
        fails = [line for line in out.splitlines() if f"{hostile.port} FAIL" in line]
        assert fails and fragment in fails[0], out
    assert view["provisioned"] == view["locked"] == "1" and view["serial"] in SERIALS
    with open_registry(f"sqlite:///{station_env['db']}") as reg:
        assert verify_log(root / "provenance.jsonl", reg).ok
        rows = {d.serial: d.state for d in reg.devices("BK")}
    assert rows.pop(view["serial"]) == "locked"
    assert list(rows.values()) == ([] if hostile_end is None else [hostile_end]), rows
    for path in [root / "provenance.jsonl", *(root / "labels").glob("*.zpl")]:
        assert b"\x1b" not in path.read_bytes(), path


def test_a_hardware_id_with_escapes_is_logged_escaped(station_env: dict[str, Path]) -> None:
    root = station_env["root"]
    good = VirtualDevice(root / "good.bin", hwid="GOOD").start()
    try:
        with PtyDevice(hwid=ESCAPES) as hostile:
            result = run_station(station_env, [hostile.port, good.port])
    finally:
        good.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    entries = [json.loads(line) for line in (root / "provenance.jsonl").read_text().splitlines()]
    hwids = {e["fields"]["hardware_id"] for e in entries if e["event"] == "device.reserved"}
    assert hwids == {"GOOD", "\\x1b[32mPASS\\x1b[0m"}
