"""Emulated boards whose flash programs in words (STM32 half-words, 64-bit ECC words, ...):
the board's flash model refuses a second program of a word before its erase, as the part
would (firmware-hooks/targets/qemu-mps2-an385/flash.c)."""

from __future__ import annotations

from pathlib import Path

import pytest

from credline.core.protocol import DeviceState
from credline.transport.qemu import QemuBoard
from credline.transport.serial_hook import HookLink
from tests.boards import require
from tests.device.conftest import PASSWORD, record
from tests.device.exchange import provision_device


@pytest.mark.parametrize("unit", [1, 2, 8, 32])
def test_a_board_of_any_program_unit_provisions_and_reads_back(tmp_path: Path,
                                                               unit: int) -> None:
    require("qemu")
    board = QemuBoard(tmp_path / "flash.bin", hwid=f"UNIT{unit}", prog_size=unit).start()
    try:
        assert provision_device(board.port, record()).state is DeviceState.LOCKED
        board.restart()
        with HookLink(board.port) as link:
            assert link.hello().state is DeviceState.LOCKED
    finally:
        board.stop()
    assert board.runtime(check_password=PASSWORD)["password"] == "match"
