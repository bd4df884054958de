"""docs/qa-guide.md's worked example runs, as QA would run it: a pytest file of its own."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

from qa_helpers import REPO, subprocess_env

from credline.core.policy import ALPHABETS
from credline.qa.rates import rates


def test_worked_example_passes(tmp_path: Path) -> None:
    guide = (REPO / "docs" / "qa-guide.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    (tmp_path / "test_our_batches.py").write_text(blocks[0], encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                            env=subprocess_env(), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


GUIDE = REPO / "docs" / "qa-guide.md"
NAMES = {"Crockford base32": "crockford32", "Crockford": "crockford32", "alnum": "alnum",
         "printable": "printable", "digits": "digits", "hex": "hex"}


def fig(value: float) -> str:
    """A rate as the guide prints it: two significant figures."""
    return f"{value:.1e}" if value < 0.01 else f"{value:.2g}"


def profile_of(label: str) -> tuple[str, int]:
    """("Crockford base32, 12 (default online)" or "Crockford 12") -> (alphabet, length)."""
    match = re.match(r"([A-Za-z0-9 ]+?),? (\d+)\b", label)
    assert match, label
    return ALPHABETS[NAMES[match.group(1)]], int(match.group(2))


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the markdown table whose header row starts with ``header``."""
    lines = text[text.index(header):].splitlines()[2:]  # past the header and the rule
    body = itertools.takewhile(lambda line: line.startswith("|"), lines)
    return [[cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
            for line in body]


def test_per_device_table_is_what_rates_computes() -> None:
    rows = table_rows(GUIDE.read_text(encoding="utf-8"), "| profile | bits |")
    assert len(rows) >= 6
    for label, bits, public, guessable, unkeyed in rows:
        alphabet, length = profile_of(label)
        table = rates(alphabet, length)
        assert int(bits) == round(length * math.log2(len(alphabet))), label
        assert [public, guessable, unkeyed] == [
            fig(table.public_info), fig(table.guessable), fig(table.unkeyed)], label


def test_pairwise_table_is_what_rates_computes() -> None:
    rows = table_rows(GUIDE.read_text(encoding="utf-8"), "| profile | rule | formula |")
    assert len(rows) == 4
    for label, rule, _formula, small, large in rows:
        table = rates(*profile_of(label))
        which = {"`duplicate`": 0, "`counter-like`": 1}[rule]
        assert [small, large] == [fig(table.pairwise(10_000)[which]),
                                  fig(table.pairwise(1_000_000)[which])], (label, rule)


def test_distribution_figures_are_what_rates_computes() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    crockford = ALPHABETS["crockford32"]
    twelve, sixteen = rates(crockford, 12).distribution, rates(crockford, 16).distribution
    assert (f"12 independent tests at p < 1e-6 give {fig(twelve)} per batch "
            f"({fig(sixteen)} for 16") in " ".join(guide.split())
    extra = 4 * 7 / 32**6  # one more 6-character public value: 4 forms x 7 positions
    assert f"({fig(extra)} for the default profile" in guide
