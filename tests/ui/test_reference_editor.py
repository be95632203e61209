"""qtbot tests of the reference-data editors on the 执法事项 page: adding, editing and deleting an
item, editing an item's discretion tiers, importing a district release from a file and exporting
the current one, and the release history — offscreen, on a real SQLite data folder. Dialogs are
filled and saved through their own save methods (``ask`` is replaced, no blocking exec());
message boxes, confirmations and file pickers are replaced too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.auth.roles import Actor, Permission, Role
from app.context import AppContext
from app.reference import (
    STANDARD_TIER_NAMES,
    FineRange,
    PenaltyType,
    current_release,
    export_release,
    get_item,
    list_items,
    list_releases,
    tiers_for,
)
from ui.reference import page as page_module
from ui.reference import tiers_dialog as tiers_module
from ui.reference.item_dialog import ItemDialog
from ui.reference.page import ReferencePage
from ui.reference.releases import ReleasesDialog
from ui.reference.tiers_dialog import TiersDialog

CODE = "SR-099"
NAME = "在露天场所焚烧落叶、垃圾"


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


class Confirms:
    """The questions asked through ui.errors.confirm, answered from ``answers`` (yes once empty)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answers: list[bool] = []

    def __call__(self, parent: Any, title: str, text: str) -> bool:
        self.asked.append(text)
        return self.answers.pop(0) if self.answers else True


@pytest.fixture
def confirms(monkeypatch: pytest.MonkeyPatch) -> Confirms:
    fake = Confirms()
    monkeypatch.setattr(page_module, "confirm", fake)
    monkeypatch.setattr(tiers_module, "confirm", fake)
    return fake


def make_page(qtbot: Any, ctx: AppContext, actor: Actor) -> ReferencePage:
    page = ReferencePage(ctx, actor)
    qtbot.addWidget(page)
    page.resize(1030, 700)
    page.refresh()
    return page


def screenshot(qtbot: Any, widget: QWidget, path: Path) -> None:
    """The dialog renders offscreen (with the bundled CJK font) to a non-trivial picture."""
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000


def fill_new_item(dialog: ItemDialog) -> None:
    dialog.code.setText(CODE)
    dialog.name.setText(NAME)
    dialog.category.setCurrentText("市容环境卫生")
    dialog.breach_basis.setPlainText("《城市市容和环境卫生管理条例》第二十九条")
    dialog.penalty_basis.setPlainText("《城市市容和环境卫生管理条例》第三十四条")
    dialog.types[PenaltyType.ORDER_CORRECTION].setChecked(True)
    dialog.types[PenaltyType.FINE].setChecked(True)
    dialog.person_max.setText("200")
    dialog.org_min.setText("500")
    dialog.org_max.setText("2,000")


def drive(qtbot: Any, monkeypatch: pytest.MonkeyPatch, cls: Any, fill: Any) -> list[Any]:
    """Replace ``cls.ask`` by the real dialog, filled by ``fill(dialog)`` and saved (no exec())."""
    dialogs: list[Any] = []

    def ask(*args: Any) -> Any:
        dialog = cls(*args)  # a child of the page, which qtbot closes
        dialogs.append(dialog)
        fill(dialog)
        return dialog.saved if dialog.save() else None

    monkeypatch.setattr(cls, "ask", staticmethod(ask))
    return dialogs


# --- 新增事项 / 编辑事项 / 删除事项 -----------------------------------------------------------------


def test_admin_adds_an_item_through_the_dialog_and_sees_the_new_release(
    qtbot: Any,
    ctx: AppContext,
    admin: Actor,
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    page = make_page(qtbot, ctx, admin)
    before = page.release.release_no
    assert page.add_button.isEnabled() and page.status_label.isHidden()
    dialogs = drive(qtbot, monkeypatch, ItemDialog, fill_new_item)
    page.add_button.click()
    (dialog,) = dialogs
    assert dialog.windowTitle() == "新增事项" and dialog.result() == 1
    # Only a maximum for a person: the hint says what the minimum will be.
    assert "10%" in dialog.person_hint.text() and "即 20 元" in dialog.person_hint.text()
    assert "即" not in dialog.org_hint.text()  # an explicit minimum needs no rule
    screenshot(qtbot, dialog, tmp_path / "shot_item_dialog.png")

    assert errors == []
    assert page.status_label.text() == f"已新增事项 {CODE} {NAME}，已生成第 {before + 1} 版（本地修订）。"
    assert not page.status_label.isHidden()
    assert f"第 {before + 1} 版（本地修订）" in page.release_label.text()
    assert page.selected_item() is not None and page.selected_item().code == CODE
    assert [t.name for t in page.tiers.rows()] == list(STANDARD_TIER_NAMES)
    with ctx.read() as s:
        item = get_item(s, CODE)
    assert item.person_fine == FineRange(2_000, 20_000, derived_min=True)
    assert item.org_fine == FineRange(50_000, 200_000)
    assert item.penalty_types == (PenaltyType.FINE, PenaltyType.ORDER_CORRECTION)
    assert item.category == "市容环境卫生" and item.limitation_years == 2


def test_admin_edits_an_item_and_the_derived_minimum_stays_derived(
    qtbot: Any, ctx: AppContext, admin: Actor, errors: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    page = make_page(qtbot, ctx, admin)
    page.select_item("SZ-001")  # the law gives only a maximum: 2 万元以下
    before = page.release.release_no

    def edit(dialog: ItemDialog) -> None:
        assert dialog.windowTitle() == "编辑事项 — SZ-001" and dialog.code.isReadOnly()
        assert dialog.person_min.text() == "" and dialog.person_max.text() == "20,000"
        assert "即 2,000 元" in dialog.person_hint.text()
        dialog.name.setText("擅自占用城市道路（含人行道）")
        dialog.limitation.setCurrentIndex(dialog.limitation.findData(5))
        dialog.local_rule.setChecked(True)

    drive(qtbot, monkeypatch, ItemDialog, edit)
    page.edit_button.click()
    assert errors == []
    assert page.status_label.text().endswith(f"已生成第 {before + 1} 版（本地修订）。")
    assert page.selected_item() is not None and page.selected_item().name == "擅自占用城市道路（含人行道）"
    with ctx.read() as s:
        item = get_item(s, "SZ-001")
        assert get_item(s, "SZ-001", release_no=before).name == "擅自占用城市道路"
    assert item.limitation_years == 5 and item.local_rule
    assert item.person_fine == FineRange(200_000, 2_000_000, derived_min=True)

    # Saving again without a change makes no release, and says so.
    drive(qtbot, monkeypatch, ItemDialog, lambda dialog: None)
    page.edit_button.click()
    assert "内容没有改动，未生成新版本" in page.status_label.text()
    assert page.release.release_no == before + 1


def test_a_refusal_is_shown_under_the_field_it_names_and_nothing_is_saved(
    qtbot: Any, ctx: AppContext, admin: Actor, errors: list[str]
) -> None:
    with ctx.read() as s:
        before = len(list_releases(s))
    dialog = ItemDialog(ctx, admin, None, ["市容环境卫生"])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    fill_new_item(dialog)
    dialog.breach_basis.setPlainText("  ")
    assert not dialog.save()
    assert "缺少违法依据" in dialog.errors.message("breach_basis")
    assert dialog.errors.message("penalty_basis") == "" and dialog.errors.message("code") == ""
    assert dialog.focusWidget() is dialog.breach_basis

    dialog.breach_basis.setPlainText("《城市市容和环境卫生管理条例》第二十九条")
    dialog.person_max.setText("两百")
    assert not dialog.save()
    assert dialog.errors.message("breach_basis") == ""  # the earlier error is cleared
    assert "“两百”不是有效的金额" in dialog.errors.message("person_fine")

    dialog.person_max.setText("200")
    dialog.code.setText("SZ-001")  # taken: a new item may not silently overwrite it
    assert not dialog.save()
    assert "已被事项“擅自占用城市道路”使用" in dialog.errors.message("code")

    dialog.code.setText(CODE)
    dialog.org_min.setText("5,000")  # above the maximum of 2,000
    assert not dialog.save()
    assert "最低罚款额 5,000 元高于最高额 2,000 元" in dialog.errors.message("org_fine")

    # Unticking 罚款 turns the fine fields off: the amounts are not sent at all.
    dialog.types[PenaltyType.FINE].setChecked(False)
    assert not dialog.fine_box.isEnabled()
    assert errors == [] and dialog.saved is None and dialog.result() == 0
    with ctx.read() as s:
        assert len(list_releases(s)) == before
        assert CODE not in {i.code for i in list_items(s)}


def test_deleting_an_item_asks_first_and_names_it(
    qtbot: Any, ctx: AppContext, admin: Actor, errors: list[str], confirms: Confirms
) -> None:
    page = make_page(qtbot, ctx, admin)
    page.select_item("SR-005")
    item = page.selected_item()
    assert item is not None
    before, count = page.release.release_no, page.items.rowCount()
    confirms.answers.append(False)
    page.remove_button.click()
    assert f"“SR-005 {item.name}”" in confirms.asked[0]
    assert page.items.rowCount() == count and page.release.release_no == before

    page.remove_button.click()
    assert len(confirms.asked) == 2 and errors == []
    assert page.items.rowCount() == count - 1
    assert "SR-005" not in {i.code for i in page.items.rows()}
    assert page.selected_item() is not None  # the next item is selected
    assert (
        page.status_label.text() == f"已删除事项 SR-005 {item.name}，已生成第 {before + 1} 版（本地修订）。"
    )
    with ctx.read() as s:
        assert "SR-005" not in {i.code for i in list_items(s)}
        assert get_item(s, "SR-005", release_no=before).name == item.name  # old cases keep it


# --- 编辑裁量基准 --------------------------------------------------------------------------------


def test_tiers_are_added_removed_reordered_and_their_conditions_edited(
    qtbot: Any, ctx: AppContext, admin: Actor, errors: list[str], confirms: Confirms, tmp_path: Path
) -> None:
    page = make_page(qtbot, ctx, admin)
    page.select_item("SZ-001")
    item = page.selected_item()
    assert item is not None and page.tier_button.isEnabled()
    before = page.release.release_no
    dialog = TiersDialog(ctx, admin, item, page.tiers.rows(), 2)
    qtbot.addWidget(dialog)
    assert dialog.current_index() == 2 and dialog.tier_name.text() == "一般"
    screenshot(qtbot, dialog, tmp_path / "shot_tiers_dialog.png")

    dialog.conditions.setPlainText("占道面积 5 至 20 平方米，影响通行。")
    dialog.add_tier()  # after 一般
    assert dialog.current_index() == 3 and dialog.tier_name.text() == "新阶次"
    dialog.tier_name.setText("较重")
    dialog.tier_name.textEdited.emit("较重")
    dialog.conditions.setPlainText("占道面积 20 平方米以上，经责令后改正。")
    dialog.person_min.setText("10,000")
    dialog.person_max.setText("10,000")
    dialog.org_min.setText("10,000")
    dialog.org_max.setText("10,000")
    assert dialog.tier_list.item(3).text() == "4. 较重"

    # Moved before 一般 it overlaps it: the service refuses, naming the tier, which is selected.
    dialog.move_up()
    assert dialog.current_index() == 2 and dialog.tier_list.item(2).text() == "3. 较重"
    assert not dialog.save()
    message = dialog.errors.message("tiers")
    assert "重叠或次序颠倒" in message and errors == []
    dialog.move_down()
    assert dialog.current_index() == 3

    dialog.tier_list.setCurrentRow(5)  # 特别严重
    dialog.remove_tier()
    assert dialog.tier_list.count() == 5 and dialog.current_index() == 4
    assert dialog.save(), dialog.errors.message("tiers")
    assert errors == []
    assert [t.name for t in dialog.saved] == ["特别轻微", "轻微", "一般", "较重", "严重"]
    assert dialog.saved[2].conditions == "占道面积 5 至 20 平方米，影响通行。"
    assert dialog.saved[3].person_fine == FineRange(1_000_000, 1_000_000)
    assert dialog.saved[0].release_no == before + 1
    with ctx.read() as s:
        assert [t.name for t in tiers_for(s, "SZ-001")] == ["特别轻微", "轻微", "一般", "较重", "严重"]
        assert len(tiers_for(s, "SZ-001", release_no=before)) == 5

    # 恢复标准五档 asks first, then replaces the list (saved only on 保存).
    again = TiersDialog(ctx, admin, item, dialog.saved)
    qtbot.addWidget(again)
    again.use_standard()
    assert "替换" in confirms.asked[-1]
    assert [again.tier_list.item(i).text() for i in range(again.tier_list.count())] == [
        f"{i}. {n}" + ("（不予处罚）" if i == 1 else "") for i, n in enumerate(STANDARD_TIER_NAMES, start=1)
    ]
    assert again.current_index() == 0 and not again.person_max.isEnabled()  # 不予处罚: no amounts


def test_the_page_opens_the_tier_editor_and_reports_the_release(
    qtbot: Any, ctx: AppContext, admin: Actor, errors: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    page = make_page(qtbot, ctx, admin)
    before = page.release.release_no
    page.tier_view.selectRow(1)

    def edit(dialog: TiersDialog) -> None:
        assert dialog.current_index() == 1
        dialog.no_penalty.setChecked(False)
        dialog.measure.setPlainText("按法定最低罚款额处罚，并责令改正。")

    drive(qtbot, monkeypatch, TiersDialog, edit)
    page.tier_button.click()
    assert errors == []
    assert page.status_label.text().endswith(f"的裁量基准，已生成第 {before + 1} 版（本地修订）。")
    assert page.tiers.rows()[1].measure == "按法定最低罚款额处罚，并责令改正。"


# --- 导入区局发布 / 导出当前版本 / 版本记录 ----------------------------------------------------------


def test_importing_a_district_release_file_shows_the_new_release(
    qtbot: Any,
    ctx: AppContext,
    admin: Actor,
    errors: list[str],
    confirms: Confirms,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    page = make_page(qtbot, ctx, admin)
    with ctx.read() as s:
        data = export_release(s)
    number = data["release"] + 1
    data.update(release=number, source="district", name="2026 年第 1 次调整", published="2026-03-01")
    data["note"] = "区局统一调整占道类事项"
    data["items"] = [i for i in data["items"] if i["code"] != "SR-005"]
    data["items"][0]["name"] = "擅自占用城市道路（区局调整）"
    file = tmp_path / "区局发布.json"
    file.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    picked: list[str] = []

    def pick(parent: Any, caption: str, folder: str, filter: str) -> tuple[str, str]:
        picked.append(filter)
        return str(file), ""

    monkeypatch.setattr(page_module.QFileDialog, "getOpenFileName", pick)
    confirms.answers.append(False)
    page.import_button.click()
    assert "*.json" in picked[0]
    assert f"第 {number} 版“2026 年第 1 次调整”（2026-03-01 发布），共 34 个执法事项" in confirms.asked[0]
    assert page.release.release_no == number - 1  # declined: nothing imported

    page.import_button.click()
    assert errors == []
    assert (
        page.status_label.text() == f"已导入第 {number} 版（区局下发） 2026 年第 1 次调整，共 34 个执法事项。"
    )
    assert f"第 {number} 版（区局下发）" in page.release_label.text()
    assert page.items.rowCount() == 34 and page.items.row_at(0).name == "擅自占用城市道路（区局调整）"

    releases = ReleasesDialog(ctx)
    qtbot.addWidget(releases)
    assert releases.model.rowCount() == 2
    assert [releases.model.data(releases.model.index(0, c)) for c in range(6)] == [
        f"第 {number} 版",
        "区局下发",
        "2026 年第 1 次调整",
        "2026-03-01",
        "",
        "区局统一调整占道类事项",
    ]
    assert releases.model.data(releases.model.index(1, 1)) == "内置示例"
    screenshot(qtbot, releases, tmp_path / "shot_releases_dialog.png")
    shown: list[bool] = []
    monkeypatch.setattr(
        ReleasesDialog, "show_for", classmethod(lambda cls, c, parent=None: shown.append(True))
    )
    page.history_button.click()
    assert shown == [True]

    # The same file again is refused by the service; its message is shown, nothing changes.
    page.import_button.click()
    assert len(errors) == 1 and "不能回退到旧版本，也不能重复导入同一版本" in errors[0]
    with ctx.read() as s:
        assert current_release(s).release_no == number


def test_a_malformed_release_file_is_refused_before_anything_is_asked(
    qtbot: Any,
    ctx: AppContext,
    admin: Actor,
    errors: list[str],
    confirms: Confirms,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    page = make_page(qtbot, ctx, admin)
    file = tmp_path / "坏文件.json"
    file.write_text(
        '{"format": "squaddesk-reference", "schema_version": 1, "release": 9, "items": []}', "utf-8"
    )
    monkeypatch.setattr(page_module.QFileDialog, "getOpenFileName", lambda *a: (str(file), ""))
    page.import_button.click()
    assert confirms.asked == [] and len(errors) == 1 and "“items”应为至少含一个执法事项的列表" in errors[0]


def test_exporting_the_current_release_writes_readable_utf8_json(
    qtbot: Any,
    ctx: AppContext,
    admin: Actor,
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    page = make_page(qtbot, ctx, admin)
    suggested: list[str] = []

    def pick(parent: Any, caption: str, name: str, filter: str) -> tuple[str, str]:
        suggested.append(name)
        return str(tmp_path / "目录备份"), ""

    monkeypatch.setattr(page_module.QFileDialog, "getSaveFileName", pick)
    page.export_button.click()
    assert suggested[0].endswith("执法事项目录-第1版.json")
    written = tmp_path / "目录备份.json"
    text = written.read_text(encoding="utf-8")
    with ctx.read() as s:
        assert json.loads(text) == export_release(s)
    assert "擅自占用城市道路" in text and '\n  "format": "squaddesk-reference"' in text
    assert page.status_label.text() == f"已将第 1 版导出到 {written}"
    assert errors == []


# --- who may edit -----------------------------------------------------------------------------


def test_without_the_permission_the_editing_buttons_are_off_and_say_why(
    qtbot: Any, ctx: AppContext, actors: dict[Role, Actor], errors: list[str]
) -> None:
    page = make_page(qtbot, ctx, actors[Role.OFFICER])
    needed = Permission.EDIT_REFERENCE.label
    for button in (
        page.add_button,
        page.edit_button,
        page.remove_button,
        page.tier_button,
        page.import_button,
        page.threshold_button,
    ):
        assert not button.isEnabled() and needed in button.toolTip(), button.text()
    # Reading the history and exporting a release change nothing: anyone on the page may.
    assert page.history_button.isEnabled() and page.export_button.isEnabled()
    page.item_view.doubleClicked.emit(page.items.index(0, 0))  # no editor opens
    assert errors == []
