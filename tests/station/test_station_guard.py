"""Who may write, and what work there is: `credline station run` works only on a registry made
by `credline registry init`, only as a station enrolled there, and only with serials to give.
Every refusal is exit 2 with the command to run, before anything is written: no registry file
or table, no batch row, no log, no label folder, no device touched. Real SQLite, real
PostgreSQL, real virtual devices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from credline.core.errors import BadInput
from credline.keystore import keyfile
from credline.registry import open_registry
from credline.station.identity import check_enrolled, enroll, load_station_key
from credline.transport.virtual import VirtualDevice, build
from tests.conftest import FAST_SCRYPT, PASSPHRASE, TEST_KEY, CliResult
from tests.registry.conftest import postgres_schema_url

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory" / "profiles" / "demo-device.toml"
Cli = Callable[..., CliResult]


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


@dataclass
class Site:
    root: Path
    key: Path  # the master key
    station_key: Path  # enrolled as st1 in `url`
    url: str  # an initialised registry
    device: VirtualDevice

    def run(self, cli: Cli, url: str, *, order: str = "SG-1\n",
            station_key: Path | None = None, profile: Path = PROFILE,
            labels: Path | None = None) -> CliResult:
        work_order = self.root / "order.txt"
        work_order.write_text(order)
        return cli("station", "run", "--profile", str(profile), "--key", str(self.key),
                   "--batch", "BG", "--serials", str(work_order), "--registry", url,
                   "--log", str(self.root / "p.jsonl"), "--station-key",
                   str(station_key or self.station_key), "--labels",
                   str(labels or self.root / "labels"),
                   "--plain", "--idle-exit", "2", "--port", self.device.port)

    def assert_nothing_written(self) -> None:
        assert not (self.root / "p.jsonl").exists(), "a log was written"
        assert not (self.root / "labels").exists(), "a label folder was made"
        assert self.device.runtime()["provisioned"] == "0", "the device was touched"
        with open_registry(self.url, create=False) as reg:
            assert reg.batch("BG") is None


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    key = tmp_path / "master.key"
    keyfile.create(key, TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    with open_registry(url) as reg:
        enroll(tmp_path / "st1.key", "st1", PASSPHRASE, reg, params=FAST_SCRYPT)
    device = VirtualDevice(tmp_path / "flash.bin", hwid="GUARD").start()
    try:
        yield Site(tmp_path, key, tmp_path / "st1.key", url, device)
    finally:
        device.stop()


def test_an_initialised_registry_and_an_enrolled_station_run(cli: Cli, site: Site) -> None:
    """The control for every refusal below: the same command on the right registry works."""
    result = site.run(cli, site.url)
    assert result.exit_code == 0, result.output
    assert site.device.runtime()["serial"] == "SG-1"


@pytest.mark.parametrize("make", ["missing", "empty-file"])
def test_a_sqlite_registry_nobody_initialised_is_refused(cli: Cli, site: Site,
                                                        make: str) -> None:
    typo = site.root / "typo.db"
    if make == "empty-file":
        typo.touch()
    url = f"sqlite:///{typo}"
    result = site.run(cli, url)
    assert result.exit_code == 2, result.output
    assert f"'credline registry init {url}'" in result.stderr
    assert "Traceback" not in result.output
    if make == "missing":
        assert not typo.exists(), "the typo became a database file"
    else:
        assert "not a credline registry" in result.stderr and typo.stat().st_size == 0
    site.assert_nothing_written()


def test_a_postgres_database_without_credline_tables_is_refused(cli: Cli, site: Site) -> None:
    for url in postgres_schema_url():  # a fresh, empty schema: someone else's database
        result = site.run(cli, url)
        assert result.exit_code == 2, result.output
        assert "is not a credline registry" in result.stderr
        assert "credline registry init postgresql" in result.stderr
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert inspect(conn).get_table_names() == [], "tables were created"
        finally:
            engine.dispose()
    site.assert_nothing_written()


def test_a_station_enrolled_only_in_another_registry_is_refused(cli: Cli, site: Site) -> None:
    other = f"sqlite:///{site.root / 'other.db'}"
    assert cli("registry", "init", other).exit_code == 0
    result = site.run(cli, other)
    assert result.exit_code == 2, result.output
    assert "station 'st1' is not enrolled in registry" in result.stderr
    assert f"credline station enroll --out NEW.key --station-id st1 --registry {other}" in (
        result.stderr)
    with open_registry(other, create=False) as reg:
        assert reg.station_keys() == {}, "the station was enrolled silently"
        assert reg.batch("BG") is None
    site.assert_nothing_written()


def test_a_missing_station_key_names_the_enrol_command(cli: Cli, site: Site) -> None:
    result = site.run(cli, site.url, station_key=site.root / "nope.key")
    assert result.exit_code == 2, result.output
    assert "credline station enroll --out" in result.stderr and "nope.key" in result.stderr
    site.assert_nothing_written()


def test_check_enrolled_refuses_an_unknown_station(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_registry(url) as reg:
        enroll(tmp_path / "k", "st9", PASSPHRASE, params=FAST_SCRYPT)  # enrolled nowhere
        station_id, key = load_station_key(tmp_path / "k", PASSPHRASE)
        with pytest.raises(BadInput, match="'st9' is not enrolled"):
            check_enrolled(reg, station_id, key)
        assert reg.station_keys() == {}


@pytest.mark.parametrize("order", ["", "\n\n\n", "serial\n"],
                         ids=["empty", "blank-lines", "csv-header-only"])
def test_an_empty_work_order_is_refused(cli: Cli, site: Site, order: str) -> None:
    result = site.run(cli, site.url, order=order)
    assert result.exit_code == 2, result.output
    assert "order.txt: the work order holds no serials" in result.stderr
    assert "batch closed" not in result.output
    site.assert_nothing_written()
