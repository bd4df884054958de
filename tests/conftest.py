"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from credline.cli import main
from credline.keystore import keyfile
from credline.keystore.base import LocalKey
from credline.registry import open_registry
from credline.station.identity import enroll
from tests.processes import virtual_devices

REPO = Path(__file__).resolve().parent.parent
_BEFORE: set[int] = set()  # virtual devices of this checkout already running (not ours)


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(virtual_devices())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test left a virtual-device process of this checkout running."""
    deadline = time.monotonic() + 5.0  # a device told to stop may take a moment to exit
    while (left := {pid: cmd for pid, cmd in virtual_devices().items()
                    if pid not in _BEFORE}) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        lines = "\n".join(f"  {pid}: {cmd}" for pid, cmd in sorted(left.items()))
        sys.stderr.write(f"\nvirtual-device processes left running by the tests (now "
                         f"killed):\n{lines}\n")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
TEST_KEY = bytes(range(32))  # a published test key: the vectors use it too
FAST_SCRYPT = keyfile.ScryptParams(n=2**12)  # tests only; real files use the default cost
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def master_key() -> LocalKey:
    return LocalKey(TEST_KEY, "test key")


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A key file holding TEST_KEY, its passphrase in CREDLINE_PASSPHRASE."""
    path = tmp_path / "test.key"
    keyfile.create(path, TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    return path


@pytest.fixture
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CREDLINE_STATION_PASSPHRASE", PASSPHRASE)
    key = tmp_path / "master.key"
    keyfile.create(key, TEST_KEY, PASSPHRASE, params=FAST_SCRYPT)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(url) as reg:
        enroll(tmp_path / "station.key", "st1", PASSPHRASE, reg, params=FAST_SCRYPT)
    yield {"key": key, "db": tmp_path / "registry.db", "root": tmp_path}


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run ``credline.cli.main`` in process, through its error boundary and exit codes."""

    def run(*args: str, input: str | None = None) -> CliResult:
        runner = CliRunner()
        with runner.isolation(input=input) as streams:
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            return CliResult(code, streams[0].getvalue().decode(),
                             streams[1].getvalue().decode())

    return run


def credline_command() -> list[str]:
    """The command line that runs this checkout's CLI in a subprocess."""
    return [sys.executable, "-m", "credline"]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: this checkout's src first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env
