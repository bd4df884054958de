"""The flash slot's Python twin (credline.core.slot) against the shared vectors and the C hook.

The same tests/vectors/slots.txt is read by the C tests (firmware-hooks/tests/test_hook.c),
which write every slot through PUT on a strict NOR model and compare the bytes. Here: the file
is what the twin makes, a slot survives every torn write as "absent", and virtual devices with
any program unit store exactly the twin's bytes and take the password as printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.errors import RecordError
from credline.core.record import READING_CROCKFORD, READING_EXACT, Record
from credline.core.secret import Password
from credline.core.slot import UNITS, Slot, commit_offset, slot_size
from credline.transport.virtual import VirtualDevice
from tests.device.conftest import KEY_ID, PASSWORD
from tests.device.exchange import provision_device
from tests.vectors.make_slots import TYPED, lines

VECTORS = Path(__file__).parent.parent / "vectors" / "slots.txt"
SECTOR = 4096  # the virtual device's default sector

serials = st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZabc._:-", min_size=1, max_size=64)
passwords = st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1, max_size=64)
records = st.builds(
    lambda serial, password, gen, reading: Record(serial, KEY_ID, gen, password=Password(
        password), reading=reading),
    serials, passwords, st.integers(0, 2**32 - 1), st.sampled_from([READING_EXACT,
                                                                   READING_CROCKFORD]))


def test_the_vector_file_is_what_the_twin_makes() -> None:
    assert VECTORS.read_text().splitlines() == lines()


def test_vectors_decode_to_their_record() -> None:
    seen = 0
    for line in VECTORS.read_text().splitlines():
        kind, *fields = line.split()
        if kind == "slot":
            _, unit, seq, locked, record, data = fields
            slot = Slot.decode(bytes.fromhex(data) + b"\xff" * 64)
            assert slot == Slot(bytes.fromhex(record), int(seq), locked == "1", int(unit))
            seen += 1
        elif kind == "legacy-slot":
            _, seq, locked, record, data = fields
            slot = Slot.decode(bytes.fromhex(data))
            assert (slot.record, slot.seq, slot.locked, slot.legacy) == (
                bytes.fromhex(record), int(seq), locked == "1", True)
            seen += 1
        elif kind == "bad-slot":
            with pytest.raises(RecordError):
                Slot.decode(bytes.fromhex(fields[1]))
            seen += 1
    assert seen >= 40


@pytest.mark.parametrize(("record", "typed", "ok"), TYPED,
                         ids=[f"{r.serial}:{t!r}" for r, t, _ in TYPED])
def test_typed_passwords_read_by_the_record_rules(record: Record, typed: str, ok: bool) -> None:
    assert Record.decode(record.encode()).accepts(typed) is ok


@given(records, st.sampled_from(UNITS), st.integers(0, 2**32 - 1), st.booleans())
@settings(max_examples=200, deadline=None)
def test_every_word_is_programmed_once_and_the_commit_comes_last(
        record: Record, unit: int, seq: int, locked: bool) -> None:
    encoded = record.encode()
    data = Slot(encoded, seq, locked, unit).encode()
    assert len(data) == slot_size(len(encoded), unit) and len(data) % unit == 0
    commit = commit_offset(len(encoded), unit)
    assert data[commit:] == b"\x00" * unit
    assert Slot.decode(data) == Slot(encoded, seq, locked, unit)
    assert Record.decode(Slot.decode(data).record) == record


@given(records, st.sampled_from(UNITS), st.data())
@settings(max_examples=200, deadline=None)
def test_a_power_cut_at_any_byte_leaves_no_slot(record: Record, unit: int,
                                                data: st.DataObject) -> None:
    """Programmed in order onto erased flash, every strict prefix reads as absent."""
    image = Slot(record.encode(), 1, False, unit).encode()
    cut = data.draw(st.integers(0, len(image) - 1))
    torn = image[:cut] + b"\xff" * (len(image) - cut)
    with pytest.raises(RecordError):
        Slot.decode(torn)


def test_units_outside_the_list_are_refused() -> None:
    with pytest.raises(RecordError, match="program unit 3"):
        Slot(b"x", unit=3).encode()
    with pytest.raises(RecordError, match="unit 1 only"):
        Slot(b"x", unit=8, legacy=True).encode()


def test_version_1_records_stay_byte_for_byte_as_before() -> None:
    exact = Record("SN0001", KEY_ID, 0, password=Password(PASSWORD)).encode()
    assert exact[0] == 1
    crockford = Record("SN0001", KEY_ID, 0, password=Password(PASSWORD),
                       reading=READING_CROCKFORD).encode()
    assert crockford[0] == 2 and crockford[2] == READING_CROCKFORD
    assert Record.decode(exact).reading == READING_EXACT


@pytest.mark.parametrize("unit", UNITS)
def test_a_virtual_device_with_any_unit_stores_the_twins_bytes(tmp_path: Path, unit: int
                                                               ) -> None:
    rec = Record("SN0001", KEY_ID, 0, password=Password(PASSWORD), reading=READING_CROCKFORD)
    device = VirtualDevice(tmp_path / "flash.bin", hwid="VDEV0001", prog_size=unit).start()
    try:
        provision_device(device.port, rec)  # PUT to slot A, LOCK to slot B
        device.restart()
        view = device.runtime(check_password="ww4v-6p8b-pyr2")
    finally:
        device.stop()
    flash = device.flash.read_bytes()
    want_a = Slot(rec.encode(), 1, False, unit).encode()
    want_b = Slot(rec.encode(), 2, True, unit).encode()
    assert flash[:len(want_a)] == want_a and flash[SECTOR:SECTOR + len(want_b)] == want_b
    assert view["locked"] == "1" and view["password"] == "match"


def test_a_device_keeps_a_legacy_slot_and_locks_into_the_new_layout(tmp_path: Path) -> None:
    rec = Record("SN0001", KEY_ID, 0, password=Password(PASSWORD))
    flash = tmp_path / "flash.bin"
    image = bytearray(b"\xff" * 2 * SECTOR)
    legacy = Slot(rec.encode(), 1, False, legacy=True).encode()
    image[:len(legacy)] = legacy
    flash.write_bytes(bytes(image))
    device = VirtualDevice(flash, hwid="OLD", prog_size=8).start()
    try:
        assert device.runtime(check_password=PASSWORD)["password"] == "match"
        from credline.transport.serial_hook import HookLink

        with HookLink(device.port) as link:
            assert link.hello().serial == "SN0001"
            link.verify(rec)
            link.lock()
    finally:
        device.stop()
    after = Slot.decode(flash.read_bytes()[SECTOR:])
    assert (after.record, after.seq, after.locked, after.unit) == (rec.encode(), 2, True, 8)


TYPED_PASSWORD = "1620H0DXN15K"  # with 0s and 1s, so look-alikes count


@pytest.fixture(scope="module")
def crockford_device(tmp_path_factory: pytest.TempPathFactory) -> VirtualDevice:
    """A device provisioned with a Crockford record (no process left running)."""
    flash = tmp_path_factory.mktemp("typed") / "flash.bin"
    device = VirtualDevice(flash, hwid="TYPED").start()
    try:
        provision_device(device.port, Record("SN0003", KEY_ID, 0, password=Password(
            TYPED_PASSWORD), reading=READING_CROCKFORD))
    finally:
        device.stop()
    return device


@given(st.lists(st.tuples(st.sampled_from(["keep", "lower", "look-alike", "change"]),
                          st.sampled_from(["", "", "-", " "])), min_size=12, max_size=12),
       st.sampled_from(["", "-", "X", "  "]))
@settings(max_examples=40, deadline=None)
def test_the_hook_reads_typed_passwords_as_the_python_twin_does(
        crockford_device: VirtualDevice, edits: list[tuple[str, str]], tail: str) -> None:
    """Whatever a person types (case, grouping, look-alikes, a wrong character), the C hook's
    check_password and Record.accepts agree."""
    look_alike = {"0": "O", "1": "l"}
    typed = ""
    for char, (edit, gap) in zip(TYPED_PASSWORD, edits, strict=True):
        if edit == "lower":
            char = char.lower()
        elif edit == "look-alike":
            char = look_alike.get(char, char)
        elif edit == "change":
            char = "Z" if char != "Z" else "Y"
        typed += char + gap
    typed += tail
    record = Record("SN0003", KEY_ID, 0, password=Password(TYPED_PASSWORD),
                    reading=READING_CROCKFORD)
    answer = crockford_device.runtime(check_password=typed)["password"]
    assert (answer == "match") is record.accepts(typed)
