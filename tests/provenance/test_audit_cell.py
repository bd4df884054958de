"""audit verify over a whole cell: honest cells pass, crashes in the write-ahead window pass
in an open batch, and the registry's head per station catches a log cut anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from credline.core.lifecycle import DeviceState as S
from credline.station.retire import Lost, reissue, retire
from tests.provenance.cell import KEY_ID, PRODUCT, Cell, fingerprint_at, first, line_of, provision


@pytest.fixture
def cell(registry_url: str, tmp_path: Path) -> Iterator[Cell]:
    made = Cell(registry_url, tmp_path, ("st1", "st2", "st3"))
    yield made
    made.close()


def test_an_honest_multi_station_cell_passes(cell: Cell) -> None:
    one, two, three = (cell.start(name) for name in ("st1", "st2", "st3"))
    for n, ledger in enumerate((one, two, three, one, two, three)):
        provision(ledger, f"SN{n}")
    provision(two, "SN10", S.FAILED)
    provision(three, "SN11", S.RESERVED)
    three.release("SN11", "/dev/pts/4", "device unplugged before write")
    provision(one, "SN11")  # the serial freed by st3 goes to a device on st1
    provision(one, "SN12", S.WRITTEN)
    retire(cell.registry, cell.log("st3"), Lost("B1", "SN10", "device lost in rework"))
    provision(two, "SN13", S.VERIFIED)
    reissue(cell.registry, cell.log("st2"), Lost("B1", "SN13", "device dropped"))
    provision(three, "SN13")  # the new generation, on another device
    reissue(cell.registry, cell.log("st1"), Lost("B1", "SN12", "device lost"))
    provision(two, "SN12")
    # st1 parks a written device; st3 sees the same device and finishes it (a claim).
    provision(one, "SN14", S.WRITTEN, hardware_id="hw-roaming")
    one.park("SN14")
    assert three.claim("hw-roaming", "/dev/pts/9") is not None
    three.advance("SN14", S.VERIFIED, "/dev/pts/9")
    three.advance("SN14", S.LOCKED, "/dev/pts/9")
    assert cell.audit().ok, cell.audit().summary()
    assert two.finish(True) == "batch closed"
    report = cell.audit()
    assert report.ok, report.findings
    assert report.compared and report.logs == 3 and report.batches == ["B1"]
    generations = {(d.serial, d.generation, d.state) for d in cell.registry.devices("B1")}
    assert {("SN13", 0, S.RETIRED), ("SN13", 1, S.LOCKED), ("SN12", 1, S.LOCKED)} <= generations


def test_a_crash_between_log_and_registry_passes_in_an_open_batch(cell: Cell) -> None:
    ledger = cell.start("st1")
    provision(ledger, "SN1", S.VERIFIED)
    provision(ledger, "SN2", S.WRITTEN)
    provision(ledger, "SN3", S.RESERVED)
    device = cell.registry.device(PRODUCT, "SN1")
    assert device is not None
    # Each entry appended as the ledger would, then the process "dies" before the registry.
    log = ledger.log
    log.append("device.locked", batch="B1", product=PRODUCT, operator="ann", serial="SN1",
               port="p", key_id=KEY_ID, generation=0, fingerprint=device.fingerprint,
               hardware_id="hw-SN1", seconds=1.0)
    log.append("device.failed", batch="B1", product=PRODUCT, operator="ann", serial="SN2",
               port="p", reason="power cut")
    generation, fingerprint = ledger.assign("SN3", fingerprint_at("SN3"))
    log.append("device.written", batch="B1", product=PRODUCT, operator="ann", serial="SN3",
               port="p", hardware_id="hw-SN3", key_id=KEY_ID, generation=generation,
               fingerprint=fingerprint)
    report = cell.audit("st1")
    assert report.ok, report.findings
    # The station resumes: the bind that never landed is undone by releasing the
    # reservation, the others are redone; still clean, and then the batch closes.
    again = cell.start("st1")
    pending, _ = again.resume()
    assert {p.serial for p in pending} == {"SN1", "SN2"}
    again.advance("SN1", S.LOCKED, "p")
    again.fail("SN2", "p", "power cut")
    assert cell.audit("st1").ok, cell.audit("st1").findings
    assert again.finish(True) == "batch closed"
    report = cell.audit("st1")
    assert report.ok, report.findings
    assert any("never reached the registry" in note for note in report.notes)


def test_a_retire_cut_off_before_the_registry_is_named_in_a_closed_batch(cell: Cell) -> None:
    ledger = cell.start("st1")
    provision(ledger, "SN1", S.FAILED)
    assert ledger.finish(True) == "batch closed"
    log = cell.log("st1")
    log.append("device.retired", batch="B1", product=PRODUCT, operator="", serial="SN1",
               reason="lost", generation=0)
    assert first(cell.audit("st1")) == (
        "st1.jsonl", line_of(cell.log_path("st1"), "device.retired"), "registry disagrees")
