"""What the ledger writes to the log, and when: a reservation's entry goes to the log with
the device's next entry (one write, one fsync), before its password is bound; a reservation
that gets no further is logged when the run ends. The audit replays every case clean."""

from __future__ import annotations

import json
from pathlib import Path

from credline.core.lifecycle import DeviceState
from credline.provenance import verify_cell
from tests.station.fakes import Ledgers, World

KEY_ID = "e98c6960947e8461"


def entries(ledgers: Ledgers) -> list[tuple[int, str, str]]:
    lines = ledgers.log_path.read_text().splitlines() if ledgers.log_path.exists() else []
    return [(e["seq"], e["event"], e["fields"].get("serial", "")) for e in map(json.loads, lines)]


def audit_ok(ledgers: Ledgers) -> bool:
    report = verify_cell([ledgers.log_path], ledgers.registry)
    return report.ok


def test_a_reservation_is_logged_with_the_binding_that_follows_it(tmp_path: Path) -> None:
    ledgers = Ledgers(tmp_path / "cell", World())
    ledger = ledgers.new(KEY_ID)
    ledger.reserve("SN1", "p0", "HW1", lambda g: f"{g:064x}")
    assert entries(ledgers) == []  # the registry row is there; its entry waits
    assert ledgers.rows()["SN1"].state is DeviceState.RESERVED
    generation, fingerprint = ledger.assign("SN1", lambda g: f"{g:064x}")
    ledger.bind("SN1", "p0", "HW1", generation, fingerprint)
    assert entries(ledgers) == [(1, "device.reserved", "SN1"), (2, "device.written", "SN1")]
    heads = ledgers.registry.station_heads()["st1"]
    assert heads[0] == 2  # the registry acknowledged the written entry, the last of the two
    ledger.advance("SN1", DeviceState.VERIFIED, "p0")
    ledger.advance("SN1", DeviceState.LOCKED, "p0")
    ledger.finish(complete=True)
    assert [e[1] for e in entries(ledgers)][-1] == "checkpoint"
    assert audit_ok(ledgers)
    ledgers.close()


def test_a_reservation_that_goes_no_further_is_logged_when_the_run_ends(tmp_path: Path
                                                                        ) -> None:
    ledgers = Ledgers(tmp_path / "cell", World())
    ledger = ledgers.new(KEY_ID)
    ledger.reserve("SN1", "p0", "HW1", lambda g: f"{g:064x}")
    ledger.reserve("SN2", "p1", "HW2", lambda g: f"{g + 1:064x}")
    ledger.release("SN2", "p1", "device went away before its password was bound")
    assert entries(ledgers) == [(1, "device.reserved", "SN2"), (2, "device.released", "SN2")]
    ledger.finish(complete=False)  # SN1 is still reserved: the batch stays open
    assert (3, "device.reserved", "SN1") in entries(ledgers)
    assert audit_ok(ledgers)
    ledgers.close()


def test_a_run_killed_before_the_binding_leaves_a_log_the_audit_accepts(tmp_path: Path
                                                                        ) -> None:
    """Registry first, then the entry: a run that dies in between leaves a reserved row with
    no entry, which the next run releases and the audit accepts."""
    ledgers = Ledgers(tmp_path / "cell", World())
    first = ledgers.new(KEY_ID)
    first.reserve("SN1", "p0", "HW1", lambda g: f"{g:064x}")
    first._unlogged.clear()  # the process died here: nothing of it reached the log
    second = ledgers.new(KEY_ID)
    pending, done = second.resume()
    assert pending == [] and done == []
    assert "SN1" not in ledgers.rows()  # released
    assert entries(ledgers) == [(1, "device.released", "SN1")]
    assert audit_ok(ledgers)
    ledgers.close()
