"""``squaddesk`` — start the GUI on a data folder (default: the user data folder).

    squaddesk [--data-dir DIR] [--demo]

``--demo`` fills a realistic demo squad on first start (log in as admin / squad2026).
For scripts and tests: ``--login USER`` takes the password from SQUADDESK_PASSWORD instead of
showing the login dialog, and ``--quit-after-start`` prints the start-up time and exits once
the main window is usable.
"""

from __future__ import annotations

import time

# Start-up is timed from here, before Qt and the services are imported.
_T0 = time.perf_counter()

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.auth.roles import SYSTEM, Actor
from app.auth.service import authenticate
from app.backup import auto_backup_if_due
from app.context import AppContext, open_data_dir
from app.errors import DomainError
from app.files import files_dir, remove_incomplete
from app.paths import default_data_dir
from app.squad import get_squad
from ui.errors import message_for
from ui.fonts import install_fonts
from ui.login import LoginDialog
from ui.mainwindow import MainWindow
from ui.start.page import StartPage
from ui.tasks import run_task
from ui.wizard import FirstRunWizard, squad_ready

log = logging.getLogger("squaddesk")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="squaddesk", description="SquadDesk 执法队务台")
    parser.add_argument("--data-dir", type=Path, default=None, help="数据文件夹（默认为用户数据目录）")
    parser.add_argument("--demo", action="store_true", help="首次启动时填入演示中队数据")
    parser.add_argument("--login", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quit-after-start", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _setup_logging(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(data_dir / "squaddesk.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _fatal(text: str) -> int:
    QMessageBox.critical(None, "SquadDesk 无法启动", text)
    return 1


def start(
    app: QApplication, args: argparse.Namespace, started: float
) -> tuple[int, MainWindow | None, AppContext | None]:
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        _setup_logging(data_dir)
        ctx = open_data_dir(data_dir)
    except (DomainError, OSError) as exc:
        return (
            _fatal(message_for(exc) if isinstance(exc, DomainError) else f"无法使用数据文件夹：{exc}"),
            None,
            None,
        )
    # A crash or power cut in the middle of storing a photo leaves a temporary file; nothing else
    # writes yet at this point, so it is safe to clear them.
    remove_incomplete(files_dir(ctx.data_dir))
    actor: Actor | None = None
    hint = ""
    # Not ready: never set up, or joined an existing squad whose download was cut off.
    if ctx.squad_id is None or not squad_ready(ctx):
        if args.demo and ctx.squad_id is None:
            from app.demo import fill_demo

            fill_demo(ctx)
            hint = "演示数据：登录名 admin（管理员）、neiqin（内勤）、duizhang（队长），密码均为 squad2026。"
        else:
            # 新建中队 returns its administrator; 加入已有中队 goes on to the usual login.
            actor = FirstRunWizard.ask(ctx)
            if actor is None and not squad_ready(ctx):
                ctx.close()
                return 0, None, None
    if actor is None:
        with ctx.read() as session:
            squad_name = get_squad(session, ctx.require_squad()).name
        if args.login:
            try:
                actor = authenticate(ctx, args.login, os.environ.get("SQUADDESK_PASSWORD", ""))
            except DomainError as exc:
                return _fatal(exc.message), None, ctx
        else:
            actor = LoginDialog.ask(ctx, squad_name, hint=hint, username="admin" if hint else "")
        if actor is None:
            ctx.close()
            return 0, None, None
    window = MainWindow(ctx, actor)
    window.show()
    if ctx.settings.auto_backup:
        run_task(
            window,
            "自动备份",
            lambda p: auto_backup_if_due(ctx.db_path, ctx.backup_dir, SYSTEM, ctx.settings.backups_keep),
            on_done=None,
            on_error=lambda exc: window.statusBar().showMessage(f"自动备份失败：{message_for(exc)}", 15000),
            modal=False,
        )
    if args.quit_after_start:
        # "ready": the window is shown and answers input; "to-dos": the start page's list is filled
        # (gathered off the GUI thread). Quit once both have happened.
        pending = {"ready", "todos"}

        def done(what: str) -> None:
            print(
                f"{what} {1000 * (time.perf_counter() - started):.0f} ms",
                end=", " if what == "ready" else "\n",
            )
            pending.discard(what)
            if not pending:
                print(f"pages: {','.join(window.page_keys())}")
                window.close()
                app.quit()

        start_page = window.pages.get("start")
        if isinstance(start_page, StartPage):
            start_page.sig_loaded.connect(partial(done, "todos"))
        else:
            pending.discard("todos")
        QTimer.singleShot(0, partial(done, "ready"))
    return 0, window, ctx


def main(argv: Sequence[str] | None = None) -> int:
    started = _T0 if argv is None else time.perf_counter()
    args = parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("SquadDesk")
    app.setOrganizationName("SquadDesk")
    install_fonts(app)
    code, window, ctx = start(app, args, started)
    if window is None:
        return code
    code = app.exec()
    from ui.tasks import pool

    pool().waitForDone(30_000)  # let an automatic backup finish before the database closes
    if ctx is not None:
        ctx.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
