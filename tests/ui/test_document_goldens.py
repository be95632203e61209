"""Golden images of a few document types: each page of the PDF rendered by QtPdf at 50 dpi to a
grayscale image and compared, with a tolerance, with a PNG committed under tests/ui/goldens/.

The documents are drawn from a demo squad built on a fixed date, with the bundled fonts forced
(``SQUADDESK_DOCUMENT_FONTS=bundled``), so the images depend neither on the machine's fonts nor
on today's date. A page matches when fewer than 0.5 % of its pixels differ by more than 48 gray
levels (of 255) and the document has as many pages as its goldens; on a mismatch the actual
page and a diff image are written to a temporary folder named in the failure message.

To regenerate the goldens deliberately (after an intended change of a template or of the
renderer), run ``SQUADDESK_UPDATE_GOLDENS=1 python3 -m pytest tests/ui/test_document_goldens.py``
and look at the new PNGs before committing them; without that variable the test only compares
and never rewrites a golden.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.demo import DEMO_ADMIN, fill_demo
from app.documents import document_data, load_template, render
from app.documents import fonts as font_module
from app.paths import DB_FILE
from db.models.cases import Case
from ui.documents.printing import PdfSource

GOLDENS = Path(__file__).resolve().parent / "goldens"
UPDATE_ENV = "SQUADDESK_UPDATE_GOLDENS"
#: The documents conftest's date: the demo's cases, steps and certificates all hang on it.
FIXED_DATE = dt.date(2026, 6, 30)
DPI = 50
#: A pixel differs when its gray value is off by more than this …
PIXEL_TOLERANCE = 48
#: … and a page fails when at least this share of its pixels differ.
MAX_DIFFERING = 0.005

#: Each type on a demo case that has what the document speaks of (as in test_documents.py).
CASES = {
    "penalty_decision": "车综执立〔2026〕第0006号",  # 行政处罚决定书
    "inquiry_record": "车综执立〔2026〕第0001号",  # 询问笔录, empty fields struck out
    "filing_approval": "车综执立〔2026〕第0002号",  # 立案审批表
    "service_receipt": "车综执立〔2026〕第0004号",  # 送达回证
}
#: A fixed 文号 for the numbered type, so its number line shows a number rather than “（未编号）”.
NUMBERS = {"penalty_decision": "车综执罚决字〔2026〕第12号"}


def _updating() -> bool:
    return os.environ.get(UPDATE_ENV, "") == "1"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: dict[bool, Path]) -> Iterator[AppContext]:
    """The demo squad on the fixed date, in a copy of the bare template database of its own."""
    folder = tmp_path_factory.mktemp("goldens-demo")
    shutil.copyfile(templates[False], folder / DB_FILE)
    ctx = open_data_dir(folder)
    fill_demo(ctx, today=FIXED_DATE)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def boss(demo: AppContext) -> Actor:
    return authenticate(demo, DEMO_ADMIN[0], DEMO_ADMIN[2])


@pytest.fixture(autouse=True)
def bundled_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled faces only. ``font_set`` reads the variable on every call and caches one font
    set per choice (``_font_set`` keyed by ``prefer_system``), so a system set cached by an
    earlier test is never handed out here; the check below makes sure of it."""
    monkeypatch.setenv(font_module.ENV_BUNDLED, "bundled")
    assert not any(use.system for use in font_module.font_set().uses)


def _data(demo: AppContext, boss: Actor, doc_type: str, case_number: str | None = None) -> Mapping[str, Any]:
    """The fields of ``doc_type`` for its demo case (or for ``case_number``)."""
    number = case_number or CASES[doc_type]
    with demo.read() as s:
        case_id = s.scalar(select(Case.id).where(Case.number == number))
        assert case_id is not None, number
        return document_data(s, boss, case_id, doc_type, number=NUMBERS.get(doc_type))


def _pdf(demo: AppContext, boss: Actor, doc_type: str, overrides: Mapping[str, Any] | None = None) -> bytes:
    """``doc_type`` drawn for its demo case with the bundled faces (``overrides``: fields replaced)."""
    data = {**_data(demo, boss, doc_type), **(overrides or {})}
    out = io.BytesIO()
    result = render(load_template(doc_type), data, out)
    assert not any(use.system for use in result.fonts), result.fonts
    assert result.missing_glyphs == ""
    return out.getvalue()


def _pages(pdf: bytes) -> list[QImage]:
    """Every page rendered by QtPdf at :data:`DPI` onto white, as 8-bit grayscale."""
    source = PdfSource(pdf)
    images = []
    for index in range(source.pages):
        points = source.document.pagePointSize(index)
        size = QSize(round(points.width() * DPI / 72), round(points.height() * DPI / 72))
        rendered = source.document.render(index, size)
        page = QImage(size, QImage.Format.Format_RGB32)
        page.fill(QColor(Qt.GlobalColor.white))
        painter = QPainter(page)
        painter.drawImage(0, 0, rendered)
        painter.end()
        images.append(page.convertToFormat(QImage.Format.Format_Grayscale8))
    return images


def _rows(image: QImage) -> list[bytes]:
    """The gray values of each scan line (without the line's alignment padding)."""
    data = bytes(image.constBits())
    stride, width = image.bytesPerLine(), image.width()
    return [data[y * stride : y * stride + width] for y in range(image.height())]


def _golden_files(doc_type: str) -> list[Path]:
    return sorted(GOLDENS.glob(f"{doc_type}-p*.png"))


def _golden(doc_type: str, page: int) -> Path:
    return GOLDENS / f"{doc_type}-p{page}.png"


def _differing(actual: QImage, golden: QImage) -> tuple[int, QImage]:
    """How many pixels differ by more than the tolerance, and a diff image: the golden faded,
    the differing pixels black."""
    width, height = actual.width(), actual.height()
    diff = QImage(width, height, QImage.Format.Format_Grayscale8)
    count = 0
    out_rows = []
    for a_row, g_row in zip(_rows(actual), _rows(golden), strict=True):
        row = bytearray(width)
        for x in range(width):
            if abs(a_row[x] - g_row[x]) > PIXEL_TOLERANCE:
                count += 1
            else:
                row[x] = 192 + g_row[x] // 4
        out_rows.append(bytes(row))
    stride = diff.bytesPerLine()
    bits = diff.bits()
    for y, row in enumerate(out_rows):
        bits[y * stride : y * stride + width] = row
    return count, diff


def _compare(doc_type: str, pages: list[QImage], folder: Path) -> str | None:
    """None when ``pages`` match the goldens of ``doc_type``; else what differs, with the paths of
    the actual and diff images written to ``folder`` (the test's temporary folder)."""
    goldens = _golden_files(doc_type)
    if not goldens:
        return f"no goldens for {doc_type} under {GOLDENS}: run with {UPDATE_ENV}=1 to make them"
    problems = []
    if len(goldens) != len(pages):
        problems.append(f"{len(pages)} pages, the goldens have {len(goldens)}")

    def keep(image: QImage, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        assert image.save(str(path), "PNG")
        return path

    for n, actual in enumerate(pages, 1):
        path = _golden(doc_type, n)
        if not path.is_file():
            problems.append(f"page {n}: no golden, actual {keep(actual, f'{doc_type}-p{n}-actual.png')}")
            continue
        golden = QImage(str(path)).convertToFormat(QImage.Format.Format_Grayscale8)
        if golden.size() != actual.size():
            problems.append(
                f"page {n}: {actual.width()}×{actual.height()} px, golden {golden.width()}×{golden.height()}"
                f"; actual {keep(actual, f'{doc_type}-p{n}-actual.png')}"
            )
            continue
        count, diff = _differing(actual, golden)
        share = count / (actual.width() * actual.height())
        if share >= MAX_DIFFERING:
            problems.append(
                f"page {n}: {share:.2%} of the pixels differ by more than {PIXEL_TOLERANCE} "
                f"(at most {MAX_DIFFERING:.1%} allowed); golden {path}, "
                f"actual {keep(actual, f'{doc_type}-p{n}-actual.png')}, "
                f"diff {keep(diff, f'{doc_type}-p{n}-diff.png')}"
            )
    return f"{doc_type}: " + "; ".join(problems) if problems else None


def _write_goldens(doc_type: str, pages: list[QImage]) -> None:
    GOLDENS.mkdir(exist_ok=True)
    for stale in _golden_files(doc_type):
        stale.unlink()
    for n, page in enumerate(pages, 1):
        assert page.save(str(_golden(doc_type, n)), "PNG", 9)


@pytest.mark.parametrize("doc_type", sorted(CASES))
def test_document_matches_its_golden_pages(
    doc_type: str, qapp: QApplication, demo: AppContext, boss: Actor, tmp_path: Path
) -> None:
    pages = _pages(_pdf(demo, boss, doc_type))
    assert pages
    for page in pages:  # A4 at 50 dpi
        assert (page.width(), page.height()) == (413, 585)
    if _updating():
        _write_goldens(doc_type, pages)
        return
    problem = _compare(doc_type, pages, tmp_path)
    assert problem is None, problem


def test_a_changed_document_fails_the_comparison(
    qapp: QApplication, demo: AppContext, boss: Actor, tmp_path: Path
) -> None:
    """The tolerance is not so loose that a decision naming another party passes for this one:
    the party line of another demo case (the service receipt's: another name, ID number, address
    and phone) put into the penalty decision through the render overrides must fail the
    comparison. (The decision prints ``party_summary``, not ``party_name``: overriding the name
    alone would leave the page unchanged.)"""
    own = _data(demo, boss, "penalty_decision")["party_summary"]
    other = _data(demo, boss, "penalty_decision", CASES["service_receipt"])["party_summary"]
    assert other != own
    pages = _pages(_pdf(demo, boss, "penalty_decision", overrides={"party_summary": other}))
    problem = _compare("penalty_decision", pages, tmp_path)
    assert problem is not None
    assert "page 1: " in problem and "of the pixels differ" in problem
    assert (tmp_path / "penalty_decision-p1-actual.png").is_file()
    assert (tmp_path / "penalty_decision-p1-diff.png").is_file()
