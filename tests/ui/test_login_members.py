"""qtbot tests of the first-run wizard, login, adding a member, and the import preview."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from PySide6.QtWidgets import QApplication

from app.auth.roles import Actor, Role
from app.context import AppContext
from app.personnel.members import MemberQuery, count_members
from tests.conftest import PASSWORD
from ui.login import LoginDialog
from ui.personnel.editor import MemberEditor
from ui.personnel.import_dialog import ImportDialog
from ui.personnel.models import MemberTableModel
from ui.personnel.page import MembersPage
from ui.wizard import FirstRunWizard


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


def test_first_run_wizard_creates_squad_and_admin(qtbot, bare_ctx: AppContext) -> None:
    wizard = FirstRunWizard(bare_ctx)
    qtbot.addWidget(wizard)
    page = wizard.squad_page
    page.name.setText("车陂街综合行政执法队")
    page.body.setText("广州市天河区人民政府车陂街道办事处")
    page.district.setText("440106")
    page.prefix.setText("车综执")
    assert page.validatePage() is True
    admin = wizard.admin_page
    admin.username.setText("admin")
    admin.display.setText("李队")
    admin.password.setText("abc12345")
    admin.again.setText("abc12345")
    wizard.accept()
    assert wizard.actor is not None and wizard.actor.role is Role.ADMIN
    assert bare_ctx.squad_id is not None


def test_login_wrong_then_right(qtbot, ctx: AppContext) -> None:
    dialog = LoginDialog(ctx, "测试中队")
    qtbot.addWidget(dialog)
    dialog.username.setText("admin")
    dialog.password.setText("wrong-password1")
    dialog.try_login()
    assert "再输错 4 次" in dialog.message.text()
    assert dialog.actor is None and dialog.password.text() == ""
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.try_login()
    assert dialog.actor is not None and dialog.actor.username == "admin"


def test_add_member_through_editor(qtbot, ctx: AppContext, admin: Actor) -> None:
    editor = MemberEditor(ctx, admin, None)
    qtbot.addWidget(editor)
    editor.name.setText("张三丰")
    editor.id_number.setText("11010519491231002Y")
    assert editor.save() is False
    assert "身份证号" in editor.message.text()
    assert "border" in editor.id_number.styleSheet()
    editor.id_number.setText("１１０１０５１９４９１２３１００２ｘ")  # full-width, lower-case x: normalised
    editor.gender.setCurrentText("女")
    editor.phone.setText("13800138000")
    assert editor.save() is True
    assert editor.saved is not None and editor.saved.id_number == "11010519491231002X"

    page = MembersPage(ctx, admin)
    qtbot.addWidget(page)
    page.refresh()
    assert page.model.rowCount() == 1
    page.search.setText("zsf")
    page.apply_filter()
    assert page.model.rowCount() == 1
    page.search.setText("李四")
    page.apply_filter()
    assert page.model.rowCount() == 0


def test_member_model_lazy_fetch(qtbot, qtmodeltester, bare_ctx: AppContext) -> None:
    from app.auth.service import authenticate
    from app.demo import fill_demo

    fill_demo(bare_ctx, members=250)
    actor = authenticate(bare_ctx, "admin", "squad2026")
    model = MemberTableModel(bare_ctx, actor)
    model.reload()
    assert model.total == 250 and model.rowCount() == 200
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 250 and not model.canFetchMore()
    qtmodeltester.check(model)


def test_officer_sees_masked_ids_and_no_edit(qtbot, ctx: AppContext, actors: dict[Role, Actor]) -> None:
    editor = MemberEditor(ctx, actors[Role.CLERK], None)
    qtbot.addWidget(editor)
    editor.name.setText("王五")
    editor.id_number.setText("440106199001011235")
    assert editor.save(), editor.message.text()
    page = MembersPage(ctx, actors[Role.OFFICER])
    qtbot.addWidget(page)
    page.refresh()
    assert not page.add_btn.isEnabled() and not page.import_btn.isEnabled()
    assert "*" in page.model.rows[0].id_number


def _ledger(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["车陂街综合行政执法队人员台账"])
    ws.append([])
    ws.append(["序号", "姓名", "身份证号码", "联系电话", "人员类别", "执法证号", "有效期至"])
    ws.append([1, "陈一", "440106199001011235", "13800138001", "公务员", "粤44010600001", "2028-03-01"])
    ws.append([2, "林二", "440106199001011234", "13800138002", "公务员", "", ""])  # bad check digit
    ws.append([3, "", "440106199202021237", "13800138003", "协管员", "", ""])  # no name
    wb.save(path)
    return path


def test_import_preview_names_rejected_rows(qtbot, ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    dialog = ImportDialog(ctx, admin, _ledger(tmp_path / "台账.xlsx"))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.sig_previewed, timeout=10000):
        dialog.start_preview()
    assert dialog.rejected.rowCount() == 2
    rows = {dialog.rejected.item(i, 0).text(): dialog.rejected.item(i, 2).text() for i in range(2)}
    assert "校验位" in rows["5"]
    assert "姓名" in rows["6"]
    assert dialog.valid.rowCount() == 1 and dialog.import_btn.isEnabled()
    with qtbot.waitSignal(dialog.sig_imported, timeout=10000):
        dialog.do_import(confirmed=True)
    with ctx.read() as session:
        assert count_members(session, admin, MemberQuery()) == 1
