"""``squaddesk-cli`` — scripted and administrative work on a data folder.

Every subcommand takes ``--data-dir``. Errors print a Chinese message on stderr and exit
non-zero; a traceback is never shown to a clerk (it goes to the log file in the data folder).
Commands that change data log in as a user: ``--user`` and the password from ``--password``,
the ``SQUADDESK_PASSWORD`` environment variable, or a prompt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from app.auth.roles import Actor
from app.context import AppContext, open_data_dir
from app.errors import DomainError
from app.paths import default_data_dir

log = logging.getLogger("squaddesk.cli")


def _actor(ctx: AppContext, args: argparse.Namespace) -> Actor:
    from app.auth.service import authenticate

    password = args.password or os.environ.get("SQUADDESK_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise DomainError("请用 --password 或环境变量 SQUADDESK_PASSWORD 提供密码。")
        password = getpass.getpass(f"{args.user} 的密码：")
    return authenticate(ctx, args.user, password)


def cmd_init(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.squad import SquadInput, initialize

    if args.demo:
        from app.demo import fill_demo

        fill_demo(ctx)
        print("已创建演示中队及约 40 名队员。登录名 admin，密码 squad2026。")
        return 0
    missing = [
        n
        for n in ("squad_name", "enforcing_body", "district_code", "doc_prefix", "admin_password")
        if not getattr(args, n)
    ]
    if missing:
        raise DomainError(
            "初始化需要：--squad-name、--enforcing-body、--district-code、--doc-prefix、--admin-password。"
            "或使用 --demo 创建演示中队。"
        )
    initialize(
        ctx,
        SquadInput(args.squad_name, args.enforcing_body, args.district_code, args.doc_prefix),
        args.admin_user,
        args.admin_name,
        args.admin_password,
    )
    print(f"已完成初始设置：{args.squad_name}，管理员 {args.admin_user}。")
    return 0


def cmd_import_members(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.personnel.excel import commit_import, preview_import

    actor = _actor(ctx, args)
    with ctx.read() as session:
        preview = preview_import(session, actor, Path(args.file))
    print(
        f"工作表“{preview.sheet}”，表头在第 {preview.header_row} 行：可导入 {len(preview.rows)} 人"
        f"（含证件 {preview.certificate_count} 本），拒绝 {len(preview.rejected)} 行，跳过空行/备注行 {preview.skipped} 行。"
    )
    for r in preview.rejected:
        print(f"  第 {r.row} 行 {r.name or ''}：{r.reason}")
    if args.dry_run:
        print("试运行（--dry-run）：未写入任何数据。")
        return 0 if not preview.rejected else 3
    if preview.rejected and not args.skip_rejected:
        print(
            "有被拒绝的行，未导入任何数据。请修改 Excel 后重试，或加 --skip-rejected 只导入有效行。",
            file=sys.stderr,
        )
        return 3
    with ctx.unit_of_work(actor, f"导入人员台账 {Path(args.file).name}") as session:
        result = commit_import(session, actor, preview)
    print(f"已导入 {result.members} 名队员、{result.certificates} 本证件。")
    return 0


def cmd_export_members(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.audit import record
    from app.personnel.excel import export_ledgers

    actor = _actor(ctx, args)
    with ctx.read() as session:
        count = export_ledgers(session, actor, ctx.settings, Path(args.file))
    record(
        ctx, actor, "export", f"导出人员与执法证台账（{count} 人，含完整身份证号）到 {Path(args.file).name}"
    )
    print(f"已导出 {count} 名队员及其证件到 {args.file}。")
    return 0


def cmd_backup(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.audit import record
    from app.auth.roles import SYSTEM
    from app.backup import backup_now

    info = backup_now(ctx.db_path, ctx.backup_dir, SYSTEM, target=Path(args.out) if args.out else None)
    record(ctx, SYSTEM, "backup", f"命令行备份到 {info.path.name}")
    print(f"已备份到 {info.path}（{info.size / 1024:.0f} KB）。")
    return 0


def cmd_restore(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.auth.roles import SYSTEM
    from app.backup import check_backup_file, restore_data_dir

    source = Path(args.file)
    check_backup_file(source)
    if not args.yes:
        if not sys.stdin.isatty():
            raise DomainError("恢复会覆盖当前全部数据。确认无误请加 --yes。")
        answer = input(f"用“{source}”覆盖当前全部数据？输入 yes 确认：")
        if answer.strip().lower() != "yes":
            print("已取消，数据未改动。")
            return 1
    safety = restore_data_dir(ctx, SYSTEM, source, confirmed=True)
    print(f"已从 {source} 恢复。原数据已另存为 {safety.path}。")
    return 0


def cmd_verify_audit(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.audit import verify

    with ctx.read() as session:
        report = verify(session)
    if report.ok:
        print(f"审计日志完整：{report.entries} 条记录环环相扣，{report.rows_checked} 行数据与记录一致。")
        return 0
    print(f"审计日志校验未通过（共 {report.entries} 条记录）：", file=sys.stderr)
    for p in report.problems[:50]:
        print(f"  {p.message}", file=sys.stderr)
    if len(report.problems) > 50:
        print(f"  ……另有 {len(report.problems) - 50} 处问题", file=sys.stderr)
    return 4


def cmd_case_check(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.cases.precheck import precheck, vetoes
    from app.cases.service import find_case_by_number

    actor = _actor(ctx, args)
    with ctx.read() as session:
        case = find_case_by_number(session, actor, args.number)
        findings = precheck(session, actor, case.id)
    print(f"{case.number} {case.title}（{case.stage.label}）案卷评查：")
    if not findings:
        print("  未发现问题。")
    for f in findings:
        print(f"  [{f.severity.label}] {f.message} —— 纠正环节：{f.where}")
    blocking = len(vetoes(findings))
    print(f"共 {len(findings)} 项，其中否决项 {blocking} 项。")
    # Exit 5: a veto item stands (a script can refuse to close or hand over the dossier).
    return 5 if blocking else 0


def cmd_clocks(ctx: AppContext, args: argparse.Namespace) -> int:
    import datetime as dt

    from app.cases.service import find_case_by_number
    from app.cases.timing import clocks_for_case

    actor = _actor(ctx, args)
    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    with ctx.read() as session:
        case = find_case_by_number(session, actor, args.number)
        clocks = clocks_for_case(session, actor, case.id, today)
    states = {"none": "正常", "amber": "临近", "red": "已超期", "done": "已完成"}
    print(f"{case.number} {case.title}（{case.stage.label}）法定期限（以 {today.isoformat()} 计）：")
    if not clocks:
        print("  暂无计时的期限（尚未立案或尚无起算事件）。")
    for c in clocks:
        flags = "（暂定：节假日安排未公布）" if c.provisional else ""
        flags += "（中止中）" if c.paused else ""
        print(f"  {c.name}：截止 {c.due.isoformat()}{flags} [{states[c.state.value]}] {c.basis}")
        print(f"    {c.explanation}")
    return 0


def cmd_roster_solve(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.rosters.month import solve_month
    from app.rosters.solver import STATUS_LABELS

    actor = _actor(ctx, args)
    if args.save:
        with ctx.unit_of_work(actor, f"自动排班 {args.month}") as session:
            result = solve_month(session, actor, args.month, seconds=args.seconds, seed=args.seed, save=True)
    else:
        with ctx.read() as session:
            result = solve_month(session, actor, args.month, seconds=args.seconds, seed=args.seed)
    print(f"{args.month} 排班：{STATUS_LABELS[result.status]}，用时 {result.wall_seconds:.1f} 秒", end="")
    if result.first_solution_seconds is not None:
        print(f"（首个可行方案 {result.first_solution_seconds:.2f} 秒）", end="")
    print(f"，共排 {len(result.assignments)} 个班次。")
    for v in result.capacity:
        print(f"  人手不足：{v.message}")
    for line in result.explanation:
        print(f"  冲突：{line}")
    for v in result.violations:
        print(f"  缺口：{v.message}")
    if args.save and result.assignments:
        print("  已写入本月排班草稿（锁定的班次保持不变）。")
    return 0 if result.feasible else 6


def cmd_render(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.cases.service import find_case_by_number
    from app.documents import load_template, render
    from app.documents.binding import document_data

    actor = _actor(ctx, args)
    template = load_template(args.type)
    out = Path(args.out)
    with ctx.read() as session:
        case = find_case_by_number(session, actor, args.case)
        data = document_data(session, actor, case.id, args.type, number=args.number, template=template)
    try:
        result = render(template, data, out)
    except OSError as exc:
        raise DomainError(f"无法写入“{out}”：{exc.strerror or exc}。请检查路径和权限。") from None
    print(f"已生成{template.title}（{case.number}，共 {result.pages} 页）：{out}")
    print(f"字体：{result.font_summary}")
    if result.missing:
        print(f"注意：以下必填内容为空，签发前请补全：{'、'.join(result.missing)}。")
    if result.missing_glyphs:
        print(f"注意：以下字符没有可用字体，打印为方框：{result.missing_glyphs}")
    return 0


def cmd_dossier(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.cases.service import find_case_by_number
    from app.documents.dossier import compile_dossier

    actor = _actor(ctx, args)
    out = Path(args.out)
    with ctx.read() as session:
        case = find_case_by_number(session, actor, args.number)
        order = [x for x in args.order.replace("，", ",").split(",") if x.strip()] if args.order else None
        result = compile_dossier(session, actor, case.id, out, order=order)
    print(
        f"已装订{case.number}（共 {result.pages} 页：封面 {result.cover_pages} 页、卷内目录 "
        f"{result.contents_pages} 页、正文 {result.numbered_pages} 页（页号 1–{result.numbered_pages}）、"
        f"备考表 {result.notes_pages} 页）：{out}"
    )
    print(
        f"档号：{result.archive_number or '（结案后编定）'}；保管期限：{result.retention_years} 年；"
        f"文书 {result.documents} 件（其中未出具 {result.drafts} 件），证据照片 {result.photos} 张，"
        f"其他证据 {result.other_evidence} 件。"
    )
    for warning in result.warnings:
        print(f"注意：{warning}")
    return 0


# ---- sync with the district (与区局同步) ----------------------------------------------------------

#: Exit code of a sync command that failed for a reason that may pass (network, district busy):
#: a script can simply try again later. A refusal that needs a person exits 2 like every error.
EXIT_RETRY = 3


def _console_progress() -> Any:
    """A Progress that prints each new step text on stderr when a person is watching."""
    from app.progress import Progress

    shown: list[str] = []

    def report(done: int, total: int, text: str) -> None:
        if text and (not shown or shown[-1] != text) and sys.stderr.isatty():
            shown.append(text)
            print(f"  {text}", file=sys.stderr)

    return Progress(report)


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    for size, unit in ((86_400, "天"), (3_600, "小时"), (60, "分钟")):
        if seconds >= size:
            return f" {seconds // size} {unit}"
    return "不到 1 分钟"


def _local(value: dt.datetime | None, empty: str = "—") -> str:
    if value is None:
        return empty
    if value.tzinfo is None:  # the database keeps naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def cmd_enroll(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.sync import client
    from app.sync.address import server_url
    from app.sync.transport import HttpTransport

    url = server_url(args.server)
    # A fresh installation has no users yet: it takes the squad (and its users) from the district.
    actor = _actor(ctx, args) if ctx.squad_id is not None else None
    with HttpTransport(url, client.device_key(ctx), ctx.device_id) as transport:
        result = client.enroll(ctx, actor, transport, url, args.code, args.label)
    if result.adopted:
        print(f"已在区局登记，本机加入“{result.squad_name}”。")
        print("下一步：squaddesk-cli sync 下载中队的数据（包括用户账户），之后用原有账户登录。")
    else:
        print(f"已在区局登记为“{result.squad_name}”的设备。")
        print("下一步：squaddesk-cli sync 上传本机的数据。")
    return 0


def cmd_sync(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.sync import client
    from app.sync.transport import HttpTransport

    state = client.status(ctx)
    if not state.enrolled:
        raise DomainError(
            "本机尚未在区局登记。请先用 squaddesk-cli enroll --server 地址 --code 登记码 登记。"
        )
    with HttpTransport(state.server_url, client.device_key(ctx), ctx.device_id) as transport:
        report = client.sync_once(ctx, transport, _console_progress())
    print(f"同步完成：{report.summary()}")
    after = client.status(ctx)
    if after.open_conflicts:
        print(
            f"有 {after.open_conflicts} 处同步冲突待处理：squaddesk-cli conflicts 列出，在“与区局同步”页处理。"
        )
    return 0


def cmd_sync_status(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.sync import client

    s = client.status(ctx)
    if not s.enrolled:
        print("本机尚未在区局登记。用 squaddesk-cli enroll --server 地址 --code 登记码 登记。")
        return 0
    outbox = f"{s.outbox} 条"
    if s.outbox and s.oldest_age is not None:
        outbox += f"，最早一条已等待{_age(s.oldest_age)}"
    print(f"区局地址：{s.server_url}")
    print(f"中队：{s.squad_name}")
    print(f"上次同步：{_local(s.last_sync, '从未同步')}")
    print(f"待上传：{outbox}")
    print(f"未处理冲突：{s.open_conflicts} 处")
    print(f"区局参考数据：{f'第 {s.release_version} 版' if s.release_version else '尚未收到'}")
    print(f"自动同步（图形界面）：{f'每 {s.auto_minutes} 分钟' if s.auto_minutes else '未开启'}")
    if s.last_error:
        print(f"上次同步失败：{s.last_error}（已连续失败 {s.failures} 次）")
    refused = client.list_rejections(ctx)
    print(f"区局拒收：{len(refused)} 条" if refused else "区局拒收：无")
    for item in refused:
        print(f"  {_local(item.at, '—')}  {item.table_label}  {item.row_id}：{item.reason}")
    return 0


def cmd_bundle_export(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.sync import offline

    print(offline.export_bundle(ctx, Path(args.file), progress=_console_progress()).summary)
    return 0


def cmd_bundle_import(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.sync import offline

    print(offline.import_answer(ctx, Path(args.file), progress=_console_progress()).summary)
    return 0


def cmd_conflicts(ctx: AppContext, args: argparse.Namespace) -> int:
    from app.sync import client

    conflicts = client.list_conflicts(ctx, include_resolved=args.all)
    if not conflicts:
        print("没有同步冲突。" if args.all else "没有未处理的同步冲突。")
        return 0
    for c in conflicts:
        if c.resolved_at is None:
            state = "未处理"
        else:
            how = "保留当前版本" if c.resolution == client.KEEP_CURRENT else "采用另一版本"
            state = f"已处理（{how}，{c.resolved_by or '—'}，{_local(c.resolved_at)}）"
        title = c.title or c.row_id
        print(f"#{c.id}  {c.table_label}：{title}  发现于 {_local(c.detected_at)}  {state}")
        for name, (current, other) in c.differences.items():
            print(f"    {name}：当前版本 {_shown(current)}，另一版本 {_shown(other)}")
    unresolved = sum(1 for c in conflicts if c.resolved_at is None)
    print(f"共 {len(conflicts)} 条，其中未处理 {unresolved} 条（在“与区局同步”页处理）。")
    return 0


def _shown(value: object) -> str:
    return "（空）" if value is None or value == "" else f"“{value}”"


def _type_codes() -> list[str]:
    from app.documents import document_types

    try:
        return list(document_types())
    except DomainError:
        return []


def _document_types_help() -> str:
    from app.documents import document_types

    try:
        types = document_types()
    except DomainError as exc:
        return f"（文书模板有误：{exc.message}）"
    return "文书类型：" + "；".join(f"{code} {title}" for code, title in types.items())


class _Parser(argparse.ArgumentParser):
    """argparse with its complaint introduced in Chinese and exit code 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：命令行参数不正确（{message}）。用 {self.prog} -h 查看用法。\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="squaddesk-cli", description="SquadDesk 执法队务台 命令行工具")
    parser.add_argument("--data-dir", type=Path, default=None, help="数据文件夹（默认为用户数据目录）")
    common = _Parser(add_help=False)
    # SUPPRESS: given after the subcommand it wins; given before, it is kept.
    common.add_argument(
        "--data-dir", type=Path, default=argparse.SUPPRESS, help="数据文件夹（默认为用户数据目录）"
    )
    login = _Parser(add_help=False)
    login.add_argument("--user", default="admin", help="登录名（默认 admin）")
    login.add_argument("--password", default=None, help="密码（也可用环境变量 SQUADDESK_PASSWORD）")
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令", parser_class=_Parser)

    p = sub.add_parser("init", parents=[common], help="初始化数据文件夹（首次设置）")
    p.add_argument("--demo", action="store_true", help="创建演示中队")
    p.add_argument("--squad-name")
    p.add_argument("--enforcing-body")
    p.add_argument("--district-code")
    p.add_argument("--doc-prefix")
    p.add_argument("--admin-user", default="admin")
    p.add_argument("--admin-name", default="系统管理员")
    p.add_argument("--admin-password")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import-members", parents=[common, login], help="从 Excel 导入人员与证件台账")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="只检查并列出被拒绝的行，不写入")
    p.add_argument("--skip-rejected", action="store_true", help="只导入有效行")
    p.set_defaults(func=cmd_import_members)

    p = sub.add_parser("export-members", parents=[common, login], help="导出人员与证件台账到 Excel")
    p.add_argument("file")
    p.set_defaults(func=cmd_export_members)

    p = sub.add_parser("backup", parents=[common], help="立即备份数据库")
    p.add_argument("--out", default=None, help="备份文件路径（默认在数据文件夹的 backups 下）")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", parents=[common], help="从备份文件恢复（覆盖当前数据）")
    p.add_argument("file")
    p.add_argument("--yes", action="store_true", help="不再询问，直接恢复")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("case-check", parents=[common, login], help="案卷评查预检（有否决项时退出码为 5）")
    p.add_argument("number", help="案号，如 车综执立〔2026〕第0001号")
    p.set_defaults(func=cmd_case_check)

    p = sub.add_parser("clocks", parents=[common, login], help="列出案件的法定期限及截止日")
    p.add_argument("number", help="案号，如 车综执立〔2026〕第0001号")
    p.add_argument("--today", default=None, help="以该日计算状态（YYYY-MM-DD，默认今天）")
    p.set_defaults(func=cmd_clocks)

    p = sub.add_parser(
        "roster-solve", parents=[common, login], help="自动编排一个月的值班表（无可行方案时退出码为 6）"
    )
    p.add_argument("month", help="月份，如 2026-12")
    p.add_argument("--seconds", type=float, default=10.0, help="求解时间上限（秒，默认 10）")
    p.add_argument("--seed", type=int, default=None, help="固定随机种子（用于复现）")
    p.add_argument("--save", action="store_true", help="把结果写入本月排班草稿")
    p.set_defaults(func=cmd_roster_solve)

    types = _document_types_help()
    p = sub.add_parser(
        "render",
        parents=[common, login],
        help=f"生成案件的执法文书 PDF（{'、'.join(_type_codes())}）",
        description=f"按文书模板生成案件的执法文书（A4，嵌入字体）。{types}",
    )
    p.add_argument("type", metavar="TYPE", help=types)
    p.add_argument("--case", required=True, help="案号，如 车综执立〔2026〕第0001号")
    p.add_argument("--out", required=True, help="输出的 PDF 文件")
    p.add_argument("--number", default=None, help="文号（已签发时填写；不填则印“（未编号）”）")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "dossier",
        parents=[common, login],
        help="装订案卷：封面、卷内目录、文书、证据、备考表合成一个 PDF",
        description="按装订顺序把案件装订成一个 PDF：卷宗封面、卷内目录、文书（已出具的取存档件，未出具的按案件数据生成）、"
        "证据照片及清单、备考表；正文编页号，封面、目录、备考表不编页号。",
    )
    p.add_argument("number", metavar="CASE_NUMBER", help="案号，如 车综执立〔2026〕第0001号")
    p.add_argument("--out", required=True, help="输出的 PDF 文件")
    p.add_argument(
        "--order",
        default=None,
        help="装订顺序（逗号分隔的分组或文书类型代码，默认 filing,investigation,review,decision,"
        "service,execution,closure,evidence）",
    )
    p.set_defaults(func=cmd_dossier)

    p = sub.add_parser("verify-audit", parents=[common], help="校验审计日志与数据是否被篡改")
    p.set_defaults(func=cmd_verify_audit)

    p = sub.add_parser(
        "enroll",
        parents=[common, login],
        help="用区局发放的登记码在区局登记本机（新安装的电脑由此加入已有中队）",
        description="在区局登记本机，只需一次。已完成初始设置的电脑须以管理员登录；"
        "尚未设置的新电脑登记后加入登记码所属的中队，再用 sync 下载中队的数据（包括用户账户）。",
    )
    p.add_argument("--server", required=True, help="区局同步服务的地址，如 http://192.168.1.10:8765")
    p.add_argument("--code", required=True, help="区局发放的一次性登记码")
    p.add_argument("--label", default="", help="本机名称，如“内勤电脑”（区局的设备列表中显示）")
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser(
        "sync",
        parents=[common],
        help="与区局同步一次（退出码：0 成功，2 需要处理的错误，3 网络等暂时问题、可稍后重试）",
    )
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser(
        "sync-status", parents=[common], help="显示同步状态：上次同步、待上传、冲突、错误、区局拒收的改动"
    )
    p.set_defaults(func=cmd_sync_status)

    p = sub.add_parser(
        "bundle-export", parents=[common], help="没有网络时：把待上传的改动导出为同步文件（U 盘）"
    )
    p.add_argument("file", metavar="FILE", help="同步文件的保存位置（.sdbundle）")
    p.set_defaults(func=cmd_bundle_export)

    p = sub.add_parser("bundle-import", parents=[common], help="导入区局对同步文件的答复")
    p.add_argument("file", metavar="FILE", help="区局的答复文件")
    p.set_defaults(func=cmd_bundle_import)

    p = sub.add_parser("conflicts", parents=[common], help="列出同步冲突及不同的内容（在图形界面中处理）")
    p.add_argument("--all", action="store_true", help="同时列出已处理的冲突")
    p.set_defaults(func=cmd_conflicts)
    return parser


def _setup_logging(data_dir: Path) -> None:
    try:
        handler: logging.Handler = logging.FileHandler(data_dir / "squaddesk-cli.log", encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir or default_data_dir()
    func: Callable[[AppContext, argparse.Namespace], int] = args.func
    ctx: AppContext | None = None
    try:
        ctx = open_data_dir(data_dir)
        _setup_logging(data_dir)
        if args.command not in ("init", "enroll"):
            ctx.require_squad()
        return func(ctx, args)
    except DomainError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        # A sync failure that may pass (network, a busy district; SyncError.transient): exit 3, so
        # that a script can simply try again later.
        return EXIT_RETRY if getattr(exc, "transient", False) else 2
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception as exc:  # the clerk gets a sentence; the log gets the traceback
        log.exception("unexpected error in %s", args.command)
        print(
            f"错误：发生意外问题（{exc.__class__.__name__}: {exc}）。详细信息已写入 {data_dir / 'squaddesk-cli.log'}。",
            file=sys.stderr,
        )
        return 1
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
