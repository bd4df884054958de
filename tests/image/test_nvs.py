"""The NVS image equals Espressif's generator's, byte for byte, for every allowed input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.errors import BadInput
from credline.core.policy import ALPHABETS, MAX_BITS
from credline.image.nvs import NvsBuilder, StoredCredential, read_credential, size_problem
from tests.image.oracle import in_memory, values_csv

SERIAL_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._:-"
serials = st.text(SERIAL_CHARS, min_size=1, max_size=64)
key_ids = st.text("0123456789abcdef", min_size=16, max_size=16)
generations = st.one_of(st.sampled_from([0, 1, 0xFFFFFFFF]),
                        st.integers(0, 0xFFFFFFFF))
sizes = st.sampled_from([0x3000, 0x4000, 0x6000, 0x10000])


@st.composite
def passwords(draw: st.DrawFn) -> str:
    """A password of any profile alphabet and any length the profile may set."""
    alphabet = draw(st.sampled_from(sorted(ALPHABETS.values())))
    longest = max(n for n in range(1, 129) if len(alphabet) ** n <= 2 ** MAX_BITS)
    return draw(st.text(alphabet, min_size=8, max_size=longest))


@settings(max_examples=300, deadline=None)
@given(size=sizes, serial=serials, password=passwords(), key_id=key_ids,
       generation=generations)
def test_image_equals_espressif_in_memory(size: int, serial: str, password: str,
                                          key_id: str, generation: int) -> None:
    ours = NvsBuilder(size, key_id=key_id).build(serial, password, generation)
    values = {"serial": serial, "password": password, "key_id": key_id,
              "scheme": "credline-v1"}
    assert ours == in_memory(size, values, generation)


@settings(max_examples=40, deadline=None)
@given(serial=serials, password=passwords(), generation=generations)
def test_one_builder_serves_every_serial_length(serial: str, password: str,
                                                generation: int) -> None:
    """The cached layouts do not leak from one device into the next."""
    builder = NvsBuilder(key_id="00112233aabbccdd")
    builder.build("S" * (len(serial) % 64 + 1), "Z" * len(password), 7)
    values = {"serial": serial, "password": password, "key_id": "00112233aabbccdd",
              "scheme": "credline-v1"}
    assert builder.build(serial, password, generation) == in_memory(0x6000, values,
                                                                    generation)


def test_image_equals_the_documented_csv_path(tmp_path: Path) -> None:
    """The mass-manufacturing path: a values CSV through the generator's command line."""
    values = {"serial": "SN-00:1.a", "password": "7K2Q-9XW4-MMP3", "key_id": "a1b2c3d4e5f60718",
              "scheme": "credline-v1"}
    values_csv(tmp_path / "values.csv", values, 4242)
    subprocess.run([sys.executable, "-m", "esp_idf_nvs_partition_gen", "generate",
                    str(tmp_path / "values.csv"), str(tmp_path / "espressif.bin"), "0x6000"],
                   check=True, capture_output=True)
    ours = NvsBuilder(0x6000, key_id=values["key_id"]).build(values["serial"],
                                                              values["password"], 4242)
    assert ours == (tmp_path / "espressif.bin").read_bytes()


@pytest.mark.parametrize(("size", "why"), [(0x2000, "between"), (0x6800, "multiple"),
                                           (0x200000, "between")])
def test_bad_sizes_are_refused(size: int, why: str) -> None:
    assert why in (size_problem(size) or "")
    with pytest.raises(BadInput, match=f"0x{size:x}"):
        NvsBuilder(size, key_id="0011223344556677")


def test_generation_outside_u32_is_refused() -> None:
    with pytest.raises(BadInput, match="4294967296"):
        NvsBuilder(key_id="0011223344556677").build("SN1", "ABCDEFGH", 2 ** 32)


@settings(max_examples=50, deadline=None)
@given(serial=serials, password=passwords(), generation=generations)
def test_what_is_written_reads_back(serial: str, password: str, generation: int) -> None:
    image = NvsBuilder(key_id="00112233aabbccdd").build(serial, password, generation)
    stored = read_credential(image[:4096])
    assert stored == StoredCredential(serial, "00112233aabbccdd", "credline-v1", generation)


@given(flip=st.integers(0, 4095))
def test_a_torn_or_flipped_page_reads_as_no_credential(flip: int) -> None:
    image = bytearray(NvsBuilder(key_id="00112233aabbccdd").build("SN-1", "ABCDEFGHJK", 3))
    image[flip] ^= 0x01
    stored = read_credential(bytes(image[:4096]))
    # A flip in erased space or in a value's unused padding changes nothing that is read;
    # anywhere else the record is refused rather than read wrong.
    assert stored is None or stored == StoredCredential("SN-1", "00112233aabbccdd",
                                                        "credline-v1", 3)
    assert read_credential(b"\xff" * 4096) is None


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_page_a_board_sends_is_read_without_error(data: st.DataObject) -> None:
    """The page comes from a device: random bytes, or a real page with random damage, are
    read as a credential or as none, never as an exception."""
    base = bytearray(NvsBuilder(key_id="00112233aabbccdd").build("SN-9", "ABCDEFGHJK", 1)[:4096])
    if data.draw(st.booleans()):
        page = data.draw(st.binary(min_size=4096, max_size=4096))
    else:
        for _ in range(data.draw(st.integers(1, 20))):
            base[data.draw(st.integers(0, 4095))] = data.draw(st.integers(0, 255))
        page = bytes(base)
    stored = read_credential(page)
    assert stored is None or isinstance(stored, StoredCredential)
