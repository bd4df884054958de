"""Regenerate tests/vectors/slots.txt: flash slots and typed passwords, in hex.

Made by the Python twin (credline.core.slot, credline.core.record); the C tests
(firmware-hooks/tests/test_hook.c) hold the hook to every line: they write each ``slot`` through
PUT (and LOCK) on a strict NOR flash with that program unit and compare the bytes, read every
``slot``, ``legacy-slot`` and ``bad-slot`` at boot, and check every ``typed`` password. The
Python tests (tests/device/test_slot.py) regenerate the file and compare.
Run: PYTHONPATH=src python tests/vectors/make_slots.py > tests/vectors/slots.txt
"""

from __future__ import annotations

from credline.core.record import READING_CROCKFORD, Record
from credline.core.secret import Password
from credline.core.slot import UNITS, Slot

KEY_ID = "e98c6960947e8461"
PLAIN = Record("SN0001", KEY_ID, 0, password=Password("WW4V6P8BPYR2"))
CROCKFORD = Record("SN0003", KEY_ID, 0, password=Password("862EH6DXN95K"),
                   reading=READING_CROCKFORD)
VERIFIER = Record.with_verifier("SN0004", KEY_ID, 2, Password("S49FNKJX35D0"),
                                salt=bytes(range(16)), iterations=1000, reading=READING_CROCKFORD)
EXACT_LOWER = Record("SN0005", KEY_ID, 0, password=Password("x7-k2 Q"))
TYPED = [  # (record, typed, device accepts)
    (CROCKFORD, "862EH6DXN95K", True),
    (CROCKFORD, "862E-H6DX-N95K", True),
    (CROCKFORD, "862e-h6dx-n95k", True),
    (CROCKFORD, " 862E H6DX N95K ", True),
    (CROCKFORD, "862EH6DXN95K-", True),
    (CROCKFORD, "862EH6DXN95", False),
    (CROCKFORD, "862EH6DXN95KK", False),
    (CROCKFORD, "862EH6DXN96K", False),
    (CROCKFORD, "862EH6DXN9_K", False),
    (CROCKFORD, "", False),
    (PLAIN, "WW4V6P8BPYR2", True),
    (PLAIN, "ww4v6p8bpyr2", False),  # a version 1 record: exact match only
    (PLAIN, "WW4V-6P8B-PYR2", False),
    (EXACT_LOWER, "x7-k2 Q", True),
    (EXACT_LOWER, "X7-K2 Q", False),
    (EXACT_LOWER, "x7k2Q", False),
    (VERIFIER, "S49FNKJX35D0", True),
    (VERIFIER, "s49f-nkjx-35do", True),
    (VERIFIER, "S49FNKJX35D1", False),
]
TYPED += [(CROCKFORD, "862E" + "-" * 100 + "H6DXN95K", True),
          (CROCKFORD, "862EH6DXN95K" * 6, False)]


def _torn_commit(record: Record, unit: int) -> bytes:
    data = bytearray(Slot(record.encode(), unit=unit).encode())
    data[-1] = 0xFF  # the last commit byte never made it
    return bytes(data)


def _bad_crc(record: Record, unit: int) -> bytes:
    data = bytearray(Slot(record.encode(), unit=unit).encode())
    data[20] ^= 0x01
    return bytes(data)


def lines() -> list[str]:
    out = ["# credline flash slot vectors (firmware-hooks/include/credline_hook.h, Slot layout)",
           "# slot NAME UNIT SEQ LOCKED RECORD SLOT: what PUT (SEQ 1, in sector A) or PUT then",
           "#   LOCK (SEQ 2, sector B) writes with program unit UNIT; the rest of the sector is FF",
           "# legacy-slot NAME SEQ LOCKED RECORD SLOT: a CLR1 slot (hook 1.0/1.1), read only",
           "# bad-slot NAME SLOT: reads as absent | typed RECORD TYPED-HEX match|mismatch"]
    for record in (PLAIN, CROCKFORD, VERIFIER):
        encoded = record.encode()
        for unit in UNITS:
            name = f"{record.serial}-u{unit}"
            out.append(f"slot {name} {unit} 1 0 {encoded.hex()} "
                       f"{Slot(encoded, 1, False, unit).encode().hex()}")
            out.append(f"slot {name}-locked {unit} 2 1 {encoded.hex()} "
                       f"{Slot(encoded, 2, True, unit).encode().hex()}")
    for seq, locked in ((1, False), (7, True)):
        encoded = PLAIN.encode()
        out.append(f"legacy-slot {PLAIN.serial}-seq{seq} {seq} {int(locked)} {encoded.hex()} "
                   f"{Slot(encoded, seq, locked, legacy=True).encode().hex()}")
    for unit in (1, 8, 32):
        out.append(f"bad-slot torn-commit-u{unit} {_torn_commit(PLAIN, unit).hex()}")
        out.append(f"bad-slot crc-u{unit} {_bad_crc(PLAIN, unit).hex()}")
    for record, typed, ok in TYPED:
        out.append(f"typed {record.encode().hex()} {typed.encode().hex() or '-'} "
                   f"{'match' if ok else 'mismatch'}")
    return out


if __name__ == "__main__":
    print("\n".join(lines()))
