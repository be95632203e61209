"""Backups: online copy, check, restore with a safety copy, daily automatic copies with rotation,
and the CLI round trip."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit import verify
from app.auth.roles import Actor, Role
from app.backup import auto_backup_if_due, backup_now, check_backup_file, list_backups, restore
from app.cli import main as cli_main
from app.context import AppContext, open_data_dir
from app.errors import BackupError
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, MemberQuery, count_members, create_member, search_members
from app.progress import Progress
from db.models import User
from db.models.personnel import StaffCategory


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    """The set-up administrator, taken from the users table: login (argon2, slow) is tested in test_auth."""
    with ctx.read() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
    assert user is not None
    return Actor(user.id, user.username, user.display_name, Role(user.role))


def _id(n: int) -> str:
    first17 = f"44010619900101{n:03d}"
    return first17 + check_digit(first17)


def _add(ctx: AppContext, actor: Actor, name: str, n: int) -> None:
    with ctx.unit_of_work(actor, f"新增 {name}") as s:
        create_member(s, actor, MemberInput(name, _id(n), StaffCategory.CIVIL_SERVANT))


def _names(ctx: AppContext, actor: Actor) -> list[str]:
    with ctx.read() as s:
        return sorted(m.name for m in search_members(s, actor))


def _names_in_file(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM members WHERE deleted = 0"))


def test_backup_now_makes_a_checked_copy(ctx: AppContext, admin: Actor) -> None:
    _add(ctx, admin, "王伟", 11)
    steps: list[tuple[int, int]] = []
    info = backup_now(
        ctx.db_path, ctx.backup_dir, admin, progress=Progress(lambda d, t, _: steps.append((d, t)))
    )
    assert info.path.is_file() and info.path.parent == ctx.backup_dir
    assert info.path.name.startswith("squaddesk-") and info.size == info.path.stat().st_size > 0
    check_backup_file(info.path)  # raises if not an intact SquadDesk database
    assert _names_in_file(info.path) == ["王伟"]
    assert steps and steps[-1][0] == steps[-1][1]  # progress reached the end
    # one self-contained file: no half-written copy, no -wal/-shm left beside it
    assert [p.name for p in ctx.backup_dir.iterdir()] == [info.path.name]
    assert [b.path for b in list_backups(ctx.backup_dir)] == [info.path]


def test_cancelled_backup_leaves_nothing(ctx: AppContext, admin: Actor) -> None:
    from app.errors import Cancelled

    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        backup_now(ctx.db_path, ctx.backup_dir, admin, progress=progress)
    assert list(ctx.backup_dir.iterdir()) == []


def test_restore_round_trip(ctx: AppContext, admin: Actor) -> None:
    _add(ctx, admin, "王伟", 11)
    backup = backup_now(ctx.db_path, ctx.backup_dir, admin).path
    _add(ctx, admin, "李娜", 12)
    assert _names(ctx, admin) == ["李娜", "王伟"]
    data_dir, device_id = ctx.data_dir, ctx.device_id
    ctx.close()
    safety = restore(ctx.db_path, ctx.backup_dir, admin, backup, confirmed=True)
    assert safety.path.is_file() and safety.path.name.startswith("before-restore-")
    assert _names_in_file(safety.path) == ["李娜", "王伟"]  # the replaced data is kept
    # nothing of the replaced database lingers beside the restored one (a stale -wal would be replayed)
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith("squaddesk")) == [ctx.db_path.name]
    assert sorted(p.name for p in ctx.backup_dir.iterdir()) == sorted([backup.name, safety.path.name])
    again = open_data_dir(data_dir)
    try:
        assert again.device_id == device_id
        assert _names(again, admin) == ["王伟"]
        with again.read() as s:
            assert verify(s).ok
        # the restored data can be worked on
        _add(again, admin, "张敏", 13)
        assert _names(again, admin) == ["张敏", "王伟"]
    finally:
        again.close()


def test_restore_needs_confirmation(ctx: AppContext, admin: Actor) -> None:
    backup = backup_now(ctx.db_path, ctx.backup_dir, admin).path
    _add(ctx, admin, "王伟", 11)
    ctx.close()
    with pytest.raises(BackupError, match="请先确认"):
        restore(ctx.db_path, ctx.backup_dir, admin, backup, confirmed=False)
    assert _names_in_file(ctx.db_path) == ["王伟"]
    assert not list(ctx.backup_dir.glob("before-restore-*"))


def test_a_file_that_is_not_a_database_is_refused(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    junk = tmp_path / "照片.sqlite3"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096)
    with pytest.raises(BackupError) as err:
        check_backup_file(junk)
    assert "不是有效的数据库文件" in err.value.message and "照片.sqlite3" in err.value.message
    _add(ctx, admin, "王伟", 11)
    ctx.close()
    with pytest.raises(BackupError, match="不是有效的数据库文件"):
        restore(ctx.db_path, ctx.backup_dir, admin, junk, confirmed=True)
    assert _names_in_file(ctx.db_path) == ["王伟"]


def test_a_foreign_sqlite_file_is_refused(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE members (id TEXT, name TEXT)")
        conn.execute("INSERT INTO members VALUES ('1', '外人')")
    with pytest.raises(BackupError) as err:
        check_backup_file(other)
    assert "不是 SquadDesk 的备份文件" in err.value.message and "audit_log" in err.value.message
    _add(ctx, admin, "王伟", 11)
    ctx.close()
    with pytest.raises(BackupError, match="不是 SquadDesk 的备份文件"):
        restore(ctx.db_path, ctx.backup_dir, admin, other, confirmed=True)
    assert _names_in_file(ctx.db_path) == ["王伟"]
    with pytest.raises(BackupError, match="找不到备份文件"):
        check_backup_file(tmp_path / "missing.sqlite3")


def test_auto_backup_once_a_day(ctx: AppContext, admin: Actor) -> None:
    day = dt.date(2026, 3, 2)
    first = auto_backup_if_due(ctx.db_path, ctx.backup_dir, admin, keep=14, today=day)
    assert first is not None and first.path.name.startswith("auto-20260302-")
    check_backup_file(first.path)
    _add(ctx, admin, "王伟", 11)
    assert auto_backup_if_due(ctx.db_path, ctx.backup_dir, admin, keep=14, today=day) is None
    assert len(list(ctx.backup_dir.glob("auto-*.sqlite3"))) == 1
    second = auto_backup_if_due(ctx.db_path, ctx.backup_dir, admin, keep=14, today=day + dt.timedelta(days=1))
    assert second is not None and second.path.name.startswith("auto-20260303-")
    assert _names_in_file(second.path) == ["王伟"] and _names_in_file(first.path) == []


def test_auto_backup_rotation_keeps_only_the_newest(ctx: AppContext, admin: Actor) -> None:
    manual = backup_now(ctx.db_path, ctx.backup_dir, admin).path
    start = dt.date(2026, 3, 1)
    for i in range(6):
        auto_backup_if_due(ctx.db_path, ctx.backup_dir, admin, keep=3, today=start + dt.timedelta(days=i))
    autos = sorted(p.name[:13] for p in ctx.backup_dir.glob("auto-*.sqlite3"))
    assert autos == ["auto-20260304", "auto-20260305", "auto-20260306"]
    assert manual.is_file(), "rotation never touches copies taken by hand"


def test_cli_backup_and_restore_round_trip(
    ctx: AppContext, admin: Actor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add(ctx, admin, "王伟", 11)
    out = tmp_path / "外部备份.sqlite3"
    assert cli_main(["--data-dir", str(ctx.data_dir), "backup", "--out", str(out)]) == 0
    assert "已备份" in capsys.readouterr().out
    check_backup_file(out)
    _add(ctx, admin, "李娜", 12)
    ctx.close()  # the program holding the data must be closed before a restore

    assert cli_main(["--data-dir", str(ctx.data_dir), "restore", str(out), "--yes"]) == 0
    printed = capsys.readouterr().out
    assert "已从" in printed and "原数据已另存为" in printed
    again = open_data_dir(ctx.data_dir)
    try:
        assert _names(again, admin) == ["王伟"]
        with again.read() as s:
            assert verify(s).ok
            assert count_members(s, admin, MemberQuery(text="李娜")) == 0
        from app.audit import list_entries

        with again.read() as s:
            assert list_entries(s, admin, limit=1)[0].action == "restore"
    finally:
        again.close()
    assert any(_names_in_file(p) == ["李娜", "王伟"] for p in ctx.backup_dir.glob("before-restore-*"))


def test_cli_restore_refuses_without_yes_and_a_bad_file(
    ctx: AppContext, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "b.sqlite3"
    assert cli_main(["--data-dir", str(ctx.data_dir), "backup", "--out", str(out)]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))  # not a terminal: never prompts
    assert cli_main(["--data-dir", str(ctx.data_dir), "restore", str(out)]) == 2
    assert "--yes" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database")
    assert cli_main(["--data-dir", str(ctx.data_dir), "restore", str(junk), "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "不是有效的数据库文件" in err and "Traceback" not in err
