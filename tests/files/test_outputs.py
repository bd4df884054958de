"""``--out`` as people use it: ``-``, /dev/stdout, a device, a FIFO, a symbolic link, an input;
and byte-order marks on every text input."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credline.core.errors import BadInput, StorageFailed
from credline.files.output import output_text, refuse_inputs
from tests.conftest import CliResult, credline_command, subprocess_env

Cli = Callable[..., CliResult]
BOM = "\ufeff"
HEADER = "serial,password,generation,key_id,fingerprint"


def derive(cli: Cli, key: Path, *args: str) -> CliResult:
    return cli("derive", "--key", str(key), "--product", "acme-cam", *args)


@pytest.fixture
def order(tmp_path: Path) -> Path:
    path = tmp_path / "order.txt"
    path.write_text("SN0001\nSN0002\nSN0003\n")
    return path


def test_out_dash_writes_the_csv_to_standard_output(cli: Cli, key_file: Path, order: Path,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a file named '-' would land here
    result = derive(cli, key_file, "--serials", str(order), "-o", "-")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER and [line.split(",")[0] for line in lines[1:]] == [
        "SN0001", "SN0002", "SN0003"]
    assert not (tmp_path / "-").exists(), "'-' is standard output, not a file named '-'"
    assert "into standard output" in result.stderr


def test_out_dev_stdout_is_written_through_in_a_subprocess(key_file: Path, order: Path,
                                                           tmp_path: Path) -> None:
    done = subprocess.run([*credline_command(), "derive", "--key", str(key_file), "--product",
                           "acme-cam", "--serials", str(order), "--out", "/dev/stdout"],
                          capture_output=True, text=True, env=subprocess_env(), timeout=120,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == HEADER and done.stdout.count("\n") == 4
    assert os.path.islink("/dev/stdout"), "/dev/stdout must still be the system's link"


def test_out_dev_full_is_the_environment_and_the_device_stays(cli: Cli, key_file: Path,
                                                              order: Path) -> None:
    result = derive(cli, key_file, "--serials", str(order), "--out", "/dev/full")
    assert result.exit_code == 4, result.output
    assert "/dev/full" in result.stderr and "No space left" in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode), "/dev/full must stay a device"


def test_a_symlink_out_is_written_through_and_stays_a_link(cli: Cli, key_file: Path,
                                                           order: Path, tmp_path: Path) -> None:
    target = tmp_path / "real" / "batch.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    result = derive(cli, key_file, "--serials", str(order), "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().splitlines()[0] == HEADER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "order.txt", "real",
                                                          "test.key"]


def test_a_fifo_out_is_written_through(cli: Cli, key_file: Path, order: Path,
                                       tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    result = derive(cli, key_file, "--serials", str(order), "-o", str(fifo))
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO must not be replaced by a file"
    assert got and got[0].splitlines()[0] == HEADER and got[0].count("\n") == 4


def test_bad_input_on_a_stream_writes_nothing(cli: Cli, key_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("SN0001\n" * 2)
    result = derive(cli, key_file, "--serials", str(bad), "-o", "-")
    assert result.exit_code == 2 and "duplicate serial" in result.stderr
    assert result.stdout == "", "a stream cannot take back rows: check first, then write"


@pytest.mark.parametrize("role", ["--serials", "--profile", "--key"])
def test_an_out_that_is_an_input_is_refused(cli: Cli, key_file: Path, order: Path,
                                            tmp_path: Path, role: str) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[product]\nid = "acme-cam"\n[password]\nalphabet = "crockford32"\n'
                       'length = 12\nexposure = "online"\n')
    victim = {"--serials": order, "--profile": profile, "--key": key_file}[role]
    before = victim.read_bytes()
    link = tmp_path / "sneaky.csv"
    link.symlink_to(victim)  # the same file by another name is refused too
    for out in (victim, link):
        result = cli("derive", "--key", str(key_file), "-p", str(profile), "--serials",
                     str(order), "-o", str(out))
        assert result.exit_code == 2, result.output
        assert "same file as " + role in result.stderr
        assert victim.read_bytes() == before


def test_registry_export_refuses_the_registry_file_as_out(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    assert cli("registry", "init", f"sqlite:///{db}").exit_code == 0
    before = db.read_bytes()
    result = cli("registry", "export", f"sqlite:///{db}", "--batch", "B1", "-o", str(db))
    assert result.exit_code == 2 and "same file" in result.stderr
    assert db.read_bytes() == before


def test_a_bom_is_accepted_on_serial_lists_csv_and_batch_files(cli: Cli, key_file: Path,
                                                               tmp_path: Path) -> None:
    text, table = tmp_path / "order.txt", tmp_path / "order.csv"
    text.write_text(BOM + "SN0001\nSN0002\n", encoding="utf-8")
    table.write_text(BOM + "serial,note\nSN0001,a\nSN0002,b\n", encoding="utf-8")
    outs = []
    for source in (text, table):
        out = tmp_path / f"{source.suffix[1:]}.csv"
        result = derive(cli, key_file, "--serials", str(source), "-o", str(out))
        assert result.exit_code == 0, result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    batch = tmp_path / "excel.csv"
    batch.write_text(BOM + outs[0], encoding="utf-8")  # as Excel saves it
    public = tmp_path / "public.txt"
    public.write_text(BOM + "AA:BB:CC:DD:EE:FF\n", encoding="utf-8")
    profile = tmp_path / "bom.toml"
    profile.write_text(BOM + '[product]\nid = "acme-cam"\n', encoding="utf-8")
    result = cli("batch", "check", str(batch), "-p", str(profile), "--public", str(public))
    assert result.exit_code == 0, result.output


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=200),
       st.booleans())
def test_output_text_never_replaces_a_link(tmp_path: Path, content: str, exists: bool) -> None:
    folder = tmp_path / os.urandom(4).hex()
    folder.mkdir()
    target, link = folder / "target.csv", folder / "link.csv"
    if exists:
        target.write_text("old")
    link.symlink_to(target)
    with output_text(link) as handle:
        handle.write(content)
    assert link.is_symlink() and target.read_text(encoding="utf-8") == content
    assert sorted(p.name for p in folder.iterdir()) == ["link.csv", "target.csv"]


def test_output_text_errors_leave_a_regular_file_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old")
    with pytest.raises(BadInput), output_text(out) as handle:
        handle.write("new")
        raise BadInput("stop")
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["out.csv"]
    with pytest.raises(BadInput, match="is a folder"), output_text(tmp_path):
        pass
    with pytest.raises(StorageFailed), output_text(Path("/dev/full")) as handle:
        handle.write("x" * 10000)
    refuse_inputs(Path("-"), {"--serials": out})  # standard output is never an input file


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["plain", "dot", "parent", "link", "absolute", "hardlink"]))
def test_an_input_is_refused_under_any_name(tmp_path: Path, alias: str) -> None:
    folder = tmp_path / os.urandom(4).hex()
    (folder / "sub").mkdir(parents=True)
    source = folder / "order.txt"
    source.write_text("SN1\n")
    names = {"plain": source, "dot": folder / "." / "order.txt",
             "parent": folder / "sub" / ".." / "order.txt", "link": folder / "l.txt",
             "absolute": source.absolute(), "hardlink": folder / "h.txt"}
    if alias == "link":
        names["link"].symlink_to(source)
    if alias == "hardlink":
        os.link(source, names["hardlink"])
    with pytest.raises(BadInput, match="same file as --serials"):
        refuse_inputs(names[alias], {"--serials": source, "--profile": None})
    refuse_inputs(folder / "other.csv", {"--serials": source})  # another file: fine
    assert source.read_text() == "SN1\n"
