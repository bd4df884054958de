"""The CLI's derive, keys and check-password commands, through the real error boundary."""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from credline.cli import build
from tests.conftest import PASSPHRASE, TEST_KEY, CliResult, credline_command, subprocess_env

Cli = Callable[..., CliResult]


def run(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*credline_command(), *args], input=input, capture_output=True,
                          text=True, env=subprocess_env(**env), timeout=120, check=False)


def test_derive_prints_the_password_alone(cli: Cli, key_file: Path) -> None:
    result = cli("derive", "--key", str(key_file), "--product", "acme-cam", "--serial", "SN0001")
    assert result.exit_code == 0 and result.stdout == "WW4V6P8BPYR2\n"
    again = cli("derive", "--key", str(key_file), "--product", "acme-cam", "--serial",
                "SN0001", "--generation", "7")
    assert again.stdout == "C8WV5GCK5T0S\n"


def test_derive_with_alphabet_and_profile(cli: Cli, key_file: Path) -> None:
    digits = cli("derive", "--key", str(key_file), "--product", "acme-lock", "--serial",
                 "L-000042", "--alphabet", "digits", "--length", "15")
    assert digits.stdout == "899076315501317\n"
    profile = Path(__file__).parent.parent / "factory" / "profiles" / "acme-cam.toml"
    via_profile = cli("derive", "--key", str(key_file), "--profile", str(profile),
                      "--serial", "SN0001")
    assert via_profile.stdout == "WW4V6P8BPYR2\n"


def test_batch_writes_the_documented_csv(cli: Cli, key_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "order.txt"
    source.write_text("".join(f"SN{i:04d}\n" for i in range(1, 501)))
    out = tmp_path / "batch.csv"
    result = cli("derive", "--key", str(key_file), "--product", "acme-cam", "--serials",
                 str(source), "--out", str(out), "--workers", "2")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["serial", "password", "generation", "key_id", "fingerprint"]
    assert [r["serial"] for r in rows] == [f"SN{i:04d}" for i in range(1, 501)]
    assert rows[0]["password"] == "WW4V6P8BPYR2" and rows[1]["password"] == "S49FNKJX35D0"
    assert {r["key_id"] for r in rows} == {"e98c6960947e8461"}
    assert len({r["fingerprint"] for r in rows}) == 500
    assert (out.stat().st_mode & 0o777) == 0o600


def test_batch_accepts_a_csv_with_a_serial_column(cli: Cli, key_file: Path,
                                                  tmp_path: Path) -> None:
    source = tmp_path / "order.csv"
    source.write_text("mac,serial,colour\r\naa,SN0001,red\r\nbb,SN0002,blue\r\n")
    out = tmp_path / "batch.csv"
    assert cli("derive", "--key", str(key_file), "--product", "acme-cam", "--serials",
               str(source), "--out", str(out)).exit_code == 0
    assert [r["password"] for r in csv.DictReader(out.open())] == ["WW4V6P8BPYR2",
                                                                   "S49FNKJX35D0"]


@pytest.mark.parametrize(("content", "fragments"), [
    ("SN1\nSN2\nSN 3\n", ["line {3}", "'SN 3'"]),
    ("SN1\nSN2\nSN1\n", ["line {3}", "duplicate serial 'SN1'", "first at line {1}"]),
    ("SN1\n\nSN2\nSN1\n", ["line {4}", "duplicate", "first at line {1}"]),
    ("SN1\n" + "x" * 65 + "\n", ["line {2}", "1 to 64"]),
])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_bad_serials_stop_the_batch_and_write_nothing(key_file: Path, tmp_path: Path,
                                                      content: str, fragments: list[str],
                                                      workers: str) -> None:
    source = tmp_path / "order.txt"
    # With workers, bad rows come after a full chunk of good ones, so rows were already
    # derived and written to the temporary file when the error is found.
    good = 9000 if workers == "2" else 0
    source.write_text("".join(f"OK{i}\n" for i in range(good)) + content)
    out = tmp_path / "batch.csv"
    result = run("derive", "--key", str(key_file), "--product", "acme-cam", "--serials",
                 str(source), "--out", str(out), "--workers", workers,
                 CREDLINE_PASSPHRASE=PASSPHRASE)
    assert result.returncode == 2, result.stderr
    for fragment in fragments:
        expected = re.sub(r"\{(\d+)\}", lambda m: str(int(m.group(1)) + good), fragment)
        assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and sorted(tmp_path.iterdir()) == sorted([key_file, source])


@pytest.mark.parametrize("content", ["", "\n\n\n", "serial\n", "mac,serial,colour\r\n"],
                         ids=["empty", "blank-lines", "header", "csv-header"])
def test_derive_refuses_a_serial_list_with_no_serials(cli: Cli, key_file: Path,
                                                      tmp_path: Path, content: str) -> None:
    source = tmp_path / "order.txt"
    source.write_text(content)
    out = tmp_path / "batch.csv"
    result = cli("derive", "--key", str(key_file), "--product", "acme-cam", "--serials",
                 str(source), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"{source}: no serials to derive" in result.stderr
    assert "derived 0" not in result.output
    assert not out.exists() and sorted(tmp_path.iterdir()) == sorted([key_file, source])


def test_bad_product_and_missing_input_are_named(cli: Cli, key_file: Path,
                                                 tmp_path: Path) -> None:
    result = run("derive", "--key", str(key_file), "--product", "acme cam", "--serial", "S1",
                 CREDLINE_PASSPHRASE=PASSPHRASE)
    assert result.returncode == 2 and "invalid product id 'acme cam' (from --product)" in (
        result.stderr)
    missing = run("derive", "--key", str(key_file), "--product", "p", "--serials",
                  str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o.csv"),
                  CREDLINE_PASSPHRASE=PASSPHRASE)
    assert missing.returncode == 2 and "nope.txt" in missing.stderr


def test_wrong_passphrase_exits_2_without_traceback_or_key(key_file: Path) -> None:
    result = run("derive", "--key", str(key_file), "--product", "p", "--serial", "S1",
                 CREDLINE_PASSPHRASE="wrong")
    assert result.returncode == 2
    assert "wrong passphrase" in result.stderr and str(key_file) in result.stderr
    assert "Traceback" not in result.stderr and TEST_KEY.hex() not in result.stderr
    assert result.stdout == ""


def test_keys_new_import_and_id(cli: Cli, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINE_PASSPHRASE", PASSPHRASE)
    imported = cli("keys", "import", "--out", str(tmp_path / "i.key"), input=TEST_KEY.hex())
    assert imported.exit_code == 0 and imported.stdout == "e98c6960947e8461\n"
    assert cli("keys", "id", "--key", str(tmp_path / "i.key")).stdout == "e98c6960947e8461\n"
    new = cli("keys", "new", "--out", str(tmp_path / "n.key"))
    assert new.exit_code == 0 and len(new.stdout.strip()) == 16
    assert new.stdout != imported.stdout
    bad = run("keys", "import", "--out", str(tmp_path / "b.key"), input="abc",
              CREDLINE_PASSPHRASE=PASSPHRASE)
    assert bad.returncode == 2 and "64 hex characters" in bad.stderr
    assert not (tmp_path / "b.key").exists()


def test_check_password_reads_like_a_person(key_file: Path) -> None:
    base = ["check-password", "--key", str(key_file), "--product", "acme-cam", "--serial",
            "SN0001"]
    ok = run(*base, input="ww4v-6p8b-pyr2\n", CREDLINE_PASSPHRASE=PASSPHRASE)
    assert ok.returncode == 0, ok.stderr
    wrong = run(*base, input="WW4V-6P8B-PYR3\n", CREDLINE_PASSPHRASE=PASSPHRASE)
    assert wrong.returncode == 1 and "does not match" in wrong.stderr
    assert "WW4V" not in wrong.stderr + wrong.stdout


def test_check_password_in_process(cli: Cli, key_file: Path) -> None:
    base = ("--key", str(key_file), "--product", "acme-cam", "--serial", "SN0001")
    ok = cli("check-password", *base, input="WW4V6P8BPYR2\n")
    assert ok.exit_code == 0, ok.output
    wrong = cli("check-password", *base, input="WW4V6P8BPYR3\n")
    assert wrong.exit_code == 1 and "does not match" in wrong.stderr
    assert "WW4V" not in wrong.output


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(build()))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert command.help and "Example" in command.help, f"credline {name} --help lacks an example"


def test_batch_csv_quotes_passwords_that_need_it(cli: Cli, key_file: Path,
                                                 tmp_path: Path) -> None:
    source = tmp_path / "order.txt"
    source.write_text("".join(f"AP{i:03d}\n" for i in range(300)))
    out = tmp_path / "batch.csv"
    result = cli("derive", "--key", str(key_file), "--product", "acme-ap", "--serials",
                 str(source), "--out", str(out), "--alphabet", "printable", "--length", "19")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(newline="")))
    assert len(rows) == 300 and all(len(r["password"]) == 19 for r in rows)
    assert any("," in r["password"] or '"' in r["password"] for r in rows)
    single = cli("derive", "--key", str(key_file), "--product", "acme-ap", "--serial", "AP007",
                 "--alphabet", "printable", "--length", "19")
    assert rows[7]["password"] + "\n" == single.stdout
