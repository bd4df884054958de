"""``credline registry``: create, inspect and export the device registry."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from credline.files.output import refuse_inputs
from credline.registry import STATES, Device, Registry, open_registry

F = TypeVar("F", bound=Callable[..., Any])
SQLITE = "sqlite:///"


@click.group("registry")
def registry() -> None:
    """The device registry (SQLite file or PostgreSQL).

    \b
    Example:
      credline registry init sqlite:///factory.db
      credline registry status sqlite:///factory.db --batch 2026-11-A
      credline registry retire sqlite:///factory.db --batch 2026-11-A --serial SN0042 \\
          --reason "device lost in rework" --log station1.jsonl --station-key station1.key
    """


@registry.command("init")
@click.argument("url")
def registry_init(url: str) -> None:
    """Create the registry's tables (or check an existing registry's schema version).

    The only command that creates a registry: every other one (station run, station enroll,
    status, export, batch check --registry) refuses a URL that holds none, and never
    creates a missing SQLite file.

    \b
    Example:
      credline registry init postgresql://credline@db.factory.local/credline
    """
    with open_registry(url) as reg:
        click.echo(f"registry ready: {reg.url}")


@registry.command("status")
@click.argument("url")
@click.option("--batch", "batch_id", help="Only this batch (exit 2 if the registry lacks it).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {\"batch\": ID or null, \"counts\": {state: n}} as JSON.")
def registry_status(url: str, batch_id: str | None, as_json: bool) -> None:
    """Count devices by state (reserved, written, verified, locked, failed).

    \b
    Example:
      credline registry status sqlite:///factory.db --batch 2026-11-A --json
    """
    with open_registry(url, create=False) as reg:
        counts = reg.status(batch_id)
    if as_json:
        click.echo(json.dumps({"batch": batch_id,
                               "counts": {state: counts[state] for state in STATES}}))
        return
    click.echo("  ".join(f"{state} {counts[state]}" for state in STATES))


@registry.command("export")
@click.argument("url")
@click.option("--batch", "batch_id", required=True, help="The batch to export.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              required=True, help="The CSV to write ('-' for standard output).")
def registry_export(url: str, batch_id: str, out: Path) -> None:
    """Export a batch as CSV: serials, generations, key ids, fingerprints, states.

    Never contains passwords.

    \b
    Example:
      credline registry export sqlite:///factory.db --batch 2026-11-A --out batch.csv
    """
    if url.startswith(SQLITE):
        refuse_inputs(out, {"the registry": Path(url[len(SQLITE):])})
    with open_registry(url, create=False) as reg:
        count = reg.export(batch_id, out, sys.stdout)
    click.echo(f"exported {count} devices to {out}", err=True)



def _lost_options(func: F) -> F:
    options = [
        click.option("--batch", "batch_id", required=True, help="The batch the serial is in."),
        click.option("--serial", required=True, help="The lost device's serial."),
        click.option("--reason", required=True, help="Why (goes into the signed log)."),
        click.option("--log", "log_path", required=True,
                     type=click.Path(path_type=Path, dir_okay=False),
                     help="The station's provenance log: the signed entry goes here first."),
        click.option("--station-key", required=True,
                     type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     help="The station's key from 'credline station enroll' (passphrase "
                          "from CREDLINE_STATION_PASSPHRASE)."),
        click.option("--operator", default="", help="Operator name for the log."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@registry.command("retire")
@click.argument("url")
@_lost_options
def registry_retire(url: str, batch_id: str, serial: str, reason: str, log_path: Path,
                    station_key: Path, operator: str) -> None:
    """Retire the serial of a lost device: its password is never issued again.

    Only a written, verified or failed row can be retired. A signed device.retired entry goes
    to the station's log first, then the registry moves; nothing is written when refused.
    Run it again if it was cut off between the two.

    \b
    Example:
      credline registry retire sqlite:///factory.db --batch 2026-11-A --serial SN0042 \\
          --reason "device lost in rework" --log station1.jsonl --station-key station1.key
    """
    from credline.station.retire import retire

    row = _give_up(url, retire, batch_id, serial, reason, log_path, station_key, operator)
    click.echo(f"retired serial {row.serial} (generation {row.generation}) of batch "
               f"{row.batch_id}")


@registry.command("reissue")
@click.argument("url")
@_lost_options
def registry_reissue(url: str, batch_id: str, serial: str, reason: str, log_path: Path,
                     station_key: Path, operator: str) -> None:
    """Retire a lost device's serial and issue it again at the next generation.

    The new generation derives a new password; the next station whose work order has the
    serial provisions it on another device. Only a written, verified or failed row of an open
    batch can be re-issued; logged first (device.reissued), like retire.

    \b
    Example:
      credline registry reissue sqlite:///factory.db --batch 2026-11-A --serial SN0042 \\
          --reason "device dropped" --log station1.jsonl --station-key station1.key
    """
    from credline.station.retire import reissue

    row = _give_up(url, reissue, batch_id, serial, reason, log_path, station_key, operator)
    click.echo(f"re-issued serial {row.serial} of batch {row.batch_id} at generation "
               f"{row.generation} (generation {row.generation - 1} retired)")


def _give_up(url: str, step: Callable[..., Device], batch_id: str, serial: str, reason: str,
             log_path: Path, station_key: Path, operator: str) -> Device:
    """Open the registry, the station's identity and log, checked, then take ``step``."""
    from credline.provenance import ProvenanceLog, check_log_head
    from credline.station.identity import load_station_key
    from credline.station.retire import Lost

    station_id, signer = load_station_key(station_key)
    with open_registry(url, create=False) as reg:
        _check_enrolled(reg, station_id, signer, station_key)
        log = ProvenanceLog.open(log_path, signer, station_id)
        check_log_head(log, reg.station_heads().get(station_id))
        return step(reg, log, Lost(batch_id, serial, reason, operator))


def _check_enrolled(reg: Registry, station_id: str, signer: Any, key_path: Path) -> None:
    from credline.core.errors import BadInput, KeystoreError
    from credline.provenance import public_bytes

    enrolled = reg.station_key(station_id)
    if enrolled is None:
        raise BadInput(f"station {station_id!r} ({key_path}) is not enrolled in {reg.url}: run "
                       f"'credline station enroll --station-id {station_id} --registry "
                       f"{reg.url}' first")
    if enrolled != public_bytes(signer):
        raise KeystoreError(f"{key_path} is not the key enrolled for station {station_id!r} "
                            f"in {reg.url} (wrong station key file?)")


COMMANDS = [registry]
