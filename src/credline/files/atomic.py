"""Write a file whole or not at all, and leave no password behind in a temporary file.

What credline writes this way (password batches, labels, exports) is sensitive, so files are
created owner-only (0600) and the content is never on disk under a name before it is
complete:

- Where Linux allows it, the content goes into an unnamed file (``O_TMPFILE`` in the target
  folder), fsynced, then linked into place through ``/proc/self/fd/N``: straight to its final
  name when that is free, else to a temporary sibling ``.NAME.XXXXXXXX.tmp`` renamed over the
  old file at once. A process killed at any moment leaves either no name at all or, between
  those two calls only, the complete temporary.
- Elsewhere (no ``O_TMPFILE``, no ``/proc``, a file system that refuses it) the content goes
  to the temporary sibling from the start and is renamed over the destination when complete.

:func:`stage` does the writing and the fsync ahead and leaves the naming for later (a device's
label, written while the device flashes, named once the device is locked).

A failure (bad input found mid-stream, full disk, interrupt) removes the temporary file, so
the destination is either untouched or complete. A writer holds an exclusive ``flock`` on its
file for as long as it lives, which is how :func:`sweep` tells a temporary that a kill -9
left (nobody holds it: removed) from one being written right now (held: left alone).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from credline.core.errors import BadInput, os_failure

# The names of credline's temporary siblings, in this version and in earlier ones (which
# used tempfile.mkstemp with the same prefix, suffix and alphabet).
_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")
_TRIES = 100
_PROC_FD = Path("/proc/self/fd")

# File descriptors of the temporaries this process is writing. A forked child (a derive
# worker) must not keep them: the file would outlive its writer, and a sweep would take it
# for one still being written.
_HELD: set[int] = set()


def _drop_in_child() -> None:
    if not _HELD:
        return
    # Point the numbers at /dev/null rather than closing them: objects inherited from the
    # parent may still close "their" descriptor later.
    null = os.open(os.devnull, os.O_RDONLY)
    for fd in _HELD:
        os.dup2(null, fd, inheritable=False)
    os.close(null)
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_in_child)


def temporary_name(path: Path) -> Path:
    """A fresh name for a temporary sibling of ``path``."""
    tail = "".join(secrets.choice(_TEMP_CHARS) for _ in range(8))
    return path.with_name(f".{path.name}.{tail}.tmp")


def temporary_of(name: str) -> str | None:
    """The file a temporary named ``name`` was being written for, if it is one of ours."""
    match = _TEMP_NAME.fullmatch(name)
    return match.group("name") if match else None


def _anonymous(directory: Path) -> int | None:
    """An unnamed, locked file in ``directory``; None where the OS cannot make one."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not _PROC_FD.is_dir():
        return None
    try:
        fd = os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError as exc:
        # EISDIR: a kernel without O_TMPFILE; EOPNOTSUPP: a file system without it.
        if exc.errno in (errno.EISDIR, errno.EOPNOTSUPP, errno.EINVAL):
            return None
        raise
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _named(path: Path) -> tuple[int, Path]:
    """A new, locked temporary sibling of ``path``."""
    for _ in range(_TRIES):
        name = temporary_name(path)
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A sweep may have removed the file between its creation and the lock: start over.
        if _same_file(name, os.fstat(fd)):
            return fd, name
        os.close(fd)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def _same_file(path: Path, info: os.stat_result) -> bool:
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def _link(fd: int, target: Path) -> None:
    """Give the unnamed file open as ``fd`` the name ``target`` (FileExistsError if taken)."""
    # os.link follows /proc's magic link (linkat with AT_SYMLINK_FOLLOW) only when it is
    # given a directory descriptor; for an absolute source the kernel ignores that
    # descriptor, so the file's own will do.
    os.link(f"{_PROC_FD}/{fd}", target, src_dir_fd=fd)


def _link_beside(fd: int, path: Path) -> Path:
    for _ in range(_TRIES):
        name = temporary_name(path)
        try:
            _link(fd, name)
            return name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


class _Temporary:
    """The locked file being written for ``path``: unnamed while it can be (``name`` None)."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        directory = path.parent if str(path.parent) else Path(".")
        fd = _anonymous(directory)
        self.name: Path | None = None
        if fd is None:
            fd, self.name = _named(path)
        self.fd = fd
        _HELD.add(fd)
        try:
            os.fchmod(fd, mode)
        except BaseException:
            self.discard()
            self.close()
            raise

    def publish(self) -> None:
        """Give the complete, fsynced file its final name."""
        if self.name is None:
            try:
                _link(self.fd, self.path)  # the first name the file ever has
                return
            except FileExistsError:
                pass  # replacing a file: name it beside, then rename over at once
            self.name = _link_beside(self.fd, self.path)
        os.replace(self.name, self.path)
        self.name = None

    def discard(self) -> None:
        if self.name is not None:
            self.name.unlink(missing_ok=True)
            self.name = None

    def close(self) -> None:
        _HELD.discard(self.fd)
        os.close(self.fd)  # releases the lock


def _create(path: Path, what: str, mode: int) -> _Temporary:
    try:
        return _Temporary(path, mode)
    except OSError as exc:
        raise os_failure(exc, f"{path}: cannot create {what}") from None


@contextlib.contextmanager
def _ended_on_failure(temp: _Temporary, what: str) -> Iterator[None]:
    """Work on ``temp``: a failure of any kind discards and closes it, and an OSError
    becomes the error that names the file as ``what``."""
    try:
        yield
    except BaseException as exc:
        temp.discard()
        temp.close()
        if isinstance(exc, OSError):
            raise os_failure(exc, f"{temp.path}: cannot write {what}") from None
        raise


@contextlib.contextmanager
def _replacing(path: Path, what: str, mode: int) -> Iterator[TextIO]:
    """An open text temporary for ``path`` that replaces it once the block ends cleanly."""
    temp = _create(path, what, mode)
    with _ended_on_failure(temp, what):
        with os.fdopen(temp.fd, "w", encoding="utf-8", newline="", closefd=False) as handle:
            yield handle
            handle.flush()
        os.fsync(temp.fd)
        temp.publish()
    temp.close()


def atomic_text(path: Path, *, mode: int = 0o600) -> contextlib.AbstractContextManager[TextIO]:
    """A text file (UTF-8, newlines as written) that appears at ``path`` only when complete."""
    return _replacing(path, "output", mode)


class Staged:
    """Content complete and fsynced for ``path``, not yet under that name: :meth:`publish`
    names it (replacing what is there), :meth:`discard` drops it; either ends it, and a
    process killed before either leaves what a killed :func:`write_atomic` leaves."""

    def __init__(self, temp: _Temporary, what: str) -> None:
        self.path = temp.path
        self._temp: _Temporary | None = temp
        self._what = what

    def publish(self) -> Path:
        temp = self._end()
        with _ended_on_failure(temp, self._what):
            temp.publish()
        temp.close()
        return self.path

    def discard(self) -> None:
        if self._temp is not None:
            temp = self._end()
            temp.discard()
            temp.close()

    def _end(self) -> _Temporary:
        if self._temp is None:
            raise RuntimeError(f"{self.path}: already published or discarded")
        temp, self._temp = self._temp, None
        return temp


def stage(path: Path, data: bytes, *, what: str = "output", mode: int = 0o600) -> Staged:
    """``data`` written and fsynced for ``path`` without naming it yet (see :class:`Staged`):
    the slow part of :func:`write_atomic`, done ahead, while something else is awaited."""
    temp = _create(path, what, mode)
    with _ended_on_failure(temp, what):
        view = memoryview(data)
        while view:
            view = view[os.write(temp.fd, view):]
        os.fsync(temp.fd)
    return Staged(temp, what)


def write_atomic(path: Path, data: bytes, *, what: str = "output", mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` whole or not at all; errors name the file as ``what``."""
    stage(path, data, what=what, mode=mode).publish()


IN_USE = "in use by a running writer"
_GONE = "gone"


@dataclass(frozen=True)
class Stale:
    """A temporary found by :func:`sweep`; ``left`` says why it was not removed (None: it
    was removed, or would be with ``dry_run``)."""

    path: Path
    left: str | None = None


def sweep(directory: Path, wanted: Callable[[str], bool] | None = None, *,
          dry_run: bool = False) -> list[Stale]:
    """Remove credline's temporaries in ``directory`` that no running writer holds.

    Only names of the form ``.NAME.XXXXXXXX.tmp`` are looked at, and with ``wanted`` only
    those whose NAME it accepts; subfolders are not entered. With ``dry_run`` nothing is
    removed. Returns every temporary found, with why it was left if it was.
    """
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise BadInput(f"{directory}: cannot look for stale temporary files: "
                       f"{exc.strerror}") from None
    found = []
    for name in names:
        target = temporary_of(name)
        if target is None or (wanted is not None and not wanted(target)):
            continue
        left = _take(directory / name, dry_run)
        if left != _GONE:
            found.append(Stale(directory / name, left))
    return found


def _take(path: Path, dry_run: bool) -> str | None:
    """Remove ``path`` unless a live writer holds it or it is not a regular file; None when
    removed (or removable, with ``dry_run``), else why it was left."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return _GONE  # its writer renamed it into place meanwhile
    except OSError as exc:
        return f"cannot open it: {exc.strerror}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return IN_USE
        if not _same_file(path, info):
            return _GONE  # renamed into place, or replaced, between the open and the lock
        if not dry_run:
            os.unlink(path)
        return None
    except OSError as exc:
        return f"cannot remove it: {exc.strerror}"
    finally:
        os.close(fd)


def sweep_tree(roots: Iterable[Path], *, dry_run: bool = False) -> list[Stale]:
    """:func:`sweep` every folder under ``roots`` (symbolic links to folders not followed)."""
    found: list[Stale] = []
    for root in roots:
        if not root.is_dir():
            raise BadInput(f"{root}: no such folder" if not root.exists() else
                           f"{root}: not a folder")
        for folder, _dirs, _files in os.walk(root):
            found += sweep(Path(folder), dry_run=dry_run)
    return found
