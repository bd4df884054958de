"""Fixtures of the station tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.keystore import keyfile
from credline.registry import open_registry
from credline.station.identity import enroll
from tests.conftest import FAST_SCRYPT, PASSPHRASE, TEST_KEY


@pytest.fixture
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    key = tmp_path / "master.key"
    keyfile.create(key, TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(url) as reg:
        enroll(tmp_path / "station.key", "st1", PASSPHRASE, reg, params=FAST_SCRYPT)
    yield {"key": key, "db": tmp_path / "registry.db", "root": tmp_path}
