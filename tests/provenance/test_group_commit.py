"""Group commit: ports appending at once share one fsync, and nothing returns before its own
entry is on disk; a failed fsync fails every entry of its group and leaves whole entries."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credline.core.errors import EnvironmentFailed
from credline.provenance import ProvenanceLog, public_bytes, verify_log

SIGNER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
TRUSTED = {"st1": public_bytes(SIGNER)}


class HeldFsync:
    """os.fsync that holds its first caller until released, counting every call and the
    log size each call made durable."""

    def __init__(self, fail_second: bool = False) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.sizes: list[int] = []
        self.fail_second = fail_second
        self._real: Callable[[int], None] = os.fsync

    def __call__(self, fd: int) -> None:
        self.sizes.append(os.fstat(fd).st_size)
        if len(self.sizes) == 1:
            self.entered.set()
            assert self.release.wait(10)
        elif self.fail_second and len(self.sizes) == 2:
            raise OSError(5, "Input/output error")
        self._real(fd)


def _append_from_threads(log: ProvenanceLog, fsync: HeldFsync, count: int
                         ) -> tuple[list[dict[str, object]], list[BaseException]]:
    results: list[dict[str, object]] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            results.append(log.append("device.locked", serial=f"SN{i}"))
        except BaseException as exc:  # the test reports what each thread got
            errors.append(exc)

    first = threading.Thread(target=one, args=(0,))
    first.start()
    assert fsync.entered.wait(10)  # the first entry is being made durable...
    others = [threading.Thread(target=one, args=(i,)) for i in range(1, count)]
    for thread in others:
        thread.start()
    # ...and the others queue behind it (they cannot finish: the writer is held).
    while len(log._queue) < count - 1:
        threading.Event().wait(0.005)
    assert results == [] and errors == []
    fsync.release.set()
    for thread in (first, *others):
        thread.join(10)
    return results, errors


def test_appends_that_arrive_together_share_one_fsync(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.log"
    log = ProvenanceLog.open(path, SIGNER, "st1")
    fsync = HeldFsync()
    monkeypatch.setattr(os, "fsync", fsync)
    results, errors = _append_from_threads(log, fsync, 8)
    assert errors == [] and len(results) == 8
    # Two fsyncs for eight entries: the first alone, then the seven that queued behind it.
    assert len(fsync.sizes) == 2 and fsync.sizes[-1] == path.stat().st_size
    report = verify_log(path, trusted=TRUSTED)
    assert report.ok and report.entries == 8
    assert sorted(int(str(entry["seq"])) for entry in results) == list(range(1, 9))
    assert (log.seq, path.stat().st_size) == (8, len(path.read_bytes()))


def test_a_failed_fsync_fails_its_whole_group_and_leaves_whole_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.log"
    log = ProvenanceLog.open(path, SIGNER, "st1")
    fsync = HeldFsync(fail_second=True)
    monkeypatch.setattr(os, "fsync", fsync)
    results, errors = _append_from_threads(log, fsync, 5)
    assert len(results) == 1 and len(errors) == 4  # the group of four was never durable
    assert all(isinstance(exc, EnvironmentFailed) and "Input/output error" in str(exc)
               for exc in errors)
    assert log.seq == 1 and verify_log(path, trusted=TRUSTED).entries == 1
    # The chain goes on from the one entry that is on disk.
    assert log.append("device.locked", serial="SN9")["seq"] == 2
    report = verify_log(path, trusted=TRUSTED)
    assert report.ok and report.entries == 2


def test_a_checkpoint_in_a_group_counts_what_precedes_it(tmp_path: Path) -> None:
    path = tmp_path / "p.log"
    log = ProvenanceLog.open(path, SIGNER, "st1")
    threads = [threading.Thread(target=log.append, args=("device.locked",),
                                kwargs={"serial": f"SN{i}", "batch": "B1"}) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    seal = log.checkpoint("B1")
    assert seal["fields"]["entries"] == 6 and seal["seq"] == 7
    report = verify_log(path, trusted=TRUSTED)
    assert report.ok and report.batches == ["B1"]


def test_a_group_that_fails_with_a_bug_answers_every_waiting_port(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.log"
    log = ProvenanceLog.open(path, SIGNER, "st1")
    fsync = HeldFsync()
    monkeypatch.setattr(os, "fsync", fsync)
    real_sign = log._sign

    def sign(**kwargs: object) -> dict[str, object]:
        if kwargs["seq"] >= 1:  # every entry after the first: a bug in the signing code
            raise RuntimeError("a bug")
        return real_sign(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(log, "_sign", sign)
    results, errors = _append_from_threads(log, fsync, 4)
    assert len(results) == 1 and len(errors) == 3  # nobody is left waiting for ever
    assert all(isinstance(exc, RuntimeError) for exc in errors)
    assert verify_log(path, trusted=TRUSTED).entries == 1


def test_entries_appended_together_stay_together_and_share_one_fsync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A station logs a device's reservation and its binding with one call: the two lie
    side by side in the log, whatever other ports append meanwhile, durable together."""
    path = tmp_path / "p.log"
    log = ProvenanceLog.open(path, SIGNER, "st1")
    fsync = HeldFsync()
    monkeypatch.setattr(os, "fsync", fsync)
    out: dict[int, list[int]] = {}

    def pair(i: int) -> None:
        done = log.append_all([("device.reserved", {"serial": f"SN{i}"}),
                               ("device.written", {"serial": f"SN{i}"})])
        out[i] = [a.seq for a in done]

    first = threading.Thread(target=pair, args=(0,))
    first.start()
    assert fsync.entered.wait(10)
    others = [threading.Thread(target=pair, args=(i,)) for i in range(1, 6)]
    for thread in others:
        thread.start()
    while len(log._queue) < 2 * 5:
        threading.Event().wait(0.005)
    fsync.release.set()
    for thread in (first, *others):
        thread.join(10)
    assert sorted(out) == list(range(6))
    assert all(second == first_seq + 1 for first_seq, second in out.values())
    assert len(fsync.sizes) == 2  # the first pair, then the five that queued behind it
    lines = path.read_text().splitlines()
    assert len(lines) == 12 and verify_log(path, trusted=TRUSTED).ok
