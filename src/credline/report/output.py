"""Writing a :class:`~credline.report.document.Document` to the file a user named: the
format follows the suffix, the file appears whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from credline.core.errors import BadInput, os_failure
from credline.files.atomic import write_atomic
from credline.report.document import Document
from credline.report.html import to_html
from credline.report.markdown import to_markdown
from credline.report.pdf import to_pdf


def _md(doc: Document) -> bytes:
    return to_markdown(doc).encode()


def _html(doc: Document) -> bytes:
    return to_html(doc).encode()


RENDERERS: dict[str, Callable[[Document], bytes]] = {".pdf": to_pdf, ".md": _md, ".html": _html}


def check_suffix(out: Path, allowed: tuple[str, ...], option: str = "--out") -> str:
    """The format ``out`` asks for; BadInput naming the file if it is not one of ``allowed``
    (checked before any work, so nothing is written)."""
    suffix = out.suffix.lower()
    if suffix not in allowed:
        raise BadInput(f"{option} {out}: give a file ending in {' or '.join(allowed)}")
    return suffix


def write_document(doc: Document, out: Path, allowed: tuple[str, ...]) -> None:
    suffix = check_suffix(out, allowed)
    # Reports are meant to be handed over: readable by others, unlike password files.
    write_atomic(out, RENDERERS[suffix](doc), what=str(out), mode=0o644)


def write_site(out: Path, site: dict[str, str]) -> None:
    """Each page of a static site into ``out`` (created if missing), each page whole."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_failure(exc, f"--out {out}") from None
    for name, text in sorted(site.items()):
        write_atomic(out / name, text.encode(), what=str(out / name), mode=0o644)
