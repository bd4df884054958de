"""Frames and records: round trips (hypothesis) and the shared vectors the C tests also read."""

from __future__ import annotations

import contextlib
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.errors import RecordError
from credline.core.framing import MAX_FRAME, Deframer, Frame, FrameError, decode, unslip
from credline.core.record import Record
from credline.core.secret import Password

VECTORS = Path(__file__).parent.parent / "vectors" / "protocol.txt"
LINES = [line.split() for line in VECTORS.read_text().splitlines()
         if line and not line.startswith("#")]


@given(seq=st.integers(0, 255), cmd=st.integers(0, 255),
       body=st.binary(max_size=MAX_FRAME - 7))
def test_frames_round_trip(seq: int, cmd: int, body: bytes) -> None:
    encoded = Frame(seq, cmd, body).encode()
    assert encoded.count(0xC0) == 2  # END only at the ends: the body is escaped
    assert decode(encoded[1:-1]) == Frame(seq, cmd, body)


@given(noise=st.binary(max_size=300), body=st.binary(max_size=100))
def test_deframer_survives_garbage_and_finds_the_frame(noise: bytes, body: bytes) -> None:
    frames = Deframer().feed(noise + Frame(9, 3, body).encode())
    assert frames and frames[-1] == Frame(9, 3, body)


@given(data=st.binary(max_size=600))
def test_decoding_garbage_raises_only_frame_errors(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        decode(data)


def test_oversize_frames_are_refused() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        Frame(1, 2, bytes(MAX_FRAME)).encode()


ids = st.text(alphabet="0123456789ABCDEFabcdef._:-", min_size=1, max_size=64)


@given(serial=ids, password=st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1,
                                    max_size=64),
       generation=st.integers(0, 2**32 - 1), key=st.binary(min_size=8, max_size=8))
def test_records_round_trip(serial: str, password: str, generation: int, key: bytes) -> None:
    record = Record(serial, key.hex(), generation, password=Password(password))
    back = Record.decode(record.encode())
    assert (back.serial, back.key_id, back.generation) == (serial, key.hex(), generation)
    assert back.password is not None and back.password.reveal() == password


@given(data=st.binary(max_size=300))
def test_record_decoder_raises_only_record_errors(data: bytes) -> None:
    with contextlib.suppress(RecordError):
        Record.decode(data)


def test_python_matches_the_shared_vectors() -> None:
    from tests.vectors.make_protocol import DAMAGED, PLAIN, SESSION, VERIFIER

    rows = {(row[0], row[1]): row for row in LINES if len(row) >= 3}
    assert rows[("record", "plaintext")][2] == PLAIN.encode().hex()
    assert rows[("record", "verifier")][2] == VERIFIER.encode().hex()
    for row in LINES:
        if row[0] == "crc32":
            data = b"" if row[1] == "-" else bytes.fromhex(row[1])
            assert f"{zlib.crc32(data):08x}" == row[2]
        if row[0] == "bad-record":
            with pytest.raises(RecordError):
                Record.decode(bytes.fromhex(row[2]))
    for name, frame in SESSION:
        request, reply = rows[("exchange", name)][2:4]
        assert frame.encode().hex() == request
        assert isinstance(Deframer().feed(bytes.fromhex(reply))[0], Frame)
    for name, frame in DAMAGED:
        assert rows[("exchange", name)][2] == frame.hex()


def test_the_vector_exchanges_replay_on_a_virtual_device(tmp_path: Path) -> None:
    """The C hook behind a real pty answers every exchange of the vectors byte for byte."""
    import serial

    from credline.transport.virtual import VirtualDevice

    exchanges = [row for row in LINES if row[0] in ("reset", "exchange")]
    assert [row[1] for row in exchanges[:1]] == ["VEC0001"]  # one device, from the start
    device = VirtualDevice(tmp_path / "flash.bin", hwid="VEC0001").start()
    try:
        with serial.serial_for_url(device.port, timeout=0.5) as port:
            for _, name, request, reply in exchanges[1:]:
                want = b"" if reply == "-" else bytes.fromhex(reply)
                port.write(bytes.fromhex(request))
                got = port.read(len(want)) if want else port.read(64)
                assert got == want, f"exchange {name}"
    finally:
        device.stop()


@given(stream=st.lists(st.builds(lambda seq, body: Frame(seq, 3, body).encode(),
                                 st.integers(0, 255), st.binary(max_size=600))
                       | st.binary(max_size=1200), max_size=6),
       sizes=st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_the_deframer_finds_the_same_frames_however_the_bytes_arrive(
        stream: list[bytes], sizes: list[int]) -> None:
    """A port hands over bytes in whatever chunks the line and the OS make; the frames (and
    the errors) found must not depend on them."""
    data = b"".join(stream)
    whole = [item if isinstance(item, Frame) else str(item) for item in Deframer().feed(data)]
    chunked, deframer, at = [], Deframer(), 0
    for i in range(len(data)):
        if at >= len(data):
            break
        size = sizes[i % len(sizes)]
        chunked += [item if isinstance(item, Frame) else str(item)
                    for item in deframer.feed(data[at:at + size])]
        at += size
    assert chunked == whole


def _unslip_reference(data: bytes) -> bytes:
    """RFC 1055 read byte by byte, as the C hook reads it: the model the fast path must match."""
    out, escape = bytearray(), False
    for byte in data:
        if escape:
            if byte not in (0xDC, 0xDD):
                raise FrameError(f"bad SLIP escape 0x{byte:02x}")
            out.append(0xC0 if byte == 0xDC else 0xDB)
            escape = False
        elif byte == 0xDB:
            escape = True
        else:
            out.append(byte)
    if escape:
        raise FrameError("frame ends inside an escape")
    return bytes(out)


@settings(max_examples=2000)
@given(parts=st.lists(st.sampled_from([b"\xdb", b"\xdc", b"\xdd", b"\xc0", b"a"])
                      | st.binary(max_size=4), max_size=40))
def test_unslip_reads_any_bytes_as_the_byte_by_byte_reading_does(parts: list[bytes]) -> None:
    data = b"".join(parts)
    expected: bytes | str
    try:
        expected = _unslip_reference(data)
    except FrameError as exc:
        expected = str(exc)
    try:
        assert unslip(data) == expected
    except FrameError as exc:
        assert str(exc) == expected
