"""Every profile value and option is checked before a batch opens: a bad [device] or [label]
value, or a --labels folder that cannot be made, is exit 2 naming the file, key and value,
with no registry row, no log, no label folder and the device untouched. A registry that
cannot be written is the environment (4). Real SQLite, real virtual devices."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from credline.registry import open_registry
from tests.station.test_station_guard import PROFILE, REPO, Cli, Site
from tests.station.test_station_guard import site as site  # the fixture, re-exported

TEMPLATE = REPO / "factory" / "labels" / "default.toml"


def profile_with(root: Path, section: str, line: str) -> Path:
    """The demo profile with ``line`` added to ``[section]``."""
    text = PROFILE.read_text().replace('"../labels/default.toml"', f'"{TEMPLATE}"')
    text = text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
    path = root / "profiles" / "bad.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(("section", "line", "named"), [
    ("device", "baud = 0", "[device] baud = 0: must be between 50"),
    ("device", "baud = -9600", "[device] baud = -9600: must be between 50"),
    ("device", "timeout = -1", "[device] timeout = -1: must be more than 0"),
    ("device", "timeout = 0", "[device] timeout = 0: must be more than 0"),
    ("device", "timeout = nan", "[device] timeout = nan: must be a finite number"),
    ("device", "retries = -3", "[device] retries = -3: must be between 0 and 100"),
    ("device", 'transport = "carrier-pigeon"',
     "[device] transport = 'carrier-pigeon': unknown transport; known: esp, hook, serial"),
    ("device", "verifier_iterations = 0", "[device] verifier_iterations = 0: must be between 1"),
    ("device", "verifier_iterations = 200001", "must be between 1 and 200,000"),
    ("label", 'printer = "tcp://256.1.1.1:99999"',
     "[label] printer = 'tcp://256.1.1.1:99999': the port must be a number from 1 to 65535"),
    ("label", 'printer = "tcp://256.1.1.1:9100"', "'256.1.1.1' is not a valid IPv4 address"),
    ("label", 'printer = "lpt1"', "must be tcp://HOST:PORT or a device path"),
])
def test_a_bad_profile_value_opens_no_batch(cli: Cli, site: Site, section: str, line: str,
                                            named: str) -> None:
    profile = profile_with(site.root, section, line)
    result = site.run(cli, site.url, profile=profile)
    assert result.exit_code == 2, result.output
    assert f"{profile}: " in result.stderr and named in result.stderr
    assert "Traceback" not in result.output
    site.assert_nothing_written()


def test_a_label_that_shows_the_support_period_needs_it_stated(cli: Cli, site: Site) -> None:
    profile = profile_with(site.root, "label", "support = true")
    profile.write_text(re.sub(r"(?m)^support_period_end = .*$", "", profile.read_text()))
    result = site.run(cli, site.url, profile=profile)
    assert result.exit_code == 2, result.output
    assert "support = true needs [compliance] support_period_end" in result.stderr
    site.assert_nothing_written()


@pytest.mark.parametrize(("size", "named"), [
    ("height_mm = 10", "[label] label too small for its QR code"),
    ('width_mm = 12\nqr = "none"', "without cutting text"),
])
def test_a_label_its_fields_cannot_fit_opens_no_batch(cli: Cli, site: Site, size: str,
                                                      named: str) -> None:
    """Refused before the batch opens, not at the first device (whose label would fail)."""
    profile = profile_with(site.root, "product", "")
    text = re.sub(r'(?m)^(width_mm|height_mm|qr) = .*$', "", profile.read_text())
    profile.write_text(text.replace("[label]\n", f"[label]\n{size}\n", 1))
    result = site.run(cli, site.url, profile=profile)
    assert result.exit_code == 2, result.output
    assert named in result.stderr and "laid out for serial 'SG-1'" in result.stderr
    site.assert_nothing_written()


def test_good_device_values_run(cli: Cli, site: Site) -> None:
    """The control: in-range values of the same keys provision the device."""
    profile = profile_with(site.root, "device",
                           'transport = "hook"\nbaud = 115200\ntimeout = 2.5\nretries = 0\n'
                           "verifier_iterations = 1")
    result = site.run(cli, site.url, profile=profile)
    assert result.exit_code == 0, result.output
    assert site.device.runtime()["serial"] == "SG-1"


@pytest.mark.parametrize("where", ["proc", "under-a-file"])
def test_a_labels_folder_that_cannot_be_made_opens_no_batch(cli: Cli, site: Site,
                                                            where: str) -> None:
    blocker = site.root / "a-file"
    blocker.write_text("not a folder")
    labels = Path("/proc/credline-x") if where == "proc" else blocker / "labels"
    result = site.run(cli, site.url, labels=labels)
    assert result.exit_code == 2, result.output
    assert "--labels folder" in result.stderr or "is not a folder" in result.stderr
    assert str(labels if where == "proc" else blocker) in result.stderr
    assert not labels.exists()
    site.assert_nothing_written()


def test_the_labels_folder_probe_leaves_nothing(cli: Cli, site: Site) -> None:
    """A run refused after the probe (no station key) leaves no folder the probe made."""
    labels = site.root / "deep" / "er" / "labels"
    result = site.run(cli, site.url, labels=labels, station_key=site.root / "nope.key")
    assert result.exit_code == 2 and "nope.key" in result.stderr, result.output
    assert not (site.root / "deep").exists()
    site.assert_nothing_written()


def test_a_read_only_registry_is_the_environment(cli: Cli, site: Site) -> None:
    db = site.url.removeprefix("sqlite:///")
    url = f"sqlite:///file:{db}?mode=ro&uri=true"  # root ignores file modes; SQLite does not
    result = site.run(cli, url)
    assert result.exit_code == 4, result.output
    assert "read-only" in result.stderr and "(check the SQLite file" in result.stderr
    assert "network" not in result.stderr  # a SQLite file is no server on a network
    assert site.device.runtime()["provisioned"] == "0"
    assert not (site.root / "labels").exists()
    with open_registry(site.url, create=False) as reg:
        assert reg.batch("BG") is None


@pytest.mark.parametrize("make", ["a-folder", "in-proc"])
def test_a_log_that_cannot_be_written_opens_no_batch(cli: Cli, site: Site, make: str) -> None:
    log = site.root / "p.jsonl"
    if make == "a-folder":
        log.mkdir()
    work_order = site.root / "order.txt"
    work_order.write_text("SG-1\n")
    target = log if make == "a-folder" else Path("/proc/credline-x/p.jsonl")
    result = cli("station", "run", "--profile", str(PROFILE), "--key", str(site.key),
                 "--batch", "BG", "--serials", str(work_order), "--registry", site.url,
                 "--log", str(target), "--station-key", str(site.station_key),
                 "--labels", str(site.root / "labels"), "--plain", "--idle-exit", "2",
                 "--port", site.device.port)
    assert result.exit_code == 2, result.output
    assert str(target) in result.stderr and "Traceback" not in result.output
    assert site.device.runtime()["provisioned"] == "0"
    assert not (site.root / "labels").exists()
    with open_registry(site.url, create=False) as reg:
        assert reg.batch("BG") is None
