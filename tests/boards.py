"""The two kinds of device the end-to-end tests provision: the hook built for this machine on
a pty (``virtual``) and the hook cross-built for a Cortex-M3 on QEMU's mps2-an385 (``qemu``).

Both have the same face (start, stop, unplug, restart, runtime, port). Locally the QEMU cases
skip when qemu-system-arm or arm-none-eabi-gcc is missing; in CI (``CI`` set) they fail, so a
CI machine without the packages cannot pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from credline.transport import qemu, virtual
from credline.transport.qemu import QemuBoard
from credline.transport.virtual import VirtualDevice

KINDS = ("virtual", "qemu")
Device = VirtualDevice | QemuBoard


def require(kind: str) -> None:
    """Build what ``kind`` needs, or skip (fail in CI) when its tools are missing."""
    virtual.build()  # both kinds read flash back with the host build
    if kind == "qemu":
        if missing := qemu.missing_tools():
            reason = f"emulated boards need {', '.join(missing)}"
            if os.environ.get("CI"):
                pytest.fail(f"{reason}: CI installs them (make system-deps)")
            pytest.skip(reason)
        qemu.build()


def make_device(kind: str, flash: Path, hwid: str, **options: int) -> Device:
    """A device of ``kind`` (not started); options are the fault knobs both kinds have
    (``flash_delay_ms``, ``power_cut_after_write``)."""
    if kind == "qemu":
        return QemuBoard(flash, hwid=hwid, **options)
    return VirtualDevice(flash, hwid=hwid, **options)  # type: ignore[arg-type]
