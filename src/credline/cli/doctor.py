"""``credline doctor``: find and remove what an interrupted credline left on disk."""

from __future__ import annotations

from pathlib import Path

import click

from credline.core.errors import CheckFailed
from credline.files.atomic import IN_USE, sweep_tree


@click.command("doctor")
@click.argument("dirs", metavar="[DIR]...", nargs=-1,
                type=click.Path(path_type=Path, file_okay=False))
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def doctor(dirs: tuple[Path, ...], dry_run: bool) -> None:
    """Remove the temporary files a killed credline left behind (they may hold passwords).

    Looks in each DIR and every folder under it (default: the current folder) for
    credline's temporary files, named .NAME.XXXXXXXX.tmp, and removes those no running
    credline is writing, naming each. `derive --out` and `station run` clear their own
    folder when they start; this is for any other folder, or to check. Exit 0 when none
    is left, 1 when one could not be removed.

    \b
    Examples:
      credline doctor labels/ batches/ --dry-run
      credline doctor labels/
    """
    found = sweep_tree(dirs or (Path("."),), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for stale in found:
        click.echo(f"{verb} {stale.path}" if stale.left is None
                   else f"left {stale.path}: {stale.left}")
    gone = sum(1 for stale in found if stale.left is None)
    click.echo(f"{verb} {gone} stale temporary file(s)", err=True)
    stuck = [stale for stale in found if stale.left not in (None, IN_USE)]
    if stuck:
        raise CheckFailed(f"{len(stuck)} stale temporary file(s) could not be removed "
                          "(see above)")


COMMANDS = [doctor]
