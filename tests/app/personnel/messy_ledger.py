"""Builds, at test time, a member ledger as clerks really keep it (no binary fixture in git).

Title rows above the header, a 填表说明 sheet in front, header words that differ from ours
(with stars, spaces and line breaks in them), dates as Excel dates and as four kinds of text,
a padded two-character name, group headings, notes, a totals line — and one row for every
reason the import must reject a row. :class:`MessyLedger` says what the import should find.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from app.personnel.idcard import check_digit

#: 越秀区: differs from the demo squad's 440106, so the CLI tests never collide with demo IDs.
AREA = "440104"

HEADER = [
    "序号", "*名字", "性别", "公民身份\n号码", "联系 电话", "身份", "岗位", "部门", "参加工作时间",
    "在岗状态", "政治面貌", "行政执法证号", "发证机关", "有效期自", "有效期止", "法律职业资格证号", "备注",
]  # fmt: skip
#: The test's short names for the columns above.
KEYS = [
    "seq", "name", "gender", "id", "phone", "category", "position", "unit", "join",
    "status", "party", "cert", "issuer", "from", "to", "legal", "note",
]  # fmt: skip


def make_id(born: str, seq: int) -> str:
    """A valid ID number; odd ``seq`` = male."""
    first17 = f"{AREA}{born}{seq:03d}"
    return first17 + check_digit(first17)


def with_wrong_check_digit(born: str, seq: int) -> str:
    valid = make_id(born, seq)
    return valid[:17] + ("1" if valid[17] != "1" else "2")


def id_ending_in_x(born: str) -> str:
    seq = next(s for s in range(1, 1000) if check_digit(f"{AREA}{born}{s:03d}") == "X")
    return make_id(born, seq)


@dataclass
class MessyLedger:
    path: Path
    sheet: str = "2026年人员台账"
    header_row: int = 3
    #: name → Excel row of the rows that must be imported
    valid: dict[str, int] = field(default_factory=dict)
    #: case → (Excel row, fragments the reason must contain)
    rejected: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    skipped: int = 0
    certificates: int = 0  # in the valid rows
    #: the test registers this member before the preview; the row with the same ID is rejected
    db_duplicate: tuple[str, str] = ("吴刚", make_id("19880808", 11))
    ids: dict[str, str] = field(default_factory=dict)  # name → ID number of the valid rows


def build_messy_ledger(path: Path) -> MessyLedger:
    spec = MessyLedger(path)
    wb = Workbook()
    help_sheet = wb.active
    help_sheet.title = "填表说明"
    help_sheet["A1"] = "填表说明：身份证号一列请设为文本格式；日期写成 2024-03-01。"
    ws = wb.create_sheet(spec.sheet)
    ws["A1"] = "车陂街综合行政执法队人员台账"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws["A2"] = "制表日期：2026年1月6日"
    ws.append(HEADER)
    seq = 0
    last_row = spec.header_row

    def add(**values: object) -> int:
        nonlocal last_row
        last_row += 1
        for key, value in values.items():
            ws.cell(last_row, KEYS.index(key) + 1, value)
        return last_row

    def person(name: str, id_number: object, category: str = "公务员", **values: object) -> int:
        nonlocal seq
        seq += 1
        return add(seq=seq, name=name, id=id_number, category=category, **values)

    def skip(**values: object) -> None:
        add(**values)  # no values: an empty row in the middle of the data
        spec.skipped += 1

    def valid(name: str, id_number: str, certs: int = 0, **values: object) -> None:
        clean = name.replace("\u3000", "")  # the import removes the padding
        spec.valid[clean] = person(name, id_number, **values)
        spec.ids[clean] = id_number.upper()
        spec.certificates += certs

    def reject(case: str, reasons: tuple[str, ...], name: str, id_number: object, **values: object) -> None:
        spec.rejected[case] = (person(name, id_number, **values), reasons)

    skip(seq="一分队")  # a group heading, only in the first column
    valid(
        "张伟",
        make_id("19850312", 31),
        certs=1,
        gender="男",
        phone="13800138000",
        position="分队长",
        unit="一分队",
        join=dt.datetime(2015, 7, 1),
        cert="粤执440104001",
        issuer="广州市人民政府",
        **{"from": dt.datetime(2024, 3, 1), "to": dt.datetime(2029, 2, 28)},
    )
    valid(
        "李\u3000娜",
        make_id("19900520", 42),
        certs=2,
        category="参公",
        gender="女",
        unit="一分队",
        join="2016.3.1",
        cert="粤执440104002",
        **{"from": "2024.3.1", "to": "2029/2/28"},
        legal="A20191234567890",
    )
    valid(
        "王强",
        make_id("19920101", 53),
        category="协管员",
        phone=13912345678,
        join="2020年3月1日",
        unit="二分队",
    )
    skip()
    valid(
        "赵敏", make_id("19870615", 64), category="民警", phone="020-83001234", join="20190301", status="借调"
    )
    valid(
        "陈杰",
        id_ending_in_x("19890909").lower(),
        certs=1,
        category="行政执法类公务员",
        status="休假",
        cert="粤执440104003",
        **{"from": "2024-03-01", "to": "20290228"},
        note="新调入",
    )
    skip(seq="注：本表每月更新一次。")
    # one row for each reason to reject
    reject("check_digit", ("校验位不对",), "孙丽", with_wrong_check_digit("19910101", 22))
    dup_a, dup_b = "周涛", "周涛涛"
    dup_id = make_id("19860202", 73)
    reject("duplicate_a", ("与第", "行（周涛涛）重复"), dup_a, dup_id)
    reject("duplicate_b", ("行（周涛）重复",), dup_b, dup_id)
    db_name, db_id = spec.db_duplicate
    reject("in_database", (f"已登记在队员“{db_name}”名下",), "吴刚", db_id)
    reject("id_as_number", ("被 Excel 存成了数字",), "郑洋", float(make_id("19930303", 85)))
    reject("phone", ("电话号码“1380013800”格式不对",), "冯磊", make_id("19840404", 95), phone="1380013800")
    reject(
        "category",
        ("人员类别“临时工”无法识别", "公务员", "协管员"),
        "韩梅",
        make_id("19950505", 26),
        category="临时工",
    )
    reject("missing_name", ("请填写姓名",), "", make_id("19830606", 37))
    reject(
        "impossible_date",
        ("“有效期自”一栏的日期 2024-02-30 不存在",),
        "曹勇",
        make_id("19820707", 47),
        cert="粤执440104009",
        **{"from": "2024-02-30", "to": "2029-02-28"},
    )
    reject(
        "expiry_before_issue",
        ("有效期至 2023-03-01 早于发证日期 2024-03-01",),
        "彭辉",
        make_id("19810808", 57),
        cert="粤执440104010",
        **{"from": dt.datetime(2024, 3, 1), "to": "2023-03-01"},
    )
    reject(
        "auxiliary_cert",
        ("辅助人员不能持有行政执法证",),
        "蒋超",
        make_id("19940909", 67),
        category="辅警",
        cert="粤执440104011",
        **{"from": "2024-03-01", "to": "2029-02-28"},
    )
    reject(
        "several",
        ("电话号码“12345”格式不对", "；", "人员类别“外包”无法识别"),
        "叶红",
        make_id("19961010", 78),
        phone="12345",
        category="外包",
    )
    skip()
    skip(seq="合计", position="共 22 人")  # a totals line: name and ID empty, "合计" first
    skip(unit="填表说明：身份证号请设为文本格式。")  # a note outside the first column
    # formatted but empty rows at the bottom, as Excel leaves them: not counted as skipped
    for r in range(last_row + 1, last_row + 40):
        ws.cell(r, 2).number_format = "@"
    wb.save(path)
    return spec
