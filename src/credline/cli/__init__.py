"""The ``credline`` command: a thin click face over the library.

Each module in this package registers its commands by exposing ``COMMANDS`` (a list of click
commands or groups); :func:`build` collects them, so adding a command never edits this file.
:func:`main` is the one error boundary: a :class:`~credline.core.errors.CredlineError` becomes one
line on stderr and its branch's exit code (0 ok, 1 a check or a device failed, 2 bad input,
4 the environment failed, with a hint); an OS error that escaped with a full or failing disk
is the environment too; anything else unexpected becomes a one-line internal error (3) without
a traceback (``CREDLINE_DEBUG=1`` shows it), so no secret can ride out on a stack frame.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import NoReturn

import click

from credline import __version__
from credline.core.errors import EXIT_INTERNAL, CredlineError, StorageFailed, os_failure

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def build() -> click.Group:
    @click.group(context_settings=CONTEXT)
    @click.version_option(__version__, prog_name="credline")
    def credline() -> None:
        """Unique per-device passwords for factory lines.

        Derives each product's password with a keyed hash of its serial (credline-v1),
        writes it to the device, records it in a registry and a signed provenance log, and
        checks batches for anything UK PSTI Schedule 1 para 1 forbids.

        \b
        Example:
          credline demo                      # a batch of virtual devices, end to end
          credline derive --key k.json --product acme-cam --serial SN0001
        """

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            credline.add_command(command)
    return credline


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and map errors to messages and exit codes."""
    try:
        code = build().main(args=argv, prog_name="credline", standalone_mode=False)
    except CredlineError as exc:
        click.echo(f"credline: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("credline: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OSError as exc:
        failure = os_failure(exc, exc.filename or "a file")
        if not isinstance(failure, StorageFailed):
            _internal(exc)
        click.echo(f"credline: error: {failure}", err=True)
        sys.exit(failure.exit_code)
    except KeyboardInterrupt:
        click.echo("credline: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        _internal(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _internal(exc: Exception) -> NoReturn:
    if os.environ.get("CREDLINE_DEBUG"):
        raise exc
    click.echo(f"credline: internal error ({type(exc).__name__}); this is a bug, please "
               "report it (set CREDLINE_DEBUG=1 for details)", err=True)
    sys.exit(EXIT_INTERNAL)
