"""Virtual devices for the device tests: the real C hook behind real pseudo-terminals.

Pass ``--port /dev/ttyUSB0`` to pytest to run the end-to-end test on a real board as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.core.record import Record
from credline.core.secret import Password
from credline.transport.virtual import VirtualDevice, build
from tests.boards import KINDS, Device, make_device, require

KEY_ID = "e98c6960947e8461"
PASSWORD = "WW4V6P8BPYR2"


@pytest.fixture(scope="session", autouse=True)
def _built() -> None:
    build()


@pytest.fixture
def device(tmp_path: Path) -> Iterator[VirtualDevice]:
    dev = VirtualDevice(tmp_path / "flash.bin", hwid="VDEV0001").start()
    yield dev
    dev.stop()


@pytest.fixture(params=KINDS)
def any_device(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Device]:
    """A virtual device, then (in a second run of the test) an emulated Cortex-M3 board."""
    require(request.param)
    dev = make_device(request.param, tmp_path / "flash.bin", hwid="HW0001").start()
    yield dev
    dev.stop()


def record(serial: str = "SN0001", password: str = PASSWORD, generation: int = 0) -> Record:
    return Record(serial, KEY_ID, generation, password=Password(password))
