"""Emulated boards: the real C hook cross-built for a Cortex-M3, running in QEMU.

``firmware-hooks/targets/qemu-mps2-an385`` is a test image for QEMU's ``mps2-an385`` board:
the hook on the board's CMSDK UART, wired to a pseudo-terminal, and its flash in a
host file through ARM semihosting. :class:`QemuBoard` runs one with the same face as
:class:`~credline.transport.virtual.VirtualDevice` (``start``, ``stop``, ``unplug``,
``restart``, ``runtime``, ``port``), so tests, ``credline sim --kind qemu`` and the station
treat both kinds alike. Killing QEMU is a power cut: every byte the board programs is in the
host file before the next one is written.

The flash file has the virtual device's layout (two 4 KiB sectors), so :meth:`runtime` reads
it back with the host build of the same hook.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import termios
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from credline.transport.serial_hook import DeviceError, HookLink
from credline.transport.virtual import BINARY, HOOKS, SimError, VirtualDevice, stop_process
from credline.transport.virtual import build as build_virtual

QEMU = "qemu-system-arm"
CROSS_CC = "arm-none-eabi-gcc"
IMAGE = HOOKS / "build" / "qemu-mps2-an385.elf"
PROG_SIZES = (1, 2, 4, 8, 16, 32)
_READY = "credline board: ready"
_CUT = "credline board: power cut"
START_SECONDS = 30.0  # a cold QEMU start on a loaded 2-core machine, with margin
PROBE_SECONDS = 1.0


def missing_tools() -> list[str]:
    """The programs emulated boards need that this machine lacks (empty when all are here)."""
    return [tool for tool in (QEMU, CROSS_CC) if shutil.which(tool) is None]


def build() -> Path:
    """The board image, built with ``make -C firmware-hooks qemu`` if missing or stale."""
    if missing := missing_tools():
        raise SimError(f"emulated boards need {' and '.join(missing)} (Debian packages "
                       "qemu-system-arm, gcc-arm-none-eabi, libnewlib-arm-none-eabi)")
    if not (HOOKS / "Makefile").exists():
        raise SimError(f"emulated boards need the credline source tree ({HOOKS} not found)")
    result = subprocess.run(["make", "-s", "-C", str(HOOKS), "qemu"], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SimError(f"building the QEMU board image failed: "
                       f"{(result.stderr or result.stdout).strip()[-400:]}")
    return IMAGE


@dataclass
class QemuBoard:
    flash: Path
    hwid: str = "QEMU-AN385"
    prog_size: int = 1
    flash_delay_ms: int = 0
    power_cut_after_write: int = 0
    port: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _hold: int | None = field(default=None, repr=False)
    _console: bytes = field(default=b"", repr=False)

    def args(self, line: int) -> list[str]:
        """QEMU's command line, the board's UART on the pty master ``line`` (a descriptor)."""
        board = ["board", "--flash", str(self.flash.resolve()), "--hwid", self.hwid,
                 "--prog-size", str(self.prog_size)]
        for flag, value in (("--flash-delay-ms", self.flash_delay_ms),
                            ("--power-cut-after-write", self.power_cut_after_write)):
            if value:
                board += [flag, str(value)]
        for word in board:  # QEMU's option syntax splits on commas; the board on spaces
            if not word or "," in word or " " in word:
                raise SimError(f"emulated board option {word!r} may hold no comma or space")
        semihosting = ",".join(["enable=on", "target=native", *(f"arg={w}" for w in board)])
        return [QEMU, "-M", "mps2-an385", "-nographic", "-monitor", "none",
                "-add-fd", f"fd={line},set=1", "-serial", "/dev/fdset/1",
                "-semihosting-config", semihosting, "-kernel", str(IMAGE)]

    def start(self) -> QemuBoard:
        """Start QEMU and return once the board answers HELLO on its line."""
        self._launch()
        try:
            with HookLink(self.port, timeout=PROBE_SECONDS) as link:
                link.hello()
        except DeviceError as exc:
            self.unplug()
            raise SimError(f"emulated board for {self.flash} started but does not answer on "
                           f"its serial line: {exc}") from exc
        return self

    def _launch(self) -> None:
        if self.prog_size not in PROG_SIZES:
            raise SimError(f"program unit {self.prog_size} is not one of {PROG_SIZES}")
        if not IMAGE.exists():
            build()
        # The pty is made here and its master handed to QEMU as the board's serial line (a
        # tty backend). QEMU's own "-serial pty" backend polls once a second for a reader and
        # ignores what the station sends until then; a handed-in master is read at once.
        master, slave = os.openpty()
        tty.setraw(slave, termios.TCSANOW)
        try:
            self.process = subprocess.Popen(self.args(master), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                            pass_fds=(master,), start_new_session=True)
        finally:
            os.close(master)  # QEMU's now: when QEMU dies, the line goes dead as a cable would
        # Held open, as the virtual device holds its own, so the line stays up between clients.
        self._hold = slave
        self._console = b""
        ready = self._console_line(START_SECONDS)
        if _READY not in ready:
            self.stop()
            raise SimError(f"emulated board for {self.flash} did not start: "
                           f"{ready.strip() or 'QEMU exited'}")
        self.port = os.ttyname(slave)

    def _console_line(self, seconds: float) -> str:
        """The board's next line on the semihosting console (QEMU's stderr), or "" when none
        comes within ``seconds`` or QEMU closed it."""
        assert self.process is not None and self.process.stderr is not None
        fd = self.process.stderr.fileno()
        deadline = time.monotonic() + seconds
        while b"\n" not in self._console:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return ""
            chunk = os.read(fd, 4096)
            if not chunk:
                return ""
            self._console += chunk
        line, self._console = self._console.split(b"\n", 1)
        return line.decode(errors="replace")

    def power_cut(self, seconds: float = 10.0) -> bool:
        """Wait for an injected power cut (``power_cut_after_write``): the board tears the byte
        it was writing, says so and halts; then QEMU is killed, as power would go. True when
        that happened within ``seconds``."""
        while (line := self._console_line(seconds)) and _CUT not in line:
            pass
        self.unplug()
        return _CUT in line

    def _release(self) -> None:
        if self._hold is not None:
            os.close(self._hold)
            self._hold = None
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self) -> int | None:
        """Stop the board (if still running); returns QEMU's exit status."""
        if self.process is None:
            return None
        status = stop_process(self.process)
        self._release()
        return status

    def unplug(self) -> None:
        """Power cut: kill -9 QEMU, wherever the board is in a write."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._release()

    def restart(self, **changes: object) -> QemuBoard:
        self.stop()
        for name, value in changes.items():
            setattr(self, name, value)
        return self.start()

    def runtime(self, check_password: str | None = None) -> dict[str, str]:
        """What the run-time API reports for this board's flash (read by the host build)."""
        if not BINARY.exists():
            build_virtual()
        if self.prog_size == 1:
            return VirtualDevice(self.flash).runtime(check_password)
        # A slot's layout depends on the program unit, so the reader must be told it.
        args = [str(BINARY), "--flash", str(self.flash), "--prog-size", str(self.prog_size),
                "--dump"]
        if check_password is not None:
            args.append("--check-password")
        out = subprocess.run(args, input=(check_password or "") + "\n", capture_output=True,
                             text=True, check=True, timeout=30).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
