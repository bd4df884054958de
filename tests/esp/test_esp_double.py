"""The ROM loader double answers esptool's own code: its command line reads and writes the
double's flash (the bytes checked in the flash file), and its faults look like the real ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from credline.transport.esp_double import EspDouble, Flash
from tests.esp.conftest import OFFSET


def esptool(port: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "esptool", "--port", port, "--before",
                           "no-reset", "--after", "no-reset", "--no-stub", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_esptool_command_line_writes_and_reads_the_doubles_flash(
        tmp_path: Path, doubles: list[EspDouble]) -> None:
    image = os.urandom(9000)
    (tmp_path / "in.bin").write_bytes(image)
    wrote = esptool(doubles[0].port, "write-flash", hex(OFFSET), str(tmp_path / "in.bin"))
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    assert "Hash of data verified" in wrote.stdout
    flash = doubles[0].flash_path.read_bytes()
    assert flash[OFFSET:OFFSET + len(image)] == image
    assert flash[OFFSET + len(image):OFFSET + 12288] == b"\xff" * (12288 - len(image))
    read = esptool(doubles[0].port, "read-flash", hex(OFFSET), "9000", str(tmp_path / "out.bin"))
    assert read.returncode == 0, read.stdout + read.stderr
    assert (tmp_path / "out.bin").read_bytes() == image
    mac = esptool(doubles[1].port, "read-mac")
    assert "02:00:00:00:00:01" in mac.stdout and "ESP32" in mac.stdout


def test_flash_programming_only_clears_bits(tmp_path: Path) -> None:
    flash = Flash(tmp_path / "f.bin", size=8192)
    flash.program(10, b"\x0f\xf0")
    flash.program(10, b"\xf0\xff")
    assert flash.read(10, 2) == b"\x00\xf0"
    flash.erase(100, 1)
    assert flash.read(0, 4096) == b"\xff" * 4096
    flash.close()


def test_a_double_answering_garbage_fails_esptool(tmp_path: Path) -> None:
    double = EspDouble(tmp_path / "g.flash", "02:00:00:00:00:99", garbage=True).start()
    try:
        result = esptool(double.port, "--connect-attempts", "1", "read-mac")
        assert result.returncode != 0
    finally:
        double.stop()


def test_over_a_socket_url_esptool_resets_and_reads_the_flash(tmp_path: Path) -> None:
    double = EspDouble(tmp_path / "s.flash", "02:00:00:00:00:42", loopback=True).start()
    try:
        data = bytearray(double.flash_path.read_bytes())
        data[OFFSET:OFFSET + 3] = b"abc"
        double.flash_path.write_bytes(bytes(data))
        result = subprocess.run([sys.executable, "-m", "esptool", "--port", double.port,
                                 "--no-stub", "read-flash", hex(OFFSET), "16",
                                 str(tmp_path / "o.bin")],  # default reset, hard reset after
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "o.bin").read_bytes() == b"abc" + b"\xff" * 13
        assert "Hard resetting" in result.stdout
    finally:
        double.stop()
