"""Every tampering of a cell's registry or logs tried so far: each is caught by audit verify,
which names the file, the line and the kind. docs/registry-and-provenance.md lists them.

The cell: stations st1 and st2 share batch B1 (closed by st1), then B2 (left open, one
device still in flight), then st1 alone runs B3 (closed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.core.lifecycle import DeviceState as S
from credline.provenance import line_hash
from tests.provenance.cell import KEY_ID, PRODUCT, Cell, first, line_of, provision


@pytest.fixture
def cell(registry_url: str, tmp_path: Path) -> Iterator[Cell]:
    made = Cell(registry_url, tmp_path)
    one, two = made.start("st1"), made.start("st2")
    provision(one, "SN1")
    provision(two, "SN3")
    provision(one, "SN2")
    provision(two, "SN4", S.FAILED)
    provision(two, "SN5", S.RESERVED)
    two.release("SN5", "/dev/pts/3", "device unplugged")
    assert one.finish(True) == "batch closed"
    one, two = made.start("st1", "B2"), made.start("st2", "B2")
    provision(one, "SN6")
    provision(one, "SN7", S.VERIFIED)
    provision(two, "SN8")
    provision(made.start("st1", "B3"), "SN9")
    assert made.ledgers[("st1", "B3")].finish(True) == "batch closed"
    report = made.audit()
    assert report.ok, report.findings
    yield made
    made.close()


def at(cell: Cell, station: str, event: str, serial: str | None = None,
       batch: str | None = None) -> tuple[str, int]:
    return f"{station}.jsonl", line_of(cell.log_path(station), event, serial, batch)


def test_fingerprint_changed(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET fingerprint = :f WHERE serial = 'SN1'", f="f" * 64)
    report = cell.audit()
    assert first(report) == (*at(cell, "st1", "device.written", "SN1"), "registry disagrees")
    assert "fingerprint" in report.findings[0].detail


def test_generation_changed(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET generation = 7 WHERE serial = 'SN3'")
    report = cell.audit()
    assert first(report) == (*at(cell, "st2", "device.written", "SN3"), "registry disagrees")
    assert "generation 7, the logs 0" in report.findings[0].detail


def test_key_id_changed(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET key_id = :k WHERE serial = 'SN6'", k="0" * 16)
    report = cell.audit()
    assert first(report) == (*at(cell, "st1", "device.written", "SN6"), "registry disagrees")
    assert "key id" in report.findings[0].detail and KEY_ID in report.findings[0].detail


def test_hardware_id_changed(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET hardware_id = 'hw-other' WHERE serial = 'SN8'")
    report = cell.audit()
    assert first(report) == (*at(cell, "st2", "device.written", "SN8"), "registry disagrees")
    assert "hardware id 'hw-other'" in report.findings[0].detail


def test_station_changed(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET station_id = 'st2' WHERE serial = 'SN2'")
    report = cell.audit()
    assert first(report) == (*at(cell, "st1", "device.locked", "SN2"), "registry disagrees")
    assert "station 'st2', the logs 'st1'" in report.findings[0].detail


def test_locked_row_deleted(cell: Cell) -> None:
    assert cell.sql("DELETE FROM devices WHERE serial = 'SN2'")
    assert first(cell.audit()) == (*at(cell, "st1", "device.locked", "SN2"), "not in registry")


def test_locked_turned_failed(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET state = 'failed' WHERE serial = 'SN6'")  # open batch
    assert first(cell.audit()) == (*at(cell, "st1", "device.locked", "SN6"),
                                   "registry disagrees")


def test_locked_turned_reserved(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET state = 'reserved' WHERE serial = 'SN8'")  # open batch
    assert first(cell.audit()) == (*at(cell, "st2", "device.locked", "SN8"),
                                   "registry disagrees")


def test_locked_turned_verified_in_a_closed_batch(cell: Cell) -> None:
    # One step back looks like a crash in an open batch; a closed batch allows no such thing.
    assert cell.sql("UPDATE devices SET state = 'verified' WHERE serial = 'SN3'")
    assert first(cell.audit()) == (*at(cell, "st2", "device.locked", "SN3"),
                                   "registry disagrees")


def test_fake_failed_row_inserted(cell: Cell) -> None:
    assert cell.sql(
        "INSERT INTO devices (product, serial, batch_id, generation, key_id, fingerprint, "
        "state, station_id, run_id, port, reason, created_at, updated_at) VALUES (:p, "
        "'SN99', 'B2', 0, :k, :f, 'failed', 'st2', '', '', 'x', :t, :t)",
        p=PRODUCT, k=KEY_ID, f="9" * 64, t="2026-11-22 12:00:00")
    assert first(cell.audit()) == (*at(cell, "st2", "station.started", batch="B2"),
                                   "not in logs")


def test_retired_row_without_entry(cell: Cell) -> None:
    assert cell.sql("UPDATE devices SET state = 'retired' WHERE serial = 'SN4'")
    assert first(cell.audit()) == (*at(cell, "st2", "device.failed", "SN4"),
                                   "registry disagrees")


def test_closed_batch_reopened(cell: Cell) -> None:
    assert cell.sql("UPDATE batches SET state = 'open' WHERE batch_id = 'B1'")
    assert first(cell.audit()) == (*at(cell, "st1", "checkpoint", batch="B1"),
                                   "not in registry")


def test_checkpoint_changed_in_registry(cell: Cell) -> None:
    assert cell.sql("UPDATE batches SET log_entries = 3 WHERE batch_id = 'B3'")
    assert first(cell.audit()) == (*at(cell, "st1", "checkpoint", batch="B3"),
                                   "registry disagrees")


def test_open_batch_closed_in_registry_without_checkpoint(cell: Cell) -> None:
    assert cell.sql("UPDATE batches SET state = 'closed', closed_by = 'st2' "
                    "WHERE batch_id = 'B2'")
    assert first(cell.audit()) == (*at(cell, "st2", "station.started", batch="B2"),
                                   "truncated")


def test_events_table_emptied(cell: Cell) -> None:
    assert cell.sql("DELETE FROM events")
    report = cell.audit()
    assert first(report) == (*at(cell, "st1", "device.reserved", "SN1"), "not in registry")
    assert len(report.findings) > 9  # every row is missing its events


def test_an_event_missing_for_a_row(cell: Cell) -> None:
    assert cell.sql("DELETE FROM events WHERE serial = 'SN3' AND event = 'locked'")
    assert first(cell.audit()) == (*at(cell, "st2", "device.locked", "SN3"), "not in registry")


def test_a_fake_event(cell: Cell) -> None:
    assert cell.sql("INSERT INTO events (at, batch_id, product, serial, event, station_id, "
                    "detail) VALUES (:t, 'B2', :p, 'SN7', 'locked', 'st1', '')",
                    t="2026-11-22 12:00:00", p=PRODUCT)
    assert first(cell.audit()) == (*at(cell, "st1", "station.started", batch="B2"),
                                   "not in logs")


def test_station_head_set_back(cell: Cell) -> None:
    path = cell.log_path("st2")
    number = line_of(path, "device.reserved", "SN3")
    earlier = line_hash(path.read_bytes().splitlines()[number - 1])
    assert cell.sql("UPDATE stations SET log_seq = :n, log_head = :h WHERE station_id = 'st2'",
                    n=number, h=earlier)
    assert first(cell.audit()) == (*at(cell, "st2", "device.locked", "SN8"),
                                   "registry disagrees")


def test_station_head_moved_past_the_log(cell: Cell) -> None:
    assert cell.sql("UPDATE stations SET log_seq = log_seq + 5 WHERE station_id = 'st2'")
    lines = len(cell.log_path("st2").read_bytes().splitlines())
    assert first(cell.audit()) == ("st2.jsonl", lines + 1, "truncated")


def test_log_cut_right_after_a_checkpoint(cell: Cell) -> None:
    # Whole batches after the checkpoint of B1 go: B2's lines, and closed batch B3.
    path = cell.log_path("st1")
    number = line_of(path, "checkpoint", batch="B1")
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:number]))
    assert first(cell.audit()) == ("st1.jsonl", number + 1, "truncated")


def test_every_line_of_an_open_batch_deleted(cell: Cell) -> None:
    path = cell.log_path("st1")
    lines = path.read_bytes().splitlines(keepends=True)
    start = line_of(path, "station.started", batch="B2")
    end = line_of(path, "station.started", batch="B3")
    path.write_bytes(b"".join(lines[:start - 1] + lines[end - 1:]))
    assert first(cell.audit()) == ("st1.jsonl", start, "deleted")


def test_empty_log(cell: Cell) -> None:
    cell.log_path("st2").write_bytes(b"")
    report = cell.audit()
    assert first(report) == ("st2.jsonl", 1, "empty")


def test_a_log_missing_from_the_cell(cell: Cell) -> None:
    report = cell.audit("st1")
    finding = report.findings[0]
    assert (finding.path, finding.line, finding.kind) == (cell.registry.url, None,
                                                          "missing log")
    assert "'st2'" in finding.detail
    assert len(report.findings) == 1, report.findings  # named once, not row by row


def test_a_deeply_nested_line_is_reported_as_edited(cell: Cell) -> None:
    path = cell.log_path("st2")
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b"[" * 200_000 + b"\n"
    path.write_bytes(b"".join(lines))
    assert first(cell.audit()) == ("st2.jsonl", 3, "edited")


def test_a_serial_reserved_again_after_its_release_audits_clean_before_its_entry(
        tmp_path: Path) -> None:
    """Registry first, then the entry: a serial released in one batch and reserved in the
    next has, for a moment (or after a crash), a registry row the logs do not have yet. Found
    by the audit property test once reservation entries waited for the device's next one."""
    cell = Cell(f"sqlite:///{tmp_path / 'f.db'}", tmp_path, ("st1",))
    try:
        first = cell.start("st1", "B1")
        first.reserve("SN1", "/dev/st1", "hw-1")
        first.release("SN1", "/dev/st1", "unplugged before write")
        assert first.finish(True) == "batch closed"
        second = cell.start("st1", "B2")
        second.reserve("SN1", "/dev/st1", "hw-1")  # its entry waits for the next step
        report = cell.audit("st1")
        assert report.ok, report.findings
        assert cell.sql("UPDATE devices SET state = 'written' WHERE serial = 'SN1'")
        assert not cell.audit("st1").ok  # a bound row with no entry behind it is still caught
    finally:
        cell.close()


def test_a_claim_of_a_row_whose_last_move_never_landed_audits_clean(tmp_path: Path) -> None:
    """st1 logs SN1 verified and dies before the registry moves (write-ahead); st2 claims the
    row, still written. The claim changes the holder only: what may still stand of the state
    stands (found by the audit property test: "the registry has it written; the logs have it
    verified", a false finding)."""
    cell = Cell(f"sqlite:///{tmp_path / 'f.db'}", tmp_path, ("st1", "st2"))
    try:
        one = cell.start("st1")
        provision(one, "SN1", until=S.WRITTEN, hardware_id="hw-1")
        row = cell.registry.device(PRODUCT, "SN1")
        assert row is not None and row.state is S.WRITTEN
        one.log.append("device.verified", batch="B1", product=PRODUCT, operator="ann",
                       serial="SN1", port=row.port, key_id=KEY_ID, generation=row.generation,
                       fingerprint=row.fingerprint, hardware_id="hw-1")  # then the crash
        one.park("SN1")
        assert cell.start("st2").claim("hw-1", "/dev/st2") is not None
        report = cell.audit("st1", "st2")
        assert report.ok, report.findings
        assert cell.sql("UPDATE devices SET state = 'locked' WHERE serial = 'SN1'")
        assert not cell.audit("st1", "st2").ok  # a state neither step allows is still caught
    finally:
        cell.close()


def test_a_claim_audits_clean_before_the_claiming_station_moves_the_row(tmp_path: Path
                                                                        ) -> None:
    """A claim lands in the registry first and no move acknowledges it: until the claiming
    station's next step, its head stands before the claim entry (found by the audit
    property test: "the head was set back", a false finding during a running cell)."""
    cell = Cell(f"sqlite:///{tmp_path / 'f.db'}", tmp_path, ("st1", "st2"))
    try:
        provision(cell.start("st1"), "SN1", until=S.WRITTEN, hardware_id="hw-1")
        cell.ledgers[("st1", "B1")].park("SN1")
        assert cell.start("st2").claim("hw-1", "/dev/st2") is not None
        report = cell.audit("st1", "st2")
        assert report.ok, report.findings
        assert cell.sql("UPDATE stations SET log_seq = 0 WHERE station_id = 'st1'")
        assert not cell.audit("st1", "st2").ok  # st1's own head set back is still caught
    finally:
        cell.close()
