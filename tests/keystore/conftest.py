"""A throwaway SoftHSM2 token per test session (real PKCS#11, no mocks)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from credline.keystore.pkcs11 import DEFAULT_MODULE

TOKEN = "credline-test"
PIN = "24681357"
SO_PIN = "13572468"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Initialise a fresh token; yields the module path. Required in CI, skipped elsewhere."""
    if shutil.which("softhsm2-util") is None or not os.path.exists(DEFAULT_MODULE):
        if os.environ.get("CI"):
            pytest.fail("SoftHSM2 is not installed (make setup installs Debian's softhsm2)")
        pytest.skip("SoftHSM2 is not installed")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin",
                    SO_PIN, "--pin", PIN], check=True, capture_output=True)
    yield DEFAULT_MODULE
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def token_env(softhsm: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The PIN and module in the environment, as a station would have them."""
    monkeypatch.setenv("CREDLINE_PKCS11_MODULE", softhsm)
    monkeypatch.setenv("CREDLINE_PKCS11_PIN", PIN)
    return TOKEN


def uri(label: str) -> str:
    return f"pkcs11:token={TOKEN};object={label}"


