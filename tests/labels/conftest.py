"""Fixtures for label tests: a profile with a [label] section and a derived password."""

from __future__ import annotations

from pathlib import Path

import pytest

from credline.core.derive import Deriver
from credline.core.ids import Serial
from credline.core.policy import Profile
from credline.core.profile import parse_profile
from credline.keystore.base import LocalKey
from credline.labels import Label, LabelSpec, make_label, spec_from_profile

PROFILE = """
[product]
id = "acme-cam"
name = "Acme Indoor Camera C1"
[password]
length = 12
grouping = 4
[label]
format = "both"
width_mm = 50
height_mm = 30
dpi = 203
"""


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    path = tmp_path / "cam.toml"
    path.write_text(PROFILE)
    return parse_profile(PROFILE, str(path))


@pytest.fixture
def spec(profile: Profile) -> LabelSpec:
    return spec_from_profile(profile)


@pytest.fixture
def make(profile: Profile, spec: LabelSpec, master_key: LocalKey):  # type: ignore[no-untyped-def]
    deriver = Deriver(master_key, profile.format)

    def build(serial: str = "SN0001", generation: int = 0) -> Label:
        password = deriver.password(profile.product, Serial(serial), generation)
        return make_label(profile, spec, serial=serial, password=password,
                          key_id=deriver.key_id, batch="B-42", generation=generation)

    return build
