"""``credline registry``: create, inspect and export the device registry."""

from __future__ import annotations

from pathlib import Path

import click

from credline.registry import STATES, open_registry


@click.group("registry")
def registry() -> None:
    """The device registry (SQLite file or PostgreSQL).

    \b
    Example:
      credline registry init sqlite:///factory.db
      credline registry status sqlite:///factory.db --batch 2026-11-A
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
@click.option("--batch", "batch_id", help="Only this batch.")
def registry_status(url: str, batch_id: str | None) -> None:
    """Count devices by state (reserved, written, verified, locked, failed).

    \b
    Example:
      credline registry status sqlite:///factory.db --batch 2026-11-A
    """
    with open_registry(url, create=False) as reg:
        counts = reg.status(batch_id)
    click.echo("  ".join(f"{state} {counts[state]}" for state in STATES))


@registry.command("export")
@click.argument("url")
@click.option("--batch", "batch_id", required=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
def registry_export(url: str, batch_id: str, out: Path) -> None:
    """Export a batch as CSV: serials, generations, key ids, fingerprints, states.

    Never contains passwords.

    \b
    Example:
      credline registry export sqlite:///factory.db --batch 2026-11-A --out batch.csv
    """
    with open_registry(url, create=False) as reg:
        count = reg.export(batch_id, out)
    click.echo(f"exported {count} devices to {out}", err=True)


COMMANDS = [registry]
