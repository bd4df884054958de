"""No password left behind: `credline derive --out` and `credline station run` (over virtual
devices) are killed with SIGKILL at random moments, then every file under the test's folder is
scanned for the batch's passwords, which may only be in the files meant to hold them: the
final CSV, the final label files and the devices' own flash. Run once as on Linux (O_TMPFILE:
no named temporary while content is written) and once as where the OS lacks it (a named
temporary sibling, swept at the next start). Afterwards the commands run again, and
`credline doctor`, leave no temporary at all."""

from __future__ import annotations

import base64
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.core.policy import PasswordFormat
from credline.files.profiles import load_profile
from credline.keystore import keyfile
from credline.keystore.base import LocalKey
from credline.registry import open_registry
from credline.station.identity import enroll
from credline.transport.virtual import VirtualDevice, build
from tests.conftest import FAST_SCRYPT, PASSPHRASE, TEST_KEY, credline_command, subprocess_env

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "factory" / "profiles" / "demo-device.toml"
DERIVE_SERIALS = [f"NS{i:06d}" for i in range(300_000)]  # about two seconds of writing
STATION_SERIALS = [f"NK-{i:02d}" for i in range(6)]
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # credline's temporary siblings
# As credline runs where O_TMPFILE is missing: no /proc, so content goes to a named sibling.
WITHOUT_O_TMPFILE = ("import sys, pathlib, credline.files.atomic as a; "
                     "a._PROC_FD = pathlib.Path('/nonexistent/proc/self/fd'); "
                     "from credline.cli import main; main(sys.argv[1:])")


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    build()


@dataclass
class Floor:
    """One test folder: keys, registry, work, outputs, devices; and how to run credline."""

    root: Path
    how: str  # "o_tmpfile" or "named"
    devices: list[VirtualDevice]

    def command(self, *args: str) -> list[str]:
        if self.how == "named":
            return [sys.executable, "-c", WITHOUT_O_TMPFILE, *args]
        return [*credline_command(), *args]

    def derive(self) -> list[str]:
        return self.command("derive", "--key", str(self.root / "keys" / "master.key"),
                            "--product", "acme-cam", "--serials",
                            str(self.root / "work" / "derive.txt"), "--out",
                            str(self.root / "out" / "batch.csv"))

    def station(self) -> list[str]:
        command = self.command(
            "station", "run", "--profile", str(PROFILE), "--key",
            str(self.root / "keys" / "master.key"), "--batch", "NK", "--serials",
            str(self.root / "work" / "station.txt"), "--registry", self.url, "--log",
            str(self.root / "reg" / "provenance.jsonl"), "--station-key",
            str(self.root / "keys" / "station.key"), "--labels", str(self.root / "labels"),
            "--plain", "--idle-exit", "3")
        for device in self.devices:
            command += ["--port", device.port]
        return command

    @property
    def url(self) -> str:
        return f"sqlite:///{self.root / 'reg' / 'registry.db'}"

    def run(self, command: list[str], name: str, kill_after: float | None = None) -> int:
        """Run to the end, or SIGKILL the whole process group after ``kill_after`` seconds."""
        env = subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE,
                             CREDLINE_STATION_PASSPHRASE=PASSPHRASE)
        with (self.root / "logs" / f"{name}.txt").open("w") as output:
            proc = subprocess.Popen(command, env=env, stdout=output, stderr=output,
                                    start_new_session=True)
            try:
                return proc.wait(timeout=kill_after if kill_after is not None else 120)
            except subprocess.TimeoutExpired:
                if kill_after is None:
                    raise
                os.killpg(proc.pid, signal.SIGKILL)
                return proc.wait()

    def temporaries(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*")
                      if TEMPORARY.fullmatch(p.name))


@contextlib.contextmanager
def set_up(root: Path, how: str) -> Iterator[Floor]:
    for folder in ("keys", "reg", "work", "out", "logs", "devices"):
        (root / folder).mkdir()
    keyfile.create(root / "keys" / "master.key", TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    (root / "work" / "derive.txt").write_text("".join(s + "\n" for s in DERIVE_SERIALS))
    (root / "work" / "station.txt").write_text("".join(s + "\n" for s in STATION_SERIALS))
    devices = [VirtualDevice(root / "devices" / f"flash{i}.bin", hwid=f"NK{i}",
                             baud=115200, flash_delay_ms=120) for i in range(6)]
    floor = Floor(root, how, devices)
    with open_registry(floor.url) as reg:
        enroll(root / "keys" / "station.key", "st1", PASSPHRASE, reg, params=FAST_SCRYPT)
    for device in devices:
        device.start()
    try:
        yield floor
    finally:
        for device in devices:
            device.stop()


@pytest.fixture(params=["o_tmpfile", "named"])
def floor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Floor]:
    if request.param == "o_tmpfile" and not _o_tmpfile_works(tmp_path):
        pytest.skip("this file system has no O_TMPFILE")
    with set_up(tmp_path, request.param) as floor:
        yield floor


def _o_tmpfile_works(directory: Path) -> bool:
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except (AttributeError, OSError):
        return False
    return True


def passwords() -> set[bytes]:
    """Every password of both batches, recomputed from the test key (any generation the
    registry could plausibly have given a station serial)."""
    batch = Deriver(LocalKey(TEST_KEY, "test"), PasswordFormat.default())
    found = {batch.password_text("acme-cam", s, 0).encode() for s in DERIVE_SERIALS}
    station = Deriver(LocalKey(TEST_KEY, "test"), load_profile(PROFILE).format)
    found |= {station.password_text("demo-device", s, g).encode()
              for s in STATION_SERIALS for g in range(3)}
    return found


TOKEN = re.compile(rb"[0-9A-Z]{12,}|[0-9A-Z]{4}(?:-[0-9A-Z]{4}){2}")
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)


def readable(data: bytes) -> bytes:
    """The bytes, and the decoded text of any PDF streams (the label sheet is ASCII85 and
    Flate encoded, so its passwords are not visible as they are)."""
    parts = [data]
    for match in PDF_STREAM.finditer(data):
        raw = match.group(1).strip()
        with contextlib.suppress(ValueError):
            raw = base64.a85decode(raw, adobe=True)
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompressobj().decompress(raw))
    return b"\n".join(parts)


def holders(root: Path, secrets: set[bytes], allowed: set[Path]) -> list[str]:
    """Every file under ``root``, apart from ``allowed`` and the devices' flash, that holds
    one of ``secrets`` (bare, or grouped as on a label)."""
    found = []
    for path in sorted(root.rglob("*")):
        if (not path.is_file() or path.is_symlink() or path in allowed
                or root / "devices" in path.parents):
            continue
        for match in TOKEN.finditer(readable(path.read_bytes())):
            run = match.group().replace(b"-", b"")
            if any(run[i:i + 12] in secrets for i in range(len(run) - 11)):
                found.append(str(path.relative_to(root)))
                break
    return found


def final_files(root: Path) -> set[Path]:
    """The files meant to hold passwords: the derived CSV, each label, the label sheet."""
    labels = root / "labels"
    return {root / "out" / "batch.csv", labels / "NK-labels.pdf",
            *(labels / f"{serial}.zpl" for serial in STATION_SERIALS)}


def test_kill_9_at_random_moments_leaves_no_password_outside_its_files(floor: Floor) -> None:
    rng = random.Random(20261)
    secrets = passwords()
    left_by_kills = []
    for trial in range(4):
        floor.run(floor.derive(), f"derive-{trial}", kill_after=rng.uniform(0.3, 2.4))
        left_by_kills += [t for t in floor.temporaries() if t.startswith("out/")]
    for trial in range(3):
        floor.run(floor.station(), f"station-{trial}", kill_after=rng.uniform(0.6, 2.6))
        left_by_kills += [t for t in floor.temporaries() if t.startswith("labels/")]
    if floor.how == "o_tmpfile":
        # Nothing named exists while content is written, so a kill leaves nothing to find.
        assert holders(floor.root, secrets, final_files(floor.root)) == []
        assert left_by_kills == []
    else:
        assert left_by_kills, "no kill landed while derive was writing: the sweep is untested"
        listed = subprocess.run(floor.command("doctor", str(floor.root), "--dry-run"),
                                env=subprocess_env(), capture_output=True, text=True,
                                timeout=60, check=False)
        assert listed.returncode == 0, listed.stderr
        for temp in floor.temporaries():
            assert f"would remove {floor.root / temp}" in listed.stdout

    # The same commands again: each clears what its killed runs left, and finishes.
    assert floor.run(floor.derive(), "derive-final") == 0
    assert floor.run(floor.station(), "station-final") == 0
    assert floor.temporaries() == []
    assert holders(floor.root, secrets, final_files(floor.root)) == []
    assert sum(1 for _ in (floor.root / "out" / "batch.csv").open()) == len(
        DERIVE_SERIALS) + 1
    doctor = subprocess.run(floor.command("doctor", str(floor.root)), env=subprocess_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert doctor.returncode == 0 and "removed 0 stale temporary file(s)" in doctor.stderr


def test_station_run_removes_label_temporaries_a_killed_run_left(tmp_path: Path) -> None:
    with set_up(tmp_path, "o_tmpfile") as floor:
        run_with_stale_labels(floor)


def run_with_stale_labels(floor: Floor) -> None:
    labels = floor.root / "labels"
    labels.mkdir()
    stale = [labels / ".NK-00.zpl.abcdefgh.tmp", labels / ".NK-labels.pdf.k2j_9zqa.tmp"]
    unrelated = labels / ".notes.txt.abcdefgh.tmp"
    for path in [*stale, unrelated]:
        path.write_text("NK-00 password on a label")
    assert floor.run(floor.station(), "station") == 0
    output = (floor.root / "logs" / "station.txt").read_text()
    assert "removed 2 temporary label file(s) an interrupted earlier run left" in output
    assert not any(path.exists() for path in stale) and unrelated.exists()
