"""Station speed over throttled virtual devices (115200 baud, simulated flash time).

    python bench/station.py [--ports 8] [--per-port 4] [--baud 115200] [--flash-delay-ms 5]

Prints, for the provisioning path the station runs per port (HELLO, PUT, VERIFY, LOCK over
real pyserial to the real C hook on a pty):
- time per device against the wire time of the bytes that crossed (counted, 10 bits a byte)
  plus the simulated flash time (flash calls x delay); target <= 1.5;
- throughput of 8 ports in parallel (each taking 4 devices in turn) against the same 32
  devices through one port; target >= 6.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from credline.record import Record
from credline.secret import Password
from credline.sim import Bench, build
from credline.transport.serial_hook import provision_device

FLASH_CALLS_PER_DEVICE = 10  # PUT and LOCK: one erase and four programs each


def record(i: int) -> Record:
    return Record(f"BENCH-{i:05d}", "e98c6960947e8461", 0, password=Password("WW4V6P8BPYR2"))


def one_port(ports: list[str], baud: int) -> tuple[float, int]:
    start = time.perf_counter()
    crossed = 0
    for i, port in enumerate(ports):
        result = provision_device(port, record(i), baud=baud)
        crossed += result.bytes_sent + result.bytes_received
    return time.perf_counter() - start, crossed


def _port_worker(ports: list[str], first: int, baud: int) -> None:
    for i, port in enumerate(ports):  # the devices an operator plugs into this port in turn
        provision_device(port, record(first + i), baud=baud)


def all_ports(ports: list[str], lines: int, baud: int) -> float:
    share = len(ports) // lines
    threads = [threading.Thread(target=_port_worker,
                                args=(ports[k * share:(k + 1) * share], 1000 * k, baud))
               for k in range(lines)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ports", type=int, default=8)
    parser.add_argument("--per-port", type=int, default=4, help="devices through each port")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--flash-delay-ms", type=int, default=5)
    args = parser.parse_args()
    build()
    options = {"baud": args.baud, "flash_delay_ms": args.flash_delay_ms}
    with tempfile.TemporaryDirectory() as tmp:
        devices = args.ports * args.per_port
        with Bench(Path(tmp) / "serial", devices, **options) as bench:
            serial_time, crossed = one_port(bench.ports, args.baud)
        with Bench(Path(tmp) / "parallel", devices, **options) as bench:
            parallel_time = all_ports(bench.ports, args.ports, args.baud)
    args.devices = devices
    per_device = serial_time / args.devices
    wire = crossed / args.devices * 10 / args.baud
    flash = FLASH_CALLS_PER_DEVICE * args.flash_delay_ms / 1000
    print(f"cores                      {os.cpu_count()}")
    print(f"bytes on the wire/device   {crossed / args.devices:.0f} "
          f"({wire * 1000:.1f} ms at {args.baud} baud)")
    print(f"simulated flash time       {flash * 1000:.1f} ms/device")
    print(f"measured time/device       {per_device * 1000:.1f} ms (one port)")
    print(f"ratio to wire + flash      {per_device / (wire + flash):.2f}  (target <= 1.5)")
    print(f"{args.ports} ports in parallel      {parallel_time:.2f} s for {args.devices} "
          f"devices vs {serial_time:.2f} s through one port")
    print(f"parallel speed-up          {serial_time / parallel_time:.2f}x  (target >= 6)")


if __name__ == "__main__":
    main()
