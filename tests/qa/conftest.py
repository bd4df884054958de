"""Fixtures for the batch QA tests (helpers live in qa_helpers.py)."""

from __future__ import annotations

import pytest
from qa_helpers import default_profile, derived

from credline.core.policy import Profile
from credline.qa import Batch


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
def qa_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
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
