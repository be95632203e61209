"""Make the README's screenshots offscreen from a fresh demo squad.

    QT_QPA_PLATFORM=offscreen python packaging/screenshots.py

Writes packaging/screenshots/<page>.png. Uses only the bundled font, so the pictures show what
a PC without Chinese fonts shows.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from app.auth.service import authenticate
from app.cases import CaseStage
from app.cases.query import CaseQuery, search_cases
from app.context import open_data_dir
from app.demo import fill_demo
from app.documents.casework import draft_case_document
from app.rosters.data import month_of
from app.rosters.month import solve_month
from ui.cases.workspace import CaseWorkspace
from ui.documents.preview import PdfPreview
from ui.fonts import install_fonts
from ui.login import LoginDialog
from ui.mainwindow import MainWindow
from ui.rosters.page import RostersPage
from ui.wizard import FirstRunWizard

OUT = Path(__file__).resolve().parent / "screenshots"


def main() -> None:
    app = QApplication(sys.argv[:1])
    install_fonts(app)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = open_data_dir(Path(tmp))
        wizard = FirstRunWizard(ctx)
        wizard.show()
        app.processEvents()
        wizard.grab().save(str(OUT / "wizard.png"))
        wizard.close()
        fill_demo(ctx)
        login = LoginDialog(ctx, "车陂街综合行政执法队")
        login.username.setText("admin")
        login.show()
        app.processEvents()
        login.grab().save(str(OUT / "login.png"))
        login.close()
        actor = authenticate(ctx, "admin", "squad2026")
        # This month's roster drawn up by the solver, as a clerk's 自动排班 would.
        with ctx.unit_of_work(actor, "自动排班") as session:
            solve_month(session, actor, month_of(dt.date.today()), seconds=5, seed=1, save=True)
        window = MainWindow(ctx, actor)
        window.resize(1280, 780)
        window.show()
        for key in window.page_keys():
            window.open_page(key)
            app.processEvents()
            window.grab().save(str(OUT / f"{key}.png"))
            print(OUT / f"{key}.png")
        # The case workspace of a case awaiting payment: its steps, and its clocks.
        with ctx.read() as session:
            served = search_cases(session, actor, CaseQuery(stage=CaseStage.SERVED))[0]
        workspace = CaseWorkspace(ctx, actor, served.id)
        workspace.show()
        for tab, name in ((0, "workspace"), (1, "workspace_clocks")):
            workspace.tabs.setCurrentIndex(tab)
            app.processEvents()
            workspace.grab().save(str(OUT / f"{name}.png"))
            print(OUT / f"{name}.png")
        workspace.tabs.setCurrentWidget(workspace.documents)
        workspace.documents.select("penalty_decision")
        app.processEvents()
        workspace.grab().save(str(OUT / "workspace_documents.png"))
        print(OUT / "workspace_documents.png")
        # The preview of the decision as it would be issued (a draft: unnumbered).
        with ctx.read() as session:
            draft = draft_case_document(session, actor, served.id, "penalty_decision")
        preview = PdfPreview(draft.pdf_bytes, "行政处罚决定书（草稿）", "草稿，未编号")
        preview.resize(760, 980)
        preview.show()
        for _ in range(20):  # QtPdf renders the pages asynchronously
            app.processEvents()
            time.sleep(0.05)
        preview.grab().save(str(OUT / "document_preview.png"))
        print(OUT / "document_preview.png")
        preview.close()
        # The month roster as printed (A4 landscape).
        rosters = window.pages["rosters"]
        assert isinstance(rosters, RostersPage)
        roster = PdfPreview(rosters.roster_pdf(), "排班表", "")
        roster.resize(1100, 820)
        roster.show()
        for _ in range(20):
            app.processEvents()
            time.sleep(0.05)
        roster.grab().save(str(OUT / "roster_print.png"))
        print(OUT / "roster_print.png")
        roster.close()
        workspace.close()
        window.close()
        ctx.close()


if __name__ == "__main__":
    main()
