"""Progress for long work: a rich bar on a terminal, nothing otherwise.

A bar goes to standard error, and only when standard error is a terminal, so a pipe or a log
file gets the command's one plain final line and no escape codes. The bar is transient: when
the work ends (or is interrupted) it is wiped, and the final line takes its place.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def on_terminal(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def counting(label: str, total: int | None, *,
             quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the count done so far (None off a terminal)."""
    if not on_terminal(quiet):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


@contextlib.contextmanager
def staged(label: str, stages: tuple[str, ...], *,
           quiet: bool) -> Iterator[Callable[[str], None] | None]:
    """A callback taking the name of each stage as it starts (None off a terminal)."""
    if not on_terminal(quiet):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), "{task.description}", BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=len(stages) - 1)

        def tell(stage: str) -> None:
            done = stages.index(stage) if stage in stages else 0
            bar.update(task, completed=done, description=f"{label}: {stage}")

        yield tell
