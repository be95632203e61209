"""全过程记录: the hash chain catches an edit of the file made behind the program's back, with the
sqlite3 shell or any other tool, and names the first broken entry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.audit import AuditReport, count_entries, list_entries, record_event, verify
from app.auth.roles import Actor
from app.cli import main as cli_main
from app.context import AppContext
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member, update_member
from db.models import AuditEntry, Member
from db.models.personnel import StaffCategory

ID_A = "11010119900307001" + check_digit("11010119900307001")  # a man
ID_B = "44010619880512002" + check_digit("44010619880512002")  # a woman


def outside(db_path: Path, sql: str, *params: Any) -> None:
    """Change the file the way the sqlite3 shell would: another process, no SquadDesk code."""
    code = (
        "import json, sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1])\n"
        "con.execute(sys.argv[2], json.loads(sys.argv[3]))\n"
        "con.commit()\n"
        "con.close()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(db_path), sql, json.dumps(list(params))], check=True, timeout=60
    )


@pytest.fixture
def history(ctx: AppContext, admin: Actor) -> dict[str, Any]:
    """A few real changes: two members created, one edited."""
    with ctx.unit_of_work(admin, "新增队员") as s:
        a = create_member(
            s, admin, MemberInput("张三丰", ID_A, StaffCategory.CIVIL_SERVANT, phone="13800138000")
        )
        b = create_member(s, admin, MemberInput("李秀英", ID_B, StaffCategory.AUXILIARY))
    with ctx.unit_of_work(admin, "修改电话") as s:
        update_member(
            s,
            admin,
            a.id,
            MemberInput("张三丰", ID_A, StaffCategory.CIVIL_SERVANT, phone="13900139000"),
            a.version,
        )
    with ctx.read() as s:
        seqs = {
            (e.action, e.entity_id): e.seq
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.entity == "members").order_by(AuditEntry.seq)
            )
        }
        total = count_entries(s)
    return {"a": a.id, "b": b.id, "seqs": seqs, "total": total}


def _report(ctx: AppContext) -> AuditReport:
    with ctx.read() as s:
        return verify(s)


def test_untouched_log_verifies(ctx: AppContext, history: dict[str, Any]) -> None:
    report = _report(ctx)
    assert report.ok, report.problems
    assert report.entries == history["total"] >= 5  # squad, admin user, login, 2 members, 1 edit
    assert report.rows_checked >= 4  # squad, admin, two members


def test_edited_audit_entry_is_named_by_its_number(ctx: AppContext, history: dict[str, Any]) -> None:
    seq = history["seqs"][("insert", history["b"])]
    outside(ctx.db_path, "UPDATE audit_log SET user_name = '别人' WHERE seq = ?", seq)
    report = _report(ctx)
    assert not report.ok
    first = report.problems[0]
    assert first.seq == seq
    assert f"第 {seq} 条" in first.message and "被改动过" in first.message


def test_only_the_first_of_several_edits_is_reported(ctx: AppContext, history: dict[str, Any]) -> None:
    early = history["seqs"][("insert", history["a"])]
    late = history["seqs"][("update", history["a"])]
    assert early < late
    outside(ctx.db_path, "UPDATE audit_log SET summary = '改过' WHERE seq IN (?, ?)", early, late)
    report = _report(ctx)
    assert [p.seq for p in report.problems] == [early]


def test_edit_with_a_recomputed_hash_breaks_the_next_link(ctx: AppContext, history: dict[str, Any]) -> None:
    """Even a forger who recomputes the entry's own hash is caught at the next entry."""
    seq = history["seqs"][("insert", history["a"])]
    code = (
        "import sqlite3, sys\n"
        "from db.audit_chain import FIELDS, entry_hash\n"
        "con = sqlite3.connect(sys.argv[1]); con.row_factory = sqlite3.Row\n"
        "row = dict(con.execute('SELECT * FROM audit_log WHERE seq = ?', (int(sys.argv[2]),)).fetchone())\n"
        "row['summary'] = '伪造'\n"
        "con.execute('UPDATE audit_log SET summary = ?, hash = ? WHERE seq = ?',"
        " (row['summary'], entry_hash(row), row['seq']))\n"
        "con.commit()\n"
    )
    subprocess.run([sys.executable, "-c", code, str(ctx.db_path), str(seq)], check=True, timeout=60)
    report = _report(ctx)
    assert report.problems[0].seq == seq + 1
    assert f"第 {seq + 1} 条" in report.problems[0].message
    assert "衔接不上" in report.problems[0].message


def test_deleted_audit_entry_is_reported(ctx: AppContext, history: dict[str, Any]) -> None:
    seq = history["seqs"][("insert", history["b"])]
    assert seq < history["total"]
    outside(ctx.db_path, "DELETE FROM audit_log WHERE seq = ?", seq)
    report = _report(ctx)
    assert not report.ok
    assert f"第 {seq} 条" in report.problems[0].message
    assert "删除" in report.problems[0].message


def test_cutting_off_the_newest_change_is_caught_by_the_row_check(
    ctx: AppContext, history: dict[str, Any]
) -> None:
    """Deleting the last entries leaves an intact chain, but the row no longer matches its last image."""
    seq = history["seqs"][("update", history["a"])]
    assert seq == history["total"]
    outside(ctx.db_path, "DELETE FROM audit_log WHERE seq = ?", seq)
    report = _report(ctx)
    assert [p.seq for p in report.problems] == [None]
    assert "张三丰" in report.problems[0].message and "在程序之外被修改" in report.problems[0].message


def test_member_row_edited_outside_is_named(ctx: AppContext, history: dict[str, Any]) -> None:
    outside(ctx.db_path, "UPDATE members SET phone = '13700000000' WHERE id = ?", history["b"])
    report = _report(ctx)
    assert not report.ok
    assert len(report.problems) == 1
    message = report.problems[0].message
    assert "李秀英" in message and history["b"] in message
    assert "在程序之外被修改" in message
    assert report.problems[0].seq is None  # the chain itself is intact


def test_member_row_inserted_outside_is_named(ctx: AppContext, history: dict[str, Any]) -> None:
    outside(
        ctx.db_path,
        "INSERT INTO members (id, squad_id, version, updated_at, updated_by, deleted, name, name_initials,"
        " gender, id_number, phone, category, position, unit, join_date, status, legal_qualification_no, note)"
        " VALUES ('ghost-1', ?, 1, '0000000000000-000000', 'x', 0, '王五', 'ww', '男', '440106199001011239',"
        " '', 'civil_servant', '', '', NULL, 'on_duty', '', '')",
        ctx.squad_id,
    )
    report = _report(ctx)
    assert any("王五" in p.message and "在程序之外写入" in p.message for p in report.problems)


def test_changes_made_through_the_program_keep_verifying(
    ctx: AppContext, admin: Actor, history: dict[str, Any]
) -> None:
    with ctx.unit_of_work(admin) as s:
        m = s.get(Member, history["b"])
        m.deleted = True
    assert _report(ctx).ok


def test_record_event_chains_on(ctx: AppContext, admin: Actor, history: dict[str, Any]) -> None:
    with ctx.read() as s:
        last = s.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    with ctx.raw_write_session(admin.display_name) as s:
        record_event(s, admin.display_name, ctx.device_id, "export", "members", "", "导出人员台账")
        s.commit()
    with ctx.read() as s:
        new = s.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        assert verify(s).ok
        views = list_entries(s, admin, limit=1)
    assert new.seq == last.seq + 1 and new.prev_hash == last.hash
    assert new.action == "export" and new.before is None and new.after is None
    assert views[0].seq == new.seq and views[0].action_label == "导出"
    outside(ctx.db_path, "UPDATE audit_log SET summary = '什么也没导出' WHERE seq = ?", new.seq)
    report = _report(ctx)
    assert [p.seq for p in report.problems] == [new.seq]


def test_list_entries_filters_and_pages(ctx: AppContext, admin: Actor, history: dict[str, Any]) -> None:
    with ctx.read() as s:
        everything = list_entries(s, admin)
        assert [e.seq for e in everything] == sorted((e.seq for e in everything), reverse=True)
        assert len(everything) == history["total"]
        for_a = list_entries(s, admin, entity_id=history["a"])
        assert [e.action for e in for_a] == ["update", "insert"]
        assert "phone" in for_a[0].changed_fields
        assert for_a[0].before["phone"] == "13800138000" and for_a[0].after["phone"] == "13900139000"
        assert [e.entity_id for e in list_entries(s, admin, text="李秀英")] == [history["b"]]
        page = list_entries(s, admin, before_seq=3)
        assert [e.seq for e in page] == [2, 1]


def test_cli_verify_audit(
    ctx: AppContext, history: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["--data-dir", str(ctx.data_dir), "verify-audit"]) == 0
    out = capsys.readouterr()
    assert "审计日志完整" in out.out
    seq = history["seqs"][("update", history["a"])]
    outside(
        ctx.db_path,
        "UPDATE audit_log SET after = replace(after, '13900139000', '13000000000') WHERE seq = ?",
        seq,
    )
    assert cli_main(["--data-dir", str(ctx.data_dir), "verify-audit"]) == 4
    err = capsys.readouterr().err
    assert "校验未通过" in err and f"第 {seq} 条" in err
    assert "Traceback" not in err
