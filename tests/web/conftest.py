"""Browser tests: headless Chromium (Debian's ``chromium``) over the DevTools pipe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.cdp import CHROMIUM, Browser


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it)")
    started = Browser(tmp_path / "chromium-profile")
    try:
        yield started
    finally:
        started.close()
