"""The pictures' layout: axes that hold every value, and a biased position drawn in red."""

from __future__ import annotations

import secrets
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from credline.qa.rules.distribution import P_REJECT, position_pvalues
from credline.report import plots
from credline.report.document import Label, Rect

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@given(st.floats(min_value=1e-6, max_value=1e12, allow_nan=False))
def test_the_axis_holds_the_value_and_stays_round(value: float) -> None:
    top = plots._nice_max(value)
    assert value <= top <= 5 * value + 1e-9


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=40))
def test_every_bar_stays_inside_the_plot(values: list[float]) -> None:
    figure = plots.bars("t", [str(i) for i in range(len(values))], values, "u", "c")
    for shape in figure.shapes:
        if isinstance(shape, Rect):
            assert plots.TOP - 1e-6 <= shape.y <= figure.height - plots.BOTTOM + 1e-6
            assert shape.y + shape.h <= figure.height - plots.BOTTOM + 1e-6


def test_a_biased_position_is_the_one_drawn_in_red() -> None:
    passwords = ["".join(secrets.choice(ALPHABET) for _ in range(12)) for _ in range(3200)]
    passwords = [p[:5] + ("A" if i % 3 == 0 else p[5]) + p[6:]
                 for i, p in enumerate(passwords)]
    pvalues = position_pvalues(passwords, ALPHABET, 12)
    counts = [dict(Counter(p[i] for p in passwords)) for i in range(12)]
    figure = plots.heatmap("h", ALPHABET, counts, pvalues, P_REJECT, "c")
    red = [s.text for s in figure.shapes if isinstance(s, Label) and s.fill == plots.ALERT]
    assert red == [f"p = {pvalues[5]:.2g}"] and pvalues[5] < P_REJECT
