"""Secrets come only from `secrets`/`os.urandom` or a token, never from `random`.

Two vendor tools in this field draw passcodes from Python's `random` module (a Mersenne
Twister whose output can be predicted from 624 outputs). This test fails if any module under
src/ imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "credline"


def test_no_module_imports_random() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "random" or name.startswith("random.") for name in names):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} (__import__)")
    assert offenders == [], f"`random` imported in: {offenders}"
    assert len(list(SRC.rglob("*.py"))) > 10  # the scan really saw the package
