"""``credline sim`` stops its virtual devices however it is stopped: Ctrl-C (SIGINT),
SIGTERM (kill, systemd) or SIGHUP (the terminal closed)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, credline_command, subprocess_env
from tests.processes import virtual_devices


def wait_gone(workdir: Path, seconds: float = 10.0) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while (left := virtual_devices(workdir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_sim_stops_its_devices_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    workdir = tmp_path / "line"
    sim = subprocess.Popen([*credline_command(), "sim", "--count", "3", "--workdir",
                            str(workdir)], env=subprocess_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        ports = [sim.stdout.readline().strip() for _ in range(3)]
        assert all(port.startswith("/dev/") for port in ports), ports
        assert len(virtual_devices(workdir)) == 3
        sim.send_signal(sig)
        assert sim.wait(timeout=15) == 0
        assert wait_gone(workdir) == {}
        assert not any(Path(port).exists() for port in ports)
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
        for pid in virtual_devices(workdir):  # never leave one behind, even on failure
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_sim_refuses_a_program_unit_no_flash_has(cli: Callable[..., CliResult]) -> None:
    result = cli("sim", "--count", "1", "--prog-size", "3")
    assert result.exit_code == 2 and "--prog-size" in result.output


def test_sim_starts_devices_with_a_program_unit(tmp_path: Path) -> None:
    workdir = tmp_path / "line"
    sim = subprocess.Popen([*credline_command(), "sim", "--count", "1", "--prog-size", "8",
                            "--workdir", str(workdir)], env=subprocess_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        port = sim.stdout.readline().strip()
        assert port.startswith("/dev/")
        assert any("--prog-size 8" in line for line in virtual_devices(workdir).values())
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=15) == 0
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
        for pid in virtual_devices(workdir):
            subprocess.run(["kill", "-9", str(pid)], check=False)
