"""Write a file whole or not at all: a temporary sibling, fsync, then rename.

A failure (bad input found mid-stream, full disk, interrupt) removes the temporary file, so
the destination is either untouched or complete. Files are created owner-only (0600) because
what credline writes (password batches, labels) is sensitive.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TextIO, cast

from credline.errors import BadInput


@contextlib.contextmanager
def _replacing(path: Path, what: str, mode: int, text: bool) -> Iterator[IO[Any]]:
    """An open temporary sibling of ``path`` that replaces it once the block ends cleanly."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInput(f"{path}: cannot create {what}: {exc.strerror}") from None
    temp_path = Path(temp)
    try:
        os.fchmod(fd, mode)
        with (os.fdopen(fd, "w", encoding="utf-8", newline="") if text
              else os.fdopen(fd, "wb")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, path)
    except OSError as exc:
        temp_path.unlink(missing_ok=True)
        raise BadInput(f"{path}: cannot write {what}: {exc.strerror}") from None
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


def atomic_text(path: Path, *, mode: int = 0o600) -> contextlib.AbstractContextManager[TextIO]:
    """A text file (UTF-8, newlines as written) that appears at ``path`` only when complete."""
    return cast(contextlib.AbstractContextManager[TextIO],
                _replacing(path, "output", mode, text=True))


def write_atomic(path: Path, data: bytes, *, what: str = "output", mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` whole or not at all; errors name the file as ``what``."""
    with _replacing(path, what, mode, text=False) as handle:
        handle.write(data)
