"""Virtual devices: the real C hook on pseudo-terminals, a file standing in for flash.

:func:`build` compiles ``firmware-hooks/build/virtual-device`` when missing (it needs the
source tree and a C compiler); :class:`VirtualDevice` runs one and knows its pty path;
:class:`Bench` runs many, of this kind or emulated boards (:mod:`credline.transport.qemu`);
:class:`PortLinks` names their ports in one folder, for ``station run --ports-from``. Used by
tests, ``credline sim`` and the demo.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from credline.core.errors import BadInput, ToolMissing, os_failure

HOOKS = Path(__file__).resolve().parents[3] / "firmware-hooks"
BINARY = HOOKS / "build" / "virtual-device"
CUT_STATUS = 42  # the virtual device's exit status after an injected power cut


class SimError(ToolMissing):
    """Virtual devices cannot be built or started on this machine."""


def build() -> Path:
    """The virtual-device binary, built with make if it is missing or stale."""
    if not (HOOKS / "Makefile").exists():
        raise SimError(f"virtual devices need the credline source tree ({HOOKS} not found)")
    result = subprocess.run(["make", "-s", "-C", str(HOOKS), "virtual-device"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SimError(f"building the virtual device failed: {result.stderr.strip()[-400:]}")
    return BINARY


def stop_process(process: subprocess.Popen[str] | subprocess.Popen[bytes] | None) -> int | None:
    """SIGTERM a device's process (a virtual device, a QEMU board), SIGKILL it if it has not
    gone within 5 s; its exit status, or None when it never started."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass
class VirtualDevice:
    flash: Path
    hwid: str = "virtual"
    baud: int = 0
    flash_delay_ms: int = 0
    power_cut_after_write: int = 0
    corrupt_byte: int = 0
    silent: bool = False
    prog_size: int = 1  # flash program unit (1, 2, 4, 8, 16, 32): one program per word per erase
    tx_chunk: int = 0  # bytes a write to the port at most (0: the device's default, 16)
    port: str = ""
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def args(self) -> list[str]:
        args = [str(BINARY), "--flash", str(self.flash), "--hwid", self.hwid]
        for flag, value in (("--baud", self.baud), ("--flash-delay-ms", self.flash_delay_ms),
                            ("--power-cut-after-write", self.power_cut_after_write),
                            ("--corrupt-byte", self.corrupt_byte),
                            ("--prog-size", self.prog_size if self.prog_size != 1 else 0),
                            ("--tx-chunk", self.tx_chunk)):
            if value:
                args += [flag, str(value)]
        return [*args, "--silent"] if self.silent else args

    def start(self) -> VirtualDevice:
        if not BINARY.exists():
            build()
        self.process = subprocess.Popen(self.args(), stdout=subprocess.PIPE, text=True,
                                        start_new_session=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("/dev/"):
            self.stop()
            raise SimError(f"virtual device for {self.flash} did not start")
        self.port = line
        return self

    def stop(self) -> int | None:
        """Stop the device (if still running); returns its exit status."""
        return stop_process(self.process)

    def power_cut(self, seconds: float = 10.0) -> bool:
        """Wait for an injected power cut (``power_cut_after_write``): True when the device
        stopped with status 42 within ``seconds``."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=seconds) == CUT_STATUS
        except subprocess.TimeoutExpired:
            self.unplug()
            return False

    def unplug(self) -> None:
        """Pull the cable: kill -9, as a device losing power or USB would vanish."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self, **changes: object) -> VirtualDevice:
        self.stop()
        for name, value in changes.items():
            setattr(self, name, value)
        return self.start()

    def runtime(self, check_password: str | None = None) -> dict[str, str]:
        """What the run-time API reports for this flash (is_provisioned, serial, ...)."""
        args = [str(BINARY), "--flash", str(self.flash), "--dump",
                "--prog-size", str(self.prog_size)]
        if check_password is not None:
            args.append("--check-password")
        out = subprocess.run(args, input=(check_password or "") + "\n", capture_output=True,
                             text=True, check=True, timeout=30).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


KINDS = ("virtual", "qemu")


class Bench:
    """N devices with flash files in ``workdir``; a context manager. ``kind`` is "virtual"
    (the host build on a pty) or "qemu" (the Cortex-M build on an emulated mps2-an385)."""

    def __init__(self, workdir: Path, count: int, kind: str = "virtual",
                 **options: object) -> None:
        from credline.transport import qemu  # qemu builds on this module's pieces

        if kind not in KINDS:
            raise SimError(f"device kind {kind!r} is not one of {', '.join(KINDS)}")
        workdir.mkdir(parents=True, exist_ok=True)
        self.kind = kind
        self.devices: list[VirtualDevice | qemu.QemuBoard] = [
            VirtualDevice(flash=workdir / f"device-{i:02d}.flash", hwid=f"VDEV{i:04d}",
                          **options)  # type: ignore[arg-type]
            if kind == "virtual" else
            qemu.QemuBoard(flash=workdir / f"board-{i:02d}.flash", hwid=f"QEMU{i:04d}",
                           **options)  # type: ignore[arg-type]
            for i in range(count)]

    def __enter__(self) -> Bench:
        from credline.transport import qemu

        build()
        if self.kind == "qemu":
            qemu.build()
        try:
            for device in self.devices:
                device.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        for device in self.devices:
            device.stop()

    @property
    def ports(self) -> list[str]:
        return [device.port for device in self.devices]


class PortLinks:
    """Symbolic links ``vdev-NN`` to running devices' ports in one folder; a context manager
    that makes the folder if missing and, on exit, removes the links it made (and the folder,
    if it made it and nothing else is left there)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._made_folder = False
        self._links: list[tuple[Path, str]] = []

    def __enter__(self) -> PortLinks:
        if self.path.exists() and not self.path.is_dir():
            raise BadInput(f"--links {self.path}: not a folder")
        if not self.path.exists():
            try:
                self.path.mkdir(mode=0o700)
            except FileNotFoundError:
                raise BadInput(f"--links {self.path}: its parent folder does not exist"
                               ) from None
            except OSError as exc:
                raise os_failure(exc, f"--links {self.path}") from None
            self._made_folder = True
        return self

    def link(self, ports: list[str]) -> list[Path]:
        """Link each port as ``vdev-NN``; a stale link (a sim killed with -9) is replaced,
        anything else already there is refused."""
        for index, port in enumerate(ports):
            link = self.path / f"vdev-{index:02d}"
            if link.is_symlink():
                link.unlink()
            elif link.exists():
                raise BadInput(f"--links {self.path}: {link.name} exists and is not a link")
            link.symlink_to(port)
            self._links.append((link, port))
        return [link for link, _ in self._links]

    def __exit__(self, *_: object) -> None:
        for link, port in self._links:
            if link.is_symlink() and os.readlink(link) == port:
                link.unlink()
        self._links.clear()
        if self._made_folder:
            with contextlib.suppress(OSError):  # something else was put there: leave it
                self.path.rmdir()
