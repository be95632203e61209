"""qtbot tests of the lead register (案源登记) and the reference-data page (执法事项与裁量基准),
driven offscreen against real SQLite data folders and a real file store. Dialogs are filled and
saved through their own save methods, never a blocking exec(); message boxes are replaced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from app.auth.roles import Actor, Role
from app.context import AppContext
from app.files import files_dir, path_of
from app.leads import LeadInput, LeadSource, LeadStatus, close_lead, get_lead, list_leads, register_lead
from app.reference import current_release, list_items, thresholds, tiers_for
from ui.leads.dialogs import CloseLeadDialog, LeadDialog, TransferLeadDialog
from ui.leads.page import LeadsPage
from ui.reference.dialogs import ThresholdsDialog
from ui.reference.page import ReferencePage
from ui.reference.tiers_dialog import TiersDialog
from ui.thumbnails import load_thumbnail


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every error dialog the code tried to show, instead of a modal box waiting for a click."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    return shown


def png(tmp_path: Path, name: str = "现场.png") -> Path:
    image = QImage(640, 480, QImage.Format.Format_RGB32)
    image.fill(QColor("#1e88e5"))
    path = tmp_path / name
    assert image.save(str(path))
    return path


def add_leads(ctx: AppContext, actor: Actor) -> None:
    now = dt.datetime.now().replace(microsecond=0)
    with ctx.unit_of_work(actor, "登记测试案源") as s:
        register_lead(
            s,
            actor,
            LeadInput(
                LeadSource.HOTLINE_12345,
                "车陂路 123 号门前",
                "占道摆卖水果，影响通行。",
                received_at=now - dt.timedelta(days=1),
                source_ref="GZ12345-0456",
                grid_zone="车陂第三网格",
            ),
        )
        register_lead(
            s,
            actor,
            LeadInput(LeadSource.PATROL, "东圃大马路 88 号", "工地未设围挡，扬尘明显。", received_at=now),
        )


def make(qtbot: Any, cls: Any, ctx: AppContext, actor: Actor) -> Any:
    page = cls(ctx, actor)
    qtbot.addWidget(page)
    page.resize(1030, 700)
    page.refresh()
    return page


# --- 案源登记 ---------------------------------------------------------------------------------


def test_leads_page_lists_leads_newest_first_and_filters(qtbot, ctx, admin, qtmodeltester, errors) -> None:
    add_leads(ctx, admin)
    page = make(qtbot, LeadsPage, ctx, admin)
    with ctx.read() as s:
        expected = list_leads(s, admin)
    assert [v.id for v in page.model.rows()] == [v.id for v in expected] and len(expected) == 2
    assert page.model.data(page.model.index(0, 2)) == "巡查发现"  # newest first
    assert page.model.headerData(7, Qt.Orientation.Horizontal) == "简要情况"
    qtmodeltester.check(page.model)

    page.source.setCurrentIndex(page.source.findData(LeadSource.HOTLINE_12345))
    assert [v.source for v in page.model.rows()] == [LeadSource.HOTLINE_12345]
    page.source.setCurrentIndex(0)
    with ctx.unit_of_work(admin, "不予立案") as s:
        close_lead(s, admin, expected[0].id, "经核查已整改。")
    page.status.setCurrentIndex(page.status.findData(LeadStatus.REGISTERED))
    assert [v.id for v in page.model.rows()] == [expected[1].id]
    page.status.setCurrentIndex(0)
    page.by_date.setChecked(True)
    page.date_from.setDate(page.date_to.date())  # today only
    assert [v.id for v in page.model.rows()] == [expected[0].id]
    page.by_date.setChecked(False)
    page.search.setText("车陂")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert page.model.row_at(0).address == "车陂路 123 号门前"
    assert errors == []


def test_registering_a_lead_with_a_photo_through_the_dialog(qtbot, ctx, admin, tmp_path, errors) -> None:
    photo = png(tmp_path)
    dialog = LeadDialog(ctx, admin)
    qtbot.addWidget(dialog)
    dialog.source.setCurrentIndex(dialog.source.findData(LeadSource.HOTLINE_12345))
    assert dialog.source_ref_label.text().startswith("12345 工单号")
    dialog.source_ref.setText("GZ12345-20261121-0001")
    dialog.reporter_name.setText("王女士")
    dialog.reporter_phone.setText("13800138000")
    dialog.address.setText("车陂路 123 号门前人行道")
    dialog.grid_zone.setText("车陂第三网格")
    dialog.description.setPlainText("有人在人行道上摆摊售卖水果，占用盲道。")
    dialog.add_photo_paths([photo, photo])  # the same file twice is listed once
    assert dialog.photos.count() == 1
    with qtbot.waitSignal(dialog.sig_saved, timeout=20_000):
        assert dialog.save() is not None
    assert errors == []
    assert dialog.result() == 1 and dialog.saved is not None
    with ctx.read() as s:
        lead = get_lead(s, admin, dialog.saved.id)
    assert lead.source_ref == "GZ12345-20261121-0001" and lead.reporter_name == "王女士"
    assert [p.original_name for p in lead.photos] == ["现场.png"]
    stored = path_of(files_dir(ctx.data_dir), lead.photos[0].sha256)
    assert stored.read_bytes() == photo.read_bytes()

    page = make(qtbot, LeadsPage, ctx, admin)
    page.select(lead.id)
    assert page.detail.thumbnail_count() == 1
    thumb = page.detail.photos.item(0).icon()
    assert not thumb.isNull()
    picture = load_thumbnail(stored)
    assert picture is not None and (picture.width(), picture.height()) == (149, 112)  # 640×480 fitted
    assert "GZ12345-20261121-0001" in page.detail.text.text()


def test_lead_dialog_keeps_input_when_the_service_refuses(qtbot, ctx, admin, errors) -> None:
    dialog = LeadDialog(ctx, admin)
    qtbot.addWidget(dialog)
    dialog.source.setCurrentIndex(dialog.source.findData(LeadSource.HOTLINE_12345))
    dialog.address.setText("车陂路 123 号")
    dialog.description.setPlainText("占道摆卖。")
    task = dialog.save()
    assert task is not None and not dialog.button_box.isEnabled()
    with qtbot.waitSignal(task.sig_finished, timeout=20_000):
        pass
    assert len(errors) == 1 and "12345 工单号" in errors[0]
    assert dialog.result() == 0 and dialog.saved is None
    assert dialog.address.text() == "车陂路 123 号" and dialog.button_box.isEnabled()
    with ctx.read() as s:
        assert list_leads(s, admin) == []


def test_closing_with_an_empty_reason_is_refused_and_the_dialog_stays(qtbot, ctx, admin, errors) -> None:
    add_leads(ctx, admin)
    page = make(qtbot, LeadsPage, ctx, admin)
    lead = page.model.row_at(0)
    page.select(lead.id)
    assert page.close_button.isEnabled() and page.transfer_button.isEnabled()

    dialog = CloseLeadDialog(ctx, admin, lead)
    qtbot.addWidget(dialog)
    dialog.reason.setPlainText("   ")
    assert not dialog.save()
    assert len(errors) == 1 and "不予立案的理由" in errors[0] and lead.number in errors[0]
    assert dialog.result() == 0 and dialog.saved is None
    dialog.reason.setPlainText("经现场核查，未发现违法行为。")
    assert dialog.save() and dialog.saved is not None and dialog.saved.status is LeadStatus.CLOSED

    other = page.model.row_at(1)
    transfer = TransferLeadDialog(ctx, admin, other)
    qtbot.addWidget(transfer)
    transfer.reason.setPlainText("属食品经营监管事项。")
    assert not transfer.save()  # no department
    assert "接收部门" in errors[-1] and transfer.reason.toPlainText() == "属食品经营监管事项。"
    transfer.department.setText("广州市天河区市场监督管理局")
    assert transfer.save() and transfer.saved is not None
    assert transfer.saved.transferred_to == "广州市天河区市场监督管理局"

    page.refresh()
    page.select(lead.id)
    assert "不予立案已结" in page.detail.text.text() and "未发现违法行为" in page.detail.text.text()
    # A triaged lead can no longer be edited, closed or transferred.
    assert not page.edit_button.isEnabled() and not page.close_button.isEnabled()
    assert page.add_button.isEnabled()


def test_officer_registers_leads_but_cannot_edit_reference_data(qtbot, ctx, actors, errors) -> None:
    officer = actors[Role.OFFICER]
    leads = make(qtbot, LeadsPage, ctx, officer)
    assert leads.add_button.isEnabled()
    reference = make(qtbot, ReferencePage, ctx, officer)
    assert reference.items.rowCount() > 20
    assert not reference.threshold_button.isEnabled() and not reference.tier_button.isEnabled()
    assert "维护执法事项与裁量基准" in reference.threshold_button.toolTip()
    assert errors == []


# --- 执法事项与裁量基准 -----------------------------------------------------------------------


def test_reference_page_shows_release_items_tiers_and_thresholds(
    qtbot, ctx, admin, qtmodeltester, errors
) -> None:
    page = make(qtbot, ReferencePage, ctx, admin)
    with ctx.read() as s:
        release = current_release(s)
        items = list_items(s)
        first_tiers = tiers_for(s, items[0].code)
        limits = thresholds(s)
    assert f"第 {release.release_no} 版" in page.release_label.text()
    assert [i.code for i in page.items.rows()] == [i.code for i in items]
    assert page.selected_item() is not None and page.selected_item().code == items[0].code
    assert [t.name for t in page.tiers.rows()] == [t.name for t in first_tiers]
    assert items[0].breach_basis in page.legal.toPlainText()
    assert page.threshold_labels["summary_person_fen"].text() == f"{limits.summary_person_fen // 100} 元"
    qtmodeltester.check(page.items)
    qtmodeltester.check(page.tiers)

    category = items[-1].category
    page.category.setCurrentIndex(page.category.findData(category))
    assert {i.category for i in page.items.rows()} == {category}
    page.category.setCurrentIndex(0)
    page.search.setText("szzy")  # pinyin initials of 擅自占用…
    qtbot.waitUntil(lambda: page.items.rowCount() < len(items))
    with ctx.read() as s:
        found = list_items(s, text="szzy")
    assert [i.code for i in page.items.rows()] == [i.code for i in found] and "SZ-001" in [
        i.code for i in found
    ]
    assert errors == []


def test_admin_edits_a_threshold_and_a_tier_into_new_releases(qtbot, ctx, admin, errors) -> None:
    page = make(qtbot, ReferencePage, ctx, admin)
    assert page.threshold_button.isEnabled() and page.tier_button.isEnabled()
    before = page.release.release_no

    dialog = ThresholdsDialog(ctx, admin, page.limits)
    qtbot.addWidget(dialog)
    dialog.edits["summary_person_fen"].setText("两百")
    assert not dialog.save()
    assert "不是有效的金额" in errors.pop() and dialog.edits["summary_person_fen"].text() == "两百"
    dialog.edits["summary_person_fen"].setText("150")
    assert dialog.save() and dialog.saved is not None and dialog.saved.summary_person_fen == 15_000
    page.refresh()
    assert f"第 {before + 1} 版（本地修订）" in page.release_label.text()
    assert page.threshold_labels["summary_person_fen"].text() == "150 元"

    item = page.selected_item()
    tier = TiersDialog(ctx, admin, item, page.tiers.rows(), 2)
    qtbot.addWidget(tier)
    tier.person_max.setText("9,000")
    assert tier.save() and tier.saved is not None
    assert tier.saved[2].person_fine.max_fen == 900_000
    page.refresh()
    assert f"第 {before + 2} 版" in page.release_label.text()
    assert page.tiers.data(page.tiers.index(2, 1)) == "2,000–9,000 元"
    assert errors == []
