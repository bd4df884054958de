"""``credline image hex``: per-device Intel HEX images that the real hook reads at boot."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intelhex import IntelHex  # type: ignore[import-untyped]

from credline.core.derive import Deriver
from credline.core.errors import BadInput, ProfileError
from credline.core.record import Record
from credline.core.slot import Slot
from credline.files.profiles import load_profile
from credline.image.hex import HexBuilder, HexLayout, check_base, flash_bytes
from credline.keystore.base import LocalKey
from credline.transport.serial_hook import HookLink
from credline.transport.virtual import VirtualDevice
from tests.conftest import TEST_KEY, CliResult

SECTOR = 4096
SLOTS = 0x0803E000  # the last two 4 KiB sectors of a 256 KiB part at 0x08000000


def profile_file(tmp_path: Path, prog_size: int = 8, address: int = SLOTS,
                 flash_size: int = 0x40000) -> Path:
    path = tmp_path / "sensor.toml"
    path.write_text(f"""[product]
id = "acme-sensor"
[password]
alphabet = "crockford32"
length = 12
[hex]
address = {address}
sector_size = {SECTOR}
prog_size = {prog_size}
flash_start = 0x08000000
flash_size = {flash_size}
""")
    return path


def base_file(tmp_path: Path, extra: dict[int, int] | None = None) -> Path:
    """A firmware image: a vector table and some code at the start of flash."""
    base = IntelHex()
    base.puts(0x08000000, bytes(range(256)) * 16)
    base.puts(0x08010000, b"\x00\xbf" * 300)  # a second region, far from the slots
    for address, value in (extra or {}).items():
        base[address] = value
    path = tmp_path / "fw.hex"
    base.write_hex_file(str(path))
    return path


def run_hex(cli: Callable[..., CliResult], tmp_path: Path, key_file: Path, profile: Path,
            base: Path, serials: str = "SN0001\nSN0002\n") -> CliResult:
    order = tmp_path / "order.txt"
    order.write_text(serials)
    return cli("image", "hex", "--profile", str(profile), "--key", str(key_file), "--base",
               str(base), "--serials", str(order), "--out", str(tmp_path / "images"))


def test_a_hex_image_boots_on_the_real_hook_and_proves_its_record(
        cli: Callable[..., CliResult], tmp_path: Path, key_file: Path) -> None:
    profile = profile_file(tmp_path, prog_size=8)
    result = run_hex(cli, tmp_path, key_file, profile, base_file(tmp_path))
    assert result.exit_code == 0, result.output
    layout = HexLayout.of(load_profile(profile))
    image = (tmp_path / "images" / "SN0002.hex").read_bytes()
    flash = tmp_path / "board.flash"
    flash.write_bytes(flash_bytes(image, layout))  # what the gang programmer leaves
    password = Deriver(_key(), load_profile(profile).format).password_text("acme-sensor",
                                                                           "SN0002")
    assert password not in result.output
    device = VirtualDevice(flash, hwid="BOARD2", prog_size=8).start()
    try:
        with HookLink(device.port) as link:
            hello = link.hello()
            assert hello.serial == "SN0002"
            record = Record.decode(Slot.decode(flash.read_bytes()).record)
            link.verify(record)  # HMAC over a fresh nonce of the bytes in the board's flash
            link.lock()
        grouped = "-".join(password[i:i + 4] for i in range(0, 12, 4)).lower()
        assert device.runtime(check_password=grouped)["password"] == "match"
    finally:
        device.stop()


def _key() -> LocalKey:
    return LocalKey(TEST_KEY, "test key")


def test_every_byte_but_the_slot_is_the_base(cli: Callable[..., CliResult], tmp_path: Path,
                                             key_file: Path) -> None:
    base_path = base_file(tmp_path)
    result = run_hex(cli, tmp_path, key_file, profile_file(tmp_path, prog_size=32), base_path)
    assert result.exit_code == 0, result.output
    base = IntelHex(str(base_path))
    image = IntelHex(str(tmp_path / "images" / "SN0001.hex"))
    slot = Slot.decode(image.tobinstr(SLOTS, size=SECTOR))
    assert slot.unit == 32 and Record.decode(slot.record).serial == "SN0001"
    extra = set(image.addresses()) - set(base.addresses())
    assert extra == set(range(SLOTS, SLOTS + len(slot.encode())))
    assert all(image[a] == base[a] for a in base.addresses())
    assert (tmp_path / "images" / "SN0001.hex").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("extra", "message"), [
    ({SLOTS + 10: 0x00}, "overlaps the credential slots"),
    ({SLOTS + SECTOR + 100: 0x12}, "overlaps the credential slots"),
    ({0x09000000: 0x01}, "outside the profile's flash"),
])
def test_a_base_with_data_where_the_slots_go_is_refused(
        cli: Callable[..., CliResult], tmp_path: Path, key_file: Path,
        extra: dict[int, int], message: str) -> None:
    result = run_hex(cli, tmp_path, key_file, profile_file(tmp_path),
                     base_file(tmp_path, extra))
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "images").exists()


def test_an_erased_0xff_byte_in_the_base_is_fine(cli: Callable[..., CliResult],
                                                 tmp_path: Path, key_file: Path) -> None:
    result = run_hex(cli, tmp_path, key_file, profile_file(tmp_path),
                     base_file(tmp_path, {SLOTS + 3: 0xFF}))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"address": 0x08040000}, "outside the flash"),
    ({"address": SLOTS + 8}, "not on a sector boundary"),
    ({"prog_size": 3}, "prog_size = 3"),
])
def test_a_profile_with_impossible_slots_is_refused(
        cli: Callable[..., CliResult], tmp_path: Path, key_file: Path,
        kwargs: dict[str, int], message: str) -> None:
    result = run_hex(cli, tmp_path, key_file, profile_file(tmp_path, **kwargs),
                     base_file(tmp_path))
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_base_that_is_not_hex_is_refused(cli: Callable[..., CliResult], tmp_path: Path,
                                           key_file: Path) -> None:
    bad = tmp_path / "fw.hex"
    bad.write_text("not hex\n")
    result = run_hex(cli, tmp_path, key_file, profile_file(tmp_path), bad)
    assert result.exit_code == 2 and "not an Intel HEX file" in result.output


def test_the_recheck_catches_a_changed_byte(tmp_path: Path) -> None:
    profile = load_profile(profile_file(tmp_path))
    layout = HexLayout.of(profile)
    base = IntelHex(str(base_file(tmp_path)))
    builder = HexBuilder(base, layout, profile, "e98c6960947e8461")
    from credline.core.secret import Password

    data = builder.build("SN9", Password("WW4V6P8BPYR2"), 0)
    slot = builder.slot("SN9", Password("WW4V6P8BPYR2"), 0)
    parsed = IntelHex(io.StringIO(data.decode()))
    parsed[0x08000005] ^= 0x01
    out = io.StringIO()
    parsed.write_hex_file(out)
    with pytest.raises(BadInput, match="byte 0x8000005 differs from the base"):
        builder.check(out.getvalue().encode(), slot, "tampered")


@given(st.sampled_from([1, 2, 4, 8, 16, 32]), st.integers(0, 2**32 - 1),
       st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1, max_size=64))
@settings(max_examples=40, deadline=None)
def test_the_slot_in_any_image_decodes_to_its_record(unit: int, generation: int,
                                                     serial: str) -> None:
    from credline.core.ids import ProductId
    from credline.core.policy import PasswordFormat, Profile
    from credline.core.secret import Password

    profile = Profile(ProductId("p"), PasswordFormat("0123456789ABCDEFGHJKMNPQRSTVWXYZ", 12))
    layout = HexLayout(SLOTS, SECTOR, unit, 0x08000000, 0x40000)
    base = IntelHex()
    base.puts(0x08000000, b"\x01\x02")
    data = HexBuilder(base, layout, profile, "e98c6960947e8461").build(
        serial, Password("WW4V6P8BPYR2"), generation)
    slot = Slot.decode(flash_bytes(data, layout))
    record = Record.decode(slot.record)
    assert (record.serial, record.generation, slot.unit) == (serial, generation, unit)


def test_layout_errors_name_the_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"\[hex\] sector_size = 64"):
        HexLayout(SLOTS, 64, 1, 0, 1 << 32, "p.toml: [hex]").check()
    check_base(IntelHex(), HexLayout(SLOTS), "empty base")  # nothing at all: fine


def test_one_password_per_image_and_a_kill_leaves_only_whole_files(
        tmp_path: Path, key_file: Path) -> None:
    """kill -9 at some moment of a 300-image run: every file there is whole and checks; the
    same command then finishes with the same bytes and one distinct password per image."""
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import PASSPHRASE, credline_command, subprocess_env

    profile, base = profile_file(tmp_path, prog_size=16), base_file(tmp_path)
    order = tmp_path / "order.txt"
    order.write_text("".join(f"SN{i:05d}\n" for i in range(300)))
    out = tmp_path / "images"
    args = [*credline_command(), "image", "hex", "--profile", str(profile), "--key",
            str(key_file), "--base", str(base), "--serials", str(order), "--out", str(out)]
    env = subprocess_env(CREDLINE_PASSPHRASE=PASSPHRASE)
    run = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.hex"))) < 20:
        time.sleep(0.01)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    left = len(list(out.glob("*.hex")))
    assert run.returncode == -signal.SIGKILL  # killed, not finished (300 images take seconds)
    layout = HexLayout.of(load_profile(profile))
    for path in out.glob("*.hex"):  # whatever the kill left is whole
        Slot.decode(flash_bytes(path.read_bytes(), layout))
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert again.returncode == 0, again.stderr
    files = sorted(out.iterdir())
    assert [p.name for p in files] == [f"SN{i:05d}.hex" for i in range(300)]  # no temporaries
    passwords = set()
    for path in files:
        record = Record.decode(Slot.decode(flash_bytes(path.read_bytes(), layout)).record)
        assert record.serial == path.stem and record.password is not None
        passwords.add(record.password.reveal())
    assert len(passwords) == 300 and left < 300


def test_a_recorded_hex_batch_is_locked_audited_and_resumes_without_rewriting(
        cli: Callable[..., CliResult], image_env: dict[str, Path | str]) -> None:
    """--registry/--batch: each HEX file is recorded as a station records a device (the
    station's own steps), so the audit, labels and a rerun treat it as any batch."""
    from credline.core.lifecycle import DeviceState
    from credline.registry import open_registry

    root = Path(image_env["root"])
    profile, base = profile_file(root), base_file(root)
    serials = [f"H-{i:03d}" for i in range(6)]
    (root / "order.txt").write_text("".join(s + "\n" for s in serials))
    command = ["image", "hex", "--profile", str(profile), "--key", str(image_env["key"]),
               "--base", str(base), "--serials", str(root / "order.txt"),
               "--out", str(root / "images"), "--registry", str(image_env["url"]),
               "--batch", "H1", "--log", str(root / "log.jsonl"),
               "--station-key", str(root / "station.key"), "--labels", str(root / "labels")]
    result = cli(*command)
    assert result.exit_code == 0, result.output
    with open_registry(str(image_env["url"]), create=False) as reg:
        devices = {d.serial: d for d in reg.devices("H1")}
    assert {s: d.state for s, d in devices.items()} == dict.fromkeys(serials, DeviceState.LOCKED)
    assert {d.hardware_id for d in devices.values()} == {f"image:{s}.hex" for s in serials}
    assert len({d.fingerprint for d in devices.values()}) == len(serials)
    layout = HexLayout.of(load_profile(profile))
    for serial in serials:  # each file holds its own serial's record, and nothing else moved
        data = (root / "images" / f"{serial}.hex").read_bytes()
        slot = Slot.decode(flash_bytes(data, layout)[:SECTOR])
        assert Record.decode(slot.record).serial == serial
    audit = cli("audit", "verify", str(root / "log.jsonl"), "--registry",
                str(image_env["url"]))
    assert audit.exit_code == 0, audit.output
    before = {p.name: p.stat().st_mtime_ns for p in (root / "images").iterdir()}
    again = cli(*command)
    assert again.exit_code == 0, again.output
    assert {p.name: p.stat().st_mtime_ns for p in (root / "images").iterdir()} == before
