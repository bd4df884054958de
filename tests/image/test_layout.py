"""The credential partition's place: the profile's [esp] section or the product's table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.errors import ProfileError
from credline.files.profiles import load_profile
from credline.image.layout import esp_layout, read_partition_table
from tests.conftest import REPO

TABLE = """# Name, Type, SubType, Offset, Size, Flags
nvs,      data, nvs,     ,        0x6000,
phy_init, data, phy,     ,        4K,
factory,  app,  factory, ,        1M,
credline, data, nvs,     ,        24K,
"""


def profile(tmp_path: Path, esp: str, table: str | None = TABLE) -> Path:
    if table is not None:
        (tmp_path / "parts.csv").write_text(table)
    path = tmp_path / "p.toml"
    path.write_text(f'[product]\nid = "p"\n[device]\ntransport = "esp"\n[esp]\n{esp}\n')
    return path


def test_the_shipped_esp_profile_reads_its_table() -> None:
    layout = esp_layout(load_profile(REPO / "factory/profiles/acme-plug.toml"))
    assert (layout.offset, layout.size) == (0x10000, 0x6000)


def test_empty_offsets_are_placed_as_espressif_places_them(tmp_path: Path) -> None:
    layout = esp_layout(load_profile(profile(tmp_path, 'partition_table = "parts.csv"')))
    # nvs 0x9000+0x6000, phy 0xf000+0x1000, factory aligned to 0x10000 (1M), then credline
    assert (layout.offset, layout.size) == (0x110000, 0x6000)


def test_offset_and_size_given_directly(tmp_path: Path) -> None:
    layout = esp_layout(load_profile(profile(tmp_path, "offset = 0x3F0000\nsize = 0x4000",
                                             None)))
    assert (layout.offset, layout.size) == (0x3F0000, 0x4000)


@pytest.mark.parametrize(("esp", "table", "named"), [
    ('partition_table = "parts.csv"\npartition = "creds"', TABLE, ["parts.csv", "'creds'"]),
    ('partition_table = "parts.csv"\nsize = 0x8000', TABLE, ["p.toml", "0x8000", "fit"]),
    ('partition_table = "parts.csv"\npartition = "factory"', TABLE, ["factory", "data, nvs"]),
    ('partition_table = "missing.csv"', None, ["missing.csv", "cannot read"]),
    ('partition_table = "parts.csv"', "credline, data, nvs, 0x9000, 2x\n", ["parts.csv:1",
                                                                          "'2x'"]),
    ("size = 0x6000", None, ["p.toml", "offset"]),
    ("offset = 0x8000", None, ["0x8000", "bootloader"]),
])
def test_a_partition_that_does_not_fit_names_file_and_value(
        tmp_path: Path, esp: str, table: str | None, named: list[str]) -> None:
    with pytest.raises(ProfileError) as caught:
        esp_layout(load_profile(profile(tmp_path, esp, table)))
    for text in named:
        assert text in caught.value.message


@pytest.mark.parametrize(("esp", "named"), [("size = 0x6800", "0x1000"),
                                             ("size = 0x1000", "between"),
                                             ('chip = "esp8266"', "esp32"),
                                             ('reset = "dtr"', "rts")])
def test_esp_values_are_range_checked_when_the_profile_loads(tmp_path: Path, esp: str,
                                                             named: str) -> None:
    with pytest.raises(ProfileError, match=named):
        load_profile(profile(tmp_path, esp, None))


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["app", "data"]),
                               st.integers(1, 64).map(lambda k: k * 0x1000)),
                     min_size=0, max_size=6),
       credline_sectors=st.integers(3, 16))
def test_placed_partitions_never_overlap_and_keep_their_alignment(
        tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int]],
        credline_sectors: int) -> None:
    tmp_path = tmp_path_factory.mktemp("table")
    lines = [f"p{i}, {kind}, {'factory' if kind == 'app' else 'nvs'}, , {size:#x},"
             for i, (kind, size) in enumerate(rows)]
    lines.append(f"credline, data, nvs, , {credline_sectors * 0x1000:#x},")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    placed = read_partition_table(tmp_path / "t.csv")
    ends = 0x9000
    for row in placed:
        assert row.offset >= ends  # after the previous one (and the partition table)
        assert row.offset % (0x10000 if row.kind == "app" else 0x1000) == 0
        ends = row.offset + row.size
    layout = esp_layout(load_profile(profile(tmp_path, 'partition_table = "t.csv"', None)))
    assert (layout.offset, layout.size) == (placed[-1].offset, credline_sectors * 0x1000)
