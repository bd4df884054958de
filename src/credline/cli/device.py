"""``credline sim`` and ``credline provision``: virtual devices, and the station on one device."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path

import click

from credline.cli._common import key_option
from credline.cli.station import execute, ledger_options
from credline.core.errors import BadInput
from credline.core.ids import ProductId
from credline.core.settings import MAX_BAUD
from credline.files.profiles import load_profile
from credline.station.assembly import StationOptions
from credline.transport.virtual import Bench

# Seconds the one port must stay quiet, its device settled (locked or failed), before the
# run ends: the device is not taken off, so nothing else will happen on it.
PROVISION_IDLE_EXIT = 0.5
# What stops `credline sim` (and its devices) besides Ctrl-C: kill, a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # and SIGINT, as KeyboardInterrupt


@click.command("sim")
@click.option("--count", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Where the flash files live (default: a temporary directory).")
@click.option("--baud", type=click.IntRange(0, MAX_BAUD), default=0,
              help="Simulated line speed (0: as fast as possible).")
@click.option("--prog-size", type=click.Choice(["1", "2", "4", "8", "16", "32"]), default="1",
              show_default=True,
              help="Flash program unit in bytes: each word can be programmed once per erase, "
                   "as on STM32 (2, 8, 32) or ECC flash.")
def sim(count: int, workdir: Path | None, baud: int, prog_size: str) -> None:
    """Start virtual devices (the real C hook on pseudo-terminals) and print their ports.

    Runs until interrupted (Ctrl-C, SIGTERM or SIGHUP); stopping it stops the devices.

    \b
    Example:
      credline sim --count 8 --workdir /tmp/line
      credline sim --count 2 --prog-size 8
    """
    directory = workdir or Path(tempfile.mkdtemp(prefix="credline-sim-"))
    # Installed before the first device starts, so a stop that comes while they start still
    # unwinds through Bench, which stops the ones already running. (A blocked signal mask
    # would be inherited by the device processes and keep them from stopping.)
    previous = {sig: signal.getsignal(sig) for sig in (*STOP_SIGNALS, signal.SIGINT)}
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    try:
        with Bench(directory, count, baud=baud, prog_size=int(prog_size)) as bench:
            for port in bench.ports:
                click.echo(port)
            click.echo(f"{count} virtual devices running (flash in {directory}); Ctrl-C "
                       "stops them", err=True)
            while True:
                signal.pause()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into one by _stop
        pass  # Bench has stopped the devices
    finally:
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
@click.option("--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False))
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
    ProductId(batch, origin="--batch")
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
