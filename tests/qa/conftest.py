"""Fixtures for the batch QA tests: properly derived batches under the published test key."""

from __future__ import annotations

from pathlib import Path

import pytest

from credline.keystore.base import LocalKey
from credline.policy import Exposure, PasswordFormat, Profile
from credline.qa import Batch
from credline.testing import derive_batch

TEST_KEY = bytes(range(32))
PRODUCT = "acme-cam"


def default_profile(exposure: Exposure = Exposure.ONLINE) -> Profile:
    from credline.ids import ProductId

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


@pytest.fixture
def profile() -> Profile:
    return default_profile()


@pytest.fixture
def batch_2k() -> Batch:
    return derived(2000)


class Run:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr
        self.output = stdout + stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the CLI through its real error boundary (credline.cli.main): exit code and output."""
    from credline.cli import main

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run
