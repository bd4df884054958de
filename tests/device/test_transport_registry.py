"""The registry of transports: the profile's ``[device] transport`` picks a Link factory by
name; an unknown name is a ProfileError naming the file, the value and the known names, and
``station run`` refuses it before any batch opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from credline.core.device import Connect
from credline.core.errors import ProfileError
from credline.core.policy import Profile
from credline.files.profiles import load_profile
from credline.registry import open_registry
from credline.transport import hook_device, registry
from credline.transport.virtual import VirtualDevice
from tests.conftest import CliResult

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "factory/profiles/demo-device.toml"


def profile_with(tmp_path: Path, transport: str | None) -> Path:
    text = DEMO.read_text().replace("../labels/", str(REPO / "factory/labels") + "/")
    if transport is not None:
        text = text.replace("[device]\n", f'[device]\ntransport = "{transport}"\n')
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_hook_is_the_default_and_serial_an_alias(tmp_path: Path) -> None:
    assert {"hook", "serial"} <= set(registry.names())
    assert registry.transport_name(load_profile(profile_with(tmp_path, None))) == "hook"
    assert registry.transport_name(load_profile(profile_with(tmp_path, "serial"))) == "serial"


@pytest.mark.parametrize("name", [None, "hook", "serial"])
def test_a_known_name_reaches_a_real_device(tmp_path: Path, device: VirtualDevice,
                                            name: str | None) -> None:
    connect = registry.connector_for(load_profile(profile_with(tmp_path, name)))
    link = connect(device.port)
    try:
        assert link.hello().hardware_id == device.hwid
    finally:
        link.close()


def test_an_unknown_name_names_file_value_and_known_names(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "carrier-pigeon")
    with pytest.raises(ProfileError) as caught:
        registry.connector_for(load_profile(path))
    message = str(caught.value)
    assert str(path) in message and "'carrier-pigeon'" in message
    assert "hook, serial" in message


def test_a_registered_transport_is_chosen_by_name(tmp_path: Path) -> None:
    chosen: list[Profile] = []

    def factory(profile: Profile, *, hwid_is_serial: bool = False) -> Connect:
        chosen.append(profile)
        return hook_device.connector(profile, hwid_is_serial=hwid_is_serial)

    registry.register("test-only", factory)
    try:
        profile = load_profile(profile_with(tmp_path, "test-only"))
        registry.connector_for(profile)
        assert chosen == [profile]
        with pytest.raises(ValueError, match="already registered"):
            registry.register("hook", factory)
    finally:
        registry._FACTORIES.pop("test-only")


def test_station_run_refuses_it_before_any_batch_opens(
        cli: Callable[..., CliResult], station_env: dict[str, Path], tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    order.write_text("S1\n")
    log = tmp_path / "log.jsonl"
    result = cli("station", "run", "--profile", str(profile_with(tmp_path, "carrier-pigeon")),
                 "--key", str(station_env["key"]), "--batch", "B1", "--serials", str(order),
                 "--port", "/dev/null", "--registry", f"sqlite:///{station_env['db']}",
                 "--log", str(log), "--station-key", str(tmp_path / "station.key"))
    assert result.exit_code == 2, result.output
    assert "transport = 'carrier-pigeon'" in result.stderr
    with open_registry(f"sqlite:///{station_env['db']}", create=False) as reg:
        assert reg.batches() == []
    assert not log.exists()
