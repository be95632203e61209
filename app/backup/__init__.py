"""Backups of the database with SQLite's online backup API (safe while the program runs).

* ``backup_now`` writes ``backups/squaddesk-YYYYMMDD-HHMMSS.sqlite3`` and checks the copy.
* ``auto_backup_if_due`` takes at most one automatic copy a day and keeps the newest N.
* ``restore`` checks that a file is a SquadDesk database, takes a safety copy of the current
  data, then replaces it. The caller confirms first (the GUI asks; the CLI needs ``--yes``).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.auth.roles import Actor, Permission, require
from app.errors import BackupError
from app.progress import Progress

if TYPE_CHECKING:
    from app.context import AppContext

AUTO_PATTERN = re.compile(r"^auto-(\d{8})-\d{6}\.sqlite3$")
REQUIRED_TABLES = {"members", "certificates", "audit_log", "change_log", "local_meta", "alembic_version"}


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    taken: dt.datetime


def _copy(src: Path, dst: Path, progress: Progress | None = None) -> None:
    tmp = dst.with_suffix(".partial")
    tmp.unlink(missing_ok=True)

    def report(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress.step(total - remaining, total, "正在备份数据库")

    try:
        # closing(): a sqlite3 connection's own ``with`` only commits; it must be closed before the
        # file is renamed, or its -wal/-shm files are left behind under the old name.
        with closing(sqlite3.connect(src)) as source, closing(sqlite3.connect(tmp)) as target:
            source.backup(target, pages=256, progress=report)
            # A copy is one self-contained file (no -wal/-shm beside it, readable from read-only media).
            target.execute("PRAGMA journal_mode=DELETE")
        with closing(sqlite3.connect(tmp)) as check:
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"备份文件校验失败（{ok}），请检查磁盘后重试。")
        tmp.replace(dst)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"备份失败：{exc}。请确认磁盘空间充足、备份文件夹可写。") from exc
    finally:
        tmp.unlink(missing_ok=True)


def backup_now(
    db_path: Path,
    backup_dir: Path,
    actor: Actor,
    target: Path | None = None,
    progress: Progress | None = None,
    prefix: str = "squaddesk",
) -> BackupInfo:
    require(actor, Permission.BACKUP)
    backup_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now()
    dst = target or backup_dir / f"{prefix}-{now:%Y%m%d-%H%M%S}.sqlite3"
    _copy(db_path, dst, progress)
    return BackupInfo(dst, dst.stat().st_size, now)


def list_backups(backup_dir: Path) -> list[BackupInfo]:
    if not backup_dir.exists():
        return []
    out = [
        BackupInfo(p, p.stat().st_size, dt.datetime.fromtimestamp(p.stat().st_mtime))
        for p in backup_dir.glob("*.sqlite3")
    ]
    return sorted(out, key=lambda b: b.taken, reverse=True)


def auto_backup_if_due(
    db_path: Path, backup_dir: Path, actor: Actor, keep: int, today: dt.date | None = None
) -> BackupInfo | None:
    """At most one automatic copy per day; rotation keeps the ``keep`` newest automatic copies."""
    today = today or dt.date.today()
    autos = sorted(backup_dir.glob("auto-*.sqlite3")) if backup_dir.exists() else []
    taken_today = any((m := AUTO_PATTERN.match(p.name)) and m.group(1) == f"{today:%Y%m%d}" for p in autos)
    made = None
    if not taken_today:
        target = backup_dir / f"auto-{today:%Y%m%d}-{dt.datetime.now():%H%M%S}.sqlite3"
        made = backup_now(db_path, backup_dir, actor, target=target)
        autos = sorted(backup_dir.glob("auto-*.sqlite3"))
    for old in autos[: max(0, len(autos) - keep)]:
        old.unlink(missing_ok=True)
    return made


def check_backup_file(path: Path) -> None:
    """Refuse anything that is not an intact SquadDesk database."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件“{path}”，请检查路径。")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"“{path.name}”不是有效的数据库文件（{exc}），请选择 SquadDesk 的备份文件。"
        ) from exc
    missing = REQUIRED_TABLES - tables
    if missing:
        raise BackupError(
            f"“{path.name}”不是 SquadDesk 的备份文件（缺少数据表 {', '.join(sorted(missing))}）。"
        )
    if ok != "ok":
        raise BackupError(f"备份文件“{path.name}”已损坏（{ok}），请换一个备份。")


def restore(db_path: Path, backup_dir: Path, actor: Actor, source: Path, *, confirmed: bool) -> BackupInfo:
    """Replace the database with ``source``. The database must be closed by the caller first.

    Returns the safety copy of the data that was replaced.
    """
    require(actor, Permission.RESTORE)
    if not confirmed:
        raise BackupError("恢复会用备份覆盖当前全部数据，请先确认。")
    check_backup_file(source)
    safety = backup_now(db_path, backup_dir, actor, prefix="before-restore") if db_path.exists() else None
    _copy(source, db_path)
    return safety or BackupInfo(db_path, 0, dt.datetime.now())


def restore_data_dir(ctx: AppContext, actor: Actor, source: Path, *, confirmed: bool) -> BackupInfo:
    """Restore ``ctx``'s database from ``source`` and note it in the restored audit log.

    Closes ``ctx`` first: whoever holds it (the GUI's pages, the CLI) must not use it again and
    must open the data folder afresh — which also migrates a backup made by an older version.
    Returns the safety copy of the data that was replaced.
    """
    from app.audit import record_event
    from app.context import open_data_dir

    require(actor, Permission.RESTORE)
    check_backup_file(source)
    ctx.close()
    safety = restore(ctx.db_path, ctx.backup_dir, actor, source, confirmed=confirmed)
    reopened = open_data_dir(ctx.data_dir)
    try:
        with reopened.raw_write_session(actor.display_name) as session:
            record_event(
                session, actor.display_name, reopened.device_id, "restore", summary=f"从 {source.name} 恢复"
            )
            session.commit()
    finally:
        reopened.close()
    return safety
