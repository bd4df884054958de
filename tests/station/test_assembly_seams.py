"""``build_station``'s seams: a real ledger (SQLite registry + signed log) and a real
connect (the hook over a pty) injected, instead of patching the assembly module."""

from __future__ import annotations

from pathlib import Path

from credline.core.derive import Deriver
from credline.core.lifecycle import DeviceState
from credline.files.profiles import load_profile
from credline.keystore.base import LocalKey
from credline.station.assembly import StationOptions, build_station
from credline.station.events import Event
from credline.transport.registry import connector_for
from credline.transport.virtual import VirtualDevice, build
from tests.station.fakes import Ledgers, World

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "factory/profiles/demo-device.toml"


def test_injected_ledger_and_connect_provision_a_real_device(
        tmp_path: Path, master_key: LocalKey) -> None:
    build()
    profile = load_profile(PROFILE)
    ledgers = Ledgers(tmp_path / "registry", World(), batch="B9", product=profile.product)
    device = VirtualDevice(tmp_path / "flash.bin", hwid="HWSEAM").start()
    try:
        order = tmp_path / "order.txt"
        order.write_text("SEAM1\n")
        options = StationOptions(batch="B9", ports=(device.port,), work_order=order,
                                 label_dir=tmp_path / "labels", idle_exit=0.5,
                                 # never opened: the injected ledger stands for them
                                 registry_url="sqlite:///nowhere/none.db",
                                 log_path=tmp_path / "unused" / "log.jsonl")
        events: list[Event] = []
        ledger = ledgers.new(Deriver(master_key, profile.format).key_id)
        built = build_station(profile, master_key, options, events.append, ledger=ledger,
                              connect=connector_for(profile))
        try:
            assert built.station.run()
        finally:
            built.close()
        assert ledgers.rows()["SEAM1"].state is DeviceState.LOCKED
        assert device.runtime()["serial"] == "SEAM1"
        assert not (tmp_path / "unused").exists()
        row = ledger.row("SEAM1")  # the injected ledger is still open: its owner closes it
        assert row is not None and row.state is DeviceState.LOCKED
    finally:
        device.stop()
        ledgers.close()
