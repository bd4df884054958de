"""``credline station run`` against 8 boards at once, of each kind: virtual devices, and the
hook cross-built for a Cortex-M3 on emulated mps2-an385 boards (tests/boards.py). Then a
second run, for another batch, finds every board locked and is told so, board by board."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from credline.registry import open_registry
from tests.boards import KINDS, Device, make_device, require
from tests.conftest import PASSPHRASE, credline_command, subprocess_env
from tests.station.test_station_e2e import PROFILE, check_batch

BOARDS = 8


def station_run(env: dict[str, Path], batch: str, serials: list[str],
                ports: list[str]) -> subprocess.CompletedProcess[str]:
    root = env["root"]
    order = root / f"{batch}.txt"
    order.write_text("\n".join(serials) + "\n")
    command = [*credline_command(), "station", "run", "--profile", str(PROFILE), "--key",
               str(env["key"]), "--batch", batch, "--serials", str(order), "--registry",
               f"sqlite:///{env['db']}", "--log", str(root / "provenance.jsonl"),
               "--station-key", str(root / "station.key"), "--labels", str(root / "labels"),
               "--plain", "--idle-exit", "2"]
    for port in ports:
        command += ["--port", port]
    return subprocess.run(command, env=subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE,
                                                      CREDLINE_STATION_PASSPHRASE=PASSPHRASE),
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize("kind", KINDS)
def test_station_run_provisions_8_boards_and_a_second_run_is_told_they_are_locked(
        station_env: dict[str, Path], kind: str) -> None:
    require(kind)
    root = station_env["root"]
    boards: list[Device] = [make_device(kind, root / f"board{i}.flash", f"B8-{i}")
                            for i in range(BOARDS)]
    serials = [f"Q-{i:03d}" for i in range(BOARDS)]
    try:
        for board in boards:
            board.start()
        ports = [board.port for board in boards]
        first = station_run(station_env, "B8", serials, ports)
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.count(" PASS ") == BOARDS, first.stdout
        for board in boards:  # power cycle: each board reads its credential back from flash
            board.restart()
        check_batch(station_env, boards, serials, "B8")  # type: ignore[arg-type]
        again = station_run(station_env, "B9", [f"R-{i:03d}" for i in range(BOARDS)],
                            [board.port for board in boards])
        out = again.stdout + again.stderr
        assert again.returncode == 1, out
        for serial in serials:
            assert f"already locked with serial {serial}" in out, out
        assert "Traceback" not in out
        with open_registry(f"sqlite:///{station_env['db']}") as reg:
            assert reg.devices("B9") == []  # nothing reserved for boards that were locked
    finally:
        for board in boards:
            board.stop()
    for board in boards:
        assert board.runtime()["locked"] == "1"
