"""`credline station enroll`: only into a registry made by `credline registry init`, never over
an existing key file, and the key file first, so that no enrolled public key is left without
the file holding its private half."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from credline.registry import open_registry
from credline.station.identity import load_station_key
from tests.conftest import PASSPHRASE, CliResult
from tests.registry.conftest import postgres_schema_url

Cli = Callable[..., CliResult]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised SQLite registry; the station passphrase in the environment."""
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    with open_registry(url):
        pass
    return url


def enroll(cli: Cli, out: Path, url: str, station_id: str = "st1") -> CliResult:
    return cli("station", "enroll", "--out", str(out), "--station-id", station_id,
               "--registry", url)


def stations(url: str) -> dict[str, bytes]:
    with open_registry(url, create=False) as reg:
        return reg.station_keys()


def test_enroll_writes_a_key_the_registry_knows(cli: Cli, url: str, tmp_path: Path) -> None:
    result = enroll(cli, tmp_path / "st1.key", url)
    assert result.exit_code == 0, result.output
    station_id, key = load_station_key(tmp_path / "st1.key", PASSPHRASE)
    from credline.provenance import public_bytes

    assert station_id == "st1" and stations(url) == {"st1": public_bytes(key)}


def test_enroll_refuses_a_sqlite_registry_nobody_initialised(cli: Cli, url: str,
                                                            tmp_path: Path) -> None:
    typo = tmp_path / "factroy.db"
    result = enroll(cli, tmp_path / "st1.key", f"sqlite:///{typo}")
    assert result.exit_code == 2, result.output
    assert f"'credline registry init sqlite:///{typo}'" in result.stderr
    assert not typo.exists() and not (tmp_path / "st1.key").exists()


@pytest.fixture
def empty_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    yield from postgres_schema_url()


def test_enroll_refuses_a_postgres_database_without_credline_tables(
        cli: Cli, empty_postgres: str, tmp_path: Path) -> None:
    result = enroll(cli, tmp_path / "st1.key", empty_postgres)
    assert result.exit_code == 2, result.output
    assert "is not a credline registry" in result.stderr
    assert not (tmp_path / "st1.key").exists()
    engine = create_engine(empty_postgres)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_enroll_refuses_an_existing_out_before_anything(cli: Cli, url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "st1.key"
    out.write_text("another station's key")
    # No passphrase anywhere: a refusal that came after the prompt would say so instead.
    monkeypatch.delenv("CREDLINE_STATION_PASSPHRASE")
    monkeypatch.delenv("CREDLINE_PASSPHRASE", raising=False)
    result = enroll(cli, out, url)
    assert result.exit_code == 2, result.output
    assert f"{out}: already exists; refusing to overwrite a key file" in result.stderr
    assert out.read_text() == "another station's key"
    assert stations(url) == {}


def test_enroll_writes_the_key_file_before_registering(cli: Cli, url: str,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "st1.key"  # the key file cannot be written
    result = enroll(cli, out, url)
    assert result.exit_code == 2, result.output
    assert "cannot create key file" in result.stderr
    assert stations(url) == {}, "a public key was enrolled with no key file behind it"


def test_enroll_removes_its_key_file_when_registering_fails(cli: Cli, url: str,
                                                           tmp_path: Path) -> None:
    assert enroll(cli, tmp_path / "first.key", url).exit_code == 0
    before = stations(url)
    again = enroll(cli, tmp_path / "second.key", url)  # st1 is taken by first.key's key
    assert again.exit_code == 2, again.output
    assert "'st1' is already enrolled with another key" in again.stderr
    assert not (tmp_path / "second.key").exists(), "a key file for no enrolled key was left"
    assert stations(url) == before
