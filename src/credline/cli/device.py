"""``credline sim`` and ``credline provision``: virtual devices, and one device end to end."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path

import click

from credline.cli._common import key_option
from credline.core.derive import MAX_GENERATION, Deriver
from credline.core.ids import Serial
from credline.core.settings import MAX_BAUD
from credline.files.profiles import load_profile
from credline.keystore import open_key
from credline.transport.serial_hook import provision_device
from credline.transport.virtual import Bench


@click.command("sim")
@click.option("--count", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Where the flash files live (default: a temporary directory).")
@click.option("--baud", type=click.IntRange(0, MAX_BAUD), default=0,
              help="Simulated line speed (0: as fast as possible).")
def sim(count: int, workdir: Path | None, baud: int) -> None:
    """Start virtual devices (the real C hook on pseudo-terminals) and print their ports.

    Runs until interrupted (Ctrl-C); stopping it stops the devices.

    \b
    Example:
      credline sim --count 8 --workdir /tmp/line
    """
    directory = workdir or Path(tempfile.mkdtemp(prefix="credline-sim-"))
    with Bench(directory, count, baud=baud) as bench:
        for port in bench.ports:
            click.echo(port)
        click.echo(f"{count} virtual devices running (flash in {directory}); Ctrl-C stops them",
                   err=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})


@click.command("provision")
@click.option("--port", required=True, help="Serial port or pyserial URL of the device.")
@key_option
@click.option("--profile", "profile_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False))
@click.option("--serial", required=True, help="The device's serial number.")
@click.option("--generation", type=click.IntRange(0, MAX_GENERATION), default=0)
@click.option("--no-lock", is_flag=True, help="Leave the device unlocked (for trials).")
def provision(port: str, key_ref: str, profile_path: Path, serial: str, generation: int,
              no_lock: bool) -> None:
    """Provision one device end to end: HELLO, derive, PUT, VERIFY, LOCK.

    Prints PASS or a plain-words failure (exit 1). The password never appears.

    \b
    Example:
      credline provision --port /dev/ttyUSB0 --key acme-cam.key \\
          --profile factory/profiles/acme-cam.toml --serial SN0001
    """
    from credline.transport.hook_device import DeviceSettings, device_record

    profile = load_profile(profile_path)
    settings = DeviceSettings.of(profile)
    deriver = Deriver(open_key(key_ref), profile.format)
    checked = Serial(serial, origin="--serial")
    password = deriver.password(profile.product, checked, generation)
    record = device_record(profile.storage, checked, deriver.key_id, generation, password,
                           settings.iterations)
    result = provision_device(port, record, lock=not no_lock, baud=settings.baud,
                              timeout=settings.timeout, retries=settings.retries)
    click.echo(f"PASS {serial} on {port} ({result.state.name.lower()}, "
               f"{result.seconds:.2f} s)")


COMMANDS = [sim, provision]
