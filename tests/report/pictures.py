"""Reading rendered output as a person would: PDF pages as pictures and text."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image


def ink(png: Path) -> float:
    """The share of pixels that are not (near) white."""
    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    total = sum(histogram)
    return sum(histogram[:240]) / total if total else 0.0


def colours(png: Path) -> int:
    with Image.open(png) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(found or [])


def pdf_pages(pdf: Path, out: Path, dpi: int = 50) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(out / pdf.stem)],
                   check=True, capture_output=True, timeout=120)
    return sorted(out.glob(f"{pdf.stem}-*.png"))


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=120)
    return " ".join(done.stdout.split())
