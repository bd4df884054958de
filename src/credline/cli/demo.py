"""``credline demo``: the README's first command."""

from __future__ import annotations

from pathlib import Path

import click

from credline.core.errors import CheckFailed
from credline.station.demo import run_demo


@click.command("demo")
@click.option("--count", type=click.IntRange(1, 64), default=16, show_default=True,
              help="How many virtual devices.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("demo"), show_default=True,
              help="Where the DEMO key, registry, log, labels and flash files go.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
@click.option("--kind", type=click.Choice(["hook", "esp"]), default="hook", show_default=True,
              help="hook: the C hook over UART; esp: ESP32 ROM loader doubles, written "
                   "through esptool (the NVS partition of docs/esp.md).")
def demo(count: int, workdir: Path, plain: bool, kind: str) -> None:
    """Provision a batch of virtual devices end to end, then verify the provenance log.

    Starts COUNT virtual devices (the real C hook on pseudo-terminals), creates a DEMO key and
    a DEMO station identity, runs the station with a SQLite registry, checks the signed log
    against the registry, and prints a summary with where the labels and the log are.
    Everything it makes is marked DEMO and public: never use it for products.

    \b
    Examples:
      credline demo --count 16 --workdir /tmp/credline-demo
      credline demo --kind esp --count 4 --workdir /tmp/credline-esp-demo
    """
    result = run_demo(count, workdir, plain=True if plain else None, kind=kind)
    status = "  ".join(f"{state} {n}" for state, n in result.status.items() if n)
    click.echo("")
    click.echo(f"DEMO batch: {result.passed} of {result.devices} devices provisioned, "
               f"{result.failed} failed, in {result.seconds:.1f} s")
    click.echo(f"  registry   {result.registry}  ({status})")
    click.echo(f"  log        {result.log}  audit: {result.audit.summary()}")
    click.echo(f"  labels     {result.labels}/  (ZPL per device, PDF sheet; owner-only files)")
    click.echo(f"  key id     {result.key_id} (DEMO key, public: never for products)")
    if not result.audit.ok or result.passed != result.devices:
        raise CheckFailed("the demo did not provision and verify every device")


COMMANDS = [demo]
