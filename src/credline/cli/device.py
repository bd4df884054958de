"""``credline sim`` and ``credline provision``: virtual devices or emulated boards, and the
station on one device."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path

import click

from credline.cli._common import key_option
from credline.cli.station import execute, ledger_options
from credline.core.errors import BadInput
from credline.core.ids import check_batch_id
from credline.core.settings import MAX_BAUD
from credline.files.profiles import load_profile
from credline.station.assembly import StationOptions
from credline.transport.esp_double import EspBench
from credline.transport.virtual import KINDS, Bench, PortLinks

# Seconds the one port must stay quiet, its device settled (locked or failed), before the
# run ends: the device is not taken off, so nothing else will happen on it.
PROVISION_IDLE_EXIT = 0.5
# What stops `credline sim` (and its devices) besides Ctrl-C: kill, a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # and SIGINT, as KeyboardInterrupt


@click.command("sim")
@click.option("--count", type=click.IntRange(1, 64), default=4, show_default=True,
              help="How many virtual devices (or boards) to start.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="An existing folder for the flash files (kept afterwards). Default: a "
                   "temporary folder, removed when sim stops (flash files hold passwords).")
@click.option("--links", "links", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the ports' links (vdev-00, vdev-01, ...), made if missing, for "
                   "'station run --ports-from DIR/*'. Default: ports/ in the workdir.")
@click.option("--baud", type=click.IntRange(0, MAX_BAUD), default=0,
              help="Simulated line speed (0: as fast as possible; virtual devices only).")
@click.option("--prog-size", type=click.Choice(["1", "2", "4", "8", "16", "32"]), default="1",
              show_default=True,
              help="Flash program unit in bytes: each word can be programmed once per erase, "
                   "as on STM32 (2, 8, 32) or ECC flash (virtual devices and boards).")
@click.option("--kind", type=click.Choice([*KINDS, "esp"]), default="virtual",
              show_default=True,
              help="virtual: the hook built for this machine; qemu: the hook built for a "
                   "Cortex-M3 on an emulated mps2-an385 board (needs qemu-system-arm and "
                   "arm-none-eabi-gcc); esp: a double of the ESP32 ROM loader (for esptool and "
                   "profiles with [device] transport = \"esp\").")
def sim(count: int, workdir: Path | None, links: Path | None, baud: int, prog_size: str,
        kind: str) -> None:
    """Start virtual devices, emulated boards or ESP32 ROM loader doubles on
    pseudo-terminals and print their ports.

    Prints each pseudo-terminal's path; each is also linked as DIR/vdev-NN (DIR from
    --links), so a station takes them all with --ports-from 'DIR/*'. --kind esp runs doubles
    that esptool itself talks to (`esptool --port PTY --before no-reset --no-stub read-flash
    ...` reads their flash back). Runs until interrupted (Ctrl-C, SIGTERM or SIGHUP);
    stopping it stops the devices, removes the links and, unless --workdir was given, the
    temporary folder with the flash files. A device's flash is a file in --workdir, so a
    device started again there keeps its credential.

    \b
    Examples:
      credline sim --count 4 --links sim-ports &
      credline station run ... --ports-from 'sim-ports/*' --count 4 --idle-exit 5
      credline sim --count 2 --prog-size 8
      credline sim --kind qemu --count 2 --workdir /tmp/boards
      credline sim --kind esp --count 4
    """
    if baud and kind != "virtual":
        raise BadInput(f"--baud {baud}: only virtual devices throttle their line (--kind {kind} "
                       "runs at the speed its host asks for)")
    # Installed before the first device starts, so a stop that comes while they start still
    # unwinds through Bench, which stops the ones already running. (A blocked signal mask
    # would be inherited by the device processes and keep them from stopping.)
    previous = {sig: signal.getsignal(sig) for sig in (*STOP_SIGNALS, signal.SIGINT)}
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    made: Path | None = None
    try:
        directory = workdir or (made := Path(tempfile.mkdtemp(prefix="credline-sim-")))
        folder = PortLinks(links or directory / "ports")
        options: dict[str, int] = {"prog_size": int(prog_size)}
        if baud:
            options["baud"] = baud
        bench: Bench | EspBench
        with folder, (EspBench(directory, count) if kind == "esp"
                      else Bench(directory, count, kind, **options)) as bench:
            folder.link(bench.ports)
            for port in bench.ports:
                click.echo(port)
            what = {"virtual": "virtual devices", "qemu": "emulated boards (QEMU mps2-an385)",
                    "esp": "ESP32 ROM loader doubles"}[kind]
            click.echo(f"{count} {what} running (flash in {directory}); take them with "
                       f"--ports-from '{folder.path}/*'; Ctrl-C stops them", err=True)
            while True:
                signal.pause()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into one by _stop
        pass  # Bench has stopped the devices, PortLinks removed the links
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(signum: int, _frame: object) -> None:
    for sig in (*STOP_SIGNALS, signal.SIGINT):  # none may interrupt the devices' stopping
        signal.signal(sig, signal.SIG_IGN)
    # Handled as Ctrl-C is: the same unwinding stops the devices, and no new exception type.
    raise KeyboardInterrupt(signal.Signals(signum).name)


@click.command("provision")
@click.option("--port", required=True, help="Serial port or pyserial URL of the device.")
@key_option
@click.option("-p", "--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False), help="Product profile TOML.")
@click.option("--serial", required=True, help="The device's serial number.")
@click.option("--batch", required=True, help="Batch id (resumes it if it exists).")
@ledger_options
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
def provision(port: str, key_ref: str, profile_path: Path, serial: str, batch: str,
              registry_url: str, log_path: Path, station_key: Path | None, operator: str,
              label_dir: Path | None, plain: bool) -> None:
    """Provision one device: the station with one port and one serial.

    The same run as `credline station run` (the same registry, signed log, policy check,
    label and lock), with the same requirements: a registry made by `credline registry
    init` and this station enrolled in it (`credline station enroll`). Exit 0 when the
    device is locked, 1 when it failed (the reason is printed), 2 for bad input. The
    password never appears.

    \b
    Example:
      credline provision --port /dev/ttyUSB0 --key acme-cam.key \\
          --profile factory/profiles/acme-cam.toml --serial SN0001 --batch B42 \\
          --registry sqlite:///factory.db --station-key station1.key
    """
    check_batch_id(batch, origin="--batch")
    if "://" not in port and not Path(port).exists():
        # The station waits for a port to appear; one device given by name must be there.
        raise BadInput(f"--port {port}: no such port (is the device plugged in?)")
    profile = load_profile(profile_path)
    options = StationOptions(batch=batch, ports=(port,), serials=(serial,),
                             registry_url=registry_url, log_path=log_path,
                             station_key=station_key, operator=operator, label_dir=label_dir,
                             count=1, idle_exit=PROVISION_IDLE_EXIT)
    execute(profile, key_ref, options, plain)


COMMANDS = [sim, provision]
