"""The smaller promises of the CLI (issue 16 item 6): each option's own error, exit 2 for what
does not exist, honest environment messages, weak formats refused, passphrases long enough,
piped input read, JSON where a script wants it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.errors import DeviceError
from credline.keystore import keyfile
from credline.registry import open_registry
from credline.transport.serial_hook import HookLink
from tests.conftest import PASSPHRASE, CliResult, credline_command, subprocess_env

Cli = Callable[..., CliResult]
PROFILE = str(Path(__file__).parent.parent / "factory" / "profiles" / "acme-cam.toml")
SN0001 = "WW4V6P8BPYR2"  # acme-cam, SN0001, TEST_KEY


def run(*args: str, input: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = subprocess_env(**env)
    for name, value in env.items():
        if value == "":
            environment.pop(name)
    return subprocess.run([*credline_command(), *args], input=input, capture_output=True,
                          text=True, env=environment, timeout=120, check=False)


def test_a_bad_batch_id_is_called_a_batch_id(cli: Cli, key_file: Path, tmp_path: Path) -> None:
    for command in (["station", "run", "--port", "loop://"], ["provision", "--port", "loop://",
                                                              "--serial", "SN1"]):
        result = cli(*command, "-p", PROFILE, "--key", str(key_file), "--batch", "a b")
        assert result.exit_code == 2, result.output
        assert "invalid batch id 'a b' (from --batch)" in result.stderr
        assert "product id" not in result.stderr


@pytest.mark.parametrize("args, expected", [
    (("--alphabet", "nosuch"), "--alphabet 'nosuch': not an alphabet name (crockford32"),
    (("--alphabet", "aabbccddeeff"), "--alphabet 'aabbccddeeff'"),
    (("--length", "0"), "--length 0: length must be a positive integer"),
    (("--alphabet", "hex", "--length", "40"), "--length 40:"),
])
def test_each_format_option_names_itself(cli: Cli, key_file: Path, args: tuple[str, ...],
                                         expected: str) -> None:
    result = cli("derive", "--key", str(key_file), "--product", "p", "--serial", "S1", *args)
    assert result.exit_code == 2 and expected in result.stderr, result.output


def test_a_format_below_the_floor_needs_allow_weak(cli: Cli, key_file: Path) -> None:
    args = ("derive", "--key", str(key_file), "--product", "p", "--serial", "S1", "--length", "4")
    refused = cli(*args)
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "20.0 bits, below the 48-bit floor for online exposure" in refused.stderr
    assert "--allow-weak" in refused.stderr
    weak = cli(*args, "--allow-weak")
    assert weak.exit_code == 0 and len(weak.stdout.strip()) == 4
    assert "WEAK password format" in weak.stderr and "does not meet UK PSTI" in weak.stderr
    hexed = cli("derive", "--key", str(key_file), "--product", "p", "--serial", "S1",
                "--alphabet", "hex")  # no --length: 60 bits' worth, not 12 characters
    assert hexed.exit_code == 0 and len(hexed.stdout.strip()) == 15


def test_registry_status_unknown_batch_is_2_and_json(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    assert cli("registry", "init", url).exit_code == 0
    with open_registry(url) as reg:
        reg.open_batch("B1", "acme-cam", "e98c6960947e8461", "p", "st1")
        reg.reserve("B1", "acme-cam", "SN1", "st1")
    nope = cli("registry", "status", url, "--batch", "NOPE")
    assert nope.exit_code == 2 and "batch 'NOPE' is not in registry" in nope.stderr
    status = cli("registry", "status", url, "--batch", "B1", "--json")
    assert status.exit_code == 0
    assert json.loads(status.stdout) == {"batch": "B1", "counts": {
        "reserved": 1, "written": 0, "verified": 0, "locked": 0, "failed": 0, "retired": 0}}


def test_a_sqlite_failure_does_not_blame_a_server_or_network(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "reg.db"
    folder.mkdir()  # exists, but SQLite cannot open it
    result = cli("registry", "status", f"sqlite:///{folder}")
    assert result.exit_code == 4, result.output
    assert "SQLite file" in result.stderr
    assert "server" not in result.stderr and "network" not in result.stderr


def test_a_missing_port_is_named_once() -> None:
    with pytest.raises(DeviceError) as caught:
        HookLink("/dev/credline-no-such-port")
    text = str(caught.value)
    assert "No such file or directory" in text and text.count("No such file") == 1
    assert "[Errno" not in text


def test_a_short_passphrase_makes_no_key_file(cli: Cli, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", "x")
    result = cli("keys", "new", "-o", str(tmp_path / "k.key"))
    assert result.exit_code == 2 and "at least 12" in result.stderr
    assert not (tmp_path / "k.key").exists()
    with pytest.raises(Exception, match="at least 12"):
        keyfile.wrap(bytes(32), "eleven char")


def test_check_password_reads_piped_input_without_a_warning(key_file: Path) -> None:
    args = ("check-password", "--key", str(key_file), "-p", PROFILE, "--serial", "SN0001")
    typed = SN0001[:4] + "-" + SN0001[4:8].lower() + "-" + SN0001[8:]
    match = run(*args, input=typed + "\n", CREDLINE_PASSPHRASE=PASSPHRASE)
    assert match.returncode == 0 and "match" in match.stderr, match.stderr
    assert "GetPassWarning" not in match.stderr and "Warning" not in match.stderr
    wrong = run(*args, input="0000-0000-0000\n", CREDLINE_PASSPHRASE=PASSPHRASE)
    assert wrong.returncode == 1 and SN0001 not in wrong.stdout + wrong.stderr
    # No CREDLINE_PASSPHRASE and no terminal: the key's passphrase is the first line.
    both = run(*args, input=f"{PASSPHRASE}\n{typed}\n", CREDLINE_PASSPHRASE="")
    assert both.returncode == 0 and "Warning" not in both.stderr, both.stderr
    nothing = run(*args, input="", CREDLINE_PASSPHRASE=PASSPHRASE)
    assert nothing.returncode == 2 and "no password given" in nothing.stderr


def test_keys_id_and_derive_print_json(cli: Cli, key_file: Path) -> None:
    keys = cli("keys", "id", "--key", str(key_file), "--json")
    assert keys.exit_code == 0
    key_id = json.loads(keys.stdout)["key_id"]
    assert json.loads(keys.stdout) == {"key": str(key_file), "key_id": key_id}
    one = cli("derive", "--key", str(key_file), "-p", PROFILE, "--serial", "SN0001", "--json")
    assert one.exit_code == 0
    assert json.loads(one.stdout) == {"serial": "SN0001", "product": "acme-cam",
                                      "generation": 0, "key_id": key_id, "password": SN0001}


def test_short_forms(cli: Cli, key_file: Path, tmp_path: Path) -> None:
    order = tmp_path / "o.txt"
    order.write_text("SN0001\n")
    out = tmp_path / "b.csv"
    result = cli("derive", "--key", str(key_file), "-p", PROFILE, "--serials", str(order),
                 "-o", str(out), "-q")
    assert result.exit_code == 0 and result.stderr == "" and SN0001 in out.read_text()
    assert os.stat(out).st_mode & 0o777 == 0o600
    checked = cli("batch", "check", str(out), "-p", PROFILE, "-q")
    assert checked.exit_code == 0, checked.output
