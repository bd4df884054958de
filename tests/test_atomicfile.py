"""credline.files.atomic: whole files or none, no named temporary while content is written (where
the OS has O_TMPFILE), and a sweep that removes only the temporaries a killed writer left."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.files.atomic import (
    IN_USE,
    Stale,
    atomic_text,
    stage,
    sweep,
    sweep_tree,
    temporary_of,
    write_atomic,
)
from tests.conftest import subprocess_env

SECRET = "HOLDS-A-PASSWORD-7QX3"
Start = Callable[..., "subprocess.Popen[str]"]

# A writer that stops in the middle of its file and waits to be killed. With "named" it runs
# as credline does where O_TMPFILE is missing (no /proc), writing to a temporary sibling.
WRITER = r"""
import os, sys, time
from pathlib import Path
import credline.files.atomic as atomicfile
target, how = Path(sys.argv[1]), sys.argv[2]
if how == "named":
    atomicfile._PROC_FD = Path("/nonexistent/proc/self/fd")
if sys.argv[4] == "stage":  # written and fsynced ahead, waiting for its name (a label)
    staged = atomicfile.stage(target, ("serial,password\nSN1,%s\n" % sys.argv[3]).encode())
    print("writing", flush=True)
    time.sleep(60)
with atomicfile.atomic_text(target) as handle:
    handle.write("serial,password\nSN1,%s\n" % sys.argv[3])
    handle.flush()
    if sys.argv[4] == "fork":  # a worker that outlives its parent
        ready, tell = os.pipe()
        if os.fork() == 0:
            os.write(tell, b"up")  # the fork handlers have run by now
            time.sleep(60)
            os._exit(0)
        os.read(ready, 2)
    print("writing", flush=True)
    time.sleep(60)
"""


def o_tmpfile_works(directory: Path) -> bool:
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except (AttributeError, OSError):
        return False
    return True


@pytest.fixture
def killed_writer(tmp_path: Path) -> Iterator[Start]:
    procs: list[subprocess.Popen[str]] = []

    def start(target: Path, how: str, fork: bool = False,
              staged: bool = False) -> subprocess.Popen[str]:
        step = "fork" if fork else "stage" if staged else "-"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), how, SECRET,
                                 step], env=subprocess_env(),
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        return proc

    yield start
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def files_holding(directory: Path, text: str) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file()
                  and text.encode() in p.read_bytes())


@pytest.mark.parametrize("staged", [False, True], ids=["writing", "staged"])
@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "replacing"])
def test_a_killed_writer_leaves_no_named_file_behind(tmp_path: Path, killed_writer: Start,
                                                     existing: bool, staged: bool) -> None:
    if not o_tmpfile_works(tmp_path):
        pytest.skip("this file system has no O_TMPFILE")
    target = tmp_path / "batch.csv"
    if existing:
        target.write_text("the old batch\n")
    proc = killed_writer(target, "anonymous", staged=staged)
    assert sorted(os.listdir(tmp_path)) == (["batch.csv"] if existing else []), (
        "a named file exists while the content is being written")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sorted(os.listdir(tmp_path)) == (["batch.csv"] if existing else [])
    assert files_holding(tmp_path, SECRET) == []
    if existing:
        assert target.read_text() == "the old batch\n"


def test_where_o_tmpfile_is_missing_a_killed_writers_temporary_is_swept(
        tmp_path: Path, killed_writer: Start) -> None:
    target = tmp_path / "batch.csv"
    proc = killed_writer(target, "named")
    [temp] = [p for p in tmp_path.iterdir()]
    assert temp.name.startswith(".batch.csv.") and temp.name.endswith(".tmp")
    assert sweep(tmp_path) == [Stale(temp, IN_USE)] and temp.exists(), (
        "a temporary being written was taken for a stale one")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert files_holding(tmp_path, SECRET) == [temp.name]  # what the sweep is for
    assert sweep(tmp_path, lambda name: name == "other.csv") == []
    assert sweep(tmp_path, dry_run=True) == [Stale(temp)] and temp.exists()
    assert sweep(tmp_path, lambda name: name == "batch.csv") == [Stale(temp)]
    assert os.listdir(tmp_path) == []


def test_a_forked_child_does_not_keep_its_parents_temporary(tmp_path: Path,
                                                            killed_writer: Start) -> None:
    proc = killed_writer(tmp_path / "batch.csv", "named", fork=True)
    [temp] = list(tmp_path.iterdir())
    os.kill(proc.pid, signal.SIGKILL)  # the parent only: its forked child lives on
    proc.wait()
    assert sweep(tmp_path) == [Stale(temp)] and not temp.exists()


def test_the_sweep_touches_nothing_but_credline_temporaries(tmp_path: Path) -> None:
    ours = [".batch.csv.k2j_9zqa.tmp", ".SN1.zpl.abcdefgh.tmp"]
    others = [".batch.csv.tmp", "batch.csv.abcdefgh.tmp", ".batch.csv.ABCDEFGH.tmp",
              ".batch.csv.abcdefg.tmp", ".batch.csv.abcdefgh.tmp.bak", "batch.csv"]
    for name in ours + others:
        (tmp_path / name).write_text(SECRET)
    (tmp_path / ".dir.abcdefgh.tmp").mkdir()
    (tmp_path / ".link.abcdefgh.tmp").symlink_to(tmp_path / "batch.csv")
    held = tmp_path / ".held.csv.abcdefgh.tmp"
    held.write_text(SECRET)
    with held.open() as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # what a live writer holds
        found = {stale.path.name: stale.left for stale in sweep(tmp_path)}
    assert found == {".batch.csv.k2j_9zqa.tmp": None, ".SN1.zpl.abcdefgh.tmp": None,
                     ".dir.abcdefgh.tmp": "not a regular file",
                     ".link.abcdefgh.tmp": found[".link.abcdefgh.tmp"],
                     ".held.csv.abcdefgh.tmp": IN_USE}
    assert str(found[".link.abcdefgh.tmp"]).startswith("cannot open it")
    left = sorted(os.listdir(tmp_path))
    assert left == sorted([*others, ".dir.abcdefgh.tmp", ".link.abcdefgh.tmp",
                           ".held.csv.abcdefgh.tmp"])
    assert (tmp_path / "batch.csv").read_text() == SECRET  # the link's target is untouched


def test_sweep_tree_enters_subfolders(tmp_path: Path) -> None:
    deep = tmp_path / "labels" / "B1"
    deep.mkdir(parents=True)
    (deep / ".SN1.zpl.abcdefgh.tmp").write_text(SECRET)
    assert sweep_tree([tmp_path]) == [Stale(deep / ".SN1.zpl.abcdefgh.tmp")]
    assert sweep(tmp_path / "missing") == []


@pytest.mark.parametrize("how", ["anonymous", "named"])
def test_files_are_whole_owner_only_and_failures_leave_the_old_one(
        tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import credline.files.atomic as atomicfile

    if how == "named":
        monkeypatch.setattr(atomicfile, "_PROC_FD", tmp_path / "no-proc")
    elif not o_tmpfile_works(tmp_path):
        pytest.skip("this file system has no O_TMPFILE")
    target = tmp_path / "labels.pdf"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second" and target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError), atomic_text(target) as handle:
        handle.write("half")
        raise RuntimeError
    assert target.read_bytes() == b"second" and os.listdir(tmp_path) == ["labels.pdf"]


@settings(max_examples=60, deadline=None)
@given(old=st.one_of(st.none(), st.binary(max_size=64)), new=st.binary(max_size=70000),
       publish=st.booleans(), named=st.booleans())
def test_staged_content_is_named_whole_or_never(tmp_path_factory: pytest.TempPathFactory,
                                                old: bytes | None, new: bytes, publish: bool,
                                                named: bool) -> None:
    import credline.files.atomic as atomicfile

    folder = tmp_path_factory.mktemp("staged")
    target = folder / "SN1.zpl"
    if old is not None:
        target.write_bytes(old)
    before = [target.name] if old is not None else []
    with pytest.MonkeyPatch.context() as patch:
        if named or not o_tmpfile_works(folder):
            patch.setattr(atomicfile, "_PROC_FD", folder / "no-proc")
        staged = stage(target, new, what="label file")
        # Written and fsynced, not named: the old file (or none) is all a reader finds.
        visible = sorted(n for n in os.listdir(folder) if temporary_of(n) is None)
        assert visible == before
        assert old is None or target.read_bytes() == old
        if publish:
            assert staged.publish() == target
            assert target.read_bytes() == new and target.stat().st_mode & 0o777 == 0o600
            assert os.listdir(folder) == [target.name]
        else:
            staged.discard()
            staged.discard()  # dropping twice is harmless (a failure path after another)
            assert sorted(os.listdir(folder)) == before
            assert old is None or target.read_bytes() == old
        with pytest.raises(RuntimeError, match="already published or discarded"):
            staged.publish()
