"""Make the README's screenshots of sync (与区局同步) offscreen.

    QT_QPA_PLATFORM=offscreen python packaging/screenshots_sync.py

Writes packaging/screenshots/sync_enroll.png (a demo squad not yet enrolled),
sync_conflicts.png (enrolled, synced, with a conflict between two PCs selected),
sync_refused.png (the 区局拒收 tab after the district refused a record claiming another squad, as
a damaged file might make one) and wizard_join.png (the first-run wizard's 加入已有中队 page). The district runs in-process (the
real API app behind Starlette's test client), so no server needs to be started.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fastapi.testclient import TestClient
from PySide6.QtWidgets import QApplication
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.demo import fill_demo
from app.district.api import create_app
from app.district.service import create_squad, issue_code
from app.personnel.members import MemberInput, get_member, update_member
from app.sync import client
from app.sync.transport import HttpTransport
from db.engine import make_engine, sqlite_url
from db.models import ChangeLogEntry, Member
from ui.fonts import install_fonts
from ui.mainwindow import MainWindow
from ui.sync.page import SyncPage
from ui.wizard import FirstRunWizard

OUT = Path(__file__).resolve().parent / "screenshots"
#: What the clerk typed: the address as the district gave it.
ADDRESS = "http://192.168.1.10:8765"
SQUAD = "车陂街综合行政执法队"


def _window_on_sync(app: QApplication, ctx: AppContext, actor: Actor) -> MainWindow:
    window = MainWindow(ctx, actor)
    window.resize(1280, 780)
    window.show()
    window.open_page("sync")
    app.processEvents()
    return window


def _set_phone(ctx: AppContext, actor: Actor, member_id: str, phone: str) -> None:
    with ctx.unit_of_work(actor, "修改队员") as s:
        v = get_member(s, actor, member_id)
        data = MemberInput(
            v.name,
            v.id_number,
            v.category,
            phone,
            v.gender,
            v.position,
            v.unit,
            v.join_date,
            v.status,
            v.legal_qualification_no,
            v.note,
        )
        update_member(s, actor, member_id, data, v.version)


def main() -> None:
    app = QApplication(sys.argv[:1])
    install_fonts(app)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = make_engine(sqlite_url(root / "district.sqlite3"))
        http = TestClient(create_app(engine, root / "district-files"), base_url="http://district.test")
        sessions = sessionmaker(bind=engine)
        with sessions.begin() as s:
            create_squad(s, SQUAD)

        def code() -> str:
            with sessions.begin() as s:
                return issue_code(s, SQUAD)

        def transport(ctx: AppContext) -> HttpTransport:
            return HttpTransport("http://district.test", client.device_key(ctx), ctx.device_id, client=http)

        # The wizard's second path.
        fresh = open_data_dir(root / "fresh")
        wizard = FirstRunWizard(fresh)
        wizard.choice_page.join.setChecked(True)
        wizard.show()
        wizard.next()
        fields = wizard.join_page.fields
        fields.server.setText(ADDRESS)
        fields.code.setText("A91C-07EF-5B32-D8C4")
        fields.label.setText("外勤站笔记本")
        app.processEvents()
        wizard.grab().save(str(OUT / "wizard_join.png"))
        print(OUT / "wizard_join.png")
        wizard.close()
        fresh.close()

        # The office PC before enrollment.
        office = open_data_dir(root / "office")
        fill_demo(office)
        admin = authenticate(office, "admin", "squad2026")
        window = _window_on_sync(app, office, admin)
        page = window.pages["sync"]
        assert isinstance(page, SyncPage)
        page.enroll_fields.server.setText(ADDRESS)
        page.enroll_fields.code.setText("3F2A-9C01-B7DE-44E1")
        page.enroll_fields.label.setText("内勤电脑")
        app.processEvents()
        window.grab().save(str(OUT / "sync_enroll.png"))
        print(OUT / "sync_enroll.png")
        window.close()

        # Enrolled, synced with a field-station laptop, and both changed one member's phone.
        client.enroll(office, admin, transport(office), ADDRESS, code(), "内勤电脑")
        client.sync_once(office, transport(office))
        field = open_data_dir(root / "field")
        client.enroll(field, None, transport(field), ADDRESS, code(), "外勤站笔记本")
        client.sync_once(field, transport(field))
        officer = authenticate(field, "admin", "squad2026")
        with office.read() as s:
            member_id = s.scalars(select(Member.id).order_by(Member.name)).first()
        assert member_id is not None
        _set_phone(office, admin, member_id, "13800138001")
        _set_phone(field, officer, member_id, "13922224567")
        client.sync_once(office, transport(office))
        client.sync_once(field, transport(field))
        report = client.sync_once(office, transport(office))
        client.set_auto_minutes(office, admin, 30)
        window = _window_on_sync(app, office, admin)
        page = window.pages["sync"]
        assert isinstance(page, SyncPage)
        page.result_label.setText(f"{dt.datetime.now():%H:%M}同步完成：{report.summary()}")
        page.refresh()
        app.processEvents()
        window.grab().save(str(OUT / "sync_conflicts.png"))
        print(OUT / "sync_conflicts.png")
        window.close()

        # A record the district refuses: its change-log entry claims another squad.
        with office.unit_of_work(admin, "篡改") as s:
            entry = s.scalars(select(ChangeLogEntry).where(ChangeLogEntry.row_id == member_id)).first()
            assert entry is not None
            forged = str(uuid.uuid4())
            payload = {**json.loads(entry.payload), "id": forged, "squad_id": "另一个中队"}
            s.add(
                ChangeLogEntry(
                    table_name="members",
                    row_id=forged,
                    op="insert",
                    version=1,
                    hlc=entry.hlc,
                    device_id=office.device_id,
                    payload=json.dumps(payload, ensure_ascii=False),
                )
            )
        report = client.sync_once(office, transport(office))
        window = _window_on_sync(app, office, admin)
        page = window.pages["sync"]
        assert isinstance(page, SyncPage)
        page.result_label.setText(f"{dt.datetime.now():%H:%M}同步完成：{report.summary()}")
        page.refresh()
        page.lists.setCurrentIndex(1)
        app.processEvents()
        window.grab().save(str(OUT / "sync_refused.png"))
        print(OUT / "sync_refused.png")
        window.close()
        field.close()
        office.close()
        http.close()
        engine.dispose()


if __name__ == "__main__":
    main()
