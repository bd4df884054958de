"""The station opens a batch only under the profile's terms (real station, virtual devices,
SQLite registry, signed log): under ``[key] scope = "batch"`` a key another batch used is
refused, a support end date earlier than the one published is refused, each naming what
clashed, with the registry, the log and the devices left as they were; an extension is
recorded in the signed log, and the audit still agrees."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credline.keystore import keyfile
from credline.registry import open_registry
from credline.transport.virtual import VirtualDevice, build
from tests.conftest import FAST_SCRYPT, PASSPHRASE, CliResult

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "factory/profiles/demo-device.toml"
Cli = Callable[..., CliResult]


@pytest.fixture
def device(tmp_path: Path) -> Iterator[VirtualDevice]:
    build()
    started = VirtualDevice(tmp_path / "flash.bin", hwid="HW1")
    started.start()
    try:
        yield started
    finally:
        started.stop()


def profile(root: Path, *, scope: str = "product", end: str = "2030-12-31") -> Path:
    text = DEMO.read_text().replace("../labels/", f"{REPO / 'factory/labels'}/")
    text = text.replace('support_period_end = "2030-12-31"', f'support_period_end = "{end}"')
    text = text.replace("[device]", f'[key]\nscope = "{scope}"\n\n[device]')
    path = root / f"p-{scope}-{end}.toml"
    path.write_text(text)
    return path


def run(cli: Cli, env: dict[str, Path], prof: Path, batch: str, serial: str,
        port: str, key: Path | None = None) -> CliResult:
    root = env["root"]
    order = root / f"{batch}.txt"
    order.write_text(serial + "\n")
    return cli("station", "run", "--profile", str(prof), "--key", str(key or env["key"]),
               "--batch", batch, "--serials", str(order), "--port", port,
               "--registry", f"sqlite:///{env['db']}", "--log", str(root / "log.jsonl"),
               "--station-key", str(root / "station.key"), "--labels", str(root / "labels"),
               "--plain", "--idle-exit", "2")


def state(env: dict[str, Path]) -> tuple[object, ...]:
    with open_registry(f"sqlite:///{env['db']}", create=False) as reg:
        snap = reg.snapshot()
        return snap.devices, snap.batches, snap.events, snap.heads, reg.support_periods()


def test_a_reused_key_under_scope_batch_is_refused(
        cli: Cli, station_env: dict[str, Path], device: VirtualDevice) -> None:
    root = station_env["root"]
    per_batch = profile(root, scope="batch")
    assert run(cli, station_env, per_batch, "B1", "D1", device.port).exit_code == 0
    before, log = state(station_env), (root / "log.jsonl").read_bytes()
    result = run(cli, station_env, per_batch, "B2", "D2", device.port)
    assert result.exit_code == 2, result.output
    assert "was already used by batch 'B1' of product 'demo-device'" in result.stderr
    assert 'says [key] scope = "batch"' in result.stderr
    assert state(station_env) == before and (root / "log.jsonl").read_bytes() == log
    # The next batch's key, made the way `keys new --profile` says, is accepted.
    made = cli("keys", "new", "--out", str(root / "line-B1.key"), "--profile", str(per_batch))
    assert made.exit_code == 0
    assert f"credline keys new --out {root / 'line-B2.key'} --profile {per_batch}" in \
        made.stderr
    fresh = root / "fresh.key"
    keyfile.create(fresh, bytes(range(1, 33)), PASSPHRASE, params=FAST_SCRYPT)
    second = VirtualDevice(root / "flash2.bin", hwid="HW2")
    second.start()
    try:
        result = run(cli, station_env, per_batch, "B2", "D2", second.port, key=fresh)
    finally:
        second.stop()
    assert result.exit_code == 0, result.output


def test_a_shortened_support_period_is_refused_and_an_extension_logged(
        cli: Cli, station_env: dict[str, Path], device: VirtualDevice) -> None:
    root = station_env["root"]
    assert run(cli, station_env, profile(root), "B1", "D1", device.port).exit_code == 0
    before, log = state(station_env), (root / "log.jsonl").read_bytes()
    result = run(cli, station_env, profile(root, end="2029-06-30"), "B2", "D2", device.port)
    assert result.exit_code == 2, result.output
    assert "support_period_end = 2029-06-30 is earlier than the support end date " \
        "2030-12-31 product 'demo-device' already published (batch B1)" in result.stderr
    assert state(station_env) == before and (root / "log.jsonl").read_bytes() == log
    second = VirtualDevice(root / "flash2.bin", hwid="HW2")
    second.start()
    try:
        result = run(cli, station_env, profile(root, end="2032-12-31"), "B2", "D2",
                     second.port)
    finally:
        second.stop()
    assert result.exit_code == 0, result.output
    text = (root / "log.jsonl").read_text()
    assert '"event":"support.published","fields":{"batch":"B1","end":"2030-12-31"' in text
    assert ('"event":"support.extended","fields":{"batch":"B2","end":"2032-12-31",'
            '"previous":"2030-12-31","product":"demo-device"}') in text
    audit = cli("audit", "verify", str(root / "log.jsonl"), "--registry",
                f"sqlite:///{station_env['db']}")
    assert audit.exit_code == 0, audit.output
