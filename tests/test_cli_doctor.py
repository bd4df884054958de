"""`credline doctor` and the sweep at the start of `derive --out`: the temporaries a killed run
left (they hold passwords) are removed and named; nothing else is touched."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
SECRET = "serial,password\nSN1,WW4V6P8BPYR2\n"


def plant(path: Path) -> Path:
    """What a killed credline leaves: an owner-only temporary sibling with passwords in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


def test_doctor_lists_then_removes_stale_temporaries(cli: Cli, tmp_path: Path) -> None:
    stale = [plant(tmp_path / "labels" / "B1" / ".SN1.zpl.abcdefgh.tmp"),
             plant(tmp_path / "out" / ".batch.csv.0_zz91kq.tmp")]
    keep = [plant(tmp_path / "labels" / "B1" / "SN1.zpl"),
            plant(tmp_path / "out" / ".batch.csv.tmp"), plant(tmp_path / "notes.txt")]
    held = plant(tmp_path / "out" / ".other.csv.abcdefgh.tmp")
    with held.open() as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a run writing it right now
        dry = cli("doctor", str(tmp_path), "--dry-run")
        assert dry.exit_code == 0, dry.output
        for path in stale:
            assert f"would remove {path}\n" in dry.stdout and path.exists()
        assert f"left {held}: in use by a running writer" in dry.stdout
        assert "would remove 2 stale temporary file(s)" in dry.stderr
        done = cli("doctor", str(tmp_path / "labels"), str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert all(f"removed {path}\n" in done.stdout for path in stale)
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in [*keep, held])
    again = cli("doctor", str(tmp_path))
    assert again.exit_code == 0 and "removed 1 stale temporary file(s)" in again.stderr
    assert not held.exists()  # its writer is gone now


def test_doctor_defaults_to_the_current_folder(cli: Cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    temp = plant(tmp_path / ".batch.csv.abcdefgh.tmp")
    result = cli("doctor")
    assert result.exit_code == 0 and "removed .batch.csv.abcdefgh.tmp\n" in result.stdout
    assert not temp.exists()


def test_doctor_names_a_missing_folder(cli: Cli, tmp_path: Path) -> None:
    result = cli("doctor", str(tmp_path / "nope"))
    assert result.exit_code == 2 and f"{tmp_path / 'nope'}: no such folder" in result.stderr


def test_doctor_exits_1_when_a_temporary_cannot_be_removed(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    temp = plant(folder / ".SN1.zpl.abcdefgh.tmp")
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: file modes do not stop removal")
        result = cli("doctor", str(folder))
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 1 and f"left {temp}: cannot remove it" in result.stdout
    assert "1 stale temporary file(s) could not be removed" in result.stderr


def test_derive_removes_its_own_stale_temporary_first(cli: Cli, key_file: Path,
                                                      tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    mine = plant(out_dir / ".batch.csv.abcdefgh.tmp")
    other = plant(out_dir / ".other.csv.abcdefgh.tmp")  # another file's: not derive's to judge
    order = tmp_path / "order.txt"
    order.write_text("SN1\nSN2\n")
    result = cli("derive", "--key", str(key_file), "--product", "acme-cam", "--serials",
                 str(order), "--out", str(out_dir / "batch.csv"))
    assert result.exit_code == 0, result.output
    assert f"removed 1 temporary file(s) an interrupted earlier run left: {mine}" in (
        result.stderr)
    assert not mine.exists() and other.exists()
    assert sorted(os.listdir(out_dir)) == [".other.csv.abcdefgh.tmp", "batch.csv"]
