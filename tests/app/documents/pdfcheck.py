"""Reading a rendered document back: its text (pypdf), its fonts, the lines drawn on a page."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ContentStream
from sqlalchemy import select

from app.context import AppContext
from db.models.cases import Case


def case_id(ctx: AppContext, number: str) -> str:
    with ctx.read() as s:
        found = s.scalar(select(Case.id).where(Case.number == number))
    assert found is not None, number
    return found


def page_texts(pdf: Path | bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    return [page.extract_text() or "" for page in reader.pages]


def flat(text: str) -> str:
    """Text without whitespace: a justified line may be extracted with spaces, a field may wrap."""
    return "".join(text.split())


def unembedded_fonts(pdf: Path) -> list[str]:
    """Every font dictionary of every page lacking an embedded font program."""
    reader = PdfReader(pdf)
    bad = []
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for key, ref in fonts.get_object().items():
            font = ref.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for f in descendants:
                descriptor = f.get("/FontDescriptor")
                d = descriptor.get_object() if descriptor is not None else {}
                if not any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    bad.append(f"{key} {font.get('/BaseFont')}")
    return bad


def line_segments(pdf: Path, page: int = 0) -> list[tuple[float, float, float, float]]:
    """Straight segments (m … l) drawn on a page, from its content stream."""
    reader = PdfReader(pdf)
    content = ContentStream(reader.pages[page].get_contents(), reader)
    out = []
    last: tuple[float, float] | None = None
    for operands, op in content.operations:
        if op == b"m":
            last = (float(operands[0]), float(operands[1]))
        elif op == b"l" and last is not None:
            x, y = float(operands[0]), float(operands[1])
            out.append((last[0], last[1], x, y))
            last = (x, y)
    return out
