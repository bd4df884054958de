"""Where an ``--out`` goes: a regular file (written whole, atomically), a stream, or refused.

People give ``--out`` things that are not files to be replaced: ``-`` for standard output,
``/dev/stdout``, a device (``/dev/full``, a printer's character device), a FIFO, or a symbolic
link to the real file. Replacing any of those with a renamed temporary is wrong (run as root,
``--out /dev/stdout`` would swap the system's link for a file of passwords), so:

- ``-``, or a path that is this process's standard output: written to the stream given;
- an existing device or FIFO: written through, opened as it is, never created or replaced;
- a symbolic link: followed, so the file it names is replaced and the link stays a link;
- a regular file, or a name that does not exist yet: :func:`credline.files.atomic.atomic_text`.

An ``--out`` that is one of the command's own inputs is refused (:func:`refuse_inputs`), so
``--serials order.txt --out order.txt`` cannot destroy the work order.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from credline.core.errors import BadInput, os_failure
from credline.files.atomic import atomic_text

STDOUT = "-"


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_failure(exc, f"--out {path}") from None


def _is_stream(info: os.stat_result | None, stream: TextIO | None) -> bool:
    if info is None or stream is None:
        return False
    try:
        mine = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # a captured stream has no descriptor
        return False
    return (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)


def is_regular(path: Path, stream: TextIO | None = None) -> bool:
    """Whether ``path`` would be written as a regular file (atomically, whole or not at all)."""
    if str(path) == STDOUT:
        return False
    info = _stat(path)
    if _is_stream(info, stream):
        return False
    return info is None or stat.S_ISREG(info.st_mode)


@contextlib.contextmanager
def output_text(path: Path, stream: TextIO | None = None) -> Iterator[TextIO]:
    """A text handle for ``--out path``, by the rules of the module docstring; ``stream`` is
    standard output (the CLI's), used for ``-`` and for a path that names it."""
    info = None if str(path) == STDOUT else _stat(path)
    if str(path) == STDOUT or _is_stream(info, stream):
        if stream is None:
            raise BadInput(f"--out {path}: this command cannot write to standard output")
        yield stream
        stream.flush()
        return
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise BadInput(f"--out {path}: is a folder, not a file")
    if info is not None and not stat.S_ISREG(info.st_mode):
        with _through(path) as handle:
            yield handle
        return
    real = Path(os.path.realpath(path))
    if real.is_relative_to("/proc"):  # /dev/fd/N or /proc/self/fd/N of a regular file
        raise BadInput(f"--out {path}: names an open file descriptor; give the file's own "
                       "path, or '-' for standard output")
    with atomic_text(real) as handle:
        yield handle


@contextlib.contextmanager
def _through(path: Path) -> Iterator[TextIO]:
    """Write into an existing device or FIFO as it is (no create, no truncate, no rename)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError as exc:
        raise os_failure(exc, f"--out {path}: cannot open") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
    except OSError as exc:
        raise os_failure(exc, f"--out {path}: cannot write") from None


def refuse_inputs(out: Path, inputs: Mapping[str, Path | None]) -> None:
    """BadInput if ``out`` is the same file as one of ``inputs`` (option name -> path)."""
    if str(out) == STDOUT:
        return
    for option, source in inputs.items():
        if source is None:
            continue
        try:
            same = os.path.samefile(out, source)
        except OSError:  # one of them does not exist (yet): not the same file
            continue
        if same:
            raise BadInput(f"--out {out} is the same file as {option} {source}: refusing to "
                           "overwrite an input; give another --out")
