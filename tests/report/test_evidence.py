"""``credline report evidence`` and ``verify-evidence``: a pack that verifies, and fails
verification after any change to any file (hypothesis flips any byte of any file), an added
or a removed file, or a signer the registry does not know."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credline.core.errors import CheckFailed
from credline.provenance import line_hash
from credline.report.evidence import MANIFEST, SIGNATURE, verify_pack, write_pack
from tests.conftest import CliResult
from tests.report.conftest import DEMO_PROFILE, DemoBatch

Cli = Callable[..., CliResult]
FILES = ("MANIFEST", "MANIFEST.sig", "README.txt", "batch-check.json", "batch-report.html",
         "batch-report.pdf", "checkpoint.jsonl", "ics-en-303-645-5.1.md",
         "ixit-1-AuthMech.md", "statement.md", "statement.pdf", "stations.json")


@pytest.fixture(scope="module")
def pack(demo_batch: DemoBatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from credline.cli import main
    from credline.station.demo import DEMO_PASSPHRASE

    out = tmp_path_factory.mktemp("pack") / "evidence"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CREDLINE_PASSPHRASE", DEMO_PASSPHRASE)
        env.setenv("CREDLINE_STATION_PASSPHRASE", DEMO_PASSPHRASE)
        with pytest.raises(SystemExit) as done:
            main(["report", "evidence", "--batch", demo_batch.batch, "--registry",
                  demo_batch.url, "--log", str(demo_batch.log), "--key", str(demo_batch.key),
                  "--profile", str(DEMO_PROFILE), "--station-key",
                  str(demo_batch.station_key), "--date", "2026-11-30", "--out", str(out)])
    assert done.value.code in (0, None)
    return out


def test_the_pack_holds_every_piece_and_verifies(cli: Cli, pack: Path,
                                                 demo_batch: DemoBatch) -> None:
    assert sorted(p.name for p in pack.iterdir()) == sorted(FILES)
    checkpoint = (pack / "checkpoint.jsonl").read_bytes()
    assert checkpoint in demo_batch.log.read_bytes()  # the log's own line, signature and all
    assert json.loads(checkpoint)["event"] == "checkpoint" and json.loads(checkpoint)["sig"]
    assert line_hash(checkpoint) in (pack / "statement.md").read_text()
    verdict = json.loads((pack / "batch-check.json").read_text())
    assert verdict["ok"] is True and verdict["checked"] == 16 and verdict["violations"] == []
    assert "DEMO-station" in json.loads((pack / "stations.json").read_text())
    ics = (pack / "ics-en-303-645-5.1.md").read_text()
    assert "| 5.1-1 (unique per device passwords) | M C1" in ics and "| 5.1-2 " in ics
    ixit = (pack / "ixit-1-AuthMech.md").read_text()
    for words in ("| Alphabet | crockford32: 0123456789ABCDEFGHJKMNPQRSTVWXYZ |",
                  "| Length and strength | 12 characters, 60.0 bits |",
                  "| Exposure | online (floor 48 bits) |",
                  "| Key scope | one master key for the product line |", "| Key custody |"):
        assert words in ixit, words
    result = cli("report", "verify-evidence", str(pack), "--registry", demo_batch.url)
    assert result.exit_code == 0, result.output
    assert "intact, batch DEMO-batch-1, 10 files, signed by enrolled station DEMO-station" \
        in result.stdout


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(FILES), where=st.floats(0, 1, exclude_max=True),
       mask=st.integers(1, 255))
def test_flipping_any_byte_of_any_file_fails_verification(
        pack: Path, tmp_path_factory: pytest.TempPathFactory, which: str, where: float,
        mask: int) -> None:
    copy = tmp_path_factory.mktemp("flip") / "pack"
    shutil.copytree(pack, copy)
    target = copy / which
    data = bytearray(target.read_bytes())
    index = int(where * len(data))
    data[index] ^= mask
    target.write_bytes(bytes(data))
    with pytest.raises(CheckFailed):
        verify_pack(copy)
    shutil.rmtree(copy.parent)


def test_added_removed_or_resigned_files_fail(cli: Cli, pack: Path, demo_batch: DemoBatch,
                                              tmp_path: Path) -> None:
    added = tmp_path / "added"
    shutil.copytree(pack, added)
    (added / "extra.txt").write_text("slipped in later\n")
    result = cli("report", "verify-evidence", str(added))
    assert result.exit_code == 1 and "extra.txt: not in MANIFEST" in result.stderr
    removed = tmp_path / "removed"
    shutil.copytree(pack, removed)
    (removed / "statement.pdf").unlink()
    result = cli("report", "verify-evidence", str(removed))
    assert result.exit_code == 1 and "statement.pdf: listed in MANIFEST but missing" \
        in result.stderr
    # Re-signed by someone else after an edit: intact on its own terms, refused by the
    # registry, which knows the station's real key.
    forged = tmp_path / "forged"
    files = {p.name: p.read_bytes() for p in pack.iterdir() if p.name not in
             (MANIFEST, SIGNATURE)}
    files["batch-check.json"] = files["batch-check.json"].replace(b"true", b"false")
    write_pack(forged, files, "DEMO-station", Ed25519PrivateKey.generate(), "DEMO-batch-1")
    assert cli("report", "verify-evidence", str(forged)).exit_code == 0
    result = cli("report", "verify-evidence", str(forged), "--registry", demo_batch.url)
    assert result.exit_code == 1
    assert "signer 'DEMO-station' is not enrolled in the registry under the key" in \
        result.stderr


def test_a_pack_is_written_whole_or_not_at_all(cli: Cli, demo_batch: DemoBatch,
                                               demo_env: None, tmp_path: Path) -> None:
    out = tmp_path / "evidence"
    base = ("report", "evidence", "--batch", demo_batch.batch, "--registry", demo_batch.url,
            "--profile", str(DEMO_PROFILE), "--station-key", str(demo_batch.station_key),
            "--out", str(out))
    result = cli(*base)
    assert result.exit_code == 2 and "--log is required" in result.stderr
    empty_log = tmp_path / "other.jsonl"
    empty_log.write_bytes(demo_batch.log.read_bytes().split(b"\n", 1)[0] + b"\n")
    result = cli(*base, "--log", str(empty_log))
    assert result.exit_code == 2 and "its signed checkpoint is in none of the logs" \
        in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.jsonl"]
    out.mkdir()
    (out / "old.txt").write_text("x")
    result = cli(*base, "--log", str(demo_batch.log))
    assert result.exit_code == 2 and "is not an empty folder" in result.stderr


def test_no_password_reaches_any_file_of_the_pack(pack: Path, demo_batch: DemoBatch) -> None:
    """The pack was made with the master key (every rule ran on re-derived passwords); none
    of those passwords appears in any file, nor in the PDFs' text."""
    from credline.core.derive import Deriver
    from credline.core.policy import PasswordFormat
    from credline.keystore import keyfile
    from credline.registry import open_registry
    from credline.station.demo import DEMO_PASSPHRASE
    from tests.report.pictures import pdf_text

    deriver = Deriver(keyfile.load(demo_batch.key, DEMO_PASSPHRASE), PasswordFormat.default())
    with open_registry(demo_batch.url, create=False) as registry:
        devices = registry.devices(demo_batch.batch)
    passwords = [deriver.password_text(d.product, d.serial, d.generation) for d in devices]
    assert len(passwords) == 16
    texts = [p.read_bytes().decode("latin-1") for p in pack.iterdir()]
    texts += [pdf_text(p) for p in pack.glob("*.pdf")]
    leaked = [p for p in passwords for text in texts if p in text]
    assert leaked == []


def test_the_checkpoint_must_be_the_batchs_signed_by_its_station(
        cli: Cli, pack: Path, demo_batch: DemoBatch, tmp_path: Path) -> None:
    """Re-signing the MANIFEST over another checkpoint does not make it the batch's: its own
    Ed25519 signature is checked against the station's key."""
    files = {p.name: p.read_bytes() for p in pack.iterdir() if p.name not in
             (MANIFEST, SIGNATURE)}
    entry = json.loads(files["checkpoint.jsonl"])
    entry["fields"]["entries"] += 1  # a checkpoint claiming one entry more
    files["checkpoint.jsonl"] = json.dumps(entry).encode() + b"\n"
    forged = tmp_path / "forged"
    write_pack(forged, files, "DEMO-station", Ed25519PrivateKey.generate(), "DEMO-batch-1")
    result = cli("report", "verify-evidence", str(forged))
    assert result.exit_code == 1
    assert "checkpoint.jsonl is not a checkpoint of batch 'DEMO-batch-1' signed by its " \
        "station's key" in result.stderr


def test_a_half_written_pack_a_kill_left_is_swept_a_live_one_kept(tmp_path: Path) -> None:
    """A run killed while writing leaves only a hidden staging folder, never a pack under
    the name asked for; the next run removes it, unless a live writer holds its lock."""
    import fcntl
    import os

    from credline.report.evidence import sweep_staging

    out = tmp_path / "evidence"
    stale = tmp_path / ".evidence.pack-dead1234"
    stale.mkdir()
    (stale / "statement.pdf").write_bytes(b"half")
    live = tmp_path / ".evidence.pack-live5678"
    live.mkdir()
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        write_pack(out, {"a.txt": b"a\n"}, "st1", Ed25519PrivateKey.generate(), "B1")
        assert not stale.exists() and live.exists()
    finally:
        os.close(fd)
    assert sweep_staging(out) == [live]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence"]
    assert "  a.txt\n" in (out / MANIFEST).read_text()
