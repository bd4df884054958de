"""``credline station run`` end to end in process, on real parts: virtual devices (the C hook
on ptys), a SQLite registry made by ``registry init``, an enrolled station and its signed log.
Options, screen output, labels, exit codes and messages."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credline.core.lifecycle import DeviceState
from credline.registry import open_registry
from credline.transport.virtual import VirtualDevice, build
from tests.conftest import CliResult

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory/profiles/demo-device.toml"
Cli = Callable[..., CliResult]


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[list[VirtualDevice]]:
    """Two virtual devices, one a port, left plugged in after they pass."""
    build()
    started = [VirtualDevice(tmp_path / f"flash{p}.bin", hwid=f"HW{p}") for p in range(2)]
    try:
        for device in started:
            device.start()
        yield started
    finally:
        for device in started:
            device.stop()


def run(cli: Cli, env: dict[str, Path], serials: list[str], ports: list[str],
        *extra: str) -> CliResult:
    root = env["root"]
    order = root / "order.txt"
    order.write_text("".join(s + "\n" for s in serials))
    port_args = [arg for port in ports for arg in ("--port", port)]
    return cli("station", "run", "--profile", str(PROFILE), "--key", str(env["key"]),
               "--batch", "B7", "--serials", str(order), *port_args,
               "--registry", f"sqlite:///{env['db']}", "--log", str(root / "log.jsonl"),
               "--station-key", str(root / "station.key"), "--labels", str(root / "labels"),
               "--plain", *extra)


def rows(env: dict[str, Path]) -> dict[str, DeviceState]:
    with open_registry(f"sqlite:///{env['db']}", create=False) as reg:
        return {d.serial: d.state for d in reg.devices("B7")}


def test_run_provisions_labels_and_reports(cli: Cli, station_env: dict[str, Path],
                                           devices: list[VirtualDevice]) -> None:
    ports = [d.port for d in devices]
    result = run(cli, station_env, ["D1", "D2"], ports)
    assert result.exit_code == 0, result.output
    assert f"{ports[0]} PASS D" in result.output and f"{ports[1]} PASS D" in result.output
    assert "2 passed, 0 failed" in result.output and "batch closed" in result.output
    labels = station_env["root"] / "labels"
    files = sorted(p.name for p in labels.iterdir())
    assert files == ["B7-labels.pdf", "D1.zpl", "D2.zpl"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in labels.iterdir())
    assert rows(station_env) == {"D1": DeviceState.LOCKED, "D2": DeviceState.LOCKED}
    assert {d.runtime()["serial"] for d in devices} == {"D1", "D2"}


def test_unfinished_run_exits_1_and_says_how_to_carry_on(
        cli: Cli, station_env: dict[str, Path], devices: list[VirtualDevice]) -> None:
    good, bad = devices
    bad.restart(power_cut_after_write=50)  # dies in the middle of writing its record
    result = run(cli, station_env, ["E1", "E2", "E3"], [good.port, bad.port],
                 "--idle-exit", "0.5")
    assert ("credline: error: batch B7 not complete: 1 passed, 1 failed (see above); run "
            "the same command to carry on") in result.stderr, result.output
    assert result.exit_code == 1
    # The device that lost power mid-write keeps its serial (written, bound to it) for a
    # resume on the same device; the good one is locked.
    assert sorted(rows(station_env).values()) == sorted([DeviceState.LOCKED,
                                                         DeviceState.WRITTEN])
