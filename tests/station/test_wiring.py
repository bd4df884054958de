"""The profile's [device] section reaches every way onto a device the same way."""

from __future__ import annotations

from credline.core.profile import parse_profile
from credline.core.secret import Password
from credline.transport.hook_device import DeviceSettings, device_record

KEY_ID = "e98c6960947e8461"


def test_device_settings_come_from_the_profile_with_defaults() -> None:
    bare = parse_profile('[product]\nid = "cam"\n', "bare.toml")
    assert DeviceSettings.of(bare) == DeviceSettings(115200, 2.0, 3, 10_000)
    tuned = parse_profile('[product]\nid = "cam"\n[device]\nbaud = 9600\ntimeout = 0.5\n'
                          'retries = 1\nverifier_iterations = 1234\n', "tuned.toml")
    assert DeviceSettings.of(tuned) == DeviceSettings(9600, 0.5, 1, 1234)


def test_device_record_follows_the_storage_and_its_salt_is_reproducible() -> None:
    plain = parse_profile('[product]\nid = "cam"\n', "p.toml")
    verifier = parse_profile('[product]\nid = "cam"\n[password]\nstorage = "verifier"\n',
                             "v.toml")
    password = Password("WW4V6P8BPYR2")
    record = device_record(plain.storage, "SN1", KEY_ID, 0, password, 1234)
    assert record.password == password and record.verifier is None
    first = device_record(verifier.storage, "SN1", KEY_ID, 0, password, 1234)
    again = device_record(verifier.storage, "SN1", KEY_ID, 0, password, 1234)
    other = device_record(verifier.storage, "SN1", KEY_ID, 1, password, 1234)
    assert first.password is None and first.verifier is not None
    assert first.verifier[0] == 1234 and first.encode() == again.encode()
    assert other.verifier is not None and other.verifier[1] != first.verifier[1]
