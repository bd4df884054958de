"""The batch report's pictures laid out as :class:`~credline.report.document.Figure` shapes:
bar charts (devices by state, failures by reason, timings per port, characters per position)
and a line chart (devices finished over time). Pure: no I/O, no plotting library.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from credline.report.document import Figure, Label, Polyline, Rect, Segment, Shape

WIDTH, HEIGHT = 480.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 56.0, 16.0, 28.0, 44.0
BAR = "#1f5fa8"
ALERT = "#b3261e"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    step = 10.0 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * step >= value * (1 - 1e-12):
            return max(factor * step, value)
    return value


def _axes(title: str, top: float, unit: str) -> list[Shape]:
    plot_h = HEIGHT - TOP - BOTTOM
    shapes: list[Shape] = [Label(LEFT, 16, title, 10, "start", "#111111")]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        value = top * i / 4
        shapes.append(Segment(LEFT, y, WIDTH - RIGHT, y, "#dddddd", 0.5))
        shapes.append(Label(LEFT - 4, y + 3, _number(value), 7, "end"))
    shapes.append(Segment(LEFT, TOP, LEFT, TOP + plot_h))
    shapes.append(Segment(LEFT, TOP + plot_h, WIDTH - RIGHT, TOP + plot_h))
    shapes.append(Label(8, TOP - 6, unit, 7, "start"))
    return shapes


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"


def bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str, caption: str,
         *, alert: Sequence[bool] = ()) -> Figure:
    """A bar chart; bars flagged in ``alert`` are drawn in red."""
    top = _nice_max(max(values, default=0.0))
    shapes = _axes(title, top, unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(values), 1)
    slot = plot_w / n
    every = max(1, round(n / 16))  # label at most ~16 bars, so the words stay readable
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = LEFT + i * slot + slot * 0.15
        colour = ALERT if i < len(alert) and alert[i] else BAR
        shapes.append(Rect(x, TOP + plot_h - h, slot * 0.7, h, colour))
        if i % every == 0:
            shapes.append(Label(x + slot * 0.35, TOP + plot_h + 12, name[:18], 7, "middle"))
    if not values:
        shapes.append(Label(LEFT + plot_w / 2, TOP + plot_h / 2, "nothing to show", 9,
                            "middle"))
    return Figure(title, WIDTH, HEIGHT, tuple(shapes), caption)


def timeline(title: str, moments: Sequence[dt.datetime], caption: str) -> Figure:
    """Devices finished so far against minutes since the first one."""
    shapes = _axes(title, _nice_max(len(moments)), "devices")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not moments:
        shapes.append(Label(LEFT + plot_w / 2, TOP + plot_h / 2, "no log given", 9, "middle"))
        return Figure(title, WIDTH, HEIGHT, tuple(shapes), caption)
    start = moments[0]
    span = max((moments[-1] - start).total_seconds(), 1e-3)
    top = _nice_max(len(moments))
    points = [(LEFT, TOP + plot_h)]
    for count, moment in enumerate(moments, 1):
        x = LEFT + plot_w * (moment - start).total_seconds() / span
        points.append((x, TOP + plot_h - plot_h * count / top))
    shapes.append(Polyline(tuple(points)))
    shapes.append(Label(LEFT, HEIGHT - 20, "0", 7, "middle"))
    shapes.append(Label(WIDTH - RIGHT, HEIGHT - 20, _duration(span), 7, "end"))
    shapes.append(Label(LEFT + plot_w / 2, HEIGHT - 8, "time since the first device", 7,
                        "middle"))
    return Figure(title, WIDTH, HEIGHT, tuple(shapes), caption)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def heatmap(title: str, alphabet: str, counts: Sequence[dict[str, int]],
            pvalues: Sequence[float], reject: float, caption: str) -> Figure:
    """Characters (columns) by position (rows), shaded by count over the count a uniform
    batch expects; each row ends with its chi-square p-value, red below ``reject``."""
    cell = min(11.0, (WIDTH - 120) / max(len(alphabet), 1))
    rows = max(len(counts), 1)
    height = TOP + 14 + rows * cell + 30
    shapes: list[Shape] = [Label(LEFT, 16, title, 10, "start", "#111111")]
    n = sum(counts[0].values()) if counts else 0
    expected = n / len(alphabet) if alphabet else 0
    for j, ch in enumerate(alphabet):
        shapes.append(Label(LEFT + j * cell + cell / 2, TOP + 8, ch, 6.5, "middle"))
    for i, row in enumerate(counts):
        y = TOP + 14 + i * cell
        shapes.append(Label(LEFT - 4, y + cell * 0.75, f"pos {i + 1}", 6.5, "end"))
        for j, ch in enumerate(alphabet):
            ratio = row.get(ch, 0) / expected if expected else 0.0
            shapes.append(Rect(LEFT + j * cell, y, cell - 0.6, cell - 0.6, _shade(ratio)))
        p = pvalues[i] if i < len(pvalues) else 1.0
        shapes.append(Label(LEFT + len(alphabet) * cell + 6, y + cell * 0.75,
                            f"p = {p:.2g}", 6.5, "start", ALERT if p < reject else "#222222"))
    shapes.append(Label(LEFT, height - 12, "shade: white = no such character, mid blue = as "
                        "expected of a uniform batch, dark = twice as often", 6.5))
    return Figure(title, WIDTH, height, tuple(shapes), caption)


def _shade(ratio: float) -> str:
    """White at 0, mid blue at 1 (uniform), dark blue at 2 or more."""
    t = max(0.0, min(ratio, 2.0)) / 2.0
    red = round(255 - t * (255 - 16))
    green = round(255 - t * (255 - 60))
    blue = round(255 - t * (255 - 140))
    return f"#{red:02x}{green:02x}{blue:02x}"
