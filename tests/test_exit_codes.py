"""The one error tree and its one boundary: each branch's exit code, through the CLI.

0 ok, 1 a check or a device failed, 2 bad input, 3 a bug, 4 the environment failed (with a
hint). Real PostgreSQL client on a closed port, a real file-size limit for a full disk."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import resource
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import credline
from credline.core import errors
from credline.core.errors import (
    BadInput,
    CredlineError,
    EnvironmentFailed,
    Failed,
    FrameError,
    RecordError,
)
from tests.conftest import REPO, CliResult, credline_command, subprocess_env

Cli = Callable[..., CliResult]


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ok_is_0(cli: Cli, key_file: Path) -> None:
    result = cli("derive", "--key", str(key_file), "--product", "cam", "--serial", "SN1")
    assert result.exit_code == 0, result.output


def test_a_failed_check_is_1(cli: Cli, key_file: Path) -> None:
    result = cli("check-password", "--key", str(key_file), "--product", "cam", "--serial",
                 "SN1", input="WRONG-PASSWORD\n")
    assert result.exit_code == 1, result.output
    assert "does not match serial 'SN1'" in result.stderr


@pytest.mark.parametrize("args", [
    ("--serial", "SN 1"),
    ("--serial", "SN1", "--product", "cam/../x"),
])
def test_bad_input_is_2(cli: Cli, key_file: Path, args: tuple[str, ...]) -> None:
    result = cli("derive", "--key", str(key_file), "--product", "cam", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_a_wrong_passphrase_is_2(cli: Cli, key_file: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", "not the passphrase")
    result = cli("derive", "--key", str(key_file), "--product", "cam", "--serial", "SN1")
    assert result.exit_code == 2, result.output
    assert "wrong passphrase" in result.stderr


def test_a_registry_that_went_away_is_4_with_a_hint(cli: Cli) -> None:
    url = f"postgresql://credline:hunter22@127.0.0.1:{closed_port()}/credline"
    result = cli("registry", "status", url)
    assert result.exit_code == 4, result.output
    assert "Connection refused" in result.stderr
    assert "(check the database server" in result.stderr
    assert "hunter22" not in result.output


@pytest.mark.parametrize("port", ["99999", "0", "abc"])
def test_a_postgres_url_with_a_bad_port_is_2(cli: Cli, port: str) -> None:
    result = cli("registry", "status", f"postgresql://credline:hunter22@127.0.0.1:{port}/db")
    assert result.exit_code == 2, result.output
    assert "port" in result.stderr and "Traceback" not in result.output
    assert "hunter22" not in result.output


def _file_size_limit() -> None:
    # The kernel refuses writes past the limit (EFBIG), as a full disk refuses them (ENOSPC):
    # the honest way to fill a disk from a test without mounting one.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_full_disk_is_4_and_leaves_no_file(key_file: Path, tmp_path: Path) -> None:
    serials = tmp_path / "serials.txt"
    serials.write_text("".join(f"SN{i:05d}\n" for i in range(2000)))
    out = tmp_path / "out.csv"
    result = subprocess.run([*credline_command(), "derive", "--key", str(key_file),
                             "--product", "cam", "--serials", str(serials), "--out", str(out),
                             "--workers", "1"], preexec_fn=_file_size_limit,
                            env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 4, result.stderr
    assert f"{out}: cannot write" in result.stderr and "(free some space" in result.stderr
    assert not out.exists() and list(tmp_path.glob("*.tmp*")) == []


def test_each_branch_has_its_code() -> None:
    assert BadInput("x").exit_code == errors.EXIT_BAD_INPUT == 2
    assert Failed("x").exit_code == errors.EXIT_CHECK_FAILED == 1
    assert EnvironmentFailed("x").exit_code == errors.EXIT_ENVIRONMENT == 4
    assert EnvironmentFailed("x").hint, "an environment failure always says what to check"
    assert errors.EXIT_INTERNAL == 3
    assert not issubclass(FrameError, ValueError) and not issubclass(RecordError, ValueError)


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(credline.__path__, "credline."):
        if info.name in ("credline.testing", "credline.__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return list(found.values())


def test_every_exception_of_credline_is_in_the_tree() -> None:
    classes = _exception_classes()
    assert len(classes) > 10
    outside = [cls.__qualname__ for cls in classes if not issubclass(cls, CredlineError)]
    assert outside == []
    for cls in classes:
        assert cls.exit_code in (1, 2, 4), cls


def test_the_readme_and_the_operator_guide_list_every_code() -> None:
    readme = (REPO / "README.md").read_text()
    line = re.search(r"Exit codes:(.*?)\)\.", readme, re.S)
    assert line is not None
    guide = (REPO / "docs" / "operator-guide.md").read_text()
    for code in (0, 1, 2, 3, 4):
        assert f" {code} " in line.group(1).replace("\n", " ")
        assert f"\n| {code} |" in guide


def test_a_negative_sim_baud_is_2_before_any_device_starts(cli: Cli, tmp_path: Path) -> None:
    result = cli("sim", "--baud", "-9600", "--count", "1", "--workdir", str(tmp_path / "sim"))
    assert result.exit_code == 2, result.output
    assert "-9600" in result.output and not (tmp_path / "sim").exists()
