"""``credline demo`` through the CLI: the README's first command, end to end on virtual
devices, its summary and its exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from credline.registry import open_registry
from tests.conftest import CliResult
from tests.processes import virtual_devices


def test_demo_provisions_every_device_and_verifies_the_log(
        cli: Callable[..., CliResult], tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = cli("demo", "--count", "3", "--workdir", str(workdir), "--plain")
    assert result.exit_code == 0, result.output
    assert "DEMO batch: 3 of 3 devices provisioned, 0 failed" in result.stdout
    assert "audit: " in result.stdout and "key id" in result.stdout
    with open_registry(f"sqlite:///{workdir / 'registry.db'}", create=False) as reg:
        assert reg.status("DEMO-batch-1").get("locked") == 3
    assert sorted(p.name for p in (workdir / "labels").glob("*.zpl")) == [
        f"DEMO-{i:05d}.zpl" for i in range(1, 4)]
    assert virtual_devices(workdir) == {}  # the demo stops its devices


def test_demo_refuses_a_folder_it_did_not_make(cli: Callable[..., CliResult],
                                              tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me\n")
    result = cli("demo", "--count", "1", "--workdir", str(tmp_path))
    assert result.exit_code == 2
    assert "is not a credline demo directory" in result.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me\n"
