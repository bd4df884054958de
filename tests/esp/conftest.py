"""ESP32 ROM loader doubles for the esp transport's tests (threads of the test process, so
a station killed with SIGKILL in a subprocess leaves them running, as boards on a jig)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.transport.esp_double import EspDouble

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory/profiles/demo-esp.toml"
OFFSET, SIZE = 0x10000, 0x6000


@pytest.fixture
def doubles(tmp_path: Path) -> Iterator[list[EspDouble]]:
    """Three doubles, blank flash, MACs 02:00:00:00:00:0N."""
    made: list[EspDouble] = []
    try:
        for i in range(3):
            made.append(EspDouble(tmp_path / f"esp{i}.flash", f"02:00:00:00:00:{i:02x}").start())
        yield made
    finally:
        for double in made:
            double.stop()
