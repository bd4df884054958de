"""Station speed over throttled virtual devices (115200 baud, simulated flash time).

    python bench/station.py [--ports 8] [--per-port 4] [--baud 115200] [--flash-delay-ms 5]

Prints, for the provisioning path the station runs per port (HELLO, PUT, VERIFY, LOCK over
real pyserial to the real C hook on a pty):
- time per device against the wire time of the bytes that crossed (counted, 10 bits a byte)
  plus the simulated flash time (flash calls x delay); target <= 1.5;
- throughput of 8 ports in parallel (each taking 4 devices in turn) against the same 32
  devices through one port; target >= 6;
- the same two ratios for the whole station (`build_station`, as `credline station run`
  assembles it: SQLite registry, signed and fsynced provenance log, ZPL labels), with ports
  as symlinks moved to the next device the moment the station shows PASS (an operator with
  no reaction time), so what is timed is the station's own work; and the same devices over
  twice the ports (16 by default); and the station's own CPU time per device, which bounds
  how far more ports can take it;
- the machine's own speed where the station spends its time (a fixed piece of Python, a
  write + fsync), measured in the same run, so that figures from two machines can be told
  apart from a change in credline.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import threading
import time
import timeit
from collections.abc import Iterator
from pathlib import Path

from credline.core.keys import MasterKey
from credline.core.record import Record
from credline.core.secret import Password
from credline.files.profiles import load_profile
from credline.keystore import keyfile
from credline.registry import open_registry
from credline.station.assembly import StationOptions, build_station
from credline.station.events import Event, Phase, PortEvent
from credline.station.identity import enroll
from credline.transport.serial_hook import HookLink
from credline.transport.virtual import HOOKS, Bench, build

PROFILE = HOOKS.parent / "factory" / "profiles" / "demo-device.toml"
BENCH_PASSPHRASE = "bench-only-passphrase"

# PUT and LOCK each write a slot: one erase and two programs (hook 1.2: the slot's words, then
# its commit word; the hook before 1.2 made four programs a slot, 10 calls a device).
FLASH_CALLS_PER_DEVICE = 6


def record(i: int) -> Record:
    return Record(f"BENCH-{i:05d}", "e98c6960947e8461", 0, password=Password("WW4V6P8BPYR2"))


def exchange(port: str, rec: Record, baud: int) -> int:
    """The bare HELLO, PUT, VERIFY, LOCK of one device (the wire alone, no bookkeeping);
    returns the bytes that crossed the line."""
    with HookLink(port, baud=baud) as link:
        link.hello()
        link.put(rec)
        link.verify(rec)
        link.lock()
        return link.bytes_sent + link.bytes_received


def one_port(ports: list[str], baud: int) -> tuple[float, int]:
    start = time.perf_counter()
    crossed = 0
    for i, port in enumerate(ports):
        crossed += exchange(port, record(i), baud)
    return time.perf_counter() - start, crossed


def _port_worker(ports: list[str], first: int, baud: int) -> None:
    for i, port in enumerate(ports):  # the devices an operator plugs into this port in turn
        exchange(port, record(first + i), baud)


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


class Rack:
    """Station ports as symlinks; behind each, devices already running, one moved in the
    moment the station reports PASS on that port."""

    def __init__(self, root: Path, devices: list[str], lines: int) -> None:
        root.mkdir(parents=True)
        share = len(devices) // lines
        self.links = [root / f"port{k}" for k in range(lines)]
        # Every move made ready now: the operator's hand is one rename, not a new symlink
        # (a new inode costs 0.35 ms of kernel time here, on the station's clock).
        self.queues: list[list[Path]] = []
        for k, link in enumerate(self.links):
            ready = [root / f"port{k}.next{i}" for i in range(share)]
            for name, device in zip(ready, devices[k * share:(k + 1) * share], strict=True):
                name.symlink_to(device)
            os.replace(ready.pop(0), link)
            self.queues.append(ready)
        self.passed = 0
        self._counting = threading.Lock()  # every port's thread reports its PASS here
        self.done = threading.Event()
        self.total = share * lines

    def on_event(self, event: Event) -> None:
        if not (isinstance(event, PortEvent) and event.phase is Phase.PASS):
            return
        k = self.links.index(Path(event.port))
        if self.queues[k]:
            os.replace(self.queues[k].pop(0), self.links[k])
        with self._counting:
            self.passed += 1
            if self.passed == self.total:
                self.done.set()


@contextlib.contextmanager
def rack_folder(root: Path) -> Iterator[Path]:
    """Where the rack's port links live: in memory where the machine has it, as a line's
    device nodes do (/dev), so plugging a device in costs the station's disk nothing.

    On ext4 without a journal (this project's reference machine), every file made within
    half a minute of a deletion skips the inodes freed that recently, reading each: with
    the rack's links on the same disk, a label file took 0.2-0.35 ms more to make."""
    memory = Path("/dev/shm")  # noqa: S108  (a private mkdtemp folder is made inside)
    if not (memory.is_dir() and os.access(memory, os.W_OK)):
        yield root / "ports"
        return
    with tempfile.TemporaryDirectory(prefix="credline-bench-rack-", dir=memory) as folder:
        yield Path(folder) / "ports"


def whole_station(root: Path, devices: list[str], lines: int) -> tuple[float, float]:
    """(seconds from the station's start to the last device's PASS, wrap-up not counted;
    the station process's CPU seconds over the same span, every thread)."""
    os.environ["CREDLINE_STATION_PASSPHRASE"] = BENCH_PASSPHRASE
    root.mkdir()
    fast = keyfile.ScryptParams(n=2**12)  # unwrapping happens before the clock starts
    key = keyfile.create(root / "master.key", os.urandom(32), BENCH_PASSPHRASE, params=fast)
    url = f"sqlite:///{root / 'registry.db'}"
    with open_registry(url) as registry:
        enroll(root / "station.key", "bench", BENCH_PASSPHRASE, registry, params=fast)
    order = root / "work-order.txt"
    order.write_text("".join(f"BENCH-{i:05d}\n" for i in range(len(devices))))
    with rack_folder(root) as ports:
        return _run_station(root, key, url, order, Rack(ports, devices, lines))


def _run_station(root: Path, key: MasterKey, url: str, order: Path,
                 rack: Rack) -> tuple[float, float]:
    options = StationOptions(batch="bench-1", ports=tuple(map(str, rack.links)),
                             work_order=order, registry_url=url,
                             log_path=root / "provenance.jsonl", station_key=root / "station.key",
                             label_dir=root / "labels", count=rack.total)
    built = build_station(load_profile(PROFILE), key, options, rack.on_event)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        runner = threading.Thread(target=built.station.run)
        runner.start()
        finished = rack.done.wait(timeout=600)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        runner.join()
    finally:
        built.close()
    if not finished:
        raise SystemExit(f"the station passed {rack.passed} of {rack.total} devices")
    return elapsed, cpu


def machine(folder: Path) -> tuple[float, float]:
    """This machine's speed where the station spends its own time, measured in this run:
    (a fixed piece of pure Python, best of 5, in us; a 200-byte write + fsync in ``folder``,
    median of 50, in us). The ratios above do not divide these out: on a machine twice as
    slow at both, the station's share of each device doubles."""
    numbers = list(range(1000))
    python = min(timeit.repeat(lambda: sum(numbers), number=2000, repeat=5)) / 2000
    syncs = []
    fd = os.open(folder / "fsync-probe", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(50):
            start = time.perf_counter()
            os.write(fd, b"x" * 200)
            os.fsync(fd)
            syncs.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return python * 1e6, statistics.median(syncs) * 1e6


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
        python_us, fsync_us = machine(Path(tmp))
        with Bench(Path(tmp) / "serial", devices, **options) as bench:
            serial_time, crossed = one_port(bench.ports, args.baud)
        with Bench(Path(tmp) / "parallel", devices, **options) as bench:
            parallel_time = all_ports(bench.ports, args.ports, args.baud)
        with Bench(Path(tmp) / "station-1", devices, **options) as bench:
            station_one, station_one_cpu = whole_station(Path(tmp) / "run-1", bench.ports, 1)
        with Bench(Path(tmp) / "station-n", devices, **options) as bench:
            station_n, station_n_cpu = whole_station(Path(tmp) / "run-n", bench.ports, args.ports)
        wide = 2 * args.ports  # the same devices over twice the ports (a 16-port station)
        with Bench(Path(tmp) / "station-w", devices, **options) as bench:
            station_w, station_w_cpu = whole_station(Path(tmp) / "run-w", bench.ports, wide)
    args.devices = devices
    # The targets are for 8 ports (the figures); other widths are printed bare.
    exchange_target, station_target = (
        ("  (target >= 6)", "  (target >= 7)") if args.ports == 8 else ("", ""))
    per_device = serial_time / args.devices
    wire = crossed / args.devices * 10 / args.baud
    flash = FLASH_CALLS_PER_DEVICE * args.flash_delay_ms / 1000
    print(f"cores                      {os.cpu_count()}")
    print(f"machine                    sum of 1000 ints {python_us:.1f} us (Python), "
          f"write + fsync {fsync_us:.0f} us (disk)")
    print(f"bytes on the wire/device   {crossed / args.devices:.0f} "
          f"({wire * 1000:.1f} ms at {args.baud} baud)")
    print(f"simulated flash time       {flash * 1000:.1f} ms/device")
    print(f"measured time/device       {per_device * 1000:.1f} ms (one port)")
    print(f"ratio to wire + flash      {per_device / (wire + flash):.2f}  (target <= 1.5)")
    print(f"{args.ports} ports in parallel      {parallel_time:.2f} s for {args.devices} "
          f"devices vs {serial_time:.2f} s through one port")
    print(f"parallel speed-up          {serial_time / parallel_time:.2f}x{exchange_target}")
    print("whole station (registry, signed log, labels):")
    print(f"  time/device, one port    {station_one / args.devices * 1000:.1f} ms; ratio to "
          f"wire + flash {station_one / args.devices / (wire + flash):.2f}  (target <= 1.25)")
    print(f"  {args.ports} ports in parallel    {station_n:.2f} s vs {station_one:.2f} s through "
          f"one port: {station_one / station_n:.2f}x{station_target}")
    print(f"  {wide} ports in parallel   {station_w:.2f} s vs {station_one:.2f} s through "
          f"one port: {station_one / station_w:.2f}x")
    # The station's own CPU (all its threads; the devices are other processes): what a port
    # more costs. Python runs one thread at a time, so 1 / this is the ceiling in devices/s.
    print(f"  station CPU/device       {station_one_cpu / args.devices * 1000:.1f} ms (one "
          f"port), {station_n_cpu / args.devices * 1000:.1f} ms ({args.ports} ports), "
          f"{station_w_cpu / args.devices * 1000:.1f} ms ({wide} ports)")


if __name__ == "__main__":
    main()
