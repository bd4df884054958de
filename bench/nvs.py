"""Per-device ESP32 NVS image generation: ours against Espressif's, measured in one run.

    python bench/nvs.py [--count 20000] [--csv-count 2000]

Prints images per second for
- Espressif's documented path: a values CSV per device through ``generate`` (as its
  mass-manufacturing utility runs it: one CSV in, one .bin out, in a temporary directory);
- Espressif's in-memory API: ``nvs_open`` / ``write_entry`` / ``nvs_close`` into a BytesIO;
- ours: :class:`credline.image.nvs.NvsBuilder.build` (the same entries, the same bytes),
and our ratio to each. Targets: >= 10x the CSV path, >= 1x the in-memory path. Every
image of ours is checked against Espressif's in-memory one for the first serials.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from esp_idf_nvs_partition_gen import nvs_partition_gen as espressif

from credline.image.nvs import NvsBuilder

SIZE = 0x6000
KEY_ID = "a1b2c3d4e5f60718"
STRINGS = ("serial", "password", "key_id", "scheme")


def values(i: int) -> tuple[str, str, int]:
    return f"SN{i:08d}", f"{i * 7919 % 10 ** 12:012d}", i % 3


def in_memory(serial: str, password: str, generation: int) -> bytes:
    out = io.BytesIO()
    nvs = espressif.nvs_open(out, SIZE - 4096, espressif.Page.VERSION2)
    espressif.write_entry(nvs, "credline", "namespace", "", "")
    for key, value in zip(STRINGS, (serial, password, KEY_ID, "credline-v1"), strict=True):
        espressif.write_entry(nvs, key, "data", "string", value)
    espressif.write_entry(nvs, "gen", "data", "u32", str(generation))
    espressif.nvs_close(nvs)
    return out.getvalue()


def rate_in_memory(count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        in_memory(*values(i))
    return count / (time.perf_counter() - start)


def rate_csv(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        for i in range(count):
            serial, password, generation = values(i)
            source = root / f"{serial}.csv"
            source.write_text("key,type,encoding,value\ncredline,namespace,,\n"
                              + "".join(f"{key},data,string,{value}\n" for key, value in
                                        zip(STRINGS, (serial, password, KEY_ID,
                                                      "credline-v1"), strict=True))
                              + f"gen,data,u32,{generation}\n")
            args = SimpleNamespace(input=str(source), output=f"{serial}.bin", size=hex(SIZE),
                                   version=2, outdir=tmp)
            with contextlib.redirect_stdout(io.StringIO()):
                espressif.generate(args)
        return count / (time.perf_counter() - start)


def rate_ours(count: int) -> float:
    builder = NvsBuilder(SIZE, key_id=KEY_ID)
    for i in range(50):  # same bytes as Espressif's, or the figures mean nothing
        if builder.build(*values(i)) != in_memory(*values(i)):
            sys.exit(f"image {i} differs from Espressif's")
    start = time.perf_counter()
    build = builder.build
    for i in range(count):
        build(*values(i))
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--csv-count", type=int, default=2_000)
    args = parser.parse_args()
    csv_rate = rate_csv(args.csv_count)
    memory_rate = rate_in_memory(args.count)
    ours = rate_ours(args.count)
    print(f"espressif values CSV through generate: {csv_rate:12,.0f} images/s")
    print(f"espressif in-memory nvs_open/close:    {memory_rate:12,.0f} images/s")
    print(f"credline NvsBuilder.build:             {ours:12,.0f} images/s")
    print(f"ratio to the CSV path:       {ours / csv_rate:8.1f}x  (target >= 10x)")
    print(f"ratio to the in-memory path: {ours / memory_rate:8.1f}x  (target >= 1x)")


if __name__ == "__main__":
    main()
