"""``audit verify`` over several logs and folders, and ``registry retire`` / ``reissue``:
logged first, refused plainly (exit 2, nothing written) for rows that cannot be retired."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credline.core.lifecycle import DeviceState as S
from credline.station.identity import enroll
from tests.conftest import PASSPHRASE, CliResult
from tests.provenance.cell import FAST, PRODUCT, Cell, line_of, provision

Cli = Callable[..., CliResult]


@pytest.fixture
def cell(registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cell]:
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    made = Cell(registry_url, tmp_path)
    one, two = made.start("st1"), made.start("st2")
    provision(one, "SN1")
    provision(two, "SN2")
    provision(one, "SN3", S.WRITTEN)
    provision(two, "SN4", S.VERIFIED)
    provision(one, "SN5", S.FAILED)
    provision(two, "SN6", S.RESERVED)
    yield made
    made.close()


def give_up(cli: Cli, cell: Cell, command: str, serial: str, batch: str = "B1",
            station: str = "st1") -> CliResult:
    args = (cell.url, "--batch", batch, "--serial", serial, "--reason", "device lost",
            "--log", str(cell.log_path(station)), "--station-key", str(cell.key_path(station)),
            "--operator", "ann")
    # Spelled out, so the CLI coverage guard (tests/test_cli_coverage.py) sees both commands.
    if command == "retire":
        return cli("registry", "retire", *args)
    assert command == "reissue", command
    return cli("registry", "reissue", *args)


def last_entry(path: Path) -> dict[str, object]:
    entry: dict[str, object] = json.loads(path.read_bytes().splitlines()[-1])
    return entry


def test_audit_verify_takes_files_and_folders(cli: Cli, cell: Cell) -> None:
    logs = [str(cell.log_path("st1")), str(cell.log_path("st2"))]
    for args in (logs, [str(cell.root)], [str(cell.root), logs[0]]):
        result = cli("audit", "verify", *args, "--registry", cell.url)
        assert result.exit_code == 0, result.output
        assert "in 2 log(s); the registry agrees" in result.stdout


def test_audit_verify_names_every_fault_with_its_file_and_line(cli: Cli, cell: Cell) -> None:
    cell.sql("UPDATE devices SET fingerprint = :f WHERE serial = 'SN1'", f="f" * 64)
    cell.sql("DELETE FROM devices WHERE serial = 'SN2'")
    result = cli("audit", "verify", str(cell.root), "--registry", cell.url)
    assert result.exit_code == 1
    written = line_of(cell.log_path("st1"), "device.written", "SN1")
    locked = line_of(cell.log_path("st2"), "device.locked", "SN2")
    assert f"st1.jsonl:{written}: registry disagrees" in result.stdout
    assert f"st2.jsonl:{locked}: not in registry" in result.stdout
    assert "audit failed: 2 problem(s) in 2 log(s)" in result.stderr


def test_audit_verify_refuses_bad_input(cli: Cli, cell: Cell, tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    assert cli("audit", "verify", str(tmp_path / "nothing")).exit_code == 2
    assert cli("audit", "verify", str(tmp_path / "nope.jsonl")).exit_code == 2
    empty = tmp_path / "nothing" / "empty.jsonl"
    empty.write_bytes(b"")
    result = cli("audit", "verify", str(empty), "--registry", cell.url)
    assert result.exit_code == 1 and "empty.jsonl:1: empty" in result.stdout


def test_retire_logs_first_then_moves_the_registry(cli: Cli, cell: Cell) -> None:
    result = give_up(cli, cell, "retire", "SN3")
    assert result.exit_code == 0, result.output
    assert "retired serial SN3 (generation 0) of batch B1" in result.stdout
    entry = last_entry(cell.log_path("st1"))
    assert entry["event"] == "device.retired" and entry["fields"] == {
        "batch": "B1", "generation": 0, "operator": "ann", "product": PRODUCT,
        "reason": "device lost", "serial": "SN3"}
    device = cell.registry.device(PRODUCT, "SN3")
    assert device is not None and device.state is S.RETIRED
    assert cell.registry.station_heads()["st1"][0] == entry["seq"]  # acknowledged
    assert cell.audit().ok, cell.audit().findings
    # The ledger of st1 goes on after the command's entry, on the same chain.
    provision(cell.ledgers[("st1", "B1")], "SN7")
    assert cell.audit().ok, cell.audit().findings


def test_reissue_opens_the_next_generation(cli: Cli, cell: Cell) -> None:
    result = give_up(cli, cell, "reissue", "SN4", station="st2")
    assert result.exit_code == 0, result.output
    assert "at generation 1 (generation 0 retired)" in result.stdout
    entry = last_entry(cell.log_path("st2"))
    assert entry["event"] == "device.reissued"
    assert entry["fields"]["generation"] == 0 and entry["fields"]["new_generation"] == 1
    rows = sorted((d.generation, d.state) for d in cell.registry.devices("B1")
                  if d.serial == "SN4")
    assert rows == [(0, S.RETIRED), (1, S.RESERVED)]
    assert cell.audit().ok, cell.audit().findings
    provision(cell.ledgers[("st1", "B1")], "SN4")  # another station, another device
    device = cell.registry.device(PRODUCT, "SN4")
    assert device is not None and (device.generation, device.state) == (1, S.LOCKED)
    assert cell.audit().ok, cell.audit().findings


@pytest.mark.parametrize(("serial", "state"), [("SN1", "locked"), ("SN6", "reserved")])
def test_rows_that_cannot_be_retired_are_refused_and_nothing_is_written(
        cli: Cli, cell: Cell, serial: str, state: str) -> None:
    logs = {s: cell.log_path(s).read_bytes() for s in ("st1", "st2")}
    before = cell.registry.snapshot()
    for command in ("retire", "reissue"):
        result = give_up(cli, cell, command, serial)
        assert result.exit_code == 2, result.output
        assert f"serial {serial!r} of {PRODUCT} is {state} in batch 'B1'" in result.stderr
        assert "only a row that is failed, verified, written" in result.stderr
    assert {s: cell.log_path(s).read_bytes() for s in ("st1", "st2")} == logs
    after = cell.registry.snapshot()
    assert (after.devices, after.heads, after.events) == (before.devices, before.heads,
                                                          before.events)


def test_retire_refuses_what_it_cannot_find(cli: Cli, cell: Cell) -> None:
    assert "is not in batch 'B1'" in give_up(cli, cell, "retire", "SN99").stderr
    assert "batch 'B9' is not in registry" in give_up(cli, cell, "retire", "SN3", "B9").stderr
    enroll(cell.key_path("st9"), "st9", PASSPHRASE, None, params=FAST)  # enrolled nowhere
    stranger = give_up(cli, cell, "retire", "SN3", station="st9")
    assert stranger.exit_code == 2 and "'credline station enroll --station-id st9" in (
        stranger.stderr)
    assert not cell.log_path("st9").exists()


def test_reissue_is_refused_in_a_closed_batch(cli: Cli, cell: Cell) -> None:
    one, two = cell.ledgers[("st1", "B1")], cell.ledgers[("st2", "B1")]
    one.advance("SN3", S.VERIFIED, "p")
    one.advance("SN3", S.LOCKED, "p")
    two.advance("SN4", S.LOCKED, "p")
    two.release("SN6", "p", "unused")
    assert one.finish(True) == "batch closed"
    result = give_up(cli, cell, "reissue", "SN5")
    assert result.exit_code == 2 and "batch 'B1' is closed" in result.stderr
    retired = give_up(cli, cell, "retire", "SN5")  # a failed device may still be retired
    assert retired.exit_code == 0, retired.output
    assert cell.audit().ok, cell.audit().findings


def test_audit_verify_json_and_a_file_that_is_not_a_log(cli: Cli, cell: Cell,
                                                        tmp_path: Path) -> None:
    logs = [str(cell.log_path("st1")), str(cell.log_path("st2"))]
    result = cli("audit", "verify", *logs, "--registry", cell.url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["logs"] == 2 and report["findings"] == []
    cell.sql("DELETE FROM devices WHERE serial = 'SN2'")
    failed = cli("audit", "verify", *logs, "--registry", cell.url, "--json")
    assert failed.exit_code == 1
    (finding,) = json.loads(failed.stdout)["findings"]
    assert finding["kind"] == "not in registry" and finding["file"].endswith("st2.jsonl")
    batch = tmp_path / "batch.csv"
    batch.write_text("serial,password\nSN1,WW4V6P8BPYR2\n")
    wrong = cli("audit", "verify", str(batch))
    assert wrong.exit_code == 2, wrong.output
    assert "batch.csv: not a provenance log" in wrong.stderr
