"""Excel import and export of the member and certificate ledgers, on real SQLite files."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from messy_ledger import MessyLedger, build_messy_ledger, make_id
from openpyxl import Workbook, load_workbook

from app.audit import list_entries, verify
from app.auth.roles import Actor, Role
from app.certificates import list_certificates
from app.context import AppContext, open_data_dir
from app.demo import DEMO_SQUAD, fill_demo
from app.errors import Cancelled, ConflictError, PermissionDenied, ValidationError
from app.personnel.excel import (
    CERT_SHEET,
    LEGAL_ISSUER,
    MEMBER_COLUMNS,
    MEMBER_SHEET,
    ImportPreview,
    commit_import,
    export_ledgers,
    parse_date,
    preview_import,
)
from app.personnel.members import MemberInput, MemberQuery, count_members, create_member, search_members
from app.progress import Progress
from app.squad import initialize
from db.models.personnel import CertificateKind, CertificateState, MemberStatus, StaffCategory

TODAY = dt.date(2026, 11, 21)


@pytest.fixture
def ledger(tmp_path: Path) -> MessyLedger:
    return build_messy_ledger(tmp_path / "人员台账（2026）.xlsx")


@pytest.fixture
def registered(ctx: AppContext, admin: Actor, ledger: MessyLedger) -> None:
    """The member whose ID the ledger repeats, already in the database."""
    name, id_number = ledger.db_duplicate
    with ctx.unit_of_work(admin, "登记队员") as s:
        create_member(s, admin, MemberInput(name, id_number, StaffCategory.CIVIL_SERVANT))


def _preview(ctx: AppContext, actor: Actor, path: Path) -> ImportPreview:
    with ctx.read() as s:
        return preview_import(s, actor, path)


def _counts(ctx: AppContext, actor: Actor) -> tuple[int, int]:
    with ctx.read() as s:
        return count_members(s, actor), len(list_certificates(s, actor, ctx.settings))


# --- preview -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
def test_preview_finds_header_below_title_rows_and_reads_every_valid_row(
    ctx: AppContext, admin: Actor, ledger: MessyLedger
) -> None:
    preview = _preview(ctx, admin, ledger.path)

    assert preview.sheet == ledger.sheet  # the 填表说明 sheet in front is passed over
    assert preview.header_row == ledger.header_row
    assert {r.member.name: r.row for r in preview.rows} == ledger.valid
    assert preview.skipped == ledger.skipped
    assert preview.certificate_count == ledger.certificates
    assert preview.ignored_columns == ("政治面貌",)
    rows = {r.member.name: r for r in preview.rows}
    assert {n: r.member.id_number for n, r in rows.items()} == ledger.ids
    zhang = rows["张伟"]  # Excel dates
    assert zhang.member.join_date == dt.date(2015, 7, 1)
    assert zhang.member.category is StaffCategory.CIVIL_SERVANT
    (cert,) = zhang.certificates
    assert (cert.kind, cert.number, cert.issuer) == (
        CertificateKind.ENFORCEMENT,
        "粤执440104001",
        "广州市人民政府",
    )
    assert (cert.valid_from, cert.valid_to) == (dt.date(2024, 3, 1), dt.date(2029, 2, 28))
    li = rows["李娜"]  # padded name, 2016.3.1 and 2029/2/28, a legal qualification
    assert li.member.category is StaffCategory.CAREER
    assert li.member.join_date == dt.date(2016, 3, 1)
    assert [(c.kind, c.number) for c in li.certificates] == [
        (CertificateKind.ENFORCEMENT, "粤执440104002"),
        (CertificateKind.LEGAL, "A20191234567890"),
    ]
    assert li.certificates[0].valid_to == dt.date(2029, 2, 28)
    assert rows["王强"].member.join_date == dt.date(2020, 3, 1)  # 2020年3月1日
    assert rows["王强"].member.phone == "13912345678"  # a phone number stored as a number
    assert rows["赵敏"].member.join_date == dt.date(2019, 3, 1)  # 20190301
    assert rows["赵敏"].member.status is MemberStatus.SECONDED
    assert rows["陈杰"].member.status is MemberStatus.ON_LEAVE
    assert rows["陈杰"].certificates[0].valid_to == dt.date(2029, 2, 28)  # 20290228


@pytest.mark.usefixtures("registered")
def test_preview_rejects_each_bad_row_with_its_excel_row_number_and_reason(
    ctx: AppContext, admin: Actor, ledger: MessyLedger
) -> None:
    preview = _preview(ctx, admin, ledger.path)

    by_row = {r.row: r for r in preview.rejected}
    assert sorted(by_row) == sorted(row for row, _ in ledger.rejected.values())
    for case, (row, fragments) in ledger.rejected.items():
        for fragment in fragments:
            assert fragment in by_row[row].reason, (case, by_row[row].reason)
    # a repeated ID rejects both rows, each naming the other
    row_a, row_b = ledger.rejected["duplicate_a"][0], ledger.rejected["duplicate_b"][0]
    assert f"第 {row_b} 行" in by_row[row_a].reason
    assert f"第 {row_a} 行" in by_row[row_b].reason
    assert by_row[ledger.rejected["missing_name"][0]].name == ""
    assert by_row[ledger.rejected["phone"][0]].name == "冯磊"
    several = by_row[ledger.rejected["several"][0]].reason
    assert several.count("；") >= 1 and "。；" not in several


def test_preview_writes_nothing(ctx: AppContext, admin: Actor, ledger: MessyLedger) -> None:
    with ctx.read() as s:
        before = verify(s).entries
    _preview(ctx, admin, ledger.path)
    assert _counts(ctx, admin) == (0, 0)
    with ctx.read() as s:
        assert verify(s).entries == before


def test_preview_rejects_certificate_numbers_already_registered(
    ctx: AppContext, admin: Actor, ledger: MessyLedger
) -> None:
    from app.certificates import CertificateInput, add_certificate

    with ctx.unit_of_work(admin) as s:
        m = create_member(s, admin, MemberInput("高峰", make_id("19800101", 91), StaffCategory.CIVIL_SERVANT))
        add_certificate(
            s, admin, CertificateInput(m.id, CertificateKind.ENFORCEMENT, "粤执440104001", valid_to=TODAY)
        )
    preview = _preview(ctx, admin, ledger.path)
    (row,) = [r for r in preview.rejected if r.row == ledger.valid["张伟"]]
    assert "“粤执440104001”已经登记在队员“高峰”名下" in row.reason


# --- commit --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
def test_commit_writes_the_valid_rows_and_audits_each(
    ctx: AppContext, admin: Actor, ledger: MessyLedger
) -> None:
    preview = _preview(ctx, admin, ledger.path)
    with ctx.unit_of_work(admin, "导入人员台账") as s:
        result = commit_import(s, admin, preview)

    assert (result.members, result.certificates) == (len(ledger.valid), ledger.certificates)
    assert _counts(ctx, admin) == (1 + len(ledger.valid), ledger.certificates)
    with ctx.read() as s:
        members = {m.name: m for m in search_members(s, admin)}
        certs = list_certificates(s, admin, ctx.settings, today=TODAY)
        report = verify(s)
    assert set(ledger.valid) <= set(members)
    assert members["李娜"].legal_qualification_no == "A20191234567890"
    assert members["张伟"].enforcement_cert_no == "粤执440104001"
    legal = [c for c in certs if c.kind is CertificateKind.LEGAL]
    assert [(c.member_name, c.number) for c in legal] == [("李娜", "A20191234567890")]
    assert report.ok, report.problems
    # every imported member and certificate went through the flush hook, under the import's summary
    with ctx.read() as s:
        entries = list_entries(s, admin, text="导入人员台账", limit=1000)
    inserted = Counter(e.entity for e in entries if e.action == "insert")
    assert inserted["members"] == len(ledger.valid)
    assert inserted["certificates"] == ledger.certificates


@pytest.mark.usefixtures("registered")
def test_commit_refuses_when_an_id_was_registered_after_the_preview(
    ctx: AppContext, admin: Actor, ledger: MessyLedger
) -> None:
    preview = _preview(ctx, admin, ledger.path)
    # someone registers the last valid member meanwhile
    with ctx.unit_of_work(admin) as s:
        create_member(s, admin, MemberInput("陈杰", ledger.ids["陈杰"], StaffCategory.CIVIL_SERVANT))
    before = _counts(ctx, admin)

    with pytest.raises(ConflictError, match=ledger.ids["陈杰"]), ctx.unit_of_work(admin, "导入") as s:
        commit_import(s, admin, preview)
    assert _counts(ctx, admin) == before
    with ctx.read() as s:
        assert verify(s).ok


@pytest.mark.usefixtures("registered")
def test_commit_stopped_half_way_writes_nothing(ctx: AppContext, admin: Actor, ledger: MessyLedger) -> None:
    preview = _preview(ctx, admin, ledger.path)
    seen: list[int] = []

    def cancel_after_three(done: int, total: int, text: str) -> None:
        seen.append(done)
        if done == 3:
            progress.cancel()  # the clerk presses Cancel while the fourth member is written

    progress = Progress(cancel_after_three)
    with pytest.raises(Cancelled), ctx.unit_of_work(admin, "导入") as s:
        commit_import(s, admin, preview, progress)
    assert seen[:4] == [0, 1, 2, 3]
    assert _counts(ctx, admin) == (1, 0)
    with ctx.read() as s:
        assert verify(s).ok


def test_officer_may_neither_import_nor_export(
    ctx: AppContext, actors: dict[Role, Actor], ledger: MessyLedger, tmp_path: Path
) -> None:
    officer = actors[Role.OFFICER]
    with ctx.read() as s:
        with pytest.raises(PermissionDenied):
            preview_import(s, officer, ledger.path)
        with pytest.raises(PermissionDenied):
            export_ledgers(s, officer, ctx.settings, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_the_leader_may_export_but_not_import(
    ctx: AppContext, actors: dict[Role, Actor], ledger: MessyLedger, tmp_path: Path
) -> None:
    leader, clerk = actors[Role.LEADER], actors[Role.CLERK]
    with ctx.read() as s:
        with pytest.raises(PermissionDenied, match="导入台账"):
            preview_import(s, leader, ledger.path)
        assert export_ledgers(s, leader, ctx.settings, tmp_path / "out.xlsx") == 0
        preview = preview_import(s, clerk, ledger.path)  # the clerk keeps the ledgers
    with ctx.unit_of_work(leader) as s, pytest.raises(PermissionDenied):
        commit_import(s, leader, preview)
    assert _counts(ctx, clerk) == (0, 0)


# --- files the import cannot read ----------------------------------------------------------------


def test_a_file_that_is_not_a_workbook_is_refused_in_chinese(
    ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    text = tmp_path / "台账.xlsx"
    text.write_text("姓名,身份证号\n张三,440104198503120311\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="不是有效的 Excel 文件"):
        _preview(ctx, admin, text)
    old = tmp_path / "台账.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(ValidationError, match=r"旧版 \.xls"):
        _preview(ctx, admin, old)
    with pytest.raises(ValidationError, match="找不到文件"):
        _preview(ctx, admin, tmp_path / "nowhere.xlsx")


def _sheet(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_a_workbook_without_a_header_or_a_required_column_is_refused(
    ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    no_header = _sheet(tmp_path / "a.xlsx", [["车陂街人员名单"], ["张三", "13800138000"]])
    with pytest.raises(ValidationError, match="没有找到表头"):
        _preview(ctx, admin, no_header)
    no_category = _sheet(tmp_path / "b.xlsx", [["姓名", "身份证号", "手机"]])
    with pytest.raises(ValidationError, match=r"缺少“人员类别”列.*也可叫“类别”"):
        _preview(ctx, admin, no_category)


def test_a_header_spanning_two_rows_and_dates_that_lost_their_format(
    ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    path = _sheet(
        tmp_path / "two.xlsx",
        [
            ["姓名", "身份证号码", "编制类别", "执法证信息", None, None],
            [None, None, None, "执法证编号", "有效期起", "有效期至"],
            ["张伟", make_id("19850312", 31), "公务员", "粤执1", 45352, 47177],  # day serials
        ],
    )
    preview = _preview(ctx, admin, path)
    assert (preview.header_row, preview.rejected, preview.skipped) == (1, [], 0)
    (row,) = preview.rows
    assert row.row == 3
    assert (row.certificates[0].valid_from, row.certificates[0].valid_to) == (
        dt.date(2024, 3, 1),
        dt.date(2029, 2, 28),
    )


@pytest.mark.parametrize(
    "cell",
    [
        dt.datetime(2024, 3, 1),
        dt.date(2024, 3, 1),
        "2024-03-01",
        "2024.3.1",
        "2024/3/1",
        "2024年3月1日",
        "２０２４年３月１日",
        "20240301",
        20240301,
        45352,
        "2024-03-01 00:00:00",
        " 2024 - 3 - 1 ",
    ],
)
def test_parse_date_accepts_what_clerks_type(cell: object) -> None:
    assert parse_date(cell, "入职日期") == dt.date(2024, 3, 1)


@pytest.mark.parametrize("cell", [None, "", "长期", "—"])
def test_parse_date_empty(cell: object) -> None:
    assert parse_date(cell, "有效期至") is None


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("2024-02-30", "“发证日期”一栏的日期 2024-02-30 不存在"),
        ("2023.13.1", "“发证日期”一栏的日期 2023-13-01 不存在"),
        ("2024", "“发证日期”一栏的“2024”不是日期"),
        (2024, "“发证日期”一栏的“2024”不是日期"),
        ("三月一日", "不是日期"),
        (2024.5, "不是日期"),
    ],
)
def test_parse_date_names_the_column_when_wrong(cell: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_date(cell, "发证日期")


# --- export --------------------------------------------------------------------------------------


def test_export_writes_both_ledgers_as_a_clerk_expects(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    fill_demo(ctx, today=TODAY)
    path = tmp_path / "台账.xlsx"
    with ctx.read() as s:
        count = export_ledgers(s, admin, ctx.settings, path, today=TODAY)
        members = count_members(s, admin)
    assert count == members == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "台账.xlsx"]  # no temporary file left

    wb = load_workbook(path)
    assert wb.sheetnames == [MEMBER_SHEET, CERT_SHEET]
    ws = wb[MEMBER_SHEET]
    assert ws["A1"].value == "车陂街综合行政执法队人员台账"
    assert [c.value for c in ws[3]] == [str(name) for name, _ in MEMBER_COLUMNS]
    assert ws.freeze_panes == "C4"
    assert ws.column_dimensions["D"].width == 21
    assert ws.max_row == 3 + 40
    id_cell = ws["D4"]
    assert id_cell.data_type == "s" and len(id_cell.value) == 18 and id_cell.number_format == "@"
    join = ws.cell(4, 9)
    assert isinstance(join.value, dt.datetime) and join.number_format == "yyyy-mm-dd"

    certs = wb[CERT_SHEET]
    assert certs["A1"].value == "车陂街综合行政执法队执法证台账"
    assert [c.value for c in certs[3]][:5] == ["序号", "姓名", "所属分队", "证件类型", "证件编号"]
    assert certs.freeze_panes == "C4"
    colours = {}
    for row in certs.iter_rows(min_row=4):
        colours.setdefault(row[-1].value or "", row[0].fill.fgColor.rgb)
    expired = next(text for text in colours if "过期" in text)
    soon = next(text for text in colours if text.startswith("75 天后到期"))
    assert colours[expired].endswith("FFC7CE")  # red
    assert colours[soon].endswith("FFEB9C")  # amber
    assert colours[""] in ("00000000", None)  # no alert, no fill
    suspended = [r for r in certs.iter_rows(min_row=4, values_only=True) if r[9] == "暂扣"]
    assert len(suspended) == 1


def test_export_refuses_a_name_excel_would_not_open(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    with ctx.read() as s, pytest.raises(ValidationError, match=r"\.xlsx"):
        export_ledgers(s, admin, ctx.settings, tmp_path / "台账.csv")


def _snapshot(ctx: AppContext, actor: Actor) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """What a round trip must keep: every member field, and each member's certificates."""
    with ctx.read() as s:
        members = {
            (m.name, m.gender, m.id_number, m.phone, m.category, m.position, m.unit, m.join_date, m.status,
             m.legal_qualification_no, m.note)
            for m in search_members(s, actor, MemberQuery(), limit=1000)
        }  # fmt: skip
        certs = {
            (c.member_name, c.kind, c.number, c.issuer)
            + ((c.scope, c.valid_from, c.valid_to, c.state) if c.kind is CertificateKind.ENFORCEMENT else ())
            for c in list_certificates(s, actor, ctx.settings, today=TODAY)
        }
    return members, certs


def test_export_then_import_into_a_fresh_data_folder_round_trips(
    ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    fill_demo(ctx, today=TODAY)
    path = tmp_path / "台账.xlsx"
    with ctx.read() as s:
        export_ledgers(s, admin, ctx.settings, path, today=TODAY)
    before = _snapshot(ctx, admin)

    fresh = open_data_dir(tmp_path / "fresh")
    try:
        other = initialize(fresh, DEMO_SQUAD, "admin", "管理员", "test1234")
        preview = _preview(fresh, other, path)
        assert (preview.sheet, preview.header_row, preview.skipped) == (MEMBER_SHEET, 3, 0)
        assert preview.rejected == []
        assert len(preview.rows) == 40
        with fresh.unit_of_work(other, "导入人员台账") as s:
            result = commit_import(s, other, preview)
        after = _snapshot(fresh, other)
        with fresh.read() as s:
            assert verify(s).ok
    finally:
        fresh.close()
    members, certs = before
    # A 法律职业资格证号 without its certificate (the demo has three) gains the certificate.
    filed = {(c[0], c[2]) for c in certs if c[1] is CertificateKind.LEGAL}
    gained = {
        (m[0], CertificateKind.LEGAL, m[9], LEGAL_ISSUER)
        for m in members
        if m[9] and (m[0], m[9]) not in filed
    }
    assert after == (members, certs | gained)
    assert result.certificates == len(certs | gained)
    assert any(cert[-1] is CertificateState.SUSPENDED for cert in after[1])  # the state survives too
