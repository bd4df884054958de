"""Every CLI command is run through the CLI by some test (MCUboot imgtool's guard).

The commands are walked from :func:`credline.cli.build`, so a new command fails this test
until a test runs it. "Runs it" is read from the tests' source with :mod:`ast`, not from a
hand-kept list: a call ``cli("station", "run", ...)`` of the in-process CliRunner fixtures
(``cli`` in tests/conftest.py, ``qa_cli`` in tests/qa), a call ``main(["batch", "check", ...])``
of the CLI's own boundary, or a subprocess command line ``[*credline_command(), "sim", ...]``
(for what must be signalled or killed as a process). The leading string literals name the
path, so a helper must spell its command out for this guard to see it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import click

from credline.cli import build

TESTS = Path(__file__).resolve().parent


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, path)
        else:
            yield path


def _leading_strings(nodes: list[ast.expr]) -> tuple[str, ...]:
    words: list[str] = []
    for node in nodes:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            break
        words.append(node.value)
    return tuple(words)


def _is_call_of(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id == name


RUNNERS = ("cli", "qa_cli")  # the in-process fixtures: CliRunner through credline.cli.main


def invocations(tree: ast.AST) -> Iterator[tuple[str, ...]]:
    """The leading words of every CLI run the module spells out (see the module docstring)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(_is_call_of(node, name) for name in RUNNERS):
            yield _leading_strings(node.args)
        elif isinstance(node, ast.Call) and _is_call_of(node, "main") and node.args and \
                isinstance(node.args[0], ast.List):
            yield _leading_strings(node.args[0].elts)
        elif isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Starred) \
                and _is_call_of(node.elts[0].value, "credline_command"):
            yield _leading_strings(node.elts[1:])


def paths_run_by_tests() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for path in TESTS.rglob("test_*.py"):
        found.update(invocations(ast.parse(path.read_text(), str(path))))
    return found


def test_every_command_is_run_by_a_test() -> None:
    tested = paths_run_by_tests()
    commands = set(command_paths(build()))
    assert len(commands) > 10  # the walk found the tree
    untested = sorted(" ".join(path) for path in commands
                      if not any(found[:len(path)] == path for found in tested))
    assert untested == [], f"commands no test runs through the CLI: {untested}"


def test_the_guard_sees_a_new_command() -> None:
    group = build()

    @group.command("brand-new")
    def brand_new() -> None:
        """A command no test runs."""

    assert ("brand-new",) in set(command_paths(group)) - paths_run_by_tests()
