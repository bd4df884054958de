"""``credline station run`` end to end in process, with the transport swapped for in-memory
devices and the real ledger on a scratch registry: options, screen output, labels, exit
codes and messages."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credline.core.lifecycle import DeviceState
from credline.station import assembly
from tests.conftest import CliResult
from tests.station.fakes import Bench, FakeDevice, Ledgers, World

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory/profiles/demo-device.toml"
Cli = Callable[..., CliResult]


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Iterator[tuple[Bench, Ledgers]]:
    world = World()
    bench = Bench(world, {f"fake{p}": [FakeDevice(f"hw{p}{i}", world) for i in range(2)]
                          for p in range(2)})
    ledgers = Ledgers(tmp_path / "registry", world, batch="B7", product="demo-device")
    monkeypatch.setattr(assembly, "open_ledger",
                        lambda profile, key_id, *a, **k: ledgers.new(key_id))
    monkeypatch.setattr(assembly, "connector", lambda profile, **_: bench.connect)
    yield bench, ledgers
    ledgers.close()


def run(cli: Cli, key_file: Path, tmp_path: Path, serials: list[str], *extra: str) -> CliResult:
    order = tmp_path / "order.txt"
    order.write_text("".join(s + "\n" for s in serials))
    return cli("station", "run", "--profile", str(PROFILE), "--key", str(key_file),
               "--batch", "B7", "--serials", str(order), "--port", "fake0", "--port", "fake1",
               "--labels", str(tmp_path / "labels"), "--plain", *extra)


def test_run_provisions_labels_and_reports(cli: Cli, key_file: Path, tmp_path: Path,
                                           bench: tuple[Bench, Ledgers]) -> None:
    board, ledger = bench
    board.takes_devices_off = False
    for line in board.lines.values():
        line.pop()  # one device a port
    result = run(cli, key_file, tmp_path, ["D1", "D2"])
    assert result.exit_code == 0, result.output
    assert "fake0 PASS D" in result.output and "fake1 PASS D" in result.output
    assert "2 passed, 0 failed" in result.output and "batch closed" in result.output
    labels = tmp_path / "labels"
    files = sorted(p.name for p in labels.iterdir())
    assert files == ["B7-labels.pdf", "D1.zpl", "D2.zpl"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in labels.iterdir())
    assert ledger.closed


def test_unfinished_run_exits_1_and_says_how_to_carry_on(
        cli: Cli, key_file: Path, tmp_path: Path, bench: tuple[Bench, Ledgers]) -> None:
    board, ledger = bench
    board.takes_devices_off = False
    board.lines["fake1"][0].fault = "garbage"
    result = run(cli, key_file, tmp_path, ["E1", "E2", "E3"], "--idle-exit", "0.5")
    assert ("credline: error: batch B7 not complete: 1 passed, 1 failed (see above); run "
            "the same command to carry on") in result.stderr
    assert result.exit_code == 1
    assert not ledger.closed and sorted(ledger.rows()) == ["E1"]
    assert ledger.rows()["E1"].state is DeviceState.LOCKED
