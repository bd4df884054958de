"""The tree keeps its shape: a pure core, adapters, one orchestrator, a CLI that alone prints.

import-linter (`lint-imports`, run by `make test`) checks who imports whom; these check what
an import graph cannot see.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "credline"
# Writing to the terminal: the CLI; the station's screen, which the CLI hands a stream; and
# the generator of the shipped common-password list, run by maintainers as a script; the ESP
# ROM loader double run as a process, which prints its pty as the C virtual device does.
MAY_PRINT = ("cli/", "station/screen.py", "qa/commonlist.py", "transport/esp_double.py")
# (A method named print, such as esptool's logger interface, is not printing.)
PRINTING = re.compile(r"(?<!def )\bprint\(|click\.echo|sys\.(stdout|stderr)\.write")


def modules() -> list[tuple[str, str]]:
    return [(str(p.relative_to(SRC)), p.read_text()) for p in sorted(SRC.rglob("*.py"))]


def test_only_the_cli_prints() -> None:
    offenders = [name for name, text in modules()
                 if PRINTING.search(text) and not name.startswith(MAY_PRINT)]
    assert offenders == []


def test_nothing_sits_flat_but_the_package_faces() -> None:
    flat = sorted(p.name for p in SRC.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "testing.py"]


def test_the_core_touches_no_port_disk_or_clock() -> None:
    io = re.compile(r"^\s*(import|from) (os|io|time|datetime|socket|serial|pathlib|subprocess)"
                    r"\b", re.M)
    assert [name for name, text in modules()
            if name.startswith("core/") and io.search(text)] == []
