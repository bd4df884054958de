"""Espressif's own generator, as the tests' oracle for the NVS image."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from esp_idf_nvs_partition_gen import nvs_partition_gen as espressif

STRINGS = ("serial", "password", "key_id", "scheme")


def in_memory(size: int, values: dict[str, str], generation: int) -> bytes:
    """nvs_open / write_entry / nvs_close, as a script would call them."""
    out = io.BytesIO()
    nvs = espressif.nvs_open(out, size - 4096, espressif.Page.VERSION2)
    espressif.write_entry(nvs, "credline", "namespace", "", "")
    for key in STRINGS:
        espressif.write_entry(nvs, key, "data", "string", values[key])
    espressif.write_entry(nvs, "gen", "data", "u32", str(generation))
    espressif.nvs_close(nvs)
    return out.getvalue()


def values_csv(path: Path, values: dict[str, str], generation: int) -> None:
    """The documented input: a CSV of key,type,encoding,value rows."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "type", "encoding", "value"])
        writer.writerow(["credline", "namespace", "", ""])
        for key in STRINGS:
            writer.writerow([key, "data", "string", values[key]])
        writer.writerow(["gen", "data", "u32", str(generation)])
