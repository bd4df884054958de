"""Every option of every command says what it is for: a guard that walks the click tree."""

from __future__ import annotations

from collections.abc import Iterator

import click

from credline.cli import build


def commands(group: click.Group, prefix: str = "credline") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


def test_every_option_has_help_text() -> None:
    missing = [f"{path} {option.opts[-1]}" for path, command in commands(build())
               for option in command.params
               if isinstance(option, click.Option) and not (option.help or "").strip()]
    assert missing == [], "options without help text: " + ", ".join(missing)


def test_every_command_has_help_text() -> None:
    missing = [path for path, command in commands(build()) if not (command.help or "").strip()]
    assert missing == []
