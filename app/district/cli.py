"""``squaddesk-district`` — the district server (区局同步服务) and its administration.

``serve`` runs the HTTP API under uvicorn; every other command works on the district database
directly: squads, one-time enrollment codes, devices, conflicts, reference-data releases and
offline bundles. Each takes ``--db`` (default: a SQLite file in the ``district`` folder of the
user data folder — for a trial; a real district gives ``postgresql://…``), brings the database
to the current schema, runs in one transaction and prints its result in Chinese. A refused
action prints its reason on stderr and exits with code 2; nothing of it is stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.district.paths import ENV_DB, ENV_FILES, default_db_url, default_files_dir, sqlite_file
from app.errors import DomainError
from db import migrate
from db.engine import make_engine, writer

log = logging.getLogger("squaddesk.district")

APP_FACTORY = "app.district.api:app_from_env"


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str) -> Engine:
    """The district database at ``url``, created (SQLite) and migrated to the current schema."""
    try:
        db_file = sqlite_file(url)
        if db_file is not None:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
    except ArgumentError as exc:
        raise DomainError(
            f"数据库地址“{url}”的格式不正确，应如 postgresql://用户@主机/库名 或 sqlite:///文件。"
        ) from exc
    except OSError as exc:
        raise DomainError(f"无法创建数据库文件夹：{exc.strerror or exc}。请换一个有写权限的位置。") from exc
    backups = db_file.parent / "backups" if db_file is not None else None
    try:
        migrate.upgrade(engine, backup_dir=backups)
    except OperationalError as exc:
        engine.dispose()
        raise DomainError(
            f"无法打开区局数据库“{_shown(url)}”（{exc.orig.__class__.__name__ if exc.orig else exc}）。"
            "请检查 --db 地址、数据库服务是否在运行及访问权限。"
        ) from exc
    return engine


# ---- commands on the database ------------------------------------------------------------------


def _when(value: dt.datetime | None) -> str:
    """A stored time (naive UTC, as the server keeps them) in this computer's local time."""
    return value.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M") if value else "—"


def _squad_names(session: Session) -> dict[str, str]:
    from app.district.service import list_squads

    return {s.id: s.name for s in list_squads(session)}


def cmd_migrate(session: Session, args: argparse.Namespace) -> int:
    print(f"区局数据库已是最新结构（第 {migrate.head_revision()} 版）：{_shown(args.db)}")
    return 0


def cmd_create_squad(session: Session, args: argparse.Namespace) -> int:
    from app.district.service import create_squad

    squad = create_squad(session, args.name)
    print(f"已登记中队“{squad.name}”（编号 {squad.id}）。")
    print(f"下一步：squaddesk-district issue-code “{squad.name}” 为该中队的每台电脑发放登记码。")
    return 0


def cmd_squads(session: Session, args: argparse.Namespace) -> int:
    from app.district.service import list_squads

    squads = list_squads(session)
    if not squads:
        print("尚未登记任何中队。请用 create-squad 登记。")
        return 0
    for s in squads:
        state = "已绑定" if s.bound else "待首台设备登记"
        print(f"{s.id}  {s.name}  设备 {s.devices} 台  {state}")
    return 0


def cmd_issue_code(session: Session, args: argparse.Namespace) -> int:
    from app.district.service import CODE_VALID, issue_code

    code = issue_code(session, args.squad)
    print(f"登记码：{code}")
    print(f"只能登记一台电脑，{CODE_VALID.days} 天内有效。请在该电脑的 SquadDesk“与区局同步”页输入。")
    return 0


def cmd_devices(session: Session, args: argparse.Namespace) -> int:
    from app.district.service import list_devices

    devices = list_devices(session)
    if not devices:
        print("尚无已登记的设备。")
        return 0
    names = _squad_names(session)
    for d in devices:
        state = "已停用" if d.revoked else "正常"
        print(
            f"{d.id}  {names.get(d.squad_id, d.squad_id)}  {d.label or '（无标签）'}  {state}  "
            f"登记 {_when(d.enrolled_at)}  最近同步 {_when(d.last_seen)}  已确认至第 {d.acked_seq} 条"
        )
    print(f"共 {len(devices)} 台设备。")
    return 0


def cmd_revoke(session: Session, args: argparse.Namespace) -> int:
    from app.district.service import revoke_device

    revoke_device(session, args.device_id)
    print(f"已停用设备 {args.device_id}：它的同步请求和离线数据包今后都会被拒绝。")
    return 0


def cmd_conflicts(session: Session, args: argparse.Namespace) -> int:
    from app.district.service import list_conflicts, list_squads
    from app.errors import NotFoundError
    from db.base import synced_tables

    squad_id: str | None = None
    if args.squad:
        match = [s for s in list_squads(session) if args.squad in (s.id, s.name)]
        if not match:
            raise NotFoundError(f"找不到中队“{args.squad}”，可用 squads 列出已登记的中队。")
        squad_id = match[0].id
    conflicts = list_conflicts(session, squad_id, open_only=args.open)
    if not conflicts:
        print("没有未处理的同步冲突。" if args.open else "没有同步冲突。")
        return 0
    labels = {cls.__tablename__: cls.label_zh or cls.__tablename__ for cls in synced_tables()}
    names = _squad_names(session)
    for c in conflicts:
        state = (
            f"已处理（{'保留胜出版本' if c.resolution == 'winner' else '采用另一版本'}）"
            if c.resolved_at
            else "未处理"
        )
        print(
            f"#{c.id}  {names.get(c.squad_id, c.squad_id)}  {labels.get(c.table_name, c.table_name)} {c.row_id}  "
            f"胜出 v{c.winner[0]}（{c.winner[1]}） 落选 v{c.loser[0]}（{c.loser[1]}）  "
            f"发现于 {_when(c.detected_at)}  {state}"
        )
    unresolved = sum(1 for c in conflicts if c.resolved_at is None)
    print(f"共 {len(conflicts)} 条，其中未处理 {unresolved} 条（由中队在“与区局同步”页处理）。")
    return 0


def cmd_publish(session: Session, args: argparse.Namespace) -> int:
    from app.district.releases import publish_release

    info = publish_release(
        session,
        catalog=Path(args.catalog) if args.catalog else None,
        calendar=Path(args.calendar) if args.calendar else None,
        templates=Path(args.templates) if args.templates else None,
        note=args.note,
    )
    print(f"已发布区局参考数据第 {info.version} 版：{info.contents}。")
    print(f"校验值 sha256 {info.sha256}；各中队下次同步时自动安装。")
    return 0


def cmd_releases(session: Session, args: argparse.Namespace) -> int:
    from app.district.releases import district_public_pem, list_releases

    releases = list_releases(session)
    if not releases:
        print("尚未发布参考数据。用 publish 发布执法事项目录、节假日调整或文书模板。")
        return 0
    for r in releases:
        note = f"  说明：{r.note}" if r.note else ""
        print(f"第 {r.version} 版  {_when(r.created_at)}  {r.contents}  sha256 {r.sha256[:16]}…{note}")
    if args.key:
        print(district_public_pem(session), end="")
    return 0


def cmd_bundle_import(session: Session, args: argparse.Namespace) -> int:
    from app.district.bundles import import_push_bundle

    files = Path(args.files) if args.files else default_files_dir(args.db)
    result = import_push_bundle(session, Path(args.file), Path(args.answer), files)
    print(result.summary)
    # The answer file appears when the transaction commits (app.district.bundles): say so then.
    event.listen(
        session,
        "after_commit",
        lambda _s: print(f"答复包已写到“{args.answer}”，请拷回该中队的电脑导入。"),
        once=True,
    )
    return 0


# ---- serve -----------------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    """Run the HTTP API under uvicorn. The database is migrated once here, before the workers
    start; the workers read the database and file folder from the environment."""
    files = Path(args.files) if args.files else default_files_dir(args.db)
    try:
        files.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DomainError(
            f"无法创建文件夹“{files}”：{exc.strerror or exc}。请用 --files 指定可写的文件夹。"
        ) from exc
    open_database(args.db).dispose()
    os.environ[ENV_DB] = args.db
    os.environ[ENV_FILES] = str(files)
    print(
        f"区局同步服务：http://{args.host}:{args.port}/  数据库 {_shown(args.db)}  文件夹 {files}  "
        f"{args.workers} 个工作进程。按 Ctrl+C 停止。",
        flush=True,
    )
    import uvicorn

    uvicorn.run(APP_FACTORY, factory=True, host=args.host, port=args.port, workers=args.workers)
    return 0


# ---- parser ------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with its complaint introduced in Chinese and exit code 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：命令行参数不正确（{message}）。用 {self.prog} -h 查看用法。\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数，现为“{text}”") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，现为“{text}”")
    return value


Command = Callable[[Session, argparse.Namespace], int]
_DB_HELP = "区局数据库地址，如 postgresql://squaddesk@localhost/district（默认：用户数据目录下 district 文件夹中的 SQLite 文件，供试用）"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="squaddesk-district",
        description="SquadDesk 区局同步服务：运行服务、登记中队与设备、发布参考数据、导入离线数据包",
    )
    parser.add_argument("--db", default=None, help=_DB_HELP)
    common = _Parser(add_help=False)
    # SUPPRESS: given after the subcommand it wins; given before, it is kept.
    common.add_argument("--db", default=argparse.SUPPRESS, help=_DB_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令", parser_class=_Parser)

    p = sub.add_parser("serve", parents=[common], help="运行区局同步服务（HTTP）")
    p.add_argument(
        "--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；对外服务请放在反向代理之后）"
    )
    p.add_argument("--port", type=int, default=8765, help="端口（默认 8765）")
    p.add_argument("--workers", type=_positive, default=1, help="工作进程数（默认 1；PostgreSQL 下可多个）")
    p.add_argument(
        "--files",
        default=None,
        help="附件文件夹（默认：SQLite 数据库旁的 district-files；PostgreSQL 时为用户数据目录下 district/district-files）",
    )
    p.set_defaults(serve=True)

    p = sub.add_parser("migrate", parents=[common], help="把区局数据库升级到本程序的结构版本")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-squad", parents=[common], help="登记一个中队")
    p.add_argument("name", metavar="NAME", help="中队名称，如 车陂街综合行政执法队")
    p.set_defaults(func=cmd_create_squad)

    p = sub.add_parser("squads", parents=[common], help="列出已登记的中队")
    p.set_defaults(func=cmd_squads)

    p = sub.add_parser("issue-code", parents=[common], help="为中队的一台电脑发放一次性登记码")
    p.add_argument("squad", metavar="SQUAD", help="中队名称或编号")
    p.set_defaults(func=cmd_issue_code)

    p = sub.add_parser("devices", parents=[common], help="列出已登记的设备")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("revoke", parents=[common], help="停用一台设备（丢失、报废或人员调离）")
    p.add_argument("device_id", metavar="DEVICE_ID", help="设备编号（见 devices）")
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("conflicts", parents=[common], help="列出同步冲突")
    p.add_argument("--squad", default=None, help="只列该中队（名称或编号）")
    p.add_argument("--open", action="store_true", help="只列未处理的冲突")
    p.set_defaults(func=cmd_conflicts)

    p = sub.add_parser(
        "publish",
        parents=[common],
        help="发布参考数据（执法事项目录与裁量基准、节假日调整、文书模板），签名并编号",
        description="检查后发布一版区局参考数据；任何一个文件有误都不发布，并指出文件和要改的地方。"
        "各中队同步时自动安装，不能回退到旧版。",
    )
    p.add_argument(
        "--catalog", default=None, help="执法事项目录 JSON 文件（格式同 resources/reference/catalog.json）"
    )
    p.add_argument(
        "--calendar", default=None, help="节假日调整文件：JSON 列表或 CSV（列 day,is_workday,name）"
    )
    p.add_argument("--templates", default=None, help="文书模板文件夹（其中每个 .json 是一种文书的修订模板）")
    p.add_argument("--note", default="", help="发布说明，如“2026 年第 1 次调整”")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("releases", parents=[common], help="列出已发布的参考数据版本")
    p.add_argument("--key", action="store_true", help="同时显示区局签名公钥（PEM）")
    p.set_defaults(func=cmd_releases)

    p = sub.add_parser(
        "bundle-import",
        parents=[common],
        help="导入中队的离线数据包（U 盘），写出答复包",
        description="导入中队导出的离线数据包；被改动、截断、不属于该设备或缺少前一包的数据包一律拒收，"
        "不导入任何内容。答复包含确认、该中队其他设备的变更和参考数据发布。",
    )
    p.add_argument("file", metavar="FILE", help="中队导出的离线数据包")
    p.add_argument("--answer", required=True, metavar="OUT", help="答复包的保存位置")
    p.add_argument("--files", default=None, help="附件文件夹（同 serve）")
    p.set_defaults(func=cmd_bundle_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.db = args.db or os.environ.get(ENV_DB) or default_db_url()
    engine: Engine | None = None
    try:
        if getattr(args, "serve", False):
            return serve(args)
        func: Command = args.func
        engine = open_database(args.db)
        factory = sessionmaker(bind=writer(engine), expire_on_commit=False)
        with factory.begin() as session:
            return func(session, args)
    except DomainError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception as exc:
        log.exception("unexpected error in %s", args.command)
        print(f"错误：发生意外问题（{exc.__class__.__name__}: {exc}）。", file=sys.stderr)
        return 1
    finally:
        if engine is not None:
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
