"""An enrolled station on either registry backend, for the recorded image batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.keystore import keyfile
from credline.registry import open_registry
from credline.station.identity import enroll
from tests.conftest import FAST_SCRYPT, PASSPHRASE, TEST_KEY
from tests.registry.conftest import postgres_schema_url


@pytest.fixture(params=["sqlite", "postgres"])
def image_env(request: pytest.FixtureRequest, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path | str]]:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    key = tmp_path / "master.key"
    keyfile.create(key, TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    urls = (iter([f"sqlite:///{tmp_path / 'registry.db'}"]) if request.param == "sqlite"
            else postgres_schema_url())
    for url in urls:
        with open_registry(url) as reg:
            enroll(tmp_path / "station.key", "st1", PASSPHRASE, reg, params=FAST_SCRYPT)
        yield {"key": key, "root": tmp_path, "url": url}
