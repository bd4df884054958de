"""Port discovery: globs over (virtual) device paths and USB listings, appear/disappear."""

from __future__ import annotations

import re
from pathlib import Path

from credline.transport.ports import PortWatcher

REPO = Path(__file__).resolve().parents[2]


def test_watcher_reports_appearing_and_disappearing(tmp_path: Path) -> None:
    target = tmp_path / "pts-1"
    target.write_text("")
    usb = {"/dev/ttyUSB0"}
    watcher = PortWatcher(fixed=("/dev/fixed",), patterns=(str(tmp_path / "sim-*"),),
                          usb=True, lister=lambda: set(usb))
    assert watcher.poll() == (["/dev/fixed", "/dev/ttyUSB0"], [])
    (tmp_path / "sim-a").symlink_to(target)
    assert watcher.poll() == ([str(tmp_path / "sim-a")], [])
    assert watcher.poll() == ([], [])
    target.unlink()  # the virtual device died: its symlink dangles
    usb.clear()
    assert watcher.poll() == ([], ["/dev/ttyUSB0", str(tmp_path / "sim-a")])


def test_udev_rules_cover_common_adapters() -> None:
    rules = (REPO / "factory/udev/99-credline.rules").read_text()
    for vendor in ("0403", "10c4", "1a86", "067b"):  # FTDI, CP210x, CH340, PL2303
        assert f'ATTRS{{idVendor}}=="{vendor}"' in rules
    body = [ln for ln in rules.splitlines() if ln.strip() and not ln.startswith("#")]
    labels = set(re.findall(r'LABEL="(\w+)"', rules))
    assert set(re.findall(r'GOTO="(\w+)"', rules)) <= labels
    for line in body:  # every rule is comma-separated KEY op "value" pairs
        for clause in line.split(", "):
            assert re.fullmatch(r'[A-Z_]+(\{[\w]+\})?(==|!=|=|\+=)"[^"]*"', clause), line
    assert 'SYMLINK+="credline/' in rules and 'ID_MM_DEVICE_IGNORE}="1"' in rules
