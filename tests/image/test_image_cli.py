"""``credline image esp``: files whole and right, and a recorded batch that QA, labels and
the audit see as they see a station batch; resumable after kill -9; bad input changes nothing."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.core.ids import ProductId, Serial
from credline.core.lifecycle import DeviceState
from credline.core.policy import PasswordFormat
from credline.keystore.base import LocalKey
from credline.registry import open_registry
from tests.conftest import TEST_KEY, CliResult, credline_command, subprocess_env
from tests.image.oracle import in_memory

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory/profiles/acme-plug.toml"
Cli = Callable[..., CliResult]
DERIVER = Deriver(LocalKey(TEST_KEY, "test"), PasswordFormat.default())


def expected(serial: str, generation: int = 0) -> bytes:
    password = DERIVER.password(ProductId("acme-plug"), Serial(serial), generation).reveal()
    return in_memory(0x6000, {"serial": serial, "password": password,
                              "key_id": DERIVER.key_id, "scheme": "credline-v1"}, generation)


def order(root: Path, serials: list[str]) -> Path:
    path = root / "order.txt"
    path.write_text("".join(s + "\n" for s in serials))
    return path


def url(env: dict[str, Path] | dict[str, Path | str]) -> str:
    return str(env["url"]) if "url" in env else f"sqlite:///{env['db']}"


def recorded(env: dict[str, Path] | dict[str, Path | str], *extra: str) -> list[str]:
    root = env["root"]
    return ["image", "esp", "--profile", str(PROFILE), "--key", str(env["key"]),
            "--serials", str(root / "order.txt"), "--out", str(root / "images"),
            "--registry", url(env), "--batch", "E1",
            "--log", str(root / "log.jsonl"), "--station-key", str(root / "station.key"),
            "--labels", str(root / "labels"), *extra]


def rows(env: dict[str, Path] | dict[str, Path | str]) -> dict[str, DeviceState]:
    with open_registry(url(env), create=False) as reg:
        return {d.serial: d.state for d in reg.devices("E1")}


def test_files_only_equal_espressifs_image_of_the_derived_password(
        cli: Cli, tmp_path: Path, key_file: Path) -> None:
    serials = ["P-0001", "P-0002", "p.3:x"]
    out = tmp_path / "out"
    result = cli("image", "esp", "--profile", str(PROFILE), "--key", str(key_file),
                 "--serials", str(order(tmp_path, serials)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "0x10000" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}.bin" for s in serials)
    for serial in serials:
        path = out / f"{serial}.bin"
        assert path.read_bytes() == expected(serial)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_recorded_batch_is_locked_audited_labelled_and_checked(
        cli: Cli, image_env: dict[str, Path | str]) -> None:
    root = Path(image_env["root"])
    serials = [f"P-{i:04d}" for i in range(12)]
    order(root, serials)
    result = cli(*recorded(image_env))
    assert result.exit_code == 0, result.output
    assert rows(image_env) == dict.fromkeys(serials, DeviceState.LOCKED)
    for serial in serials:
        assert (root / "images" / f"{serial}.bin").read_bytes() == expected(serial)
    assert len(list((root / "labels").glob("*.zpl"))) == len(serials)
    audit = cli("audit", "verify", str(root / "log.jsonl"), "--registry",
                url(image_env))
    assert audit.exit_code == 0, audit.output
    with open_registry(url(image_env), create=False) as reg:
        devices = reg.devices("E1")
        assert {d.hardware_id for d in devices} == {f"image:{s}.bin" for s in serials}
        assert len({d.fingerprint for d in devices}) == len(serials)
    derived = cli("derive", "--key", str(image_env["key"]), "--product", "acme-plug",
                  "--serials", str(root / "order.txt"), "--out", str(root / "batch.csv"))
    assert derived.exit_code == 0, derived.output
    check = cli("batch", "check", str(root / "batch.csv"), "--profile", str(PROFILE),
                "--registry", url(image_env), "--key",
                str(image_env["key"]))
    assert check.exit_code == 0, check.output
    again = cli(*recorded(image_env))  # a rerun adds nothing and rewrites nothing
    assert again.exit_code == 0, again.output
    assert rows(image_env) == dict.fromkeys(serials, DeviceState.LOCKED)


def test_kill_9_mid_batch_resumes_with_nothing_lost_or_duplicated(
        cli: Cli, station_env: dict[str, Path]) -> None:
    root = station_env["root"]
    serials = [f"K-{i:04d}" for i in range(400)]
    order(root, serials)
    proc = subprocess.Popen([*credline_command(), *recorded(station_env)],
                            env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while proc.poll() is None and len(list((root / "images").glob("*.bin"))) < 20:
            time.sleep(0.02)  # waiting for progress, not timing anything
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = rows(station_env)
    assert proc.returncode == -signal.SIGKILL and len(before) < len(serials)  # cut short
    result = cli(*recorded(station_env))
    assert result.exit_code == 0, result.output
    assert rows(station_env) == dict.fromkeys(serials, DeviceState.LOCKED)
    images = sorted((root / "images").iterdir())
    assert [p.name for p in images] == sorted(f"{s}.bin" for s in serials)  # no temporaries
    for serial in serials[::37]:
        assert (root / "images" / f"{serial}.bin").read_bytes() == expected(serial)
    # no password anywhere but its own image and its own label (registry, log, temporaries)
    passwords = {s: DERIVER.password(ProductId("acme-plug"), Serial(s), 0).reveal().encode()
                 for s in serials}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        allowed = (path.parent.name in ("images", "labels")) and path.stem in passwords
        leaked = [s for s, pw in passwords.items() if pw in data
                  and not (allowed and s == path.stem)]
        assert leaked == [], f"{path} holds the password of {leaked[:3]}"
    audit = cli("audit", "verify", str(root / "log.jsonl"), "--registry",
                url(station_env))
    assert audit.exit_code == 0, audit.output


@pytest.mark.parametrize(("esp", "named"), [
    ('partition_table = "parts.csv"\nsize = 0x8000', "does not fit"),
    ('partition_table = "parts.csv"\npartition = "creds"', "no partition named 'creds'"),
])
def test_a_partition_that_does_not_fit_writes_nothing(
        cli: Cli, station_env: dict[str, Path], esp: str, named: str) -> None:
    root = station_env["root"]
    (root / "parts.csv").write_text("credline, data, nvs, 0x10000, 0x6000,\n")
    profile = root / "p.toml"
    profile.write_text(f'[product]\nid = "acme-plug"\n[esp]\n{esp}\n')
    order(root, ["P-1"])
    args = recorded(station_env)
    args[args.index(str(PROFILE))] = str(profile)
    log_before = (root / "log.jsonl").exists()
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert named in result.stderr and str(root / "p") in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (root / "images").exists() and rows(station_env) == {}
    assert (root / "log.jsonl").exists() == log_before


def test_registry_without_batch_is_refused(cli: Cli, tmp_path: Path, key_file: Path) -> None:
    result = cli("image", "esp", "--profile", str(PROFILE), "--key", str(key_file),
                 "--serials", str(order(tmp_path, ["A"])), "--out", str(tmp_path / "o"),
                 "--registry", "sqlite:///x.db")
    assert result.exit_code == 2 and "--batch" in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_malformed_serial_writes_nothing(cli: Cli, tmp_path: Path, key_file: Path) -> None:
    order_file = tmp_path / "order.txt"
    order_file.write_text("P-1\nP 2\n")
    result = cli("image", "esp", "--profile", str(PROFILE), "--key", str(key_file),
                 "--serials", str(order_file), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert "order.txt" in result.stderr and "P 2" in result.stderr
    assert not (tmp_path / "o").exists()
