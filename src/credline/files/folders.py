"""Proving an output folder can be made and written, without leaving anything behind.

A station must refuse a label folder it cannot use before it opens a batch; a permission
check alone lies to root and to file systems such as /proc, so :func:`probe_folder` makes
the missing folders and a file for real, then removes exactly what it made.
"""

from __future__ import annotations

import os
from pathlib import Path

from credline.core.errors import BadInput, os_failure


def probe_folder(path: Path, what: str) -> None:
    """Raise BadInput (or StorageFailed for a full or read-only disk) unless ``path`` is, or
    can be made, a folder a file can be written in. Leaves the disk as it was."""
    made: list[Path] = []
    try:
        for folder in _missing(path):
            os.mkdir(folder, 0o700)
            made.append(folder)
        fd = os.open(path / f".credline-probe-{os.getpid()}",
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(path / f".credline-probe-{os.getpid()}")
    except OSError as exc:
        raise os_failure(exc, f"{what} {path}: cannot write there") from None
    finally:
        for folder in reversed(made):
            os.rmdir(folder)


def _missing(path: Path) -> list[Path]:
    """The folders to make, outermost first; BadInput if an existing part is not a folder."""
    missing: list[Path] = []
    current = path.absolute()
    while not current.exists():
        missing.append(current)
        current = current.parent
    if not current.is_dir():
        raise BadInput(f"{current} is not a folder")
    return list(reversed(missing))
