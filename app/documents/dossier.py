"""Dossier binding (案卷装订): a case compiled into one PDF in binding order.

Binding order (DOMAIN.md, configurable): 卷宗封面 (cover), 卷内目录 (contents), the case's
documents in the order of the procedure — filing → investigation → review → decision → service →
execution → closure — then the evidence pages (photos two to a page with their captions; other
evidence listed), then 备考表 (notes sheet). ``order`` lists document type codes, group names
(:data:`GROUPS`) and ``"evidence"``; :data:`DEFAULT_ORDER` is the order above.

Each document is the **issued** PDF from the content store when the case has one of that type
(the latest not voided: :func:`app.documents.issuing.list_issued`), else a draft drawn now from
the case's data (``document_data`` + ``render``, the path of ``render_case_document``). Only the
types that apply are drawn: the template's procedure and outcomes (the binding's refusals), and —
for a template that records a step — the case must have done that step, so a case that had no
hearing gets no 听证笔录 and an open case no 结案审批表. An issued document whose type the order
leaves out is bound all the same, after the other documents: what was issued is part of the case.

Page numbers (页号): the text pages — documents and evidence — carry an archive page number in the
top right corner, 1 … N, stamped on each page with a small reportlab overlay merged by pypdf
(an issued PDF is never redrawn). The cover, the contents and the notes sheet are not numbered,
so the numbering does not depend on how long the contents is: every part is drawn (or read from
the store) first, its pages counted, and only then the contents drawn with the page where each
item starts; the last item shows its first and last page (DA/T 22: 页号 of the last 件 is a
range). A contents running over two pages therefore shifts nothing.

Archive number (档号): the closing year and the case's place among the squad's cases closed that
year, ``2026-0012`` — derived from ``closed_on`` (ties by case number), no column of its own; a
case not closed yet has none. Retention (保管期限): :data:`RETENTION_YEARS`.

Summary cases (简易程序) share a volume, at most :data:`SUMMARY_VOLUME_LIMIT` per volume
(:func:`compile_summary_volume`), with one contents listing them all.

Long work: ``progress`` is an :class:`app.progress.Progress` (Cancel raises ``Cancelled`` between
parts; nothing is written until the whole volume is ready).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Final

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas as rl_canvas
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app import files
from app.auth.roles import Actor, Permission, require
from app.cases.evidence import EvidenceView, list_evidence
from app.cases.machine import StepKind
from app.cases.service import OUTCOME_LABELS, CaseView, get_case
from app.documents.binding import document_data
from app.documents.fonts import Face, FontSet, font_set
from app.documents.issuing import IssuedView, list_issued, store_beside_database
from app.documents.numbering import type_label
from app.documents.render import NO_START, PAINT_LOCK, TextMeasure, render
from app.documents.template import MM, Template, document_types, load_template
from app.documents.text import date_zh
from app.errors import DomainError, NotFoundError, ValidationError
from app.progress import Progress, step
from app.squad import get_squad
from db.models.cases import Case, EvidenceKind, Outcome, Procedure, StepStatus
from db.models.documents import DocumentStatus
from db.models.leads import Lead

# ---- configuration ----------------------------------------------------------------------------

EVIDENCE: Final = "evidence"


@dataclass(frozen=True)
class Group:
    """A stage of the procedure in the binding order: its documents, and the steps whose
    documents belong to it (a template the district adds is placed by its ``step``)."""

    label: str
    steps: frozenset[StepKind]
    types: tuple[str, ...]  # known type codes, in binding order; a code without a template is skipped


GROUPS: Final[Mapping[str, Group]] = MappingProxyType(
    {
        "filing": Group("立案", frozenset({StepKind.FILING}), ("lead_registration", "filing_approval")),
        "investigation": Group(
            "调查取证",
            frozenset(
                {
                    StepKind.INVESTIGATION,
                    StepKind.PRESERVATION,
                    StepKind.PRESERVATION_HANDLING,
                    StepKind.SEIZURE,
                    StepKind.SEIZURE_EXTENSION,
                    StepKind.SEIZURE_RELEASE,
                    StepKind.CONCLUSION,
                }
            ),
            (
                "inspection_record",
                "inquiry_record",
                "correction_order",
                "preservation_notice",
                "preservation_decision",
                "seizure_decision",
                "investigation_conclusion",
            ),
        ),
        "review": Group(
            "审核告知",
            frozenset(
                {
                    StepKind.LEGAL_REVIEW,
                    StepKind.PRIOR_NOTICE,
                    StepKind.STATEMENT,
                    StepKind.HEARING,
                    StepKind.COLLECTIVE_DISCUSSION,
                }
            ),
            (
                "legal_review_opinion",
                "prior_notice",
                "hearing_rights_notice",
                "hearing_notice",
                "hearing_record",
                "collective_discussion",
            ),
        ),
        "decision": Group(
            "决定",
            frozenset({StepKind.DECISION, StepKind.SPOT_DECISION}),
            ("penalty_decision", "no_penalty_decision", "transfer_letter", "spot_decision"),
        ),
        "service": Group("送达", frozenset({StepKind.SERVICE}), ("service_receipt",)),
        "execution": Group(
            "执行",
            frozenset(
                {
                    StepKind.EXECUTION,
                    StepKind.DEFERRAL,
                    StepKind.INSTALMENTS,
                    StepKind.INSTALMENT_PAYMENT,
                    StepKind.REMINDER,
                    StepKind.COURT_APPLICATION,
                    StepKind.CASH_HANDOVER,
                    StepKind.APPEAL,
                    StepKind.APPEAL_RESULT,
                }
            ),
            ("reminder", "enforcement_application"),
        ),
        "closure": Group(
            "结案",
            frozenset({StepKind.CLOSURE, StepKind.RECORD_FILING, StepKind.ARCHIVE}),
            ("closure_approval",),
        ),
    }
)
#: DOMAIN.md: cover, contents, filing → investigation → review → decision → service → execution
#: (→ closure), then the evidence pages, then the notes sheet.
DEFAULT_ORDER: Final = (*GROUPS, EVIDENCE)
#: The dossier's own forms: their place is fixed (cover and contents first, notes last).
COVER, CONTENTS, NOTES = "dossier_cover", "dossier_contents", "dossier_notes"
DOSSIER_TYPES: Final = frozenset({COVER, CONTENTS, NOTES})
#: 备注 of a numbered document bound as a draft: it has not been issued.
NOT_ISSUED: Final = "未出具"
#: Register codes (app.documents.numbering) whose template has another code.
ISSUED_ALIASES: Final = MappingProxyType({"spot_penalty_decision": "spot_decision"})

#: 保管期限 in years (configurable later; some provinces keep major cases 30 years or for ever).
RETENTION_YEARS: Final = MappingProxyType({"summary": 5, "ordinary": 10, "major": 20})
SUMMARY_VOLUME_LIMIT: Final = 50

# Page furniture of the parts drawn here (points).
_W, _H = 210 * MM, 297 * MM
_X0, _X1 = 28 * MM, _W - 26 * MM  # binding margin on the left, as the documents
_TOP, _BOTTOM = _H - 25 * MM, 20 * MM
#: The archive page number: top right, clear of the documents' 37 mm top margin.
STAMP_RIGHT_MM, STAMP_TOP_MM, STAMP_PT = 15.0, 14.0, 12.0
#: A camera's JPEG up to this size (pixels, long side: a body camera's 1920 × 1080) goes into
#: the PDF as it is. A larger one (a phone's 12-megapixel photo) is scaled to PHOTO_MAX_SIDE:
#: a photo prints at most about 150 × 85 mm, and 1,600 px across it is over 270 dpi.
PHOTO_PASS_SIDE = 2560
PHOTO_MAX_SIDE = 1600


# ---- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierEntry:
    """One line of the contents (卷内目录): a document or a group of evidence pages."""

    kind: str  # "document" | "photos" | "evidence_list"
    title: str
    case_number: str
    author: str  # 责任者
    day: dt.date | None
    doc_type: str = ""  # template code; "" for evidence
    number: str = ""  # 文号, "" when the document has none
    issued: bool = False  # a document bound from the store as issued (not a draft drawn now)
    items: int = 0  # photos or pieces of evidence listed
    note: str = ""  # 备注
    first_page: int = 0  # archive page numbers (text pages, from 1), set when the volume is laid out
    last_page: int = 0
    party: str = ""  # named in the contents of a volume of several cases
    contents_title: str = ""  # 题名 as the contents prints it

    @property
    def pages(self) -> int:
        return self.last_page - self.first_page + 1


@dataclass(frozen=True)
class DossierResult:
    pages: int  # pages of the PDF
    numbered_pages: int  # text pages, numbered 1 … N
    cover_pages: int
    contents_pages: int
    notes_pages: int
    entries: tuple[DossierEntry, ...]
    documents: int
    drafts: int  # numbered documents not issued yet, drawn now without a number (备注: 未出具)
    photos: int
    other_evidence: int
    archive_number: str  # "" while a case of the volume is not closed
    retention_years: int
    case_numbers: tuple[str, ...]
    size: int  # bytes written
    warnings: tuple[str, ...] = ()

    @property
    def first_text_page(self) -> int:
        """Physical page (from 1) that carries archive page number 1."""
        return self.cover_pages + self.contents_pages + 1


@dataclass
class _Part:
    entry: DossierEntry  # pages filled in when the volume is laid out
    pdf: bytes
    pages: int


@dataclass
class _Volume:
    parts: list[_Part] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---- derived values ---------------------------------------------------------------------------


def archive_number(session: Session, case_id: str) -> str:
    """档号 ``2026-0012``: the closing year and the case's place among the squad's cases closed
    that year (by closing day, then case number); "" while the case is not closed."""
    case = session.get(Case, case_id)
    if case is None or case.closed_on is None:
        return ""
    year = case.closed_on.year
    earlier = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(
            Case.squad_id == case.squad_id,
            Case.deleted.is_(False),
            Case.closed_on >= dt.date(year, 1, 1),
            or_(
                Case.closed_on < case.closed_on,
                and_(
                    Case.closed_on == case.closed_on,
                    or_(
                        Case.number_year < case.number_year,
                        and_(Case.number_year == case.number_year, Case.number_seq < case.number_seq),
                    ),
                ),
            ),
        )
    )
    return f"{year}-{int(earlier or 0) + 1:04d}"


def retention_years(case: Case) -> int:
    """保管期限 of the case's dossier: summary 5 years, ordinary 10, major (重大) 20."""
    if case.procedure == Procedure.SUMMARY.value:
        return RETENTION_YEARS["summary"]
    return RETENTION_YEARS["major" if case.major else "ordinary"]


# ---- the order --------------------------------------------------------------------------------


def _expand(order: Sequence[str], templates: Mapping[str, Template]) -> list[str]:
    """Type codes and ``EVIDENCE`` in binding order, each once. A group gives its known codes,
    then any other installed template recording one of its steps (by step, then code)."""
    listed = {code for g in GROUPS.values() for code in g.types}
    steps = list(StepKind)
    out: list[str] = []
    for entry in order:
        if not isinstance(entry, str) or not entry.strip():
            raise ValidationError("装订顺序的每一项应为文书类型代码、分组名称或“evidence”。", field="order")
        code = entry.strip()
        if code in DOSSIER_TYPES:
            raise ValidationError(
                "卷宗封面、卷内目录和备考表的位置是固定的（封面、目录在前，备考表在最后），不用列入装订顺序。",
                field="order",
            )
        if code == EVIDENCE:
            items = [EVIDENCE]
        elif code in GROUPS:
            group = GROUPS[code]
            extra = sorted(
                (
                    t
                    for t, tpl in templates.items()
                    if t not in listed and tpl.step and StepKind(tpl.step) in group.steps
                ),
                key=lambda t: (steps.index(StepKind(templates[t].step)), t),
            )
            items = [*(t for t in group.types if t in templates), *extra]
        elif code in templates or code in listed or code in ISSUED_ALIASES:
            items = [ISSUED_ALIASES.get(code, code)]
        else:
            groups = "、".join(f"{k}（{g.label}）" for k, g in GROUPS.items())
            raise ValidationError(
                f"装订顺序中的“{code}”既不是文书类型，也不是分组。分组有：{groups}、evidence（证据）。",
                field="order",
            )
        out.extend(i for i in items if i not in out)
    return out


def binding_order(order: Sequence[str] | None = None) -> list[str]:
    """The document type codes (and ``"evidence"``) of ``order`` (default :data:`DEFAULT_ORDER`)
    in binding order, groups expanded over the installed templates — what the GUI shows."""
    return _expand(order if order is not None else DEFAULT_ORDER, _templates())


# ---- documents --------------------------------------------------------------------------------


def _ymd(day: dt.date | None) -> str:
    """卷内目录 dates: eight digits (DA/T 22), 20260305."""
    return day.strftime("%Y%m%d") if day else ""


def _applies(template: Template, view: CaseView) -> bool:
    """The template is for this case and the act it records was done — the rule of the case's
    document list (:mod:`app.documents.casework`); the binding's own refusals come on top."""
    if template.procedure != "any" and template.procedure != view.procedure.value:
        return False
    if template.outcomes and (view.outcome is None or view.outcome.value not in template.outcomes):
        return False
    if template.step:
        kind = StepKind(template.step)
        return any(s.kind is kind and s.status is StepStatus.DONE for s in view.steps)
    return True


def _step_day(session: Session, template: Template, view: CaseView) -> dt.date | None:
    """The day of the act the document records; a document of no step (the lead register)
    is dated when the lead came in."""
    if not template.step:
        lead = session.get(Lead, view.lead_id) if view.lead_id else None
        return lead.received_at.date() if lead is not None else view.opened_on
    for s in reversed(view.steps):
        if s.kind.value == template.step and s.status is StepStatus.DONE:
            return s.performed_on
    return None


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _latest_issued(issued: Iterable[IssuedView]) -> dict[str, IssuedView]:
    """Type code → the latest document of that type still in force."""
    out: dict[str, IssuedView] = {}
    for doc in issued:
        if doc.status is not DocumentStatus.ISSUED:
            continue
        code = ISSUED_ALIASES.get(doc.doc_type, doc.doc_type)
        old = out.get(code)
        if old is None or (doc.issued_on, doc.issued_at, doc.seq) > (old.issued_on, old.issued_at, old.seq):
            out[code] = doc
    return out


def _pdf_pages(pdf: bytes, what: str) -> int:
    try:
        return len(PdfReader(io.BytesIO(pdf)).pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise DomainError(f"{what}的 PDF 文件已损坏，无法装订（{exc}）。") from None


def _case_documents(
    session: Session,
    actor: Actor,
    view: CaseView,
    codes: Sequence[str],
    templates: Mapping[str, Template],
    store: Path,
    author: str,
    progress: Progress | None,
    done: list[int],
    total: int,
) -> list[_Part | str]:
    """The documents of one case as parts, with ``EVIDENCE`` where the evidence goes."""
    issued = _latest_issued(list_issued(session, actor, case_id=view.id))
    wanted = list(codes)
    # What was issued is part of the case, whatever the order says: after the other documents.
    last_doc = max((i for i, c in enumerate(wanted) if c != EVIDENCE), default=-1)
    missing = [c for c in sorted(issued) if c not in wanted]
    wanted[last_doc + 1 : last_doc + 1] = missing
    out: list[_Part | str] = []
    for code in wanted:
        if code == EVIDENCE:
            out.append(EVIDENCE)
            continue
        template = templates.get(code)
        title = template.title if template is not None else type_label(code)
        step(progress, min(done[0], total - 3), total, f"{view.number}：{title}")
        done[0] += 1
        doc = issued.get(code)
        if doc is not None:
            path = files.path_of(store, doc.pdf_sha256)
            try:
                pdf = path.read_bytes()
            except OSError:
                raise DomainError(
                    f"已出具的{title}（{doc.number}）的 PDF 文件在附件库中缺失（{path}），无法装订。"
                    "请从备份恢复附件库后再装订。"
                ) from None
            if hashlib.sha256(pdf).hexdigest() != doc.pdf_sha256:
                raise DomainError(
                    f"已出具的{title}（{doc.number}）的 PDF 文件已被改动（校验值不符），不能装订。"
                    "请从备份恢复附件库后再装订。"
                )
            entry = DossierEntry(
                "document", title, view.number, author, doc.issued_on, code, doc.number, issued=True
            )
            out.append(_Part(entry, pdf, _pdf_pages(pdf, f"{title}（{doc.number}）")))
            continue
        if template is None or not _applies(template, view):
            continue
        try:
            data = document_data(session, actor, view.id, code, template=template)
        except ValidationError:
            continue  # the binding's "does not apply to this case"
        if (
            not template.step
            and template.required
            and not any(_filled(data.get(f)) for f in template.required)
        ):
            continue  # a form of no step with none of its mandatory fields: nothing to record
        buffer = io.BytesIO()
        result = render(template, data, buffer)
        note = NOT_ISSUED if template.number_word else ""  # a numbered document, not issued yet
        day = _step_day(session, template, view)
        entry = DossierEntry("document", title, view.number, author, day, code, note=note)
        out.append(_Part(entry, buffer.getvalue(), result.pages))
    return out


# ---- drawing the evidence pages ---------------------------------------------------------------


class _Pen:
    """Text on a reportlab canvas in the documents' faces, with their per-character fallback."""

    def __init__(self, c: Any, fonts: FontSet) -> None:
        self.c = c
        self.fonts = fonts
        self.m = TextMeasure(fonts)

    def width(self, text: str, size: float, face: Face | None = None) -> float:
        return self.m.width(text, face or self.fonts.body, size)

    def text(self, x: float, y: float, text: str, size: float, face: Face | None = None) -> float:
        for run_face, run in self.m.runs(text, face or self.fonts.body):
            self.c.setFont(run_face.name, size)
            self.c.drawString(x, y, run)
            x += self.m.width(run, run_face, size)
        return x

    def centred(self, y: float, text: str, size: float, face: Face | None = None) -> None:
        self.text((_X0 + _X1 - self.width(text, size, face)) / 2, y, text, size, face)

    def wrap(self, text: str, width: float, size: float, limit: int = 0) -> list[str]:
        """Lines of at most ``width``; closing punctuation hangs rather than starting a line.
        With ``limit``, the last kept line ends with “…” when text was cut."""
        lines: list[str] = []
        for para in text.splitlines() or [""]:
            line, w = "", 0.0
            for ch in para:
                cw = self.width(ch, size)
                if line and w + cw > width + 0.01 and ch not in NO_START:
                    lines.append(line)
                    line, w = "", 0.0
                line += ch
                w += cw
            lines.append(line)
        if limit and len(lines) > limit:
            last = lines[limit - 1]
            while last and self.width(last + "…", size) > width:
                last = last[:-1]
            lines = [*lines[: limit - 1], last + "…"]
        return lines


def _canvas(buffer: IO[bytes], fonts: FontSet) -> Any:
    # The initial font is an embedded face: reportlab's default Helvetica would not be embedded.
    return rl_canvas.Canvas(
        buffer, pagesize=(_W, _H), invariant=1, pageCompression=1, initialFontName=fonts.body.name
    )


def _when(moment: dt.datetime) -> str:
    return f"{date_zh(moment.date())} {moment:%H:%M}"


class _Jpeg(ImageReader):
    """A JPEG that reportlab embeds as it is (DCTDecode), never decoded.

    reportlab names an image by the digest of its decoded pixels; here the digest is taken of
    the JPEG's own bytes, which identify it as well, so a page of photos costs no decoding."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self._raw = data
        self._dataA = None

    def getRGBData(self) -> bytes:  # reportlab's name, overridden
        return self._raw


def _photo(data: bytes) -> _Jpeg:
    """The photo as it goes into the PDF: a camera's JPEG as it is unless it is very large or
    turned by its EXIF orientation; anything else (PNG, a rotated or huge JPEG) made an upright
    JPEG of at most :data:`PHOTO_MAX_SIDE` pixels."""
    from PIL import Image, ImageOps

    if data[:3] == b"\xff\xd8\xff":
        with Image.open(io.BytesIO(data)) as probe:
            upright = probe.getexif().get(0x0112, 1) == 1
            if upright and max(probe.size) <= PHOTO_PASS_SIDE and probe.mode in ("RGB", "L"):
                return _Jpeg(data)
    with Image.open(io.BytesIO(data)) as img:
        if img.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale (the JPEG decoder's own, fast), still at least
            # the size wanted.
            w, h = img.size
            k = PHOTO_MAX_SIDE / max(w, h)
            img.draft("RGB", (max(1, int(w * k)), max(1, int(h * k))))
        shown = ImageOps.exif_transpose(img) or img
        if shown.mode in ("RGBA", "LA", "P", "PA"):
            rgba = shown.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            shown = flat
        elif shown.mode != "RGB":
            shown = shown.convert("RGB")
        shown.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        out = io.BytesIO()
        shown.save(out, "JPEG", quality=88)
    return _Jpeg(out.getvalue())


def _evidence_file(store: Path, item: EvidenceView, warnings: list[str]) -> bytes | None:
    path = files.path_of(store, item.sha256)
    try:
        data = path.read_bytes()
    except OSError:
        warnings.append(f"第 {item.order} 号证据“{item.description}”的文件缺失，未能印出。")
        return None
    if hashlib.sha256(data).hexdigest() != item.sha256:
        warnings.append(f"第 {item.order} 号证据“{item.description}”的文件已被改动（校验值不符），未印出。")
        return None
    return data


def _header(pen: _Pen, title: str, case_number: str) -> float:
    """Page title and case number; returns the y below them."""
    fonts = pen.fonts
    pen.centred(_TOP - 18, title, 18, fonts.heading)
    size = 10.5
    text = f"案号：{case_number}"
    pen.text(_X1 - pen.width(text, size), _TOP - 36, text, size)
    return _TOP - 42


def _cell_rows(pen: _Pen, rows: Sequence[Sequence[tuple[str, float]]], size: float) -> list[list[list[str]]]:
    return [[pen.wrap(text, w - size * 0.7, size) for text, w in row] for row in rows]


def _photos_pdf(
    pen_fonts: FontSet, photos: Sequence[EvidenceView], store: Path, case_number: str, warnings: list[str]
) -> tuple[bytes, int]:
    """Photos two to a page, each with its caption: number, what it shows, collector, time, device."""
    buffer = io.BytesIO()
    c = _canvas(buffer, pen_fonts)
    c.setTitle(f"证据照片 {case_number}")
    c.setCreator("SquadDesk 执法队务台")
    pen = _Pen(c, pen_fonts)
    size = 10.5
    pitch = size * 1.5
    label_w = 5.4 * size
    pages = math.ceil(len(photos) / 2)
    for page in range(pages):
        top = _header(pen, "证据照片", case_number)
        slot = (top - _BOTTOM) / 2
        for k, item in enumerate(photos[page * 2 : page * 2 + 2]):
            y0 = top - k * slot  # top of this photo's slot
            half = (_X1 - _X0 - 2 * label_w) / 2
            device = item.device or "未登记"
            desc_lines = pen.wrap(item.description, _X1 - _X0 - label_w - size * 0.7, size, limit=4)
            rows = [
                (
                    ("证据编号", label_w),
                    (f"第 {item.order} 号（照片）", half),
                    ("采集时间", label_w),
                    (_when(item.collected_at), half),
                ),
                (
                    ("采 集 人", label_w),
                    (item.collected_by_name, half),
                    ("采集设备", label_w),
                    (device, half),
                ),
            ]
            laid = _cell_rows(pen, rows, size)
            heights = [max(len(cell) for cell in row) * pitch + 4 for row in laid]
            heights.append(len(desc_lines) * pitch + 4)
            caption = sum(heights)
            frame_top = y0 - 6
            frame_bottom = y0 - slot + caption + 8
            c.setLineWidth(0.6)
            c.rect(_X0, frame_bottom, _X1 - _X0, frame_top - frame_bottom, stroke=1, fill=0)
            data = _evidence_file(store, item, warnings)
            image = None
            if data is not None:
                try:
                    image = _photo(data)
                except (OSError, ValueError, SyntaxError):
                    warnings.append(f"第 {item.order} 号证据“{item.description}”不是可显示的图片，未印出。")
            if image is not None:
                iw, ih = image.getSize()
                box_w, box_h = _X1 - _X0 - 6, frame_top - frame_bottom - 6
                scale = min(box_w / iw, box_h / ih)
                w, h = iw * scale, ih * scale
                c.drawImage(
                    image, _X0 + (_X1 - _X0 - w) / 2, frame_bottom + (frame_top - frame_bottom - h) / 2, w, h
                )
            else:
                pen.centred((frame_top + frame_bottom) / 2, "（照片文件缺失或无法显示，见备考表）", 12)
            # the caption table under the frame
            y = frame_bottom - 4
            for row, cells, height in zip(rows, laid, heights, strict=False):
                x = _X0
                for (_text, w), lines in zip(row, cells, strict=True):
                    c.rect(x, y - height, w, height, stroke=1, fill=0)
                    for n, line in enumerate(lines):
                        pen.text(x + size * 0.35, y - 2 - (n + 1) * pitch + size * 0.45, line, size)
                    x += w
                y -= height
            height = heights[-1]
            c.rect(_X0, y - height, label_w, height, stroke=1, fill=0)
            c.rect(_X0 + label_w, y - height, _X1 - _X0 - label_w, height, stroke=1, fill=0)
            mid = y - height / 2 - size * 0.35
            pen.text(_X0 + size * 0.35, mid, "证明内容", size)
            for n, line in enumerate(desc_lines):
                pen.text(_X0 + label_w + size * 0.35, y - 2 - (n + 1) * pitch + size * 0.45, line, size)
        c.showPage()
    c.save()
    return buffer.getvalue(), pages


_LIST_COLUMNS: Final = (
    ("编号", 0.6),
    ("类型", 1.0),
    ("证明内容", 3.4),
    ("采集人", 1.0),
    ("采集时间", 1.6),
    ("采集设备", 1.4),
)


def _evidence_list_pdf(fonts: FontSet, items: Sequence[EvidenceView], case_number: str) -> tuple[bytes, int]:
    """Evidence that is not a photo (video, audio, scans, records …), listed with its particulars."""
    buffer = io.BytesIO()
    c = _canvas(buffer, fonts)
    c.setTitle(f"其他证据清单 {case_number}")
    c.setCreator("SquadDesk 执法队务台")
    pen = _Pen(c, fonts)
    size = 10.5
    pitch = size * 1.5
    total = sum(w for _t, w in _LIST_COLUMNS)
    widths = [(_X1 - _X0) * w / total for _t, w in _LIST_COLUMNS]
    pages = 0

    def row(cells: Sequence[str], y: float, header: bool) -> float:
        laid = [pen.wrap(text, w - size * 0.7, size) for text, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in laid) * pitch + 4
        x = _X0
        c.setLineWidth(0.75)
        for lines, w in zip(laid, widths, strict=True):
            c.rect(x, y - height, w, height, stroke=1, fill=0)
            for n, line in enumerate(lines):
                lx = x + (w - pen.width(line, size)) / 2 if header else x + size * 0.35
                pen.text(lx, y - 2 - (n + 1) * pitch + size * 0.45, line, size)
            x += w
        return height

    def heights(cells: Sequence[str]) -> float:
        return (
            max(len(pen.wrap(t, w - size * 0.7, size)) for t, w in zip(cells, widths, strict=True)) * pitch
            + 4
        )

    titles = [t for t, _w in _LIST_COLUMNS]
    y = 0.0
    for n, item in enumerate(items):
        what = item.description
        if item.original_name:
            what += f"（文件：{item.original_name}，{item.size / 1024 / 1024:.1f} MB）"
        cells = [
            str(item.order),
            item.kind_label,
            what,
            item.collected_by_name,
            _when(item.collected_at),
            item.device or "未登记",
        ]
        if n == 0 or y - heights(cells) < _BOTTOM:
            if n:
                c.showPage()
            pages += 1
            y = _header(pen, "其他证据清单", case_number) - 4
            y -= row(titles, y, True)
        y -= row(cells, y, False)
    c.showPage()
    c.save()
    return buffer.getvalue(), pages


@contextmanager
def _binary_streams() -> Iterator[None]:
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def _evidence_parts(
    session: Session, actor: Actor, view: CaseView, store: Path, warnings: list[str]
) -> list[_Part]:
    items = list_evidence(session, actor, view.id)
    photos = [e for e in items if e.kind is EvidenceKind.PHOTO]
    others = [e for e in items if e.kind is not EvidenceKind.PHOTO]
    fonts = font_set()
    parts: list[_Part] = []

    def authors(group: Sequence[EvidenceView]) -> str:
        names = list(dict.fromkeys(e.collected_by_name for e in group))
        return "、".join(names[:3]) + ("等" if len(names) > 3 else "")

    # reportlab keeps per-document state on the shared font objects: one painter at a time. Its
    # ASCII85 encoding of image streams is pure Python here (no rl_accel): binary streams, please.
    with PAINT_LOCK, _binary_streams():
        if photos:
            pdf, pages = _photos_pdf(fonts, photos, store, view.number, warnings)
            day = min(e.collected_at for e in photos).date()
            entry = DossierEntry(
                "photos",
                "证据照片",
                view.number,
                authors(photos),
                day,
                items=len(photos),
                note=f"{len(photos)} 张",
            )
            parts.append(_Part(entry, pdf, pages))
        if others:
            pdf, pages = _evidence_list_pdf(fonts, others, view.number)
            day = min(e.collected_at for e in others).date()
            entry = DossierEntry(
                "evidence_list",
                "其他证据清单",
                view.number,
                authors(others),
                day,
                items=len(others),
                note=f"{len(others)} 件",
            )
            parts.append(_Part(entry, pdf, pages))
    return parts


# ---- the volume -------------------------------------------------------------------------------


def _stamps(sizes: Sequence[tuple[float, float]], first: int, fonts: FontSet) -> PdfReader:
    """One overlay page per text page, each with its archive page number at the top right."""
    buffer = io.BytesIO()
    c = _canvas(buffer, fonts)
    face = fonts.body
    for n, (w, h) in enumerate(sizes, first):
        c.setPageSize((w, h))
        c.setFont(face.name, STAMP_PT)
        c.drawRightString(w - STAMP_RIGHT_MM * MM, h - STAMP_TOP_MM * MM, str(n))
        c.showPage()
    c.save()
    return PdfReader(io.BytesIO(buffer.getvalue()))


def _render_form(code: str, data: Mapping[str, Any]) -> tuple[bytes, int]:
    template = load_template(code)
    buffer = io.BytesIO()
    result = render(template, {**data, "doc_title": template.title, "doc_number": ""}, buffer)
    return buffer.getvalue(), result.pages


def _write(out: Path | str | IO[bytes], pdf: bytes) -> None:
    if not isinstance(out, str | Path):
        out.write(pdf)
        return
    target = Path(out)
    try:
        fd, temp = tempfile.mkstemp(prefix=".dossier-", suffix=".pdf", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
        os.replace(temp, target)
    except OSError as exc:
        raise DomainError(f"无法写入“{target}”：{exc.strerror or exc}。请检查路径和权限。") from None


def _bind(
    volume: _Volume,
    forms: Mapping[str, Any],
    out: Path | str | IO[bytes],
    *,
    title: str,
    author: str,
    archive_no: str,
    retention: int,
    case_numbers: tuple[str, ...],
    several: bool,
    progress: Progress | None,
    done: int,
    total: int,
) -> DossierResult:
    # 1. Page numbers first: every part is drawn, so its length is known.
    first = 1
    for part in volume.parts:
        e = part.entry
        heading = f"{e.title}（{e.party}，{e.case_number}）" if several and e.party else e.title
        part.entry = replace(e, first_page=first, last_page=first + part.pages - 1, contents_title=heading)
        first += part.pages
    numbered = first - 1
    entries = [p.entry for p in volume.parts]
    docs = [e for e in entries if e.kind == "document"]
    drafts = sum(1 for e in docs if e.note == NOT_ISSUED)
    photos = sum(e.items for e in entries if e.kind == "photos")
    others = sum(e.items for e in entries if e.kind == "evidence_list")

    # 2. The contents, with the page each item starts on (the last one: first–last).
    rows = []
    for n, e in enumerate(entries, 1):
        pages = str(e.first_page)
        if n == len(entries) and e.last_page > e.first_page:
            pages = f"{e.first_page}-{e.last_page}"
        rows.append(
            {
                "no": str(n),
                "number": e.number,
                "author": e.author,
                "title": e.contents_title,
                "date": _ymd(e.day),
                "pages": pages,
                "note": e.note,
            }
        )
    remarks = []
    if drafts:
        remarks.append(
            f"其中 {drafts} 件应编文号的文书尚未出具，按案件数据生成、未编号（卷内目录备注栏注明“{NOT_ISSUED}”）。"
        )
    remarks.extend(volume.warnings)
    data = {
        **forms,
        "archive_number": archive_no,
        "retention_period": f"{retention}年",
        "dossier_pages": str(numbered),
        "dossier_documents": str(len(docs)),
        "dossier_photos": str(photos),
        "dossier_other_evidence": str(others),
        "dossier_note": "\n".join(remarks),
        "dossier_items": rows,
    }
    step(progress, done, total, "正在生成卷宗封面、卷内目录和备考表")
    cover, cover_pages = _render_form(COVER, data)
    contents, contents_pages = _render_form(CONTENTS, data)
    notes, notes_pages = _render_form(NOTES, data)

    # 3. One PDF: the parts merged, the text pages stamped with their archive page numbers.
    step(progress, done + 1, total, "正在合并并编页号")
    writer = PdfWriter()
    for pdf in (cover, contents):
        writer.append(PdfReader(io.BytesIO(pdf)), import_outline=False)
    start = len(writer.pages)
    for part in volume.parts:
        writer.append(PdfReader(io.BytesIO(part.pdf)), import_outline=False)
    text_pages = writer.pages[start : start + numbered]
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in text_pages]
    if sizes:
        with PAINT_LOCK:
            stamps = _stamps(sizes, 1, font_set())
        for page, stamp in zip(text_pages, stamps.pages, strict=True):
            page.merge_page(stamp)
    writer.append(PdfReader(io.BytesIO(notes)), import_outline=False)
    writer.add_metadata({"/Title": title, "/Author": author, "/Creator": "SquadDesk 执法队务台"})
    buffer = io.BytesIO()
    writer.write(buffer)
    pdf = buffer.getvalue()
    step(progress, total, total, "正在保存")
    _write(out, pdf)
    return DossierResult(
        pages=cover_pages + contents_pages + numbered + notes_pages,
        numbered_pages=numbered,
        cover_pages=cover_pages,
        contents_pages=contents_pages,
        notes_pages=notes_pages,
        entries=tuple(p.entry for p in volume.parts),
        documents=len(docs),
        drafts=drafts,
        photos=photos,
        other_evidence=others,
        archive_number=archive_no,
        retention_years=retention,
        case_numbers=case_numbers,
        size=len(pdf),
        warnings=tuple(volume.warnings),
    )


def _store(session: Session, store_dir: Path | None) -> Path:
    return store_dir if store_dir is not None else store_beside_database(session)


def _templates() -> dict[str, Template]:
    return {code: load_template(code) for code in document_types() if code not in DOSSIER_TYPES}


def _case_parts(
    session: Session,
    actor: Actor,
    view: CaseView,
    codes: Sequence[str],
    templates: Mapping[str, Template],
    store: Path,
    author: str,
    volume: _Volume,
    progress: Progress | None,
    done: list[int],
    total: int,
) -> None:
    start = len(volume.parts)
    for item in _case_documents(session, actor, view, codes, templates, store, author, progress, done, total):
        if isinstance(item, _Part):
            volume.parts.append(item)
            continue
        step(progress, min(done[0], total - 3), total, f"{view.number}：证据")
        done[0] += 1
        volume.parts.extend(_evidence_parts(session, actor, view, store, volume.warnings))
    party = _party_name(session, view)
    for part in volume.parts[start:]:
        part.entry = replace(part.entry, party=party)


def _base_data(session: Session, actor: Actor, case_id: str, on: dt.date) -> dict[str, Any]:
    data = dict(document_data(session, actor, case_id, COVER, template=load_template(COVER)))
    data["dossier_date"] = date_zh(on)
    data["dossier_binder"] = ""
    data["dossier_checker"] = ""
    data["volume_label"] = "共 1 卷　第 1 卷"
    # What was decided: the penalty, or the outcome when there is none (不予处罚, 移送 …).
    outcome, penalty = str(data.get("outcome_label") or ""), str(data.get("penalty_text") or "")
    if penalty and outcome == OUTCOME_LABELS[Outcome.PENALTY]:
        data["dossier_result"] = penalty
    elif outcome == OUTCOME_LABELS[Outcome.TRANSFER] and data.get("transfer_to"):
        data["dossier_result"] = f"移送{data['transfer_to']}"
    else:
        data["dossier_result"] = outcome
    return data


def compile_dossier(
    session: Session,
    actor: Actor,
    case_id: str,
    out: Path | str | IO[bytes],
    *,
    order: Sequence[str] | None = None,
    progress: Progress | None = None,
    store_dir: Path | None = None,
    on: dt.date | None = None,
) -> DossierResult:
    """Bind one case (一案一卷) into ``out`` — a file path (written whole at the end) or a binary
    stream. ``order``: type codes, group names (:data:`GROUPS`) and ``"evidence"`` (default
    :data:`DEFAULT_ORDER`); ``store_dir``: the content store (default beside the database);
    ``on``: the binding day printed on the cover and the notes sheet (default today)."""
    require(actor, Permission.VIEW_CASES)
    view = get_case(session, actor, case_id)
    case = _case_row(session, view.id)
    squad = get_squad(session, case.squad_id)
    templates = _templates()
    codes = _expand(order if order is not None else DEFAULT_ORDER, templates)
    total = len(codes) + 3
    done = [0]
    store = _store(session, store_dir)
    volume = _Volume()
    step(progress, 0, total, f"正在装订{view.number}")
    _case_parts(
        session, actor, view, codes, templates, store, squad.enforcing_body, volume, progress, done, total
    )
    if not volume.parts:
        raise ValidationError(f"{view.number}还没有可装订的文书或证据。")
    forms = _base_data(session, actor, view.id, on or dt.date.today())
    if not forms.get("filed_date"):  # a summary case is not filed: it opens with its decision
        forms["filed_date"] = date_zh(view.opened_on)
    return _bind(
        volume,
        forms,
        out,
        title=f"行政处罚案卷 {view.number}",
        author=squad.enforcing_body,
        archive_no=archive_number(session, view.id),
        retention=retention_years(case),
        case_numbers=(view.number,),
        several=False,
        progress=progress,
        done=total - 2,
        total=total,
    )


def _case_row(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.deleted:
        raise NotFoundError("找不到该案件，可能已被删除，请刷新列表。")
    return case


def compile_summary_volume(
    session: Session,
    actor: Actor,
    case_ids: Sequence[str],
    out: Path | str | IO[bytes],
    *,
    order: Sequence[str] | None = None,
    progress: Progress | None = None,
    store_dir: Path | None = None,
    on: dt.date | None = None,
) -> DossierResult:
    """Bind up to :data:`SUMMARY_VOLUME_LIMIT` summary cases (简易程序) into one volume with one
    contents listing them all, in the order of their case numbers. The volume's archive number is
    that of its last-closed case; none while a case of it is not closed."""
    require(actor, Permission.VIEW_CASES)
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise ValidationError("请选择要装订的简易程序案件。")
    if len(ids) > SUMMARY_VOLUME_LIMIT:
        raise ValidationError(
            f"简易程序案件每卷最多装订 {SUMMARY_VOLUME_LIMIT} 件，现选了 {len(ids)} 件，请分卷装订。"
        )
    rows = [_case_row(session, i) for i in ids]
    for case in rows:
        if case.procedure != Procedure.SUMMARY.value:
            raise ValidationError(f"{case.number}是普通程序案件，应一案一卷单独装订，不能装入简易程序案卷。")
    rows.sort(key=lambda c: (c.number_year, c.number_seq))
    squad = get_squad(session, rows[0].squad_id)
    templates = _templates()
    codes = _expand(order if order is not None else DEFAULT_ORDER, templates)
    total = len(codes) * len(rows) + 3
    done = [0]
    store = _store(session, store_dir)
    volume = _Volume()
    views = []
    for case in rows:
        view = get_case(session, actor, case.id)
        views.append(view)
        _case_parts(
            session, actor, view, codes, templates, store, squad.enforcing_body, volume, progress, done, total
        )
    forms = _base_data(session, actor, rows[0].id, on or dt.date.today())
    numbers = [c.number for c in rows]
    parties = list(dict.fromkeys(_party_name(session, v) for v in views))
    forms.update(
        {
            "case_number": numbers[0]
            if len(numbers) == 1
            else f"{numbers[0]}至{numbers[-1]}（共 {len(numbers)} 件）",
            "case_title": "、".join(dict.fromkeys(v.title for v in views))
            if len(views) <= 3
            else f"{views[0].title}等 {len(views)} 件简易程序案件（见卷内目录）",
            "party_name": "、".join(parties[:5]) + (f"等 {len(parties)} 人" if len(parties) > 5 else ""),
            "dossier_result": f"当场处罚 {len(views)} 件，罚款合计{_total_fine(rows)}",
            "officer_names": "见卷内目录所列各案当场处罚决定书",
            "filed_date": date_zh(min(v.opened_on for v in views)),
            "closed_date": date_zh(max(c.closed_on for c in rows if c.closed_on))
            if all(c.closed_on for c in rows)
            else "",
        }
    )
    closed = [c for c in rows if c.closed_on is not None]
    archive_no = ""
    if len(closed) == len(rows):
        last = max(closed, key=lambda c: (c.closed_on or dt.date.min, c.number_year, c.number_seq))
        archive_no = archive_number(session, last.id)
    return _bind(
        volume,
        forms,
        out,
        title=f"简易程序行政处罚案卷 {forms['case_number']}",
        author=squad.enforcing_body,
        archive_no=archive_no,
        retention=RETENTION_YEARS["summary"],
        case_numbers=tuple(numbers),
        several=len(rows) > 1,
        progress=progress,
        done=total - 2,
        total=total,
    )


def _party_name(session: Session, view: CaseView) -> str:
    from db.models import Party

    party = session.get(Party, view.party_ids[0]) if view.party_ids else None
    return party.name if party is not None else ""


def _total_fine(rows: Sequence[Case]) -> str:
    from app.reference import yuan_capital, yuan_digits

    fen = sum(c.fine_fen for c in rows)
    return f"{yuan_capital(fen)}（{yuan_digits(fen)}）"
