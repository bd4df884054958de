"""Helpers of the batch QA tests: properly derived batches under the published test key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from credline.core.policy import Exposure, PasswordFormat, Profile
from credline.keystore.base import LocalKey
from credline.qa import Batch
from credline.testing import derive_batch

REPO = Path(__file__).resolve().parents[2]
TEST_KEY = bytes(range(32))
PRODUCT = "acme-cam"


def default_profile(exposure: Exposure = Exposure.ONLINE) -> Profile:
    from credline.core.ids import ProductId

    return Profile(ProductId(PRODUCT), PasswordFormat.default(exposure), exposure=exposure)


def serial_list(n: int, start: int = 0) -> list[str]:
    return [f"SN{i:08d}" for i in range(start, start + n)]


_CACHE: dict[int, Batch] = {}


def derived(n: int) -> Batch:
    """A derived batch of n devices (cached: the rules never modify a batch)."""
    if n not in _CACHE:
        _CACHE[n] = derive_batch(LocalKey(TEST_KEY, "test"), default_profile(), serial_list(n))
    return _CACHE[n]


def write_csv(path: Path, batch: Batch, extra: dict[str, list[str]] | None = None) -> Path:
    extra = extra or {}
    header = ["serial", "password", *extra]
    lines = [",".join(header)]
    for i, (s, p) in enumerate(zip(batch.serials, batch.passwords, strict=True)):
        lines.append(",".join([s, p, *(col[i] for col in extra.values())]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def subprocess_env() -> dict[str, str]:
    """The environment for a subprocess: this checkout's src first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    return env


@contextmanager
def exhaustive_near_search() -> Iterator[None]:
    """Lift the counter-like window (tests comparing the index with an exact reference)."""
    from credline.qa.rules import near

    old = near.WINDOW, near.CROWD
    near.WINDOW = near.CROWD = 10**9
    try:
        yield
    finally:
        near.WINDOW, near.CROWD = old
