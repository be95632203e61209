"""The one renderer (文书排版): any template and its data → an A4 PDF with embedded fonts.

Two phases. Layout walks the template's blocks and places every line, box and rule on pages,
measuring text with the fonts' own widths: CJK line breaking with the 避头尾 rules (no line starts
with 、。，；：？！）》” and none ends with （《“), justified lines by character spacing as word
processors do, Latin and digit runs kept whole. Only then, the page count known, the pages are
painted with reportlab's canvas and each footer says “第 X 页 共 Y 页”. One code path for every
document type: what differs between a decision and an inquiry record is the template.

Empty fields: in a written record (template ``record: true``) an empty field is struck out — a
line through its box, or across an empty question-and-answer area below “（以下空白）” — never
left blank (DOMAIN.md: every box filled or struck out). In other documents it is a blank to fill
by hand (an empty date prints “　　年　　月　　日”).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from reportlab.pdfgen import canvas as rl_canvas

from app.documents import fields as F
from app.documents.fonts import Face, FontSet, FontUse, font_set
from app.documents.template import (
    MM,
    Block,
    FieldsBlock,
    FingerprintBlock,
    ListBlock,
    NumberBlock,
    PageBreakBlock,
    ParagraphBlock,
    QABlock,
    SealBlock,
    SignaturesBlock,
    Slot,
    SpacerBlock,
    TableBlock,
    TableCell,
    Template,
    Text,
    TitleBlock,
)

UNNUMBERED: Final = "（未编号）"
BLANK_DATE: Final = "　　年　　月　　日"
NO_START: Final = frozenset("，。、；：？！）》」』”’〕】〉…—·%‰℃,.;:?!)]}")
NO_END: Final = frozenset("（《「『“‘〔【〈([{")
_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f.,%\-+/@#&_·*]+|[ \t\u3000]+|\n|.", re.S)
RULE: Final = 0.6  # pt: underlines and strike-outs
BOX: Final = 0.75  # pt: table and box borders
#: Held while reportlab draws: it keeps per-document state on the shared font objects. The
#: dossier's photo pages draw under it too (app/documents/dossier.py).
PAINT_LOCK = threading.Lock()


@dataclass(frozen=True)
class SealMark:
    """Where the seal goes: page (from 1) and the centre in points from the bottom left."""

    page: int
    x: float
    y: float


@dataclass(frozen=True)
class RenderResult:
    pages: int
    fonts: tuple[FontUse, ...]
    missing: tuple[str, ...] = ()  # mandatory fields left empty, by their Chinese names
    struck: int = 0  # empty boxes struck out
    seals: tuple[SealMark, ...] = ()
    size: int = 0  # bytes written
    missing_glyphs: str = ""  # characters no font could draw

    @property
    def font_summary(self) -> str:
        """正文：仿宋；标题：…— one line for the CLI and the GUI's status bar."""
        names = {"body": "正文", "title": "标题", "heading": "黑体", "fallback": "补字"}
        return "；".join(f"{names[u.role]}：{u.label}" for u in self.fonts)


# ---- tokens and lines ------------------------------------------------------------------------


@dataclass(slots=True)
class _Tok:
    kind: str  # c: text, s: space, b: blank slot, n: line break
    text: str
    width: float
    strike: bool = False
    rule: bool = True  # a blank is underlined, except inside a box (a table cell is the blank)


@dataclass(slots=True)
class _Line:
    toks: list[_Tok]
    width: float
    last: bool  # last line of its paragraph: not justified


class TextMeasure:
    """Widths with per-character fallback: a character the face lacks is drawn by the fallback."""

    def __init__(self, fonts: FontSet) -> None:
        # The sans covers all of GBK but no Latin; the serif covers Latin: each backs the other.
        self.chain = (fonts.fallback, fonts.body, fonts.title)
        self.unknown: set[str] = set()

    def face_of(self, face: Face, code: int) -> Face:
        if code in face.covers:
            return face
        for other in self.chain:
            if code in other.covers:
                return other
        return face

    def width(self, text: str, face: Face, size: float) -> float:
        total = 0.0
        covers, widths, default = face.covers, face.widths, face.default_width
        for ch in text:
            code = ord(ch)
            if code in covers:
                total += widths.get(code, default)
            else:
                other = self.face_of(face, code)
                total += other.widths.get(code, other.default_width)
        return total * size / 1000

    def runs(self, text: str, face: Face) -> Iterator[tuple[Face, str]]:
        """``text`` cut where the drawing face changes."""
        start, current = 0, None
        for i, ch in enumerate(text):
            code = ord(ch)
            chosen = face if code in face.covers else self.face_of(face, code)
            if chosen is face and code not in face.covers and not ch.isspace():
                self.unknown.add(ch)
            if chosen is not current:
                if current is not None and i > start:
                    yield current, text[start:i]
                start, current = i, chosen
        if current is not None and start < len(text):
            yield current, text[start:]


# ---- layout ----------------------------------------------------------------------------------

Op = tuple[Any, ...]


@dataclass
class _Layout:
    template: Template
    data: Mapping[str, Any]
    fonts: FontSet
    m: TextMeasure
    pages: list[list[Op]] = field(default_factory=lambda: [[]])
    struck: int = 0
    seals: list[SealMark] = field(default_factory=list)
    #: Lines of running text as (page index, first op, end op, top y): what a seal or a
    #: signature block may take along to the next page.
    flow: list[tuple[int, int, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = self.template
        p = t.page
        self.W, self.H = p.width_mm * MM, p.height_mm * MM
        self.x0, self.x1 = p.left_mm * MM, self.W - p.right_mm * MM
        self.top = self.H - p.top_mm * MM
        self.strip = t.style.line_pt if t.page_signatures else 0.0
        self.bottom = p.bottom_mm * MM + self.strip
        self.y = self.top
        self.body = t.style.body_pt

    # -- pages --

    @property
    def ops(self) -> list[Op]:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` fits below the cursor (a fresh page always takes it)."""
        if self.y - height < self.bottom - 0.01 and self.y < self.top - 0.01:
            self.new_page()

    def keep_with_previous(self, height: float) -> None:
        """Make room for ``height`` without leaving it alone on a new page: when it does not fit,
        the last two lines of text go over with it (GB/T 9704: the seal and date never stand on a
        page without text; signatures sign what stands above them)."""
        if self.y - height >= self.bottom - 0.01 or self.y >= self.top - 0.01:
            return
        page = len(self.pages) - 1
        tail = [r for r in self.flow if r[0] == page][-2:]
        if len(tail) < 2 or tail[-1][2] != len(self.ops) or tail[0][3] >= self.top - 0.01:
            self.new_page()
            return
        start, top = tail[0][1], tail[0][3]
        moved = self.ops[start:]
        del self.ops[start:]
        used = top - self.y
        self.new_page()
        dy = self.top - top
        self.ops.extend(_shift(op, dy) for op in moved)
        self.flow = [r for r in self.flow if r[0] != page or r[1] < start]
        self.y = self.top - used

    def pitch(self, size: float) -> float:
        return self.template.style.line_pt * size / self.body

    @staticmethod
    def baseline(top: float, pitch: float, size: float) -> float:
        # The CJK em box (ascent .88, descent .12) centred in the line box.
        return top - pitch / 2 - 0.38 * size

    # -- data --

    def value(self, name: str) -> str:
        v = self.data.get(name)
        if v is None or v is False:
            return ""
        if isinstance(v, list | tuple):
            return "、".join(str(x) for x in v)
        return str(v)

    def truthy(self, name: str) -> bool:
        v = self.data.get(name)
        return bool(v.strip()) if isinstance(v, str) else bool(v)

    def blank_rule(self, override: str = "") -> bool:
        """True: an empty field is struck out."""
        return (override or self.template.blank_rule) == "strike"

    def tokens(self, text: Text, face: Face, size: float, strike: bool, boxed: bool = False) -> list[_Tok]:
        out: list[_Tok] = []
        for part in text:
            if isinstance(part, Slot):
                value = self.value(part.name)
                if value:
                    self._split(value, face, size, out)
                elif part.name.endswith("_date") and not strike:
                    self._split(BLANK_DATE, face, size, out)
                else:
                    out.append(_Tok("b", "", part.width * size, strike, not boxed))
            else:
                self._split(part, face, size, out)
        return out

    def _split(self, text: str, face: Face, size: float, out: list[_Tok]) -> None:
        for piece in _TOKEN.findall(text.replace("\r\n", "\n")):
            kind = "n" if piece == "\n" else "s" if piece.isspace() and piece != "\u3000" else "c"
            out.append(_Tok(kind, piece, 0.0 if kind == "n" else self.m.width(piece, face, size)))

    def text_of(self, text: Text) -> str:
        return "".join(p if isinstance(p, str) else self.value(p.name) for p in text)

    @staticmethod
    def empty(text: Text) -> bool:
        return all(isinstance(p, Slot) for p in text)

    # -- line breaking --

    def lines(self, toks: Sequence[_Tok], first: float, rest: float, face: Face, size: float) -> list[_Line]:
        out: list[_Line] = []
        cur: list[_Tok] = []
        width = 0.0
        avail = first
        queue = list(reversed(toks))
        while queue:
            tok = queue.pop()
            if tok.kind == "n":
                out.append(_Line(cur, width, True))
                cur, width, avail = [], 0.0, rest
                continue
            if width + tok.width <= avail + 0.01:
                cur.append(tok)
                width += tok.width
                continue
            if tok.kind == "s":
                out.append(_Line(cur, width, False))
                cur, width, avail = [], 0.0, rest
                continue
            if tok.kind == "c" and len(tok.text) > 1 and (tok.width > rest or not cur):
                # A run longer than a line (a long number): cut it where the line ends.
                for ch in reversed(tok.text):
                    queue.append(_Tok("c", ch, self.m.width(ch, face, size)))
                continue
            carry: list[_Tok] = []
            if tok.kind == "c" and tok.text[0] in NO_START:
                # Take the character before down too (and before a run of closing marks: “元）。”).
                while cur and (not carry or carry[0].text[0] in NO_START):
                    carry.insert(0, cur.pop())
            while cur and cur[-1].kind == "c" and cur[-1].text[-1] in NO_END:
                carry.insert(0, cur.pop())
            if not cur:  # nothing left to break before: overflow rather than loop
                cur = [*carry, tok]
                width = sum(t.width for t in cur)
                out.append(_Line(cur, width, False))
                cur, width, avail = [], 0.0, rest
                continue
            while cur and cur[-1].kind == "s":
                cur.pop()
            out.append(_Line(cur, sum(t.width for t in cur), False))
            cur = [*carry, tok]
            width = sum(t.width for t in cur)
            avail = rest
        out.append(_Line(cur, width, True))
        return out

    # -- drawing primitives (recorded; painted later) --

    def draw_line(
        self, line: _Line, x: float, base: float, avail: float, face: Face, size: float, align: str
    ) -> None:
        toks = line.toks
        while toks and toks[-1].kind == "s":
            toks = toks[:-1]
        natural = sum(t.width for t in toks)
        units = sum(len(t.text) if t.kind != "b" else 1 for t in toks)
        cs = 0.0
        if align == "center":
            x += (avail - natural) / 2
        elif align == "right":
            x += avail - natural
        elif align == "justify" and not line.last and units > 1:
            cs = (avail - natural) / (units - 1)
            if cs > size * 0.6 or cs < -size * 0.2:
                cs = 0.0
        faux = self.fonts.title.use.faux_bold and face is self.fonts.title
        stroke = size * 0.025 if faux else 0.0
        pending = ""
        for tok in toks:
            if tok.kind == "b":
                x = self._flush(pending, x, base, face, size, cs, stroke)
                pending = ""
                if tok.rule:
                    self.ops.append(("l", x, base - 0.2 * size, x + tok.width, base - 0.2 * size, RULE))
                if tok.strike:
                    mid = base + 0.35 * size
                    self.ops.append(("l", x, mid, x + tok.width, mid, RULE))
                    self.struck += 1
                x += tok.width + cs
            else:
                pending += tok.text
        self._flush(pending, x, base, face, size, cs, stroke)

    def _flush(
        self, text: str, x: float, base: float, face: Face, size: float, cs: float, stroke: float
    ) -> float:
        if not text:
            return x
        for run_face, run in self.m.runs(text, face):
            self.ops.append(("t", x, base, run_face.name, size, run, cs, stroke))
            x += self.m.width(run, run_face, size) + cs * len(run)
        return x

    def put_text(self, text: str, x: float, base: float, face: Face, size: float) -> float:
        """Plain text at a point; returns the x after it."""
        return self._flush(text, x, base, face, size, 0.0, 0.0)

    def rule(self, x1: float, y1: float, x2: float, y2: float, width: float = RULE) -> None:
        self.ops.append(("l", x1, y1, x2, y2, width))

    def box(self, x: float, y: float, w: float, h: float, width: float = BOX, dash: bool = False) -> None:
        self.ops.append(("r", x, y, w, h, width, dash))

    def paragraph(
        self,
        toks: list[_Tok],
        face: Face,
        size: float,
        align: str,
        indent: float = 0.0,
        hanging: float = 0.0,
        x0: float | None = None,
        x1: float | None = None,
    ) -> None:
        left = self.x0 if x0 is None else x0
        right = self.x1 if x1 is None else x1
        avail = right - left
        pitch = self.pitch(size)
        lines = self.lines(toks, avail - indent, avail - hanging, face, size)
        # Keep a short paragraph whole, and never leave a paragraph's first line alone at a page foot.
        self.need(pitch * (len(lines) if len(lines) <= 3 else 2))
        for n, line in enumerate(lines):
            self.need(pitch)
            shift = indent if n == 0 else hanging
            base = self.baseline(self.y, pitch, size)
            start = len(self.ops)
            self.draw_line(line, left + shift, base, avail - shift, face, size, align)
            self.flow.append((len(self.pages) - 1, start, len(self.ops), self.y))
            self.y -= pitch

    # -- blocks --

    def block(self, b: Block) -> None:
        if b.when and not self.truthy(b.when):
            return
        if b.unless and self.truthy(b.unless):
            return
        if b.space_before and b.kind not in ("seal", "signatures"):
            self.y -= b.space_before * self.template.style.line_pt
            if self.y < self.bottom:
                self.new_page()
        getattr(self, f"_{b.kind}")(b)
        if b.space_after:
            self.y -= b.space_after * self.template.style.line_pt
            if self.y < self.bottom:
                self.new_page()

    def _title(self, b: TitleBlock) -> None:
        size = b.size or self.template.style.title_pt
        pitch = size * 1.5
        face = self.fonts.title
        for text in b.lines:
            toks = self.tokens(text, face, size, strike=False)
            if all(t.kind == "b" for t in toks):
                continue
            if b.spacing:
                # Spread a short title (送 达 回 证): a spacing per character as part of its width.
                extra = b.spacing * size
                toks = [
                    _Tok("c", ch, self.m.width(ch, face, size) + extra)
                    for t in toks
                    for ch in (t.text if t.kind != "b" else "")
                ]
                toks[-1].width -= extra
                self._spaced_title(toks, face, size, pitch, extra)
                continue
            for line in self.lines(toks, self.x1 - self.x0, self.x1 - self.x0, face, size):
                self.need(pitch)
                base = self.baseline(self.y, pitch, size)
                self.draw_line(line, self.x0, base, self.x1 - self.x0, face, size, "center")
                self.y -= pitch

    def _spaced_title(self, toks: list[_Tok], face: Face, size: float, pitch: float, extra: float) -> None:
        self.need(pitch)
        base = self.baseline(self.y, pitch, size)
        natural = sum(t.width for t in toks)
        x = self.x0 + (self.x1 - self.x0 - natural) / 2
        text = "".join(t.text for t in toks)
        stroke = size * 0.025 if self.fonts.title.use.faux_bold else 0.0
        self._flush(text, x, base, face, size, extra, stroke)
        self.y -= pitch

    def _number(self, b: NumberBlock) -> None:
        size = self.body
        face = self.fonts.body
        toks = self.tokens(b.text, face, size, strike=False)
        self.paragraph(toks, face, size, b.align)

    def _paragraph(self, b: ParagraphBlock) -> None:
        size = b.size or self.body
        face = self.fonts.role(b.font)
        toks = self.tokens(b.text, face, size, self.blank_rule())
        self.paragraph(toks, face, size, b.align, b.indent * size, b.hanging * size)

    def _fields(self, b: FieldsBlock) -> None:
        size = b.size or self.body
        face = self.fonts.body
        pitch = self.pitch(size)
        gap = size * 0.5
        for row in b.rows:
            total = sum(c.width for c in row)
            x = self.x0
            laid = []
            for cell in row:
                w = (self.x1 - self.x0) * cell.width / total
                label_w = self.m.width(cell.label, face, size)
                vx0, vx1 = x + label_w, x + w - (gap if x + w < self.x1 - 1 else 0)
                strike = self.blank_rule(cell.blank)
                empty = self.empty(cell.value) and not self.text_of(cell.value).strip()
                toks = [] if empty else self.tokens(cell.value, face, size, strike)
                lines = self.lines(toks, vx1 - vx0, vx1 - vx0, face, size) if toks else []
                laid.append((cell, x, vx0, vx1, lines, empty, strike))
                x += w
            height = max(max(len(lines), 1) for *_, lines, _e, _s in laid) * pitch
            self.need(height)
            for cell, cx, vx0, vx1, lines, empty, strike in laid:
                base = self.baseline(self.y, pitch, size)
                if cell.label:
                    self.put_text(cell.label, cx, base, face, size)
                if empty:
                    self.rule(vx0, base - 0.2 * size, vx1, base - 0.2 * size)
                    if strike:
                        mid = base + 0.35 * size
                        self.rule(vx0, mid, vx1, mid)
                        self.struck += 1
                    continue
                for n, line in enumerate(lines):
                    lb = base - n * pitch
                    self.draw_line(line, vx0, lb, vx1 - vx0, face, size, "left")
                    self.rule(vx0, lb - 0.2 * size, vx1, lb - 0.2 * size)
            self.y -= height

    def _table(self, b: TableBlock) -> None:
        size = b.size or self.template.style.small_pt
        face = self.fonts.body
        pitch = size * 1.55
        pad_x, pad_y = size * 0.35, size * 0.3
        total = sum(b.columns)
        edges = [self.x0]
        for w in b.columns:
            edges.append(edges[-1] + (self.x1 - self.x0) * w / total)
        strike_empty = self.blank_rule()
        for row in b.rows:
            col = 0
            laid = []
            for cell in row:
                cx0, cx1 = edges[col], edges[col + cell.span]
                col += cell.span
                inner = cx1 - cx0 - 2 * pad_x
                toks = self.tokens(cell.text, face, size, strike_empty and not cell.label, boxed=True)
                lines = self.lines(toks, inner, inner, face, size) if toks else []
                sign = self.tokens(cell.sign, face, size, False, boxed=True) if cell.sign else []
                rows_needed = max(len(lines), cell.lines) + (1 if sign else 0)
                laid.append((cell, cx0, cx1, lines, sign, rows_needed))
            height = max(n for *_, n in laid) * pitch + 2 * pad_y
            self.need(height)
            top = self.y
            for cell, cx0, cx1, lines, sign, _n in laid:
                self.box(cx0, top - height, cx1 - cx0, height)
                self._cell(cell, cx0, cx1, top, height, lines, sign, face, size, pitch, pad_x, pad_y)
            self.y -= height

    def _cell(
        self,
        cell: TableCell,
        cx0: float,
        cx1: float,
        top: float,
        height: float,
        lines: list[_Line],
        sign: list[_Tok],
        face: Face,
        size: float,
        pitch: float,
        pad_x: float,
        pad_y: float,
    ) -> None:
        inner = cx1 - cx0 - 2 * pad_x
        empty = not any(t.kind != "b" for line in lines for t in line.toks)
        if cell.label or (not sign and len(lines) >= cell.lines):
            # Labels, and text that fills its cell, sit in the middle of the row.
            first = top - (height - len(lines) * pitch) / 2
            align = cell.align or ("center" if cell.label else "justify")
        else:
            first = top - pad_y  # a box with room to write by hand: the text at its top
            align = cell.align or "justify"
        if empty and not cell.label and not sign and self.blank_rule():
            self.rule(cx0 + 2, top - height + 2, cx1 - 2, top - 2)
            self.struck += 1
            return
        for n, line in enumerate(lines):
            base = self.baseline(first - n * pitch, pitch, size)
            if cell.label and len(lines) == 1:
                line = _Line(line.toks, line.width, True)
            self.draw_line(line, cx0 + pad_x, base, inner, face, size, align)
        if sign:
            base = self.baseline(top - height + pad_y + pitch, pitch, size)
            line = self.lines(sign, inner, inner, face, size)[0]
            self.draw_line(line, cx0 + pad_x, base, inner - size, face, size, "right")

    def _list(self, b: ListBlock) -> None:
        size = b.size or self.template.style.small_pt
        face = self.fonts.body
        pitch = size * 1.55
        pad_x, pad_y = size * 0.35, size * 0.3
        total = sum(c.width for c in b.columns)
        edges = [self.x0]
        for c in b.columns:
            edges.append(edges[-1] + (self.x1 - self.x0) * c.width / total)
        rows = [r for r in (self.data.get(b.field) or []) if isinstance(r, Mapping)]

        def draw_row(texts: Sequence[str], header: bool) -> None:
            laid = []
            for i in range(len(b.columns)):
                inner = edges[i + 1] - edges[i] - 2 * pad_x
                toks: list[_Tok] = []
                self._split(texts[i], face, size, toks)
                laid.append(self.lines(toks, inner, inner, face, size) if texts[i] else [])
            height = max(1, *(len(x) for x in laid)) * pitch + 2 * pad_y
            if self.y - height < self.bottom - 0.01 and self.y < self.top - 0.01:
                self.new_page()
                if not header:
                    draw_row([c.title for c in b.columns], True)
            top = self.y
            for i, c in enumerate(b.columns):
                self.box(edges[i], top - height, edges[i + 1] - edges[i], height)
                for n, line in enumerate(laid[i]):
                    base = self.baseline(top - pad_y - n * pitch, pitch, size)
                    inner = edges[i + 1] - edges[i] - 2 * pad_x
                    align = "center" if header else c.align
                    self.draw_line(
                        _Line(line.toks, line.width, True), edges[i] + pad_x, base, inner, face, size, align
                    )
            self.y -= height

        draw_row([c.title for c in b.columns], True)
        for r in rows:
            draw_row([str(r.get(c.key, "")) for c in b.columns], False)
        fillers = max(0, b.min_rows - len(rows))
        if fillers:
            start_page, start_y = len(self.pages), self.y
            widest = max(range(len(b.columns)), key=lambda i: b.columns[i].width)
            draw_row(["以下空白" if i == widest else "" for i in range(len(b.columns))], False)
            for _ in range(fillers - 1):
                draw_row(["" for _ in b.columns], False)
            if len(self.pages) == start_page:
                # One stroke across the unused rows: nothing can be added to the list afterwards.
                self.rule(self.x0, start_y, self.x1, self.y)
                self.struck += 1

    def _qa(self, b: QABlock) -> None:
        size = self.body
        face = self.fonts.body
        pitch = self.pitch(size)
        strike = self.blank_rule()
        items = [r for r in (self.data.get(b.field) or []) if isinstance(r, Mapping)]
        for item in items:
            for mark, key in (("问：", "q"), ("答：", "a")):
                text = str(item.get(key) or "").strip()
                toks: list[_Tok] = []
                self._split(mark, face, size, toks)
                if text:
                    self._split(text, face, size, toks)
                else:
                    toks.append(_Tok("b", "", 8 * size, strike))
                self.paragraph(toks, face, size, "justify")
        if items:
            if b.end_mark:
                toks = []
                self._split(b.end_mark, face, size, toks)
                self.paragraph(toks, face, size, "left")
            return
        # Nothing was asked: the area is struck through so nothing can be written in afterwards.
        area = b.min_lines * pitch
        self.need(area)
        top = self.y
        if b.end_mark:
            self.put_text(b.end_mark, self.x0, self.baseline(top, pitch, size), face, size)
        for n in range(1, b.min_lines + 1):
            y = top - n * pitch + 0.3 * size
            self.rule(self.x0, y, self.x1, y, 0.3)
        self.rule(self.x0, top - pitch, self.x1, top - area, RULE * 1.5)
        self.struck += 1
        self.y -= area

    def _signatures(self, b: SignaturesBlock) -> None:
        size = b.size or self.body
        face = self.fonts.body
        pitch = self.pitch(size)
        officers = [r for r in (self.data.get("officers") or []) if isinstance(r, Mapping)]
        # The signature block stays on one page, with text above it.
        before = b.space_before * self.template.style.line_pt
        self.keep_with_previous(
            before
            + sum(
                pitch * (max(1, len(officers)) if ln.kind == "officers" else 2 if ln.fingerprint else 1)
                for ln in b.lines
            )
        )
        if self.y < self.top - 0.01:
            self.y -= before
        for line in b.lines:
            if line.kind == "officers":
                for officer in officers or [{"name": "", "cert_no": ""}]:
                    self.need(pitch)
                    base = self.baseline(self.y, pitch, size)
                    x = self.put_text(f"{line.label}：", self.x0, base, face, size)
                    x = self._filled(str(officer.get("name") or ""), x, base, face, size, 5)
                    x = self.put_text("　执法证号：", x, base, face, size)
                    x = self._filled(str(officer.get("cert_no") or ""), x, base, face, size, 7)
                    x = self.put_text("　签名：", x, base, face, size)
                    self._filled("", x, base, face, size, 0, end=self.x1)
                    self.y -= pitch
                continue
            height = pitch * (2 if line.fingerprint else 1)
            self.need(height)
            base = self.baseline(self.y, pitch, size)
            label = f"{line.label}：" if line.label and not line.label.endswith(("：", ":")) else line.label
            x = self.put_text(label, self.x0, base, face, size)
            value = self.text_of(line.value).strip() if line.value else ""
            right = self.x1 - (size * 4.5 if line.fingerprint else 0)
            if line.kind == "note":
                if value:
                    toks = self.tokens(line.value, face, size, False)
                    first = right - x
                    lines = self.lines(toks, first, right - self.x0, face, size)
                    for n, ln in enumerate(lines):
                        self.draw_line(
                            ln, x if n == 0 else self.x0, base - n * pitch, first, face, size, "left"
                        )
                    self.y -= pitch * (len(lines) - 1)
                else:
                    self._filled("", x, base, face, size, 0, end=right)
            else:
                date_w = self.m.width(BLANK_DATE, face, size) if line.date else 0
                end = right - date_w - (size if line.date else 0)
                self._filled(value, x, base, face, size, 0, end=end)
                if line.date:
                    self.put_text(BLANK_DATE, right - date_w, base, face, size)
            if line.fingerprint:
                box = size * 4
                self.box(self.x1 - box, self.y - height + (height - box) / 2, box, box, RULE, dash=True)
                self.put_text(
                    "指印", self.x1 - box / 2 - size, self.y - height / 2 - size * 0.35, face, size * 0.9
                )
            self.y -= height

    def _filled(
        self,
        value: str,
        x: float,
        base: float,
        face: Face,
        size: float,
        min_em: float,
        end: float | None = None,
    ) -> float:
        """``value`` over an underline of at least ``min_em`` (or up to ``end``): a box to sign or fill."""
        width = self.m.width(value, face, size) if value else 0.0
        stop = end if end is not None else x + max(width + size, min_em * size)
        if value:
            self.put_text(value, x + size * 0.25, base, face, size)
        self.rule(x, base - 0.2 * size, stop, base - 0.2 * size)
        return stop

    def _fingerprint(self, b: FingerprintBlock) -> None:
        size = self.template.style.small_pt
        box = 22 * MM
        self.need(box + size)
        face = self.fonts.body
        self.box(self.x1 - box, self.y - box, box, box, RULE, dash=True)
        w = self.m.width(b.label, face, size)
        self.put_text(b.label, self.x1 - box / 2 - w / 2, self.y - box - size * 1.1, face, size)
        self.y -= box + size * 1.5

    def _seal(self, b: SealBlock) -> None:
        size = self.body
        face = self.fonts.body
        pitch = self.pitch(size)
        before = b.space_before * self.template.style.line_pt
        self.keep_with_previous(before + 2 * pitch)
        if self.y < self.top - 0.01:
            self.y -= before
        body = self.text_of(b.body).strip()
        date = self.text_of(b.date).strip() or BLANK_DATE
        date_w = self.m.width(date, face, size)
        body_w = self.m.width(body, face, size)
        # GB/T 9704 7.3.5.1: the date four characters in from the right, the body centred over it.
        date_x = self.x1 - 4 * size - date_w
        centre = date_x + date_w / 2
        body_x = min(centre - body_w / 2, self.x1 - body_w)
        top = self.y
        if body:
            self.put_text(body, body_x, self.baseline(top, pitch, size), face, size)
        self.put_text(date, date_x, self.baseline(top - pitch, pitch, size), face, size)
        self.seals.append(SealMark(len(self.pages), centre, top - pitch))
        self.y -= 2 * pitch

    def _spacer(self, b: SpacerBlock) -> None:
        self.y -= b.lines * self.template.style.line_pt
        if self.y < self.bottom:
            self.new_page()

    def _page_break(self, b: PageBreakBlock) -> None:
        if self.ops or self.y < self.top - 0.01:
            self.new_page()

    # -- per-page furniture, once the page count is known --

    def furniture(self, page: int, pages: int) -> list[Op]:
        saved = self.pages
        self.pages = [[]]
        try:
            t = self.template
            size = t.style.small_pt
            face = self.fonts.body
            if t.page_signatures:
                base = t.page.bottom_mm * MM + self.strip * 0.35
                step = (self.x1 - self.x0) / len(t.page_signatures)
                for n, label in enumerate(t.page_signatures):
                    x = self.put_text(f"{label}：", self.x0 + n * step, base, face, size)
                    self.rule(x, base - 0.2 * size, self.x0 + (n + 1) * step - size, base - 0.2 * size)
            if t.footer:
                text = "".join(
                    p if isinstance(p, str) else str(page if p.name == "page" else pages) for p in t.footer
                )
                w = self.m.width(text, face, size)
                base = t.page.bottom_mm * MM - 7 * MM - size * 0.8
                self.put_text(text, (self.W - w) / 2, base, face, size)
            return self.ops
        finally:
            self.pages = saved


def _shift(op: Op, dy: float) -> Op:
    if op[0] == "l":
        return (op[0], op[1], op[2] + dy, op[3], op[4] + dy, op[5])
    return (op[0], op[1], op[2] + dy, *op[3:])


# ---- painting --------------------------------------------------------------------------------


def _paint(layout: _Layout, out: IO[bytes], title: str, author: str) -> None:
    fonts = layout.fonts
    c = rl_canvas.Canvas(
        out,
        pagesize=(layout.W, layout.H),
        invariant=1,
        initialFontName=fonts.body.name,
        initialFontSize=layout.body,
        pageCompression=1,
    )
    c.setTitle(title)
    c.setAuthor(author)
    c.setCreator("SquadDesk 执法队务台")
    pages = len(layout.pages)
    for n, ops in enumerate(layout.pages, 1):
        everything = ops + layout.furniture(n, pages)
        widths: dict[float, list[Op]] = {}
        for op in everything:
            if op[0] == "l":
                widths.setdefault(op[5], []).append(op)
        for width, lines in widths.items():
            c.setLineWidth(width)
            path = c.beginPath()
            for _k, x1, y1, x2, y2, _w in lines:
                path.moveTo(x1, y1)
                path.lineTo(x2, y2)
            c.drawPath(path, stroke=1, fill=0)
        for op in everything:
            if op[0] == "r":
                _k, x, y, w, h, lw, dash = op
                c.setLineWidth(lw)
                if dash:
                    c.setDash(2, 2)
                else:
                    c.setDash()
                c.rect(x, y, w, h, stroke=1, fill=0)
        c.setDash()
        # Text in reading order (a copy-paste or a screen reader gets the title first); runs of
        # faux-bold title text go in their own text objects, stroked as well as filled.
        texts = [op for op in everything if op[0] == "t"]
        i = 0
        while i < len(texts):
            stroke = texts[i][7]
            j = i
            while j < len(texts) and texts[j][7] == stroke:
                j += 1
            if stroke:
                c.saveState()
                c.setLineWidth(stroke)
            obj = c.beginText()
            if stroke:
                obj.setTextRenderMode(2)  # fill and stroke: the heavy strokes of 小标宋
            for _k, x, y, name, size, text, cs, _s in texts[i:j]:
                obj.setTextOrigin(x, y)
                obj.setFont(name, size)
                obj.setCharSpace(cs)
                obj.textOut(text)
            c.drawText(obj)
            if stroke:
                c.restoreState()
            i = j
        c.showPage()
    c.save()


def layout_document(template: Template, data: Mapping[str, Any], fonts: FontSet | None = None) -> _Layout:
    fonts = fonts or font_set()
    full = dict(data)
    full.setdefault("doc_title", template.title)
    if not full.get("doc_number"):
        full["doc_number"] = UNNUMBERED
    layout = _Layout(template, full, fonts, TextMeasure(fonts))
    for b in template.blocks:
        layout.block(b)
    if len(layout.pages) > 1 and not layout.pages[-1] and layout.y >= layout.top - 0.01:
        layout.pages.pop()  # a trailing page break or spacer left an empty page
    return layout


def render(
    template: Template,
    data: Mapping[str, Any],
    out: Path | str | IO[bytes],
    *,
    fonts: FontSet | None = None,
) -> RenderResult:
    """Draw ``template`` with ``data`` (see :func:`app.documents.binding.document_data`) into
    ``out`` — a file path or a binary stream. ``data['doc_number']`` is the 文号 the caller issued;
    without one the number line says “（未编号）”."""
    layout = layout_document(template, data, fonts)
    buffer = io.BytesIO()
    title = f"{template.title} {layout.value('doc_number')}".strip()
    with PAINT_LOCK:  # reportlab keeps per-document state on the shared font objects
        _paint(layout, buffer, title, layout.value("enforcing_body"))
    pdf = buffer.getvalue()
    if isinstance(out, str | Path):
        Path(out).write_bytes(pdf)
    else:
        out.write(pdf)
    missing = tuple(
        F.label_of(name)
        for name in template.required
        if not (layout.data.get(name) if name in F.LISTS else layout.value(name).strip())
        or (name == "doc_number" and layout.value(name) == UNNUMBERED)
    )
    return RenderResult(
        pages=len(layout.pages),
        fonts=layout.fonts.uses,
        missing=missing,
        struck=layout.struck,
        seals=tuple(layout.seals),
        size=len(pdf),
        missing_glyphs="".join(sorted(layout.m.unknown)),
    )
