"""``credline sim --kind esp``: ROM loader doubles a person (and esptool) can talk to."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from credline.image.nvs import read_credential
from tests.conftest import CliResult, credline_command, subprocess_env

Cli = Callable[..., CliResult]


def test_sim_esp_doubles_answer_the_esptool_command_line(tmp_path: Path) -> None:
    workdir = tmp_path / "esp-line"
    workdir.mkdir()
    sim = subprocess.Popen([*credline_command(), "sim", "--kind", "esp", "--count", "2",
                            "--workdir", str(workdir)], env=subprocess_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        ports = [sim.stdout.readline().strip() for _ in range(2)]
        assert all(port.startswith("/dev/") for port in ports), ports
        flash = workdir / "esp-01.flash"
        data = bytearray(flash.read_bytes())
        data[0x10000:0x10004] = b"CRED"
        flash.write_bytes(bytes(data))  # what the double holds is what esptool reads
        read = subprocess.run([sys.executable, "-m", "esptool", "--port", ports[1],
                               "--before", "no-reset", "--after", "no-reset", "--no-stub",
                               "read-flash", "0x10000", "64", str(tmp_path / "out.bin")],
                              capture_output=True, text=True, timeout=120, check=False)
        assert read.returncode == 0, read.stdout + read.stderr
        assert (tmp_path / "out.bin").read_bytes() == b"CRED" + b"\xff" * 60
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=15) == 0
        assert not any(Path(port).exists() for port in ports)
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()


def test_sim_esp_refuses_a_baud(cli: Cli) -> None:
    result = cli("sim", "--kind", "esp", "--baud", "9600")
    assert result.exit_code == 2 and "only virtual devices throttle" in result.stderr


def test_demo_kind_esp_provisions_doubles_and_verifies_the_log(cli: Cli,
                                                               tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = cli("demo", "--kind", "esp", "--count", "2", "--workdir", str(workdir), "--plain")
    assert result.exit_code == 0, result.output
    assert "DEMO batch: 2 of 2 devices provisioned, 0 failed" in result.stdout
    for flash in sorted((workdir / "devices").glob("esp-*.flash")):
        stored = read_credential(flash.read_bytes()[0x10000:0x11000])
        assert stored is not None and stored.serial.startswith("DEMO-")
