"""Ctrl-C during long work (derive, batch check) ends the worker processes without a
traceback and leaves no partial file: the run exits 130 saying it was interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import PASSPHRASE, credline_command, subprocess_env

ROWS = 400_000


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(n) for n in text.split()]


def interrupt_once_working(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Start the command, wait until it has forked its workers, then Ctrl-C its process
    group as a terminal would."""
    proc = subprocess.Popen([*credline_command(), *args], cwd=cwd, text=True,
                            env=subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "finished before it could be interrupted: raise ROWS"
        workers = children(proc.pid)
        assert workers, "no worker process appeared"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text(
        ).split()[2], f"worker {pid} outlived the interrupt"
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_ctrl_c_during_derive_and_batch_check(key_file: Path, tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    order.write_text("".join(f"SN{n:07d}\n" for n in range(ROWS)))
    done = interrupt_once_working(["derive", "--key", str(key_file), "--product", "acme-cam",
                                   "--serials", str(order), "-o", "batch.csv",
                                   "--workers", "2"], tmp_path)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert "credline: aborted" in done.stderr or "credline: interrupted" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["order.txt", "test.key"], (
        "no partial batch and no temporary may be left")
    made = subprocess.run([*credline_command(), "derive", "--key", str(key_file), "--product",
                           "acme-cam", "--serials", str(order), "-o", "batch.csv"], cwd=tmp_path,
                          env=subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE), text=True,
                          capture_output=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr
    assert made.stderr.count("\n") == 1, "off a terminal: one plain final line, no bar"
    checked = interrupt_once_working(["batch", "check", "batch.csv"], tmp_path)
    assert checked.returncode == 130, checked.stderr
    assert "Traceback" not in checked.stderr and "KeyboardInterrupt" not in checked.stderr


def test_on_a_terminal_derive_and_batch_check_show_a_progress_bar(key_file: Path,
                                                                   tmp_path: Path) -> None:
    import pty

    order = tmp_path / "order.txt"
    order.write_text("".join(f"SN{n:07d}\n" for n in range(20_000)))
    shown = []
    for args in (["derive", "--key", str(key_file), "--product", "acme-cam", "--serials",
                  str(order), "-o", "batch.csv"], ["batch", "check", "batch.csv"]):
        master, slave = pty.openpty()
        with open(tmp_path / "stdout", "w") as stdout:
            proc = subprocess.Popen([*credline_command(), *args], cwd=tmp_path,
                                    env=subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE,
                                                       COLUMNS="100", TERM="xterm"),
                                    stdout=stdout, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal's last writer
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert proc.wait(timeout=120) == 0
        shown.append(b"".join(chunks).decode(errors="replace"))
    assert "deriving" in shown[0] and "\x1b[" in shown[0], shown[0][-500:]
    assert "derived 20000 passwords" in shown[0]
    assert "batch check" in shown[1] and "\x1b[" in shown[1]
