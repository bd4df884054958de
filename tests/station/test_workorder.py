"""Work orders: bad ones stop the station before anything is touched; the queue's rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from credline.core.errors import BadInput, ProfileError
from credline.core.profile import parse_profile
from credline.files.profiles import load_profile
from credline.station.assembly import load_work_order
from credline.station.queue import WorkQueue
from tests.conftest import credline_command, subprocess_env

REPO = Path(__file__).resolve().parents[2]


def test_example_work_orders_read() -> None:
    profile = load_profile(REPO / "factory/profiles/demo-device.toml")
    orders = REPO / "factory/work-orders"
    assert len(load_work_order(profile, orders / "acme-cam-2026-11-A.txt") or []) == 24
    assert (load_work_order(profile, orders / "acme-router-B7.csv") or [])[0] == "R7-000001"


@pytest.mark.parametrize(("text", "message"), [
    ("SN1\nSN2\nSN2\n", "line 3: duplicate serial 'SN2' (first at line 2)"),
    ("SN1\nSN 2\n", "line 2: invalid serial 'SN 2'"),
])
def test_bad_work_order_is_refused_by_line(tmp_path: Path, key_file: Path,
                                           text: str, message: str) -> None:
    order = tmp_path / "order.txt"
    order.write_text(text)
    db = tmp_path / "reg.db"
    log = tmp_path / "log.jsonl"
    result = subprocess.run(
        [*credline_command(), "station", "run", "--profile",
         str(REPO / "factory/profiles/demo-device.toml"), "--key", str(key_file), "--batch",
         "B1", "--serials", str(order), "--port", "/dev/null", "--registry", f"sqlite:///{db}",
         "--log", str(log), "--labels", str(tmp_path / "labels"), "--plain"],
        capture_output=True, text=True, env=subprocess_env(), timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not db.exists() and not log.exists() and not (tmp_path / "labels").exists()


def test_serial_source_rules() -> None:
    device = parse_profile('[product]\nid = "x"\n[device]\nserial_source = "device"\n', "d")
    assert load_work_order(device, None) is None
    with pytest.raises(ProfileError, match="use one or the other"):
        load_work_order(device, Path("order.txt"))
    order = parse_profile('[product]\nid = "x"\n', "o")
    with pytest.raises(ProfileError, match="give --serials"):
        load_work_order(order, None)
    with pytest.raises(BadInput, match="cannot read serials"):
        load_work_order(order, Path("/nonexistent/order.txt"))


def test_queue_rules() -> None:
    queue = WorkQueue(["A", "B", "C", "D", "E"], done=["A"], held=["C"])
    assert queue.total == 5 and queue.done_before == 1
    assert [queue.take(), queue.take()] == ["B", "D"]  # A is done, C waits for its device
    queue.give_back("B")  # its device failed before the write: next device gets it first
    assert queue.take() == "B"
    queue.defer("D")  # another station has it in flight: offered again after the rest
    for serial in ("B",):
        queue.finish(serial)
    assert queue.take() == "E" and not queue.idle
    queue.finish("E")
    assert queue.idle and queue.deferred == ["D"]
    assert queue.take() == "D" and queue.take() is None
    queue.finish("D")
    assert queue.idle
