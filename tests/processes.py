"""Which virtual-device processes (and QEMU boards) of this checkout are alive: read from
/proc, so it sees processes started by any test, by ``credline sim`` in a subprocess, or by a
leaked child."""

from __future__ import annotations

from pathlib import Path

from credline.transport.qemu import IMAGE
from credline.transport.virtual import BINARY


def virtual_devices(under: Path | None = None) -> dict[int, str]:
    """PID -> command line of every live process running this checkout's virtual-device
    binary or QEMU on its board image (only those whose command line mentions ``under``, if
    given)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        args = raw.decode(errors="replace").split("\0")
        ours = args[0] == str(BINARY) or str(IMAGE) in args
        if args and ours and (under is None or str(under) in raw.decode(
                errors="replace")):
            found[int(entry.name)] = " ".join(args).strip()
    return found
