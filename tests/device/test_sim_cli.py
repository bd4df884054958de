"""``credline sim`` stops its virtual devices however it is stopped: Ctrl-C (SIGINT),
SIGTERM (kill, systemd) or SIGHUP (the terminal closed)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.transport.ports import glob_ports
from tests.conftest import CliResult, credline_command, subprocess_env
from tests.processes import virtual_devices

Cli = Callable[..., CliResult]


def wait_gone(workdir: Path, seconds: float = 10.0) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while (left := virtual_devices(workdir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_sim_stops_its_devices_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    workdir = tmp_path / "line"
    workdir.mkdir()
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


def test_sim_refuses_a_workdir_that_does_not_exist(cli: Cli, tmp_path: Path) -> None:
    result = cli("sim", "--count", "1", "--workdir", str(tmp_path / "nosuch"))
    assert result.exit_code == 2, result.output
    assert "nosuch" in result.output and "does not exist" in result.output
    assert not (tmp_path / "nosuch").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sim_links_its_ports_and_removes_links_and_temporary_flash_on_a_signal(
        tmp_path: Path, sig: signal.Signals) -> None:
    temp, links = tmp_path / "tmp", tmp_path / "ports"
    temp.mkdir()
    sim = subprocess.Popen([*credline_command(), "sim", "--count", "2", "--links", str(links)],
                           env=subprocess_env(TMPDIR=str(temp)), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        ports = [sim.stdout.readline().strip() for _ in range(2)]
        assert sorted(os.readlink(p) for p in links.iterdir()) == sorted(ports)
        assert glob_ports([f"{links}/*"]) == {str(links / "vdev-00"), str(links / "vdev-01")}
        (flash_dir,) = temp.iterdir()  # the temporary folder with the flash files
        assert any(flash_dir.glob("*.flash"))
        sim.send_signal(sig)
        assert sim.wait(timeout=15) == 0
        assert wait_gone(temp) == {}
        assert not links.exists(), "the links (and the folder sim made) are removed"
        assert not any(temp.iterdir()), "flash files hold passwords: the folder must go"
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
        for pid in virtual_devices(temp):
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_sim_refuses_links_it_cannot_make_before_any_device_starts(cli: Cli, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where sim's flash folder goes
    result = cli("sim", "--count", "1", "--links", str(tmp_path / "no" / "such"))
    assert result.exit_code == 2, result.output
    assert "--links" in result.stderr and "parent folder does not exist" in result.stderr
    assert virtual_devices(tmp_path) == {}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("credline-sim-")]


def test_sim_starts_emulated_boards_that_answer_and_stop_with_it(tmp_path: Path) -> None:
    from credline.core.protocol import DeviceState
    from credline.transport.serial_hook import HookLink
    from tests.boards import require

    require("qemu")
    workdir = tmp_path / "boards"
    workdir.mkdir()
    sim = subprocess.Popen([*credline_command(), "sim", "--kind", "qemu", "--count", "2",
                            "--workdir", str(workdir)], env=subprocess_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        ports = [sim.stdout.readline().strip() for _ in range(2)]
        assert all(port.startswith("/dev/") for port in ports), ports
        hellos = []
        for port in ports:
            with HookLink(port) as link:
                hellos.append(link.hello())
        assert [(h.state, h.hardware_id) for h in hellos] == [
            (DeviceState.EMPTY, "QEMU0000"), (DeviceState.EMPTY, "QEMU0001")]
        assert len(virtual_devices(workdir)) == 2
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=15) == 0
        assert wait_gone(workdir) == {}
        assert sorted(p.name for p in workdir.iterdir()) == ["board-00.flash", "board-01.flash"]
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
        for pid in virtual_devices(workdir):
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_sim_refuses_a_baud_rate_for_emulated_boards(cli: Callable[..., CliResult],
                                                     tmp_path: Path) -> None:
    result = cli("sim", "--kind", "qemu", "--baud", "9600", "--workdir", str(tmp_path))
    assert result.exit_code == 2
    assert "--baud 9600: only virtual devices throttle their line" in result.stderr
    assert virtual_devices(tmp_path) == {}


def test_sim_refuses_a_program_unit_no_flash_has(cli: Callable[..., CliResult]) -> None:
    result = cli("sim", "--count", "1", "--prog-size", "3")
    assert result.exit_code == 2 and "--prog-size" in result.output


def test_sim_starts_devices_with_a_program_unit(tmp_path: Path) -> None:
    workdir = tmp_path / "line"
    workdir.mkdir()
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
