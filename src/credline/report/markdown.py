"""A :class:`~credline.report.document.Document` as Markdown (figures become their caption:
Markdown has no pictures of its own). Pure: no I/O."""

from __future__ import annotations

from credline.report.document import Document, Figure, Table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", "", f"*{doc.subtitle}*", ""]
    for number, section in enumerate(doc.sections, 1):
        out += [f"## {number}. {section.heading}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                out.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
                out.append("|" + "---|" * len(block.header))
                out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            elif isinstance(block, Figure):
                out.append(f"*Figure: {block.title}.* {block.caption}")
            else:
                out.append(block)
            out.append("")
    if doc.signature is not None:
        sig = doc.signature
        out += ["## Signed", "", f"Signed for and on behalf of {sig.on_behalf_of}:", "",
                "Signature: ______________________________", "",
                f"Name: {sig.name}  ", f"Function: {sig.function}  ",
                f"Place of issue: {sig.place}  ", f"Date of issue: {sig.date}", ""]
    if doc.footer:
        out += ["---", "", doc.footer, ""]
    return "\n".join(out)
