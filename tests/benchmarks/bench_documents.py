"""Benchmark: one 2-page enforcement document, a 60-page dossier, and LibreOffice for comparison.

    python tests/benchmarks/bench_documents.py [--runs 50] [--type penalty_decision]
                                               [--dossier-runs 10] [--dossier-pages 60]
                                               [--soffice-runs 5] [--no-soffice]

Builds the demo squad in a temporary folder (its cases at every stage, through the real
services), then reports:

* for the decided case with legal review (a 2-page 行政处罚决定书): the cold first render in this
  process (fonts parsed and registered once, template read); ``render`` alone — layout,
  painting with font subsetting and compression, into memory — median of ``--runs``, target
  ≤ 30 ms on the project's 2-core machine; and ``document_data`` + ``render`` (the field binding
  from the database as well: what the CLI's ``render`` and the GUI's preview do per document);
* a dossier of about ``--dossier-pages`` pages: the paid and closed case of the demo, reopened to
  add evidence photos as a body camera gives them (1920 × 1080 JPEG, about 200 KiB) until its
  volume reaches the size, closed again. ``compile_dossier`` — every document drawn or read
  from the store, the photo pages, the contents, one PDF merged and page-numbered with pypdf,
  into memory — median of ``--dossier-runs``; target ≤ 1 s. A phone's 12-megapixel photo is
  scaled down before it is embedded: the time per such photo is reported beside;
* LibreOffice, when ``soffice`` is on the PATH (Debian: ``apt-get install libreoffice-writer-nogui``):
  the same 2-page decision written as a .docx (by hand, with zipfile: the decision's title,
  number, paragraphs and seal lines in 仿宋 三号 on A4 with the GB/T 9704 margins), converted with
  ``soffice --headless --convert-to pdf`` — a fresh process per document, as a docx-template
  pipeline runs it, median of ``--soffice-runs`` — and, for LibreOffice's best case, ten copies
  in one process (time per document). Both are given as a ratio to our ``render``.

The bundled fonts are used (``SQUADDESK_DOCUMENT_FONTS=bundled``) so figures compare across
machines. Not part of the normal test run: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import select

os.environ.setdefault("SQUADDESK_DOCUMENT_FONTS", "bundled")

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.cases.evidence import EvidenceKind, add_evidence
from app.cases.machine import StepKind
from app.cases.service import close_case, get_case, reopen_case
from app.context import AppContext, open_data_dir
from app.demo import DEMO_ADMIN, fill_demo
from app.documents import document_data, load_template, render
from app.documents.dossier import _photo, compile_dossier
from app.documents.template import NumberBlock, ParagraphBlock, SealBlock, Template, Text, TitleBlock
from app.files import files_dir
from db.models.cases import Case, Outcome

CLOSED_CASE = "车综执立〔2026〕第0002号"  # the demo's paid and closed ordinary case


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _median(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ---- the 2-page document ----------------------------------------------------------------------


def bench_document(ctx: AppContext, actor: Actor, doc_type: str, runs: int) -> tuple[float, Template, Any]:
    with ctx.read() as s:
        cases = list(
            s.scalars(select(Case).where(Case.outcome == Outcome.PENALTY.value).order_by(Case.number))
        )
        # the decided case with a legal review and the party's statement: the longest decision
        case = next(c for c in reversed(cases) if c.procedure == "ordinary")
        t1 = time.perf_counter()
        template = load_template(doc_type)
        data = document_data(s, actor, case.id, doc_type, template=template)
        first = render(template, data, io.BytesIO())
        cold = time.perf_counter() - t1
        print(f"{template.title} of {case.number}: {first.pages} pages, {first.size / 1024:.0f} KiB")
        print(f"fonts: {first.font_summary}")
        print(f"cold first render (fonts loaded, template read): {_ms(cold)}")
        alone = _median(lambda: render(template, data, io.BytesIO()), runs)
        whole = _median(
            lambda: render(
                template, document_data(s, actor, case.id, doc_type, template=template), io.BytesIO()
            ),
            runs,
        )
    print(f"render, median of {runs}: {_ms(alone)} (target ≤ 30 ms)")
    print(f"document_data + render, median of {runs}: {_ms(whole)}")
    return alone, template, data


# ---- the 60-page dossier ----------------------------------------------------------------------


def camera_photo(n: int, size: tuple[int, int] = (1920, 1080)) -> bytes:
    """A JPEG with the texture of a real photo (soft noise over a gradient, a marked area), about
    the size a body camera (执法记录仪) writes at 1920 × 1080, so embedding it costs what a real
    one would."""
    from PIL import Image, ImageDraw, ImageFilter

    noise = Image.effect_noise(size, 40).convert("RGB").filter(ImageFilter.GaussianBlur(1))
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    image = Image.blend(base, noise, 0.25)
    x = size[0] // 8 + n * 37 % (size[0] // 3)
    ImageDraw.Draw(image).rectangle(
        (x, size[1] // 4, x + size[0] // 3, size[1] * 3 // 4), outline=(200, 40, 40), width=12
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _pages(ctx: AppContext, actor: Actor, case_id: str) -> int:
    with ctx.read() as s:
        return compile_dossier(s, actor, case_id, io.BytesIO()).pages


def build_dossier_case(ctx: AppContext, actor: Actor, pages: int, folder: Path) -> tuple[str, int]:
    """The demo's closed case with evidence photos until its volume has about ``pages`` pages
    (more evidence also lengthens the documents that list it: a few rounds)."""
    with ctx.read() as s:
        case_id = s.scalar(select(Case.id).where(Case.number == CLOSED_CASE))
    assert case_id is not None
    store = files_dir(ctx.data_dir)
    added = 0
    for _round in range(8):
        missing = pages - _pages(ctx, actor, case_id)
        if missing <= 0:
            break
        with ctx.unit_of_work(actor, "补充证据照片") as s:
            view = get_case(s, actor, case_id)
            assert view.closed_on is not None
            investigation = next(st for st in view.steps if st.kind is StepKind.INVESTIGATION)
            at = dt.datetime.combine(investigation.performed_on, dt.time(10, 0))
            reopen_case(s, actor, case_id, view.closed_on, "补充现场照片")
            # Two photos a page, but the listing documents grow too: approach from below.
            for _ in range(max(1, missing if missing > 3 else 2 * missing - 1)):
                added += 1
                path = folder / f"IMG_{added:04d}.jpg"
                path.write_bytes(camera_photo(added))
                add_evidence(
                    s,
                    actor,
                    case_id,
                    path,
                    EvidenceKind.PHOTO,
                    f"现场照片 {added}：当事人在车陂路沿线占用人行道堆放建材，占道面积约 20 平方米",
                    investigation.officer_ids[added % len(investigation.officer_ids)],
                    at + dt.timedelta(minutes=added),
                    "执法记录仪 DSJ-3 号",
                    store,
                )
            close_case(s, actor, case_id, view.closed_on, "罚款已缴纳，同意结案")
    return case_id, added


def bench_dossier(ctx: AppContext, actor: Actor, pages: int, runs: int, folder: Path) -> float:
    t0 = time.perf_counter()
    case_id, photos = build_dossier_case(ctx, actor, pages, folder)
    print(f"\ndossier case {CLOSED_CASE}: {photos} photos added in {time.perf_counter() - t0:.1f} s")
    with ctx.read() as s:
        t1 = time.perf_counter()
        first = compile_dossier(s, actor, case_id, io.BytesIO())
        cold = time.perf_counter() - t1
        print(
            f"dossier: {first.pages} pages (cover {first.cover_pages}, contents {first.contents_pages}, "
            f"text {first.numbered_pages} numbered, notes {first.notes_pages}); {first.documents} documents, "
            f"{first.photos} photos; {first.size / 1024 / 1024:.1f} MiB"
        )
        print(f"first compile in this process: {_ms(cold)}")
        median = _median(lambda: compile_dossier(s, actor, case_id, io.BytesIO()), runs)
    print(f"compile_dossier, median of {runs}: {_ms(median)} (target ≤ 1 s)")
    phone = camera_photo(0, (4000, 3000))
    scaled = _median(lambda: _photo(phone), 5)
    print(
        f"(a 12-megapixel phone photo, {len(phone) / 1024:.0f} KiB, is scaled first: {_ms(scaled)} a photo)"
    )
    return median


# ---- LibreOffice ------------------------------------------------------------------------------


def _text(text: Text, data: Mapping[str, Any]) -> str:
    return "".join(p if isinstance(p, str) else str(data.get(p.name) or "") for p in text)


def decision_paragraphs(template: Template, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(style, text) of the decision as it reads: titles, number, paragraphs, the seal lines."""
    full = {**data, "doc_title": template.title, "doc_number": data.get("doc_number") or "（未编号）"}
    out: list[tuple[str, str]] = []
    for block in template.blocks:
        if block.when and not full.get(block.when):
            continue
        if block.unless and full.get(block.unless):
            continue
        if isinstance(block, TitleBlock):
            out.extend(("title", _text(line, full)) for line in block.lines)
        elif isinstance(block, NumberBlock):
            out.append(("right", _text(block.text, full)))
        elif isinstance(block, ParagraphBlock):
            out.append(("right" if block.align == "right" else "body", _text(block.text, full)))
        elif isinstance(block, SealBlock):
            out.append(("right", _text(block.body, full)))
            out.append(("right", _text(block.date, full)))
    return [(style, text) for style, text in out if text.strip()]


_RUN = (
    '<w:r><w:rPr><w:rFonts w:ascii="{f}" w:eastAsia="{f}" w:hAnsi="{f}"/><w:sz w:val="{s}"/></w:rPr>'
    '<w:t xml:space="preserve">{t}</w:t></w:r>'
)


def write_docx(paragraphs: list[tuple[str, str]], path: Path) -> None:
    """A minimal WordprocessingML document: A4, GB/T 9704 margins, 仿宋 三号 on a 29 pt line."""
    body = []
    for style, text in paragraphs:
        if style == "title":
            ppr = '<w:pPr><w:jc w:val="center"/><w:spacing w:line="660" w:lineRule="exact"/></w:pPr>'
            run = _RUN.format(f="方正小标宋简体", s=44, t=escape(text))
        elif style == "right":
            ppr = '<w:pPr><w:jc w:val="right"/><w:spacing w:line="580" w:lineRule="exact"/></w:pPr>'
            run = _RUN.format(f="仿宋", s=32, t=escape(text))
        else:
            ppr = (
                '<w:pPr><w:jc w:val="both"/><w:ind w:firstLineChars="200" w:firstLine="640"/>'
                '<w:spacing w:line="580" w:lineRule="exact"/></w:pPr>'
            )
            run = _RUN.format(f="仿宋", s=32, t=escape(text))
        body.append(f"<w:p>{ppr}{run}</w:p>")
    # A4 in twips; margins top 37 mm, bottom 35, left 28, right 26.
    sect = (
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1587" w:header="851" w:footer="992" w:gutter="0"/>'
        "</w:sectPr>"
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{''.join(body)}{sect}</w:body></w:document>"
    )
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", document)


def _pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def bench_soffice(template: Template, data: Mapping[str, Any], ours: float, runs: int, folder: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print(
            "\nLibreOffice: skipped — soffice is not on the PATH "
            "(Debian: apt-get install -y libreoffice-writer-nogui)."
        )
        return
    work = folder / "soffice"
    work.mkdir()
    docx = work / "decision.docx"
    write_docx(decision_paragraphs(template, data), docx)
    profile = (work / "profile").as_uri()
    out = work / "out"

    def convert(*files: Path) -> None:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(out),
            ]
            + [str(f) for f in files],
            check=True,
            capture_output=True,
            timeout=300,
        )

    t = time.perf_counter()
    convert(docx)  # the first start also creates the user profile
    first = time.perf_counter() - t
    version = subprocess.run(
        [soffice, "--version"], capture_output=True, text=True, timeout=60
    ).stdout.strip()
    print(f"\nLibreOffice: {version}")
    print(f"{docx.name}: {docx.stat().st_size / 1024:.1f} KiB → {_pdf_pages(out / 'decision.pdf')}-page PDF")
    print(f"first conversion (profile created): {_ms(first)}")
    per_call = _median(lambda: convert(docx), runs)
    copies = []
    for n in range(10):
        copy = work / f"decision-{n}.docx"
        shutil.copyfile(docx, copy)
        copies.append(copy)
    t = time.perf_counter()
    convert(*copies)
    batch = (time.perf_counter() - t) / len(copies)
    print(f"soffice --headless --convert-to pdf, one process per document, median of {runs}: {_ms(per_call)}")
    print(f"  ratio to our render ({_ms(ours)}): {per_call / ours:.0f}×")
    print(f"ten documents in one soffice process: {_ms(batch)} per document")
    print(f"  ratio to our render: {batch / ours:.0f}×")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--type", default="penalty_decision")
    parser.add_argument("--dossier-runs", type=int, default=10)
    parser.add_argument("--dossier-pages", type=int, default=60)
    parser.add_argument("--soffice-runs", type=int, default=5)
    parser.add_argument("--no-soffice", action="store_true", help="leave LibreOffice out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo"
        t0 = time.perf_counter()
        ctx = open_data_dir(folder)
        fill_demo(ctx)
        print(f"demo squad built in {time.perf_counter() - t0:.1f} s")
        actor = authenticate(ctx, DEMO_ADMIN[0], DEMO_ADMIN[2])
        try:
            ours, template, data = bench_document(ctx, actor, args.type, args.runs)
            photos = Path(tmp) / "photos"
            photos.mkdir()
            bench_dossier(ctx, actor, args.dossier_pages, args.dossier_runs, photos)
        finally:
            ctx.close()
        if args.no_soffice:
            print("\nLibreOffice: left out (--no-soffice).")
        else:
            bench_soffice(template, data, ours, args.soffice_runs, Path(tmp))


if __name__ == "__main__":
    main()
