"""One open data folder: database, device identity, clock, settings, and units of work.

``open_data_dir`` creates and migrates the database if needed. A *unit of work* is one user
action: one Session, one transaction, committed whole or rolled back whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.auth.roles import Actor, Permission, require
from app.errors import ConflictError, DomainError, SetupRequired
from app.paths import DB_FILE
from app.settings import Settings, load_settings, save_settings
from db import migrate
from db.engine import make_engine, make_session_factory, sqlite_url, writer
from db.hlc import HlcStamp, HybridLogicalClock
from db.ids import new_id
from db.models import ChangeLogEntry, LocalMeta


@dataclass
class AppContext:
    data_dir: Path
    engine: Engine
    device_id: str
    clock: HybridLogicalClock
    settings: Settings
    squad_id: str | None
    _read: sessionmaker[Session]
    _write: sessionmaker[Session]

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    def require_squad(self) -> str:
        if self.squad_id is None:
            raise SetupRequired("尚未完成初始设置，请先运行首次设置向导或 squaddesk-cli init。")
        return self.squad_id

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def unit_of_work(self, actor: Actor, summary: str = "") -> Iterator[Session]:
        """One user action: everything written inside commits together or not at all."""
        with self._write() as session:
            session.info.update(actor=actor.display_name or actor.username, summary=summary)
            if self.squad_id:
                session.info["squad_id"] = self.squad_id
            try:
                with session.begin():
                    yield session
            except StaleDataError as exc:
                raise ConflictError("这条记录刚被他人修改过，请刷新后重新操作。") from exc
            except OperationalError as exc:
                if "locked" in str(exc):
                    raise DomainError("数据库正被另一个程序占用，请稍后再试。") from exc
                raise

    def raw_write_session(self, actor_name: str) -> Session:
        """A write session whose commit the caller decides (login commits on failure too)."""
        session = self._write()
        session.info["actor"] = actor_name
        return session

    def set_squad(self, squad_id: str) -> None:
        self.squad_id = squad_id
        for factory in (self._read, self._write):
            factory.kw["info"]["squad_id"] = squad_id

    def save_settings(self, settings: Settings, actor: Actor) -> None:
        """Change the options (needs 修改系统设置); they apply at once."""
        require(actor, Permission.EDIT_SETTINGS)
        settings.validate()
        save_settings(self.data_dir, settings)
        self.settings = settings

    def close(self) -> None:
        self.engine.dispose()


def _meta(session: Session, key: str) -> str | None:
    row = session.get(LocalMeta, key)
    return row.value if row else None


def open_data_dir(data_dir: Path) -> AppContext:
    """Open (creating and migrating if needed) the database in ``data_dir``."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DomainError(
            f"无法创建数据文件夹“{data_dir}”：{exc.strerror}。请换一个有写权限的文件夹。"
        ) from exc
    engine = make_engine(sqlite_url(data_dir / DB_FILE))
    try:
        migrate.upgrade(engine, backup_dir=data_dir / "backups")
    except Exception as exc:
        engine.dispose()
        raise DomainError(
            f"数据库“{data_dir / DB_FILE}”无法打开或升级（{exc.__class__.__name__}）。"
            "请确认它是 SquadDesk 的数据文件，必要时从备份恢复。"
        ) from exc
    # Every session that can write cases comes from the factories made below, so importing the
    # due-date index here registers its flush listener (on db.hooks.AuditedSession) before any
    # such session exists. Imported here, not at the top: app.cases imports app.squad, which
    # imports this module.
    from app.cases.due import ensure_due_index
    from app.documents.template import use_district_templates

    # Templates the district shipped (checked when they arrived, see app.sync.releases).
    use_district_templates(data_dir / "templates")

    plain = sessionmaker(bind=writer(engine))
    with plain() as session, session.begin():
        device_id = _meta(session, "device_id")
        if device_id is None:
            device_id = new_id()
            session.add(LocalMeta(key="device_id", value=device_id))
        squad_id = _meta(session, "squad_id")
        last_hlc = session.scalar(select(func.max(ChangeLogEntry.hlc)))
        # A derived cache, rebuilt when new, stale or out of step with the cases (see there).
        ensure_due_index(session)
    clock = HybridLogicalClock(last=HlcStamp.parse(last_hlc) if last_hlc else None)
    info = {"device_id": device_id, "clock": clock, "squad_id": squad_id}
    return AppContext(
        data_dir=data_dir,
        engine=engine,
        device_id=device_id,
        clock=clock,
        settings=load_settings(data_dir),
        squad_id=squad_id,
        _read=make_session_factory(engine, **info),
        _write=make_session_factory(writer(engine), **dict(info)),
    )
