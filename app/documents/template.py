"""Document templates as data (文书模板): one JSON file per document type under resources/templates/.

The format is documented in resources/templates/README.md and versioned by ``schema_version``:
the district will ship changed templates through sync, so a file is checked whole when it is
loaded — every block, every field name, every size — and a fault is reported in Chinese naming
the file and the block (“penalty_decision.json 第 5 块（段落）：…”). A template never holds code:
wording with ``{field}`` placeholders, and layout blocks the one renderer knows how to draw.

Templates the district shipped are kept in ``<data folder>/templates`` (checked when the release
was installed, app.sync.releases); once that folder is named with :func:`use_district_templates`,
a type's district copy is used instead of the bundled file unless the bundled one has a higher
``revision``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from app.cases.machine import StepKind
from app.documents import fields as F
from app.errors import NotFoundError, ValidationError
from app.paths import resource_path
from db.models.cases import Outcome

log = logging.getLogger(__name__)

FORMAT: Final = "squaddesk-document-template"
SCHEMA_VERSION: Final = 1
MM: Final = 72 / 25.4  # points per millimetre
A4: Final = (210.0, 297.0)  # mm
#: GB/T 9704-2012: top 37 mm, binding (left) 28 mm; the text block 156 × 225 mm.
DEFAULT_MARGINS: Final = {"top": 37.0, "left": 28.0, "right": 26.0, "bottom": 35.0}
FONT_ROLES: Final = ("body", "title", "heading")
ALIGNS: Final = ("left", "center", "right", "justify")
PROCEDURES: Final = ("any", "ordinary", "summary")
_TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d{1,2}))?\}")
BLOCK_LABELS: Final = {
    "title": "标题",
    "number": "文号行",
    "paragraph": "段落",
    "fields": "填写栏",
    "table": "表格",
    "list": "清单",
    "qa": "问答",
    "signatures": "签名栏",
    "fingerprint": "指印框",
    "seal": "落款印章",
    "spacer": "空行",
    "page_break": "分页",
}


# ---- the parsed shapes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A ``{field}`` placeholder; ``width`` (em) is the blank left when the field is empty."""

    name: str
    width: float = 4.0


Text = tuple[str | Slot, ...]


@dataclass(frozen=True)
class Page:
    width_mm: float = A4[0]
    height_mm: float = A4[1]
    top_mm: float = DEFAULT_MARGINS["top"]
    left_mm: float = DEFAULT_MARGINS["left"]
    right_mm: float = DEFAULT_MARGINS["right"]
    bottom_mm: float = DEFAULT_MARGINS["bottom"]


@dataclass(frozen=True)
class Style:
    body_pt: float = 16.0  # 三号
    line_pt: float = 29.0  # GB/T 9704: 22 lines in 225 mm
    title_pt: float = 22.0  # 二号
    small_pt: float = 14.0  # 四号: tables, footer, signature strips


@dataclass(frozen=True, kw_only=True)
class Block:
    kind: str
    index: int  # 1-based, for messages
    when: str = ""
    unless: str = ""
    space_before: float = 0.0  # lines
    space_after: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TitleBlock(Block):
    lines: tuple[Text, ...]
    size: float | None = None
    spacing: float = 0.0  # extra space between characters, em


@dataclass(frozen=True, kw_only=True)
class NumberBlock(Block):
    text: Text
    align: str = "right"


@dataclass(frozen=True, kw_only=True)
class ParagraphBlock(Block):
    text: Text
    indent: float = 2.0  # first line, em
    hanging: float = 0.0  # following lines, em
    align: str = "justify"
    font: str = "body"
    size: float | None = None


@dataclass(frozen=True)
class FieldCell:
    label: str
    value: Text
    width: float = 1.0
    blank: str = ""  # "strike" | "keep" | "" (the template's rule)


@dataclass(frozen=True, kw_only=True)
class FieldsBlock(Block):
    rows: tuple[tuple[FieldCell, ...], ...]
    size: float | None = None


@dataclass(frozen=True)
class TableCell:
    text: Text
    span: int = 1
    label: bool = False
    lines: int = 1  # minimum height in lines (room to write by hand)
    align: str = ""
    sign: Text = ()  # a signature line at the cell's bottom right


@dataclass(frozen=True, kw_only=True)
class TableBlock(Block):
    columns: tuple[float, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    size: float | None = None


@dataclass(frozen=True)
class ListColumn:
    key: str
    title: str
    width: float = 1.0
    align: str = "center"


@dataclass(frozen=True, kw_only=True)
class ListBlock(Block):
    field: str
    columns: tuple[ListColumn, ...]
    min_rows: int = 0
    size: float | None = None


@dataclass(frozen=True, kw_only=True)
class QABlock(Block):
    field: str = "qa"
    min_lines: int = 6
    end_mark: str = "（以下空白）"


@dataclass(frozen=True)
class SignLine:
    kind: str  # "person" | "officers" | "note"
    label: str
    value: Text = ()
    date: bool = False
    fingerprint: bool = False


@dataclass(frozen=True, kw_only=True)
class SignaturesBlock(Block):
    lines: tuple[SignLine, ...]
    size: float | None = None


@dataclass(frozen=True, kw_only=True)
class FingerprintBlock(Block):
    label: str = "指印"


@dataclass(frozen=True, kw_only=True)
class SealBlock(Block):
    body: Text
    date: Text


@dataclass(frozen=True, kw_only=True)
class SpacerBlock(Block):
    lines: float = 1.0


@dataclass(frozen=True, kw_only=True)
class PageBreakBlock(Block):
    pass


@dataclass(frozen=True)
class Template:
    type: str
    title: str
    number_word: str
    revision: int
    schema_version: int
    source: str  # the file name, for messages
    description: str = ""
    step: str = ""
    procedure: str = "any"
    outcomes: tuple[str, ...] = ()
    record: bool = False
    page: Page = field(default_factory=Page)
    style: Style = field(default_factory=Style)
    footer: Text = ()
    page_signatures: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()

    @property
    def blank_rule(self) -> str:
        """How an empty field prints: struck out in a written record (笔录), else left to fill in."""
        return "strike" if self.record else "keep"


# ---- parsing ---------------------------------------------------------------------------------


class _Where:
    """Where in the file we are, so every message names the file and the block at fault."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.block = ""

    def fail(self, message: str) -> ValidationError:
        return ValidationError(f"文书模板 {self.source}{self.block}：{message}")


def _obj(value: Any, what: str, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.fail(f"“{what}”应为对象（{{…}}）。")
    return value


def _list(value: Any, what: str, where: _Where) -> Sequence[Any]:
    if not isinstance(value, list):
        raise where.fail(f"“{what}”应为列表（[…]）。")
    return value


def _str(data: Mapping[str, Any], key: str, where: _Where, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise where.fail(f"缺少“{key}”。")
    if not isinstance(value, str):
        raise where.fail(f"“{key}”应为文本，现为 {json.dumps(value, ensure_ascii=False)}。")
    return value


def _num(
    data: Mapping[str, Any], key: str, where: _Where, default: float | None, low: float, high: float
) -> float | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.fail(f"“{key}”应为数字，现为 {json.dumps(value, ensure_ascii=False)}。")
    if not low <= value <= high:
        raise where.fail(f"“{key}”应在 {low:g} 到 {high:g} 之间，现为 {value:g}。")
    return float(value)


def _number(
    data: Mapping[str, Any], key: str, where: _Where, default: float, low: float, high: float
) -> float:
    value = _num(data, key, where, default, low, high)
    assert value is not None
    return value


def _int(data: Mapping[str, Any], key: str, where: _Where, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.fail(f"“{key}”应为整数，现为 {json.dumps(value, ensure_ascii=False)}。")
    if not low <= value <= high:
        raise where.fail(f"“{key}”应在 {low} 到 {high} 之间，现为 {value}。")
    return value


def _bool(data: Mapping[str, Any], key: str, where: _Where, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise where.fail(f"“{key}”应为 true 或 false。")
    return value


def _choice(data: Mapping[str, Any], key: str, where: _Where, choices: Sequence[str], default: str) -> str:
    value = _str(data, key, where, default)
    if value not in choices:
        raise where.fail(f"“{key}”应为 {'、'.join(choices)} 之一，现为“{value}”。")
    return value


def parse_text(raw: str, where: _Where, what: str) -> Text:
    """Wording with ``{field}`` / ``{field:6}`` placeholders as parts; a field this program does
    not provide, or a stray brace, is refused."""
    parts: list[str | Slot] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(raw):
        literal = raw[pos : match.start()]
        _no_braces(literal, where, what)
        if literal:
            parts.append(literal)
        name = match.group(1)
        if name not in F.TEXT:
            if name in F.FLAGS or name in F.LISTS:
                raise where.fail(
                    f"{what}中的“{{{name}}}”（{F.label_of(name)}）不能直接印出，只能用于 when/unless 或重复的块。"
                )
            raise where.fail(
                f"{what}引用了本版程序不提供的字段“{{{name}}}”；可用字段见 resources/templates/README.md。"
            )
        parts.append(Slot(name, float(match.group(2)) if match.group(2) else 4.0))
        pos = match.end()
    rest = raw[pos:]
    _no_braces(rest, where, what)
    if rest:
        parts.append(rest)
    return tuple(parts)


def _no_braces(literal: str, where: _Where, what: str) -> None:
    if "{" in literal or "}" in literal:
        raise where.fail(f"{what}中有不成对或写法不对的花括号：“{literal}”。字段应写成 {{字段名}}。")


def _condition(data: Mapping[str, Any], key: str, where: _Where) -> str:
    name = _str(data, key, where, "")
    if name and name not in F.FLAGS and name not in F.TEXT and name not in F.LISTS:
        raise where.fail(f"“{key}”引用了本版程序不提供的字段“{name}”。")
    return name


_COMMON = {"type", "when", "unless", "space_before", "space_after"}
_KEYS: dict[str, set[str]] = {
    "title": {"lines", "size", "spacing"},
    "number": {"text", "align"},
    "paragraph": {"text", "indent", "hanging", "align", "font", "size"},
    "fields": {"rows", "size"},
    "table": {"columns", "rows", "size"},
    "list": {"field", "columns", "min_rows", "size"},
    "qa": {"field", "min_lines", "end_mark"},
    "signatures": {"lines", "size"},
    "fingerprint": {"label"},
    "seal": {"body", "date"},
    "spacer": {"lines"},
    "page_break": set(),
}


def _block(raw: Any, index: int, where: _Where) -> Block:
    data = _obj(raw, f"第 {index} 块", where)
    kind = data.get("type")
    where.block = f" 第 {index} 块"
    if kind not in _KEYS:
        raise where.fail(
            f"未知的块类型 {json.dumps(kind, ensure_ascii=False)}，应为 {'、'.join(_KEYS)} 之一。"
        )
    where.block = f" 第 {index} 块（{BLOCK_LABELS[kind]}）"
    unknown = sorted(set(data) - _KEYS[kind] - _COMMON)
    if unknown:
        raise where.fail(f"不认识的键 {'、'.join(unknown)}。")
    common: dict[str, Any] = {
        "kind": kind,
        "index": index,
        "when": _condition(data, "when", where),
        "unless": _condition(data, "unless", where),
        "space_before": _number(data, "space_before", where, 0, 0, 20),
        "space_after": _number(data, "space_after", where, 0, 0, 20),
    }
    size = _num(data, "size", where, None, 6, 40)
    if kind == "title":
        lines = _list(data.get("lines", ["{doc_title}"]), "lines", where)
        if not lines:
            raise where.fail("“lines”至少要有一行。")
        return TitleBlock(
            **common,
            lines=tuple(parse_text(_line(v, where), where, "标题") for v in lines),
            size=size,
            spacing=_number(data, "spacing", where, 0, 0, 3),
        )
    if kind == "number":
        return NumberBlock(
            **common,
            text=parse_text(_str(data, "text", where, "{doc_number}"), where, "文号行"),
            align=_choice(data, "align", where, ("left", "center", "right"), "right"),
        )
    if kind == "paragraph":
        return ParagraphBlock(
            **common,
            text=parse_text(_str(data, "text", where), where, "段落文字"),
            indent=_number(data, "indent", where, 2, 0, 20),
            hanging=_number(data, "hanging", where, 0, 0, 20),
            align=_choice(data, "align", where, ALIGNS, "justify"),
            font=_choice(data, "font", where, FONT_ROLES, "body"),
            size=size,
        )
    if kind == "fields":
        rows = _list(data.get("rows"), "rows", where)
        if not rows:
            raise where.fail("“rows”至少要有一行。")
        return FieldsBlock(
            **common, rows=tuple(_field_row(r, n, where) for n, r in enumerate(rows, 1)), size=size
        )
    if kind == "table":
        return _table(data, common, size, where)
    if kind == "list":
        name = _str(data, "field", where)
        if name not in F.LISTS:
            raise where.fail(f"“field”应为列表字段（{'、'.join(F.LISTS)}）之一，现为“{name}”。")
        columns = _list(data.get("columns"), "columns", where)
        if not columns:
            raise where.fail("“columns”至少要有一列。")
        cols = []
        for n, c in enumerate(columns, 1):
            col = _obj(c, f"第 {n} 列", where)
            key = _str(col, "key", where)
            if key not in F.LISTS[name]:
                raise where.fail(f"第 {n} 列的“key”应为 {'、'.join(F.LISTS[name])} 之一，现为“{key}”。")
            cols.append(
                ListColumn(
                    key,
                    _str(col, "title", where),
                    _number(col, "width", where, 1, 0.1, 20),
                    _choice(col, "align", where, ("left", "center", "right"), "center"),
                )
            )
        return ListBlock(
            **common,
            field=name,
            columns=tuple(cols),
            min_rows=_int(data, "min_rows", where, 0, 0, 40),
            size=size,
        )
    if kind == "qa":
        name = _str(data, "field", where, "qa")
        if name != "qa":
            raise where.fail("问答块的“field”只能是“qa”。")
        return QABlock(
            **common,
            field=name,
            min_lines=_int(data, "min_lines", where, 6, 1, 30),
            end_mark=_str(data, "end_mark", where, "（以下空白）"),
        )
    if kind == "signatures":
        lines = _list(data.get("lines"), "lines", where)
        if not lines:
            raise where.fail("“lines”至少要有一行。")
        return SignaturesBlock(
            **common, lines=tuple(_sign_line(v, n, where) for n, v in enumerate(lines, 1)), size=size
        )
    if kind == "fingerprint":
        return FingerprintBlock(**common, label=_str(data, "label", where, "指印"))
    if kind == "seal":
        return SealBlock(
            **common,
            body=parse_text(_str(data, "body", where, "{enforcing_body}"), where, "落款"),
            date=parse_text(_str(data, "date", where, "{doc_date}"), where, "落款日期"),
        )
    if kind == "spacer":
        return SpacerBlock(**common, lines=_number(data, "lines", where, 1, 0.1, 40))
    return PageBreakBlock(**common)


def _line(value: Any, where: _Where) -> str:
    if not isinstance(value, str):
        raise where.fail("“lines”的每一行应为文本。")
    return value


def _field_row(raw: Any, n: int, where: _Where) -> tuple[FieldCell, ...]:
    cells = _list(raw, f"第 {n} 行", where)
    if not cells:
        raise where.fail(f"第 {n} 行是空的。")
    out = []
    for m, c in enumerate(cells, 1):
        cell = _obj(c, f"第 {n} 行第 {m} 格", where)
        extra = sorted(set(cell) - {"label", "value", "width", "blank"})
        if extra:
            raise where.fail(f"第 {n} 行第 {m} 格有不认识的键 {'、'.join(extra)}。")
        out.append(
            FieldCell(
                _str(cell, "label", where, ""),
                parse_text(_str(cell, "value", where, ""), where, f"第 {n} 行第 {m} 格"),
                _number(cell, "width", where, 1, 0.1, 20),
                _choice(cell, "blank", where, ("", "strike", "keep"), ""),
            )
        )
    return tuple(out)


def _table(data: Mapping[str, Any], common: dict[str, Any], size: float | None, where: _Where) -> TableBlock:
    columns = _list(data.get("columns"), "columns", where)
    if not columns:
        raise where.fail("“columns”至少要有一列（各列宽度的比例，如 [1, 3]）。")
    widths = []
    for c in columns:
        if isinstance(c, bool) or not isinstance(c, int | float) or c <= 0:
            raise where.fail("“columns”的每一项应为正数（列宽比例）。")
        widths.append(float(c))
    rows = _list(data.get("rows"), "rows", where)
    if not rows:
        raise where.fail("“rows”至少要有一行。")
    parsed = []
    for n, r in enumerate(rows, 1):
        cells = _list(r, f"第 {n} 行", where)
        row = []
        for m, c in enumerate(cells, 1):
            cell = _obj(c, f"第 {n} 行第 {m} 格", where)
            extra = sorted(set(cell) - {"text", "span", "label", "lines", "align", "sign"})
            if extra:
                raise where.fail(f"第 {n} 行第 {m} 格有不认识的键 {'、'.join(extra)}。")
            row.append(
                TableCell(
                    parse_text(_str(cell, "text", where, ""), where, f"第 {n} 行第 {m} 格"),
                    _int(cell, "span", where, 1, 1, len(widths)),
                    _bool(cell, "label", where),
                    _int(cell, "lines", where, 1, 1, 30),
                    _choice(cell, "align", where, ("", *ALIGNS), ""),
                    parse_text(_str(cell, "sign", where, ""), where, f"第 {n} 行第 {m} 格的签名行"),
                )
            )
        spans = sum(c.span for c in row)
        if spans != len(widths):
            raise where.fail(f"第 {n} 行各格共占 {spans} 列，表格有 {len(widths)} 列，请核对“span”。")
        parsed.append(tuple(row))
    return TableBlock(**common, columns=tuple(widths), rows=tuple(parsed), size=size)


def _sign_line(raw: Any, n: int, where: _Where) -> SignLine:
    line = _obj(raw, f"第 {n} 行", where)
    extra = sorted(set(line) - {"kind", "label", "value", "date", "fingerprint"})
    if extra:
        raise where.fail(f"签名栏第 {n} 行有不认识的键 {'、'.join(extra)}。")
    return SignLine(
        _choice(line, "kind", where, ("person", "officers", "note"), "person"),
        _str(line, "label", where, ""),
        parse_text(_str(line, "value", where, ""), where, f"签名栏第 {n} 行"),
        _bool(line, "date", where),
        _bool(line, "fingerprint", where),
    )


_TOP_KEYS = {
    "format",
    "schema_version",
    "type",
    "revision",
    "title",
    "number_word",
    "step",
    "procedure",
    "outcomes",
    "record",
    "page",
    "style",
    "footer",
    "page_signatures",
    "required",
    "blocks",
    "description",
}


def parse_template(data: Any, source: str) -> Template:
    """A template from its decoded JSON; ValidationError naming ``source`` and the block at fault."""
    where = _Where(source)
    top = _obj(data, "模板", where)
    if top.get("format") != FORMAT:
        raise where.fail(f"不是 SquadDesk 文书模板（“format”应为“{FORMAT}”）。")
    version = top.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise where.fail("缺少“schema_version”（模板格式版本，整数）。")
    if version > SCHEMA_VERSION:
        raise where.fail(
            f"模板格式为第 {version} 版，本程序只支持到第 {SCHEMA_VERSION} 版，请先升级 SquadDesk 再导入。"
        )
    if version < 1:
        raise where.fail(f"“schema_version”应为 1 到 {SCHEMA_VERSION}。")
    unknown = sorted(set(top) - _TOP_KEYS)
    if unknown:
        raise where.fail(f"不认识的键 {'、'.join(unknown)}。")
    code = _str(top, "type", where)
    if not _TYPE_CODE.match(code):
        raise where.fail(f"“type”应为小写字母、数字和下划线组成的文书类型代码，现为“{code}”。")
    title = _str(top, "title", where).strip()
    if not title:
        raise where.fail("缺少文书名称“title”。")
    page_data = _obj(top.get("page", {}), "page", where)
    if page_data.get("size", "A4") != "A4":
        raise where.fail("“page.size”目前只支持 A4。")
    margins = _obj(page_data.get("margins_mm", {}), "page.margins_mm", where)
    page = Page(
        top_mm=_number(margins, "top", where, DEFAULT_MARGINS["top"], 5, 80),
        left_mm=_number(margins, "left", where, DEFAULT_MARGINS["left"], 5, 80),
        right_mm=_number(margins, "right", where, DEFAULT_MARGINS["right"], 5, 80),
        bottom_mm=_number(margins, "bottom", where, DEFAULT_MARGINS["bottom"], 5, 80),
    )
    style_data = _obj(top.get("style", {}), "style", where)
    style = Style(
        body_pt=_number(style_data, "body_pt", where, 16, 8, 30),
        line_pt=_number(style_data, "line_pt", where, 29, 10, 60),
        title_pt=_number(style_data, "title_pt", where, 22, 10, 40),
        small_pt=_number(style_data, "small_pt", where, 14, 6, 30),
    )
    if style.line_pt < style.body_pt:
        raise where.fail("“style.line_pt”（行距）不能小于正文字号“body_pt”。")
    footer_raw = top.get("footer", "第 {page} 页 共 {pages} 页")
    footer: Text = ()
    if footer_raw is not None:
        if not isinstance(footer_raw, str):
            raise where.fail("“footer”应为文本或 null。")
        if "{pages}" not in footer_raw and "{page}" not in footer_raw:
            raise where.fail("“footer”应含 {page}（页码）和 {pages}（总页数）。")
        footer = _footer(footer_raw)
    required = tuple(_list(top.get("required", []), "required", where))
    for name in required:
        if not isinstance(name, str) or (name not in F.TEXT and name not in F.LISTS):
            raise where.fail(f"“required”中的“{name}”不是本版程序提供的字段。")
    outcomes = tuple(_list(top.get("outcomes", []), "outcomes", where))
    known_outcomes = [o.value for o in Outcome]
    for outcome in outcomes:
        if outcome not in known_outcomes:
            raise where.fail(f"“outcomes”中的“{outcome}”不是处理结果代码（{'、'.join(known_outcomes)}）。")
    step = _str(top, "step", where, "")
    if step and step not in {k.value for k in StepKind}:
        raise where.fail(
            f"“step”中的“{step}”不是办案环节代码（如 filing、investigation、decision、service）。"
        )
    signatures = _list(top.get("page_signatures", []), "page_signatures", where)
    if not all(isinstance(s, str) for s in signatures):
        raise where.fail("“page_signatures”的每一项应为文本，如“被询问人签名”。")
    blocks_raw = _list(top.get("blocks"), "blocks", where)
    if not blocks_raw:
        raise where.fail("“blocks”至少要有一块。")
    blocks = tuple(_block(b, n, where) for n, b in enumerate(blocks_raw, 1))
    where.block = ""
    return Template(
        type=code,
        title=title,
        number_word=_str(top, "number_word", where, "").strip(),
        revision=_int(top, "revision", where, 1, 1, 10**6),
        schema_version=version,
        source=source,
        description=_str(top, "description", where, "").strip(),
        step=step,
        procedure=_choice(top, "procedure", where, PROCEDURES, "any"),
        outcomes=outcomes,
        record=_bool(top, "record", where),
        page=page,
        style=style,
        footer=footer,
        page_signatures=tuple(signatures),
        required=required,
        blocks=blocks,
    )


def _footer(raw: str) -> Text:
    parts: list[str | Slot] = []
    for piece in re.split(r"(\{pages?\})", raw):
        if piece in ("{page}", "{pages}"):
            parts.append(Slot(piece[1:-1], 0))
        elif piece:
            parts.append(piece)
    return tuple(parts)


# ---- loading ---------------------------------------------------------------------------------


def templates_dir() -> Path:
    """The bundled templates (resources/templates)."""
    return resource_path("templates")


#: Where the templates the district shipped are kept (``<data folder>/templates``), once the data
#: folder is known; see :func:`use_district_templates`.
_district_dir: Path | None = None


def use_district_templates(folder: Path | None) -> None:
    """Prefer the templates in ``folder`` — those the district shipped through sync, written there
    by app.sync.releases after they were checked — to the bundled ones (None: bundled only)."""
    global _district_dir
    _district_dir = folder


def district_templates_dir() -> Path | None:
    return _district_dir


def _template_path(doc_type: str) -> Path:
    """The file to use for ``doc_type``: the district's copy when there is one that reads cleanly
    and is not older (by ``revision``) than the bundled one — a later program may bring a newer
    template than the district shipped before — else the bundled file."""
    bundled = templates_dir() / f"{doc_type}.json"
    if _district_dir is None:
        return bundled
    shipped = _district_dir / f"{doc_type}.json"
    if not shipped.is_file():
        return bundled
    try:
        district = _load(shipped)
        if bundled.is_file() and _load(bundled).revision > district.revision:
            return bundled
    except ValidationError as exc:
        # Checked when the release was applied; should it fail now (a damaged file), printing
        # goes on with the bundled template rather than stopping a clerk at the printer.
        log.warning("district template %s ignored: %s", shipped, exc)
        return bundled
    return shipped


def read_template(path: Path) -> Template:
    """A template file; its name must be its type code (``penalty_decision.json``)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"文书模板 {path.name} 无法读取：{exc.strerror or exc}。") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"文书模板 {path.name} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误（{exc.msg}）。"
        ) from None
    template = parse_template(data, path.name)
    if template.type != path.stem:
        raise ValidationError(f"文书模板 {path.name}：文件名应与文书类型代码一致（{template.type}.json）。")
    return template


@lru_cache(maxsize=128)
def _cached(path: Path, mtime_ns: int, size: int) -> Template:
    return read_template(path)


def _load(path: Path) -> Template:
    stat = path.stat()
    return _cached(path, stat.st_mtime_ns, stat.st_size)


def load_template(doc_type: str, folder: Path | None = None) -> Template:
    """The template of ``doc_type`` (re-read when its file changes); NotFoundError naming the type.
    Without ``folder``: the district's copy in preference to the bundled one (:func:`_template_path`)."""
    path: Path | None = None
    if _TYPE_CODE.match(doc_type):
        path = (folder / f"{doc_type}.json") if folder is not None else _template_path(doc_type)
    if path is None or not path.is_file():
        known = "、".join(f"{t}（{title}）" for t, title in document_types(folder).items())
        raise NotFoundError(f"没有文书类型“{doc_type}”的模板。可用的文书类型：{known}。")
    return _load(path)


def document_types(folder: Path | None = None) -> dict[str, str]:
    """Type code → document name of every template in ``folder`` (by default the bundled types,
    each as the district's copy when there is one), in file-name order."""
    base = folder or templates_dir()
    out: dict[str, str] = {}
    for path in sorted(base.glob("*.json")):
        template = _load(path if folder is not None else _template_path(path.stem))
        out[template.type] = template.title
    return out
