"""Excel import and export of the personnel and certificate ledgers (人员台账 / 执法证台账).

Clerks already keep these ledgers in Excel, each in their own shape: title rows above the
header, their own words for the columns, dates typed five different ways, ID numbers that
Excel turned into numbers. The import is two steps so that nothing is written until the clerk
has seen what will happen:

* :func:`preview_import` reads the workbook (read-only, streaming), finds the header row,
  validates every row with the same rules as the member and certificate forms, and checks ID
  and certificate numbers for duplicates within the file and against the database. It writes
  nothing and returns an :class:`ImportPreview` listing the rows to import and the rows
  rejected, each with its Excel row number and a Chinese reason saying what to fix.
* :func:`commit_import` writes the valid rows through ``create_member`` / ``add_certificate``
  (so the flush hook audits every row). The caller wraps it in one unit of work: all or nothing.

One ledger row is one member; its certificate columns describe the member's 行政执法证, and a
法律职业资格证号 column adds a 法律职业资格证书.

:func:`export_ledgers` writes both ledgers to one workbook. Its 人员台账 sheet uses the
canonical column names, so an exported file imports back as it is (each member with the
current enforcement certificate and legal qualification); the 执法证台账 sheet lists every
certificate, coloured like the ledger in the program, for reading and printing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.certificates import Alert, CertificateInput, CertificateView, add_certificate, list_certificates
from app.certificates import validate as validate_certificate
from app.errors import Cancelled, ConflictError, DomainError, ValidationError
from app.personnel.idcard import normalize_id_number, normalize_phone
from app.personnel.labels import (
    CATEGORY_ALIASES,
    CATEGORY_LABELS,
    CERT_KIND_LABELS,
    CERT_STATE_LABELS,
    STATUS_LABELS,
    parse_category,
    parse_cert_state,
    parse_status,
)
from app.personnel.members import (
    MemberInput,
    MemberQuery,
    MemberView,
    count_members,
    create_member,
    search_members,
)
from app.personnel.members import validate as validate_member
from app.progress import Progress, step
from app.settings import Settings
from db.models import Certificate, Member, Squad
from db.models.personnel import CertificateKind, CertificateState, MemberStatus, StaffCategory

#: The issuer of every 法律职业资格证书; ledgers have no column for it.
LEGAL_ISSUER = "中华人民共和国司法部"

# ---------------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------------


class Column(StrEnum):
    """A ledger column the import understands; the value is the name the export writes."""

    NAME = "姓名"
    GENDER = "性别"
    ID_NUMBER = "身份证号"
    PHONE = "手机"
    CATEGORY = "人员类别"
    POSITION = "职务"
    UNIT = "所属分队"
    JOIN_DATE = "入职日期"
    STATUS = "状态"
    CERT_NO = "执法证号"
    ISSUER = "发证机关"
    SCOPE = "执法区域"
    VALID_FROM = "发证日期"
    VALID_TO = "有效期至"
    CERT_STATE = "执法证状态"
    LEGAL_NO = "法律职业资格证号"
    NOTE = "备注"


#: The words clerks use for each column (the canonical name is always accepted too).
COLUMN_ALIASES: dict[Column, tuple[str, ...]] = {
    Column.NAME: ("名字",),
    Column.GENDER: (),
    Column.ID_NUMBER: ("身份证", "身份证号码", "公民身份号码", "公民身份证号码", "证件号码(身份证)"),
    Column.PHONE: ("手机号", "手机号码", "联系电话", "电话", "联系方式"),
    Column.CATEGORY: ("类别", "编制类别", "身份", "人员身份", "人员性质"),
    Column.POSITION: ("岗位",),
    Column.UNIT: ("分队", "部门", "单位", "所在分队"),
    Column.JOIN_DATE: ("入职时间", "参加工作时间", "参加工作日期"),
    Column.STATUS: ("在岗状态", "人员状态"),
    Column.CERT_NO: ("行政执法证号", "执法证编号", "行政执法证编号", "执法证件号"),
    Column.ISSUER: ("发证单位",),
    Column.SCOPE: ("执法范围", "执法类别"),
    Column.VALID_FROM: ("有效期起", "有效期自", "发证时间"),
    Column.VALID_TO: ("有效期止", "到期日期", "到期时间", "有效期截止"),
    Column.CERT_STATE: ("证件状态",),
    Column.LEGAL_NO: ("法律职业资格证书编号", "法律职业资格证书号", "法律职业资格证编号"),
    Column.NOTE: ("说明",),
}
REQUIRED_COLUMNS = (Column.NAME, Column.ID_NUMBER, Column.CATEGORY)
_DATE_COLUMNS = (Column.JOIN_DATE, Column.VALID_FROM, Column.VALID_TO)

#: The header is looked for in this many rows from the top of each sheet.
HEADER_SEARCH_ROWS = 30
#: So many empty rows in a row end the sheet: a sheet formatted down to row 1,048,576 must not
#: take minutes to read, and no ledger has a gap this long in the middle.
MAX_EMPTY_RUN = 1000
#: Rows whose first filled cell starts with one of these are notes, totals or signatures.
NOTE_PREFIXES = ("注", "备注", "说明", "填表说明", "合计", "小计", "总计", "制表", "填表人", "审核", "以下")
#: Cells meaning "no date" (e.g. 长期 in 有效期至).
_NO_DATE = frozenset({"", "-", "—", "/", "无", "长期", "长期有效", "永久"})
#: Keys per IN (...) query: under the 999 bound parameters an old SQLite allows.
_CHUNK = 500
#: Whole numbers in a date column read as Excel day serials only in this range (1950–2100), so
#: that a bare year such as 2024 is reported, not taken for 1905-07-16.
_SERIALS = range(18264, 73051)

_DATE_TEXT = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
_DATE_DIGITS = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
#: Row-number columns: not data, and not worth listing among the columns left out.
_SERIAL_HEADERS = frozenset({"序号", "序", "编号", "No.", "NO."})
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls and password-protected workbooks are OLE files, not zip


def _key(text: str) -> str:
    """A header cell reduced to what matters: no spaces or line breaks, no required-field stars."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", text).strip("*:").replace("*", "")


_HEADER_LOOKUP: dict[str, Column] = {
    _key(word): col for col, words in COLUMN_ALIASES.items() for word in (col.value, *words)
}


def _column_for(header: str) -> Column | None:
    key = _key(header)
    found = _HEADER_LOOKUP.get(key)
    if found is None and key.endswith(")"):
        # "入职日期(年月日)": a hint in brackets after a known name
        found = _HEADER_LOOKUP.get(re.sub(r"\(.*\)$", "", key))
    return found


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRow:
    row: int  # the Excel row number, as Excel shows it
    name: str  # the name cell, if any
    reason: str  # Chinese, says what to fix; several reasons joined with "；"


@dataclass(frozen=True)
class CertificateRow:
    """A certificate read from a ledger row, before its member exists."""

    kind: CertificateKind
    number: str
    issuer: str = ""
    scope: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    state: CertificateState = CertificateState.VALID

    def for_member(self, member_id: str) -> CertificateInput:
        return CertificateInput(
            member_id=member_id,
            kind=self.kind,
            number=self.number,
            issuer=self.issuer,
            scope=self.scope,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            state=self.state,
        )


@dataclass(frozen=True)
class ParsedRow:
    row: int
    member: MemberInput
    certificates: tuple[CertificateRow, ...] = ()


@dataclass(frozen=True)
class ImportPreview:
    path: Path
    sheet: str
    header_row: int
    rows: list[ParsedRow]
    rejected: list[RejectedRow]
    skipped: int  # empty rows, headings and note rows between the header and the last data row
    #: Header cells of the file that were not imported (e.g. 政治面貌), to show the clerk.
    ignored_columns: tuple[str, ...] = ()

    @property
    def certificate_count(self) -> int:
        return sum(len(r.certificates) for r in self.rows)


@dataclass(frozen=True)
class ImportResult:
    members: int
    certificates: int


# ---------------------------------------------------------------------------------------------
# Reading cells
# ---------------------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as text; whole numbers lose Excel's ".0" (a certificate number typed as a number)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}"
    return str(value).strip()


def _name(value: object) -> str:
    # Ledgers pad two-character names to line up with three-character ones: "张　三".
    return _CJK_GAP.sub("", " ".join(_text(value).split()))


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_date(value: object, column: str) -> dt.date | None:
    """A date cell: a real Excel date, or text such as 2024-03-01, 2024.3.1, 2024/3/1,
    2024年3月1日 or 20240301. ``column`` is the header as the file spells it, for the message."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError(f"“{column}”一栏的“{value}”不是日期，请写成 2024-03-01 这样的格式。")
        number = int(value)
        if number in _SERIALS:
            # A date cell whose date format was lost shows Excel's day serial (45352 = 2024-03-01).
            return dt.date(1899, 12, 30) + dt.timedelta(days=number)
        text = str(number)  # 20240301 typed as a number
    else:
        text = _TIME_SUFFIX.sub("", unicodedata.normalize("NFKC", _text(value)).strip()).replace(" ", "")
    if text in _NO_DATE:
        return None
    match = _DATE_TEXT.match(text) or _DATE_DIGITS.match(text)
    if match is None:
        raise ValidationError(f"“{column}”一栏的“{text}”不是日期，请写成 2024-03-01 这样的格式。")
    year, month, day = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValidationError(f"“{column}”一栏的日期 {year}-{month:02d}-{day:02d} 不存在，请核对。") from None


def _accepted_categories() -> str:
    words = [CATEGORY_LABELS[c] for c in CATEGORY_ALIASES]
    words += [w for aliases in CATEGORY_ALIASES.values() for w in aliases if w not in words]
    return "、".join(words)


def _max_len(column: str, model: type[Member] | type[Certificate] = Member) -> int:
    length = getattr(model.__table__.c[column].type, "length", None)
    return int(length) if length else 10_000


# ---------------------------------------------------------------------------------------------
# Preview
# ---------------------------------------------------------------------------------------------


@dataclass
class _Header:
    row: int  # the Excel row of the header (the first one, when it spans two rows)
    data_from: int  # the first Excel row below the header
    columns: dict[int, Column]  # 0-based column index → field
    labels: dict[Column, str]  # field → the header text as the file spells it, for messages
    ignored: tuple[str, ...]
    first_col: int  # the leftmost column of the table, 0-based


@dataclass
class _Draft:
    """One ledger row on its way through validation."""

    row: int
    name: str
    errors: list[str] = field(default_factory=list)
    id_number: str = ""
    member: MemberInput | None = None
    certificates: tuple[CertificateRow, ...] = ()


def _match_header(cells: Sequence[object]) -> tuple[dict[int, Column], list[str]]:
    found: dict[int, Column] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        if _is_blank(cell) or not isinstance(cell, str):
            continue
        col = _column_for(cell)
        if col is None or col in found.values():
            if _key(cell) not in _SERIAL_HEADERS:
                ignored.append(cell.strip())  # unknown, or a second column for the same field
        else:
            found[i] = col
    return found, ignored


_Row = tuple[int, Sequence[object]]


def _find_header(rows: Iterator[_Row]) -> tuple[_Header, list[_Row]] | None:
    """The first row naming at least the name and ID columns, within the first rows of a sheet.

    A header may span two rows (a merged "执法证信息" above 发证日期 / 有效期至): the row below
    is merged in when it names two or more further columns. Returns the header and the rows read
    ahead that are still to be processed.
    """
    for number, cells in rows:
        if number > HEADER_SEARCH_ROWS:
            return None
        found, ignored = _match_header(cells)
        if Column.NAME not in found.values() or Column.ID_NUMBER not in found.values():
            continue
        labels = {col: _key(str(cells[i])) for i, col in found.items()}
        data_from = number + 1
        below = next(rows, None)
        ahead = [below] if below is not None else []
        if below is not None:
            more, more_ignored = _match_header(below[1])
            new = {i: c for i, c in more.items() if i not in found and c not in found.values()}
            if len(new) >= 2:
                found.update(new)
                labels.update({c: _key(str(below[1][i])) for i, c in new.items()})
                ignored += [t for t in more_ignored if t not in ignored]
                data_from = number + 2
                ahead = []
        first = min(i for i, c in enumerate(cells) if not _is_blank(c))
        return _Header(number, data_from, found, labels, tuple(ignored), first), ahead
    return None


def _open_file(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ValidationError(f"找不到文件“{path}”，请确认路径是否正确。") from None
    except IsADirectoryError:
        raise ValidationError(f"“{path}”是一个文件夹，不是有效的 Excel 文件。请选择 .xlsx 文件。") from None
    except OSError as exc:
        raise ValidationError(f"无法打开文件“{path}”：{exc.strerror or exc}。") from None


def _open_workbook(path: Path, file: BinaryIO) -> Any:
    """The workbook in read-only mode, or ValidationError saying why it cannot be read."""
    magic = file.read(4)
    file.seek(0)
    if magic == _OLE_MAGIC:
        raise ValidationError(
            f"“{path.name}”不是有效的 Excel 文件（.xlsx）：它是旧版 .xls 格式或设了打开密码。"
            "请在 Excel 中取消密码并“另存为”Excel 工作簿（.xlsx）后再导入。"
        )
    try:
        # A file object, not the name: openpyxl refuses names not ending in .xlsx, even for a
        # real workbook saved as 台账.XLSX.bak; the content is what counts.
        return load_workbook(file, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises a zoo of types for damaged or foreign files
        raise ValidationError(
            f"“{path.name}”不是有效的 Excel 文件（.xlsx），无法读取（{exc.__class__.__name__}）。"
            "请在 Excel 中打开它并“另存为”Excel 工作簿（.xlsx）后再导入。"
        ) from exc


def preview_import(
    session: Session, actor: Actor, path: Path, progress: Progress | None = None
) -> ImportPreview:
    """Read and check a member/certificate ledger; write nothing.

    Raises ValidationError when the file is not a readable workbook, has no recognisable header
    or lacks a required column; problems of single rows are returned as ``rejected``.
    """
    require(actor, Permission.IMPORT_LEDGER)
    with _open_file(path) as file:
        workbook = _open_workbook(path, file)
        try:
            sheet, header, drafts, skipped = _read(workbook, path, progress)
        except (zipfile.BadZipFile, KeyError, EOFError, SyntaxError) as exc:
            # read-only mode parses each sheet lazily, so a damaged sheet shows up only here
            raise ValidationError(
                f"“{path.name}”不是有效的 Excel 文件（.xlsx），内容已损坏（{exc.__class__.__name__}）。"
                "请在 Excel 中打开它并“另存为”一份新的 .xlsx 后再导入。"
            ) from exc
        finally:
            workbook.close()
    _check_duplicates(session, drafts)
    rows = [ParsedRow(d.row, d.member, d.certificates) for d in drafts if not d.errors and d.member]
    rejected = [RejectedRow(d.row, d.name, _join(d.errors)) for d in drafts if d.errors]
    return ImportPreview(path, sheet, header.row, rows, rejected, skipped, header.ignored)


def _join(reasons: list[str]) -> str:
    """ "A。；B。" reads badly: one full stop at the end."""
    return "；".join(r.rstrip("。") for r in reasons) + "。"


def _read(workbook: Any, path: Path, progress: Progress | None) -> tuple[str, _Header, list[_Draft], int]:
    sheets: list[Any] = list(workbook.worksheets)
    # Clerks keep 填表说明 or old years on other sheets: the first sheet with a header wins.
    for ws in sheets:
        rows: Iterator[_Row] = enumerate(ws.iter_rows(values_only=True), start=1)
        found = _find_header(rows)
        if found is None:
            continue
        header, ahead = found
        missing = [c for c in REQUIRED_COLUMNS if c not in header.columns.values()]
        if missing:
            raise ValidationError(
                f"工作表“{ws.title}”第 {header.row} 行的表头缺少{'、'.join(f'“{c.value}”' for c in missing)}列。"
                f"{_column_help(missing)}"
            )
        total = ws.max_row or 0
        drafts, skipped = _read_rows(itertools.chain(ahead, rows), header, total, progress)
        return ws.title, header, drafts, skipped
    names = "、".join(f"“{ws.title}”" for ws in sheets)
    raise ValidationError(
        f"在“{path.name}”的工作表 {names} 的前 {HEADER_SEARCH_ROWS} 行中没有找到表头。"
        "表头应是含有“姓名”和“身份证号”的一行。"
    )


def _column_help(columns: Iterable[Column]) -> str:
    parts = [
        f"“{c.value}”列也可叫{'、'.join(f'“{a}”' for a in COLUMN_ALIASES[c])}"
        for c in columns
        if COLUMN_ALIASES[c]
    ]
    return ("；".join(parts) + "。") if parts else ""


def _read_rows(
    rows: Iterator[_Row], header: _Header, total: int, progress: Progress | None
) -> tuple[list[_Draft], int]:
    drafts: list[_Draft] = []
    skipped = empty_run = 0
    for number, cells in rows:
        if number < header.data_from:
            continue  # the second header row, when the header spans two
        if number % 100 == 0:
            step(progress, number, total, f"正在读取第 {number} 行")
        filled = [(i, c) for i, c in enumerate(cells) if not _is_blank(c)]
        if not filled:
            empty_run += 1
            if empty_run >= MAX_EMPTY_RUN:
                break
            continue
        # Empty rows count as skipped only when data follows, not the sheet's formatted tail.
        skipped += empty_run
        empty_run = 0
        if _is_note(cells, filled, header):
            skipped += 1
            continue
        drafts.append(_parse_row(number, cells, header))
    return drafts, skipped


def _is_note(cells: Sequence[object], filled: list[tuple[int, object]], header: _Header) -> bool:
    """Headings ("一分队"), notes ("注：…"), totals and signature lines — rows that are no member."""
    if not any(i in header.columns for i, _ in filled):
        return True  # only cells outside the table
    if len(filled) == 1 and filled[0][0] in (0, header.first_col):
        return True  # a group heading, or a pre-numbered empty line
    name_or_id = [i for i, c in header.columns.items() if c in (Column.NAME, Column.ID_NUMBER)]
    if all(i >= len(cells) or _is_blank(cells[i]) for i in name_or_id):
        first = unicodedata.normalize("NFKC", _text(filled[0][1])).lstrip()
        return first.startswith(NOTE_PREFIXES)
    return False


def _parse_row(number: int, cells: Sequence[object], header: _Header) -> _Draft:
    raw: dict[Column, object] = {c: cells[i] if i < len(cells) else None for i, c in header.columns.items()}

    def text(col: Column) -> str:
        return _text(raw.get(col))

    draft = _Draft(number, _name(raw.get(Column.NAME)))
    errors = draft.errors
    label = header.labels

    def too_long(col: Column, value: str, limit: int) -> None:
        if len(value) > limit:
            errors.append(f"“{label[col]}”过长（最多 {limit} 个字），请核对。")

    # Each field is checked on its own so that one row reports every problem at once; the
    # messages are those of the member and certificate forms (same functions).
    member_ok = True
    if not draft.name:
        errors.append("请填写姓名。")
        member_ok = False
    try:
        draft.id_number = normalize_id_number(raw.get(Column.ID_NUMBER))
    except ValidationError as exc:
        errors.append(exc.message)
        member_ok = False
    try:
        phone = normalize_phone(raw.get(Column.PHONE))
    except ValidationError as exc:
        errors.append(exc.message)
        phone, member_ok = "", False
    category_text = text(Column.CATEGORY)
    category = parse_category(unicodedata.normalize("NFKC", category_text)) if category_text else None
    if category is None:
        shown = f"“{category_text}”无法识别" if category_text else "未填写"
        errors.append(f"人员类别{shown}，可填写：{_accepted_categories()}。")
        member_ok = False
    status_text = text(Column.STATUS)
    status = parse_status(status_text) if status_text else MemberStatus.ON_DUTY
    if status is None:
        errors.append(
            f"状态“{status_text}”无法识别，可填写：{'、'.join(STATUS_LABELS.values())}（留空即为在岗）。"
        )
        member_ok = False
    dates: dict[Column, dt.date | None] = {}
    for col in _DATE_COLUMNS:
        try:
            dates[col] = parse_date(raw.get(col), label.get(col, col.value))
        except ValidationError as exc:
            errors.append(exc.message)
            if col is Column.JOIN_DATE:
                member_ok = False
    gender = text(Column.GENDER).removesuffix("性")
    for col in (Column.POSITION, Column.UNIT):
        too_long(col, text(col), _max_len("position" if col is Column.POSITION else "unit"))
    legal_no = text(Column.LEGAL_NO)
    too_long(Column.LEGAL_NO, legal_no, _max_len("legal_qualification_no"))

    if member_ok and category is not None and status is not None:
        try:
            draft.member = validate_member(
                MemberInput(
                    name=draft.name,
                    id_number=draft.id_number,
                    category=category,
                    phone=phone,
                    gender=gender,
                    position=text(Column.POSITION),
                    unit=text(Column.UNIT),
                    join_date=dates.get(Column.JOIN_DATE),
                    status=status,
                    legal_qualification_no=legal_no,
                    note=text(Column.NOTE),
                )
            )
        except ValidationError as exc:
            errors.append(exc.message)

    draft.certificates = tuple(_certificates(raw, header, category, dates, legal_no, errors))
    return draft


def _certificates(
    raw: dict[Column, object],
    header: _Header,
    category: StaffCategory | None,
    dates: dict[Column, dt.date | None],
    legal_no: str,
    errors: list[str],
) -> Iterator[CertificateRow]:
    """The certificates a row describes; problems go to ``errors``.

    A certificate number on a 辅助人员 or 公安民警 row is rejected rather than kept as "其他证件":
    neither may hold the squad's 行政执法证 (APL 42), so the row is wrong in one of two ways —
    the category is mistyped (and quietly filing the certificate as "other" would leave a real
    officer unable to enforce), or the column holds some other card, which belongs in 备注.
    The clerk has to decide which; the import cannot.
    """
    label = header.labels
    number = _text(raw.get(Column.CERT_NO))
    if not number:
        if any(dates.get(c) for c in (Column.VALID_FROM, Column.VALID_TO)):
            errors.append(
                f"填写了执法证有效期，但没有填写“{label.get(Column.CERT_NO, Column.CERT_NO.value)}”。"
            )
    elif category in (StaffCategory.AUXILIARY, StaffCategory.POLICE):
        errors.append(
            f"{CATEGORY_LABELS[category]}不能持有行政执法证：请核对人员类别，"
            f"或把“{label[Column.CERT_NO]}”一栏的号码移到备注中。"
        )
    else:
        state_text = _text(raw.get(Column.CERT_STATE))
        state = parse_cert_state(state_text) if state_text else CertificateState.VALID
        if state is None:
            errors.append(
                f"执法证状态“{state_text}”无法识别，可填写：{'、'.join(CERT_STATE_LABELS.values())}（留空即为有效）。"
            )
        issuer, scope = _text(raw.get(Column.ISSUER)), _text(raw.get(Column.SCOPE))
        limits = (
            (Column.CERT_NO, number, "number"),
            (Column.ISSUER, issuer, "issuer"),
            (Column.SCOPE, scope, "scope"),
        )
        long = [
            f"“{label[c]}”过长（最多 {_max_len(k, Certificate)} 个字），请核对。"
            for c, v, k in limits
            if len(v) > _max_len(k, Certificate)
        ]
        errors.extend(long)
        dates_ok = Column.VALID_FROM in dates and Column.VALID_TO in dates  # else already reported
        if state is not None and dates_ok and not long:
            data = CertificateInput(
                member_id="",  # the member does not exist yet; commit_import fills it in
                kind=CertificateKind.ENFORCEMENT,
                number=number,
                issuer=issuer,
                scope=scope,
                valid_from=dates.get(Column.VALID_FROM),
                valid_to=dates.get(Column.VALID_TO),
                state=state,
            )
            try:
                c = validate_certificate(data)
            except ValidationError as exc:
                errors.append(exc.message)
            else:
                yield CertificateRow(c.kind, c.number, c.issuer, c.scope, c.valid_from, c.valid_to, c.state)
    if legal_no and len(legal_no) <= _max_len("legal_qualification_no"):
        yield CertificateRow(CertificateKind.LEGAL, legal_no, issuer=LEGAL_ISSUER)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _registered_members(session: Session, id_numbers: Iterable[str]) -> dict[str, str]:
    """ID number → name of the live members holding them."""
    keys = sorted(set(id_numbers))
    out: dict[str, str] = {}
    for chunk in _chunks(keys):
        q = select(Member.id_number, Member.name).where(
            Member.deleted.is_(False), Member.id_number.in_(chunk)
        )
        out.update({n: name for n, name in session.execute(q)})
    return out


def _registered_certificates(
    session: Session, keys: Iterable[tuple[CertificateKind, str]]
) -> dict[tuple[CertificateKind, str], str]:
    """(kind, number) → holder's name, for the live certificates among ``keys``."""
    wanted = set(keys)
    out: dict[tuple[CertificateKind, str], str] = {}
    for chunk in _chunks(sorted({n for _, n in wanted})):
        q = (
            select(Certificate.kind, Certificate.number, Member.name)
            .join(Member, Member.id == Certificate.member_id)
            .where(Certificate.deleted.is_(False), Certificate.number.in_(chunk))
        )
        for kind, number, name in session.execute(q):
            key = (CertificateKind(kind), number)
            if key in wanted:
                out[key] = name
    return out


def _rows_text(rows: list[int], names: dict[int, str]) -> str:
    return "、".join(f"第 {r} 行" + (f"（{names[r]}）" if names.get(r) else "") for r in rows)


def _check_duplicates(session: Session, drafts: list[_Draft]) -> None:
    """ID and certificate numbers repeated within the file, or already in the database.

    Every row of a repeated ID number is rejected, not only the later ones: the file does not
    say which of the rows is right, and importing the first would hide the mistake.
    """
    names = {d.row: d.name for d in drafts}
    by_id: dict[str, list[int]] = {}
    by_cert: dict[tuple[CertificateKind, str], list[int]] = {}
    for d in drafts:
        if d.id_number:
            by_id.setdefault(d.id_number, []).append(d.row)
        for c in d.certificates:
            by_cert.setdefault((c.kind, c.number), []).append(d.row)
    registered = _registered_members(session, by_id)
    certs = _registered_certificates(session, by_cert)
    for d in drafts:
        if d.id_number:
            others = [r for r in by_id[d.id_number] if r != d.row]
            if others:
                d.errors.append(
                    f"身份证号 {d.id_number} 与{_rows_text(others, names)}重复：同一人只能有一行，请核对后删去多余的行。"
                )
            if d.id_number in registered:
                d.errors.append(
                    f"身份证号 {d.id_number} 已登记在队员“{registered[d.id_number]}”名下，不能重复登记。"
                )
        for c in d.certificates:
            word = CERT_KIND_LABELS[c.kind]
            others = [r for r in by_cert[(c.kind, c.number)] if r != d.row]
            if others:
                d.errors.append(f"{word}编号“{c.number}”与{_rows_text(others, names)}重复，请核对。")
            if (c.kind, c.number) in certs:
                d.errors.append(
                    f"{word}编号“{c.number}”已经登记在队员“{certs[(c.kind, c.number)]}”名下，请核对。"
                )


# ---------------------------------------------------------------------------------------------
# Commit
# ---------------------------------------------------------------------------------------------


def commit_import(
    session: Session, actor: Actor, preview: ImportPreview, progress: Progress | None = None
) -> ImportResult:
    """Write the valid rows of ``preview``. Call inside one unit of work: on any error (a
    conflict, a cancel) the caller's transaction rolls back and nothing is kept.

    Raises ConflictError when an ID or certificate number was registered since the preview.
    """
    require(actor, Permission.IMPORT_LEDGER)
    taken = _registered_members(session, [r.member.id_number for r in preview.rows])
    if taken:
        listed = "、".join(f"{n}（{name}）" for n, name in list(taken.items())[:5])
        more = f"等 {len(taken)} 人" if len(taken) > 5 else ""
        raise ConflictError(
            f"预览之后，身份证号 {listed}{more}已被登记。未导入任何数据，请重新预览后再导入。"
        )
    certs = _registered_certificates(
        session, [(c.kind, c.number) for r in preview.rows for c in r.certificates]
    )
    if certs:
        listed = "、".join(f"“{n}”（{name}）" for (_, n), name in list(certs.items())[:5])
        raise ConflictError(f"预览之后，证件编号 {listed}已被登记。未导入任何数据，请重新预览后再导入。")
    total = len(preview.rows)
    certificates = 0
    # Each flush costs an audit-chain round trip. The services flush every member and certificate
    # themselves, so the only thing autoflush would add is one more flush per certificate for its
    # pending "issued" event; that event rides along with the next member's flush instead.
    with session.no_autoflush:
        for i, row in enumerate(preview.rows):
            step(progress, i, total, f"正在导入 {row.member.name}")
            try:
                member = create_member(session, actor, row.member)
                for cert in row.certificates:
                    add_certificate(session, actor, cert.for_member(member.id))
                    certificates += 1
            except Cancelled:
                raise
            except DomainError as exc:
                # name the row; the caller rolls the whole import back
                raise type(exc)(f"第 {row.row} 行（{row.member.name}）：{exc.message}") from exc
    session.flush()
    step(progress, total, total, "导入完成")
    return ImportResult(members=total, certificates=certificates)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

MEMBER_SHEET = "人员台账"
CERT_SHEET = "执法证台账"

#: Column order and widths (in Excel character units) of the two sheets.
MEMBER_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6),
    (Column.NAME, 10),
    (Column.GENDER, 6),
    (Column.ID_NUMBER, 21),
    (Column.PHONE, 14),
    (Column.CATEGORY, 22),
    (Column.POSITION, 12),
    (Column.UNIT, 12),
    (Column.JOIN_DATE, 12),
    (Column.STATUS, 8),
    (Column.CERT_NO, 18),
    (Column.ISSUER, 20),
    (Column.SCOPE, 30),
    (Column.VALID_FROM, 12),
    (Column.VALID_TO, 12),
    (Column.CERT_STATE, 10),
    (Column.LEGAL_NO, 22),
    (Column.NOTE, 30),
)
CERT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6),
    ("姓名", 10),
    ("所属分队", 12),
    ("证件类型", 16),
    ("证件编号", 22),
    ("发证机关", 20),
    ("执法区域", 30),
    ("发证日期", 12),
    ("有效期至", 12),
    ("状态", 8),
    ("最近年审", 12),
    ("提醒", 28),
)
_FILLS = {
    Alert.RED: (PatternFill("solid", fgColor="FFC7CE"), Font(color="9C0006")),
    Alert.AMBER: (PatternFill("solid", fgColor="FFEB9C"), Font(color="9C5700")),
}
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_DATE_FORMAT = "yyyy-mm-dd"
_TEXT_FORMAT = "@"
_FIRST_DATA_ROW = 4  # title, subtitle, header


def export_ledgers(
    session: Session, actor: Actor, settings: Settings, path: Path, today: dt.date | None = None
) -> int:
    """Write the member and certificate ledgers to ``path`` (.xlsx); return the number of members.

    ID numbers are full only for roles allowed to see them (masked ones cannot be imported back).
    The file is written beside the target and renamed over it, so a failed export never leaves
    half a workbook where the clerk expects the last good one.
    """
    require(actor, Permission.EXPORT_LEDGER)
    if path.suffix.lower() != ".xlsx":  # what openpyxl writes; Excel refuses it under another name
        raise ValidationError(f"导出文件名应以 .xlsx 结尾，如“人员台账.xlsx”（现为“{path.name}”）。")
    today = today or dt.date.today()
    members = search_members(session, actor, MemberQuery(), limit=max(1, count_members(session, actor)))
    certs = list_certificates(session, actor, settings, today=today)
    squad = _squad_name(session)
    wb = Workbook()
    _register_styles(wb)
    ws_members = wb.active
    ws_members.title = MEMBER_SHEET
    _member_sheet(ws_members, members, certs, squad, actor, today)
    _cert_sheet(wb.create_sheet(CERT_SHEET), members, certs, squad, settings, today)
    _save(wb, path)
    return len(members)


def _squad_name(session: Session) -> str:
    squad_id = session.info.get("squad_id")
    squad = session.get(Squad, squad_id) if squad_id else None
    return squad.name if squad is not None else ""


def _start_sheet(ws: Worksheet, columns: Sequence[tuple[str, float]], title: str, subtitle: str) -> None:
    last = len(columns)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    ws.cell(1, 1).font = Font(bold=True, size=16)
    ws.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([subtitle])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)
    ws.append([str(name) for name, _ in columns])
    for i, (_, width) in enumerate(columns, start=1):
        cell = ws.cell(3, i)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    # Scrolling keeps the header and the names in view; printing repeats the header on every page.
    ws.freeze_panes = ws.cell(_FIRST_DATA_ROW, 3)
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


#: Cell styles registered once per workbook: assigning a named style is several times cheaper
#: than setting border and number format cell by cell (openpyxl hashes each style object).
_STYLE_CELL, _STYLE_DATE, _STYLE_TEXT = "squaddesk-cell", "squaddesk-date", "squaddesk-text"


def _register_styles(wb: Workbook) -> None:
    wb.add_named_style(NamedStyle(name=_STYLE_CELL, border=_BORDER))
    wb.add_named_style(NamedStyle(name=_STYLE_DATE, border=_BORDER, number_format=_DATE_FORMAT))
    wb.add_named_style(NamedStyle(name=_STYLE_TEXT, border=_BORDER, number_format=_TEXT_FORMAT))


def _put(ws: Worksheet, row: int, values: Sequence[object], text_columns: Iterable[int] = ()) -> None:
    text = set(text_columns)
    for i, value in enumerate(values, start=1):
        # None, not "": Excel counts a cell holding an empty string as filled (COUNTA, Ctrl+↓).
        cell = ws.cell(row, i, None if value == "" else value)
        if isinstance(value, dt.date):
            cell.style = _STYLE_DATE
        elif i in text:
            # Stored as text and formatted as text, so that Excel neither turns an ID number into
            # 4.40106E+17 nor does so when the clerk later retypes the cell.
            cell.style = _STYLE_TEXT
        else:
            cell.style = _STYLE_CELL


def _position(columns: Sequence[tuple[str, float]], name: str) -> int:
    """The 1-based Excel column of ``name``."""
    return next(i for i, (n, _) in enumerate(columns, start=1) if n == name)


def _latest_enforcement(certs: Iterable[CertificateView]) -> CertificateView | None:
    enforcement = [c for c in certs if c.kind is CertificateKind.ENFORCEMENT]
    return max(enforcement, key=lambda c: c.valid_to or dt.date.min, default=None)


def _member_sheet(
    ws: Worksheet,
    members: list[MemberView],
    certs: list[CertificateView],
    squad: str,
    actor: Actor,
    today: dt.date,
) -> None:
    by_member: dict[str, list[CertificateView]] = {}
    for c in certs:
        by_member.setdefault(c.member_id, []).append(c)
    subtitle = f"导出日期：{today:%Y-%m-%d}　共 {len(members)} 人　导出人：{actor.display_name}"
    _start_sheet(ws, MEMBER_COLUMNS, f"{squad}人员台账", subtitle)
    text_columns = [
        _position(MEMBER_COLUMNS, c)
        for c in (Column.ID_NUMBER, Column.PHONE, Column.CERT_NO, Column.LEGAL_NO)
    ]
    valid_to_col = _position(MEMBER_COLUMNS, Column.VALID_TO)
    for n, m in enumerate(members, start=1):
        cert = _latest_enforcement(by_member.get(m.id, ()))
        row = _FIRST_DATA_ROW + n - 1
        _put(
            ws,
            row,
            [
                n,
                m.name,
                m.gender,
                m.id_number,
                m.phone,
                CATEGORY_LABELS[m.category],
                m.position,
                m.unit,
                m.join_date,
                STATUS_LABELS[m.status],
                cert.number if cert else "",
                cert.issuer if cert else "",
                cert.scope if cert else "",
                cert.valid_from if cert else None,
                cert.valid_to if cert else None,
                CERT_STATE_LABELS[cert.state] if cert else "",
                m.legal_qualification_no,
                m.note,
            ],
            text_columns,
        )
        if cert is not None and cert.alert in _FILLS:
            fill, font = _FILLS[cert.alert]
            ws.cell(row, valid_to_col).fill = fill
            ws.cell(row, valid_to_col).font = font
    ws.auto_filter.ref = f"A3:{get_column_letter(len(MEMBER_COLUMNS))}{3 + len(members)}"


def _cert_sheet(
    ws: Worksheet,
    members: list[MemberView],
    certs: list[CertificateView],
    squad: str,
    settings: Settings,
    today: dt.date,
) -> None:
    units = {m.id: m.unit for m in members}
    subtitle = (
        f"导出日期：{today:%Y-%m-%d}　共 {len(certs)} 本　"
        f"红色：已过期、{settings.cert_urgent_days} 天内到期或暂扣/注销/挂失；"
        f"黄色：{settings.cert_warn_days} 天内到期、尚未生效或年审逾期"
    )
    _start_sheet(ws, CERT_COLUMNS, f"{squad}执法证台账", subtitle)
    for n, c in enumerate(certs, start=1):
        row = _FIRST_DATA_ROW + n - 1
        _put(
            ws,
            row,
            [
                n,
                c.member_name,
                units.get(c.member_id, ""),
                c.kind_label,
                c.number,
                c.issuer,
                c.scope,
                c.valid_from,
                c.valid_to,
                c.state_label,
                c.last_review,
                c.alert_text,
            ],
            text_columns=[_position(CERT_COLUMNS, "证件编号")],
        )
        if c.alert in _FILLS:
            fill, font = _FILLS[c.alert]
            for i in range(1, len(CERT_COLUMNS) + 1):
                ws.cell(row, i).fill = fill
                ws.cell(row, i).font = font
    ws.auto_filter.ref = f"A3:{get_column_letter(len(CERT_COLUMNS))}{3 + len(certs)}"


def _save(wb: Workbook, path: Path) -> None:
    if not path.parent.is_dir():
        raise ValidationError(f"文件夹“{path.parent}”不存在，请另选保存位置。")
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        wb.save(tmp)
        os.replace(tmp, path)
    except PermissionError as exc:
        raise DomainError(
            f"无法写入“{path.name}”：文件可能正在 Excel 中打开，或该文件夹没有写权限。请关闭该文件后重试。"
        ) from exc
    except OSError as exc:
        raise DomainError(f"无法写入“{path}”：{exc.strerror or exc}。请换一个保存位置。") from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
