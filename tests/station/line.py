"""A production line for screen tests: ports as stable symlinks, behind each a virtual device
that the test (the operator) swaps for the next one; and ``credline station run`` as a real
process on them (in a tmux pane, or a plain subprocess)."""

from __future__ import annotations

import os
import shlex
import sys
import threading
from pathlib import Path

from credline.transport.virtual import VirtualDevice

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory/profiles/demo-device.toml"


class Line:
    def __init__(self, root: Path, ports: int, rounds: int, silent: int = 0) -> None:
        """``ports`` good ports with ``rounds`` devices each; ``silent`` more ports whose one
        device never answers (a dead board: the station reports FAIL and what to do)."""
        self.root = root
        (root / "ports").mkdir(parents=True)
        self.queues = [[VirtualDevice(root / f"flash-{p}-{i}.bin", hwid=f"HW{p:02d}{i:02d}")
                        for i in range(rounds)] for p in range(ports)]
        self.dead = [VirtualDevice(root / f"flash-dead-{d}.bin", hwid=f"DEAD{d}", silent=True)
                     for d in range(silent)]
        self.current = [0] * ports

    def link(self, p: int) -> Path:
        return self.root / "ports" / f"port{p}"

    def start(self) -> Line:
        for p, queue in enumerate(self.queues):
            queue[0].start()
            self.link(p).symlink_to(queue[0].port)
        for d, device in enumerate(self.dead):
            device.start()
            self.link(len(self.queues) + d).symlink_to(device.port)
        return self

    def swap_all(self) -> None:
        """Take every finished device off and plug the next one in."""
        for p, queue in enumerate(self.queues):
            i = self.current[p]
            queue[i + 1].start()
            # Made outside the watched folder: a station globbing ports/* must never see
            # the half-made link as a port of its own.
            tmp = self.root / f"port{p}.new"
            tmp.symlink_to(queue[i + 1].port)
            os.replace(tmp, self.link(p))
            self.current[p] = i + 1
            # The old device goes once any exchange the station had open with it is over,
            # as a hand takes a board off after the screen said PASS.
            threading.Timer(0.5, queue[i].stop).start()

    def close(self) -> None:
        for device in [*(d for q in self.queues for d in q), *self.dead]:
            device.stop()

    @property
    def serials(self) -> list[str]:
        return [f"T{n:03d}" for n in range(sum(len(q) for q in self.queues))]


def station_command(env: dict[str, Path], line: Line, batch: str, *extra: str) -> list[str]:
    """The argv of ``credline station run`` on ``line`` with the test site's files."""
    root = env["root"]
    order = root / "order.txt"
    order.write_text("".join(s + "\n" for s in line.serials))
    return [sys.executable, "-m", "credline", "station", "run", "--profile", str(PROFILE),
            "--key", str(env["key"]), "--batch", batch, "--serials", str(order),
            "--ports-from", str(line.root / "ports" / "*"),
            "--registry", f"sqlite:///{env['db']}",
            "--log", str(root / "log.jsonl"), "--station-key", str(root / "station.key"),
            "--labels", str(root / "labels"), *extra]


def shell_env() -> str:
    """``env NAME=value ...`` for a command a tmux server runs (it does not inherit ours)."""
    names = ("CREDLINE_PASSPHRASE", "CREDLINE_STATION_PASSPHRASE", "PYTHONPATH", "PATH")
    pairs = [f"{n}={shlex.quote(os.environ[n])}" for n in names if n in os.environ]
    src = str(REPO / "src")
    if "PYTHONPATH" not in os.environ:
        pairs.append(f"PYTHONPATH={shlex.quote(src)}")
    # LINES/COLUMNS from the test's own environment would override the pane's real size.
    return "env -u LINES -u COLUMNS LANG=C.UTF-8 TERM=xterm-256color " + " ".join(pairs)
