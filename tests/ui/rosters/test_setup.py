"""qtbot tests of the roster set-up dialogs — 班次设置, 排班需求 and 请假登记 — offscreen, on a real
SQLite data folder. Editors are filled and saved through their own save methods (``ask`` is
replaced, no blocking exec()); message boxes and confirmations are replaced too, and every
outcome is read back through the roster services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QColorDialog, QMessageBox, QWidget

from app.auth.roles import Actor, Permission, Role
from app.context import AppContext
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.rosters.data import (
    DemandInput,
    LeaveInput,
    add_leave,
    ensure_default_shift_types,
    list_demand,
    list_leaves,
    list_shift_types,
    set_demand,
)
from db.models.personnel import StaffCategory
from db.models.rosters import LeaveKind
from ui.rosters import setup as setup_dialogs
from ui.rosters.setup import (
    HOLIDAY_BACKGROUND,
    REST_BACKGROUND,
    DemandDialog,
    DemandEditor,
    LeaveDialog,
    LeaveEditor,
    ShiftTypeEditor,
    ShiftTypesDialog,
    WeekDialog,
    day_runs,
)

MARCH = "2026-03"


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
    monkeypatch.setattr(setup_dialogs, "confirm", fake)
    return fake


@pytest.fixture
def clerk(actors: dict[Role, Actor]) -> Actor:
    return actors[Role.CLERK]


@pytest.fixture
def shift_ids(ctx: AppContext, admin: Actor) -> dict[str, str]:
    with ctx.unit_of_work(admin, "设置默认班次") as s:
        return {t.code: t.id for t in ensure_default_shift_types(s, admin)}


def _id_number(serial: int) -> str:
    first17 = f"44010619850101{serial:03d}"
    return first17 + check_digit(first17)


@pytest.fixture
def members(ctx: AppContext, admin: Actor) -> dict[str, str]:
    with ctx.unit_of_work(admin, "新增队员") as s:
        return {
            name: create_member(
                s, admin, MemberInput(name, _id_number(i), StaffCategory.CIVIL_SERVANT, unit="一中队")
            ).id
            for i, name in enumerate(("张伟", "李娜"), start=1)
        }


def screenshot(qtbot: Any, widget: QWidget, path: Path) -> None:
    """The dialog renders offscreen (with the bundled CJK font) to a non-trivial picture."""
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000


def drive(monkeypatch: pytest.MonkeyPatch, cls: Any, fill: Any) -> list[Any]:
    """Replace ``cls.ask`` by the real dialog, filled by ``fill(dialog)`` and saved (no exec())."""
    dialogs: list[Any] = []

    def ask(*args: Any) -> Any:
        dialog = cls(*args)  # a child of the dialog under test, which qtbot closes
        dialogs.append(dialog)
        fill(dialog)
        return dialog.saved if dialog.save() else None

    monkeypatch.setattr(cls, "ask", staticmethod(ask))
    return dialogs


def cell_text(dialog: DemandDialog, day: int, code: str) -> str:
    column = next(i for i, s in enumerate(dialog.model.shifts) if s.code == code) + 2
    return dialog.model.data(dialog.model.index(day - 1, column))


# --- 班次设置 -----------------------------------------------------------------------------------------


def test_a_shift_type_is_created_and_edited(
    qtbot: Any,
    qtmodeltester: Any,
    ctx: AppContext,
    clerk: Actor,
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dialog = ShiftTypesDialog(ctx, clerk)
    qtbot.addWidget(dialog)
    # A squad without shift types gets the default set on opening: that is a change to report.
    assert dialog.changed and dialog.model.rowCount() == 8
    qtmodeltester.check(dialog.model)
    assert dialog.add_button.isEnabled() and not dialog.edit_button.isEnabled()  # nothing selected
    row = [dialog.model.data(dialog.model.index(3, c)) for c in range(10)]
    assert row == ["24", "24小时值班", "08:00", "次日 08:00", "24", "", "是", "", "#F4B183", "启用"]
    assert dialog.model.decoration(dialog.model.row_at(0), 8) is not None  # the colour swatch
    screenshot(qtbot, dialog, tmp_path / "shift_types.png")

    monkeypatch.setattr(QColorDialog, "getColor", lambda *a: QColor("#ffcc00"))

    def fill(editor: ShiftTypeEditor) -> None:
        assert editor.windowTitle() == "新增班次" and editor.sort_order.value() == 90
        editor.code.setText("晚")
        editor.name.setText("晚间巡查")
        editor.start.setText("18:00")
        editor.end.setText("22:00")
        editor.needs_police.setChecked(True)
        editor.colour_button.click()
        assert editor.colour_button.text().startswith("#FFCC00")

    drive(monkeypatch, ShiftTypeEditor, fill)
    dialog.add_button.click()
    assert errors == []
    assert dialog.status_label.text() == "已新增班次“晚间巡查”。"
    with ctx.read() as s:
        late = next(t for t in list_shift_types(s, clerk) if t.code == "晚")
    assert (late.start_text, late.end_text, late.hours) == ("18:00", "22:00", 4.0)
    assert late.needs_police and late.colour == "#FFCC00" and late.sort_order == 90
    assert dialog.selected() is not None and dialog.selected().id == late.id

    def edit(editor: ShiftTypeEditor) -> None:
        assert editor.windowTitle() == "修改班次 — 晚间巡查"
        assert editor.hours.text() == ""  # the whole span: follows the times
        editor.end.setText("24:00")  # midnight may end a shift
        editor.hours.setText("5.5")
        editor.active.setChecked(False)

    drive(monkeypatch, ShiftTypeEditor, edit)
    dialog.edit_button.click()
    assert errors == []
    with ctx.read() as s:
        assert [t.code for t in list_shift_types(s, clerk)].count("晚") == 0  # stopped
        late = next(t for t in list_shift_types(s, clerk, include_inactive=True) if t.code == "晚")
    assert (late.end_text, late.hours, late.active, late.version) == ("24:00", 5.5, False, 2)
    shown = dialog.model.find(lambda t: t.code == "晚")
    assert dialog.model.data(dialog.model.index(shown, 9)) == "停用"
    assert dialog.model.row_background(dialog.model.row_at(shown)) is not None


def test_an_invalid_time_is_refused_with_its_message_and_nothing_is_written(
    qtbot: Any, ctx: AppContext, clerk: Actor, shift_ids: dict[str, str], errors: list[str]
) -> None:
    editor = ShiftTypeEditor(ctx, clerk)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    editor.code.setText("晚")
    editor.name.setText("晚间巡查")
    editor.start.setText("18:00")
    editor.end.setText("25:00")
    editor.code.setFocus()
    assert not editor.save()
    assert errors == ["结束时间“25:00”不是有效的时间，请按“08:00”的格式填写。"]
    assert editor.focusWidget() is editor.end
    assert editor.saved is None and editor.result() == 0

    editor.end.setText("22:00")
    editor.hours.setText("四")
    assert not editor.save()
    assert "不是数字" in errors[-1] and editor.focusWidget() is editor.hours
    with ctx.read() as s:
        assert "晚" not in {t.code for t in list_shift_types(s, clerk, include_inactive=True)}


def test_an_edit_of_a_shift_changed_meanwhile_is_refused(
    qtbot: Any, ctx: AppContext, clerk: Actor, shift_ids: dict[str, str], errors: list[str]
) -> None:
    with ctx.read() as s:
        early = next(t for t in list_shift_types(s, clerk) if t.code == "早")
    first, second = ShiftTypeEditor(ctx, clerk, early), ShiftTypeEditor(ctx, clerk, early)
    qtbot.addWidget(first)
    qtbot.addWidget(second)
    first.name.setText("白班")
    assert first.save()
    second.name.setText("早班（改）")
    assert not second.save()
    assert errors == ["班次“白班”刚被他人修改过，请重新打开后再编辑。"]


# --- 排班需求 -----------------------------------------------------------------------------------------


def test_demand_is_set_on_two_selected_days_at_once_and_cleared_with_zero(
    qtbot: Any,
    qtmodeltester: Any,
    ctx: AppContext,
    clerk: Actor,
    shift_ids: dict[str, str],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dialog = DemandDialog(ctx, clerk, MARCH)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "排班需求 — 2026年3月" and not dialog.changed
    assert dialog.model.rowCount() == 31 and dialog.model.columnCount() == 2 + 8
    qtmodeltester.check(dialog.model)
    assert not dialog.set_button.isEnabled()  # nothing selected yet
    dialog.select_cells([("早", dt.date(2026, 3, 2)), ("早", dt.date(2026, 3, 4))])
    assert dialog.set_button.isEnabled()

    def fill(editor: DemandEditor) -> None:
        assert "3月2日、3月4日" in editor.heading.text()
        editor.headcount.setValue(3)
        editor.min_certified.setValue(2)
        editor.min_police.setValue(1)
        editor.needs_leader.setChecked(True)

    editors = drive(monkeypatch, DemandEditor, fill)
    dialog.set_button.click()
    assert errors == [] and len(editors) == 1
    assert dialog.changed and dialog.status_label.text() == "已设置 2 个班次日的需求。"
    with ctx.read() as s:
        demand = list_demand(s, clerk, MARCH)
    assert [
        (d.day, d.shift_code, d.headcount, d.min_certified, d.min_police, d.needs_leader) for d in demand
    ] == [
        (dt.date(2026, 3, 2), "早", 3, 2, 1, True),
        (dt.date(2026, 3, 4), "早", 3, 2, 1, True),
    ]
    assert cell_text(dialog, 2, "早") == "3人 持证2 民警1 领导"
    assert cell_text(dialog, 3, "早") == "" and cell_text(dialog, 4, "早") == "3人 持证2 民警1 领导"
    assert len(dialog.selected_cells()) == 2  # the selection survives the reload
    # 3月1日 is a Sunday: tinted and named; 3月2日 is an ordinary Monday.
    assert dialog.model.data(dialog.model.index(0, 1)) == "周末"
    assert dialog.model.row_background(dialog.model.row_at(0)) == REST_BACKGROUND
    assert dialog.model.row_background(dialog.model.row_at(1)) is None
    screenshot(qtbot, dialog, tmp_path / "demand.png")

    # The editor opens with what the first cell holds; 0 clears the demand of the cell.
    def clear(editor: DemandEditor) -> None:
        assert editor.headcount.value() == 3 and editor.needs_leader.isChecked()
        editor.headcount.setValue(0)

    dialog.select_cells([("早", dt.date(2026, 3, 4))])
    drive(monkeypatch, DemandEditor, clear)
    dialog.table.doubleClicked.emit(dialog.model.index(3, 2))
    with ctx.read() as s:
        assert [d.day for d in list_demand(s, clerk, MARCH)] == [dt.date(2026, 3, 2)]
    assert cell_text(dialog, 4, "早") == ""


def test_a_refused_demand_keeps_the_editor_open_and_writes_no_day(
    qtbot: Any, ctx: AppContext, clerk: Actor, shift_ids: dict[str, str], errors: list[str]
) -> None:
    dialog = DemandDialog(ctx, clerk, MARCH)
    qtbot.addWidget(dialog)
    dialog.select_cells([("联", dt.date(2026, 3, 2)), ("联", dt.date(2026, 3, 3))])
    editor = DemandEditor(ctx, clerk, dialog.selected_cells(), None, dialog)
    editor.show()
    qtbot.waitExposed(editor)
    assert editor.min_police.value() == 1  # 联勤 needs a police officer: the default says so
    editor.headcount.setValue(2)
    editor.min_police.setValue(0)
    assert not editor.save()
    assert errors == ["联勤巡逻为联勤班次，至少需要 1 名公安民警。"]
    assert editor.focusWidget() is editor.min_police and editor.result() == 0
    with ctx.read() as s:
        assert list_demand(s, clerk, MARCH) == []


def test_a_week_is_copied_to_the_month(
    qtbot: Any,
    ctx: AppContext,
    clerk: Actor,
    shift_ids: dict[str, str],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dialog = DemandDialog(ctx, clerk, MARCH)
    qtbot.addWidget(dialog)
    # Nothing set yet: the service refuses and says why.
    monkeypatch.setattr(
        WeekDialog, "ask", staticmethod(lambda month, initial, parent=None: dt.date(2026, 3, 9))
    )
    dialog.copy_button.click()
    assert errors == ["3月9日起的一周还没有设置需求，请先排好这一周再复制。"] and not dialog.changed

    with ctx.unit_of_work(clerk, "设置排班需求") as s:
        set_demand(s, clerk, shift_ids["早"], dt.date(2026, 3, 9), dt.date(2026, 3, 13), DemandInput(3, 2))
        set_demand(s, clerk, shift_ids["夜"], dt.date(2026, 3, 14), dt.date(2026, 3, 15), DemandInput(2, 1))
        set_demand(s, clerk, shift_ids["巡"], dt.date(2026, 3, 20), dt.date(2026, 3, 20), DemandInput(4))
    dialog.select_cells([("早", dt.date(2026, 3, 10))])
    asked: list[tuple[str, dt.date]] = []

    def ask(month: str, initial: dt.date, parent: Any = None) -> dt.date:
        asked.append((month, initial))
        return dt.date(2026, 3, 9)

    monkeypatch.setattr(WeekDialog, "ask", staticmethod(ask))
    dialog.copy_button.click()
    assert asked == [(MARCH, dt.date(2026, 3, 10))]  # the selected day is offered first
    assert len(errors) == 1
    assert dialog.status_label.text() == "已按3月9日起的一周设置本月其余 24 天的需求。"
    with ctx.read() as s:
        demand = list_demand(s, clerk, MARCH)
    early = sorted(d.day for d in demand if d.shift_code == "早")
    assert early == [d for d in (dt.date(2026, 3, n) for n in range(1, 32)) if d.weekday() < 5]
    assert {d.day.weekday() for d in demand if d.shift_code == "夜"} == {5, 6}
    assert [d for d in demand if d.shift_code == "巡"] == []  # not in the pattern week: cleared
    assert cell_text(dialog, 30, "早") == "3人 持证2" and cell_text(dialog, 28, "夜") == "2人 持证1"

    week = WeekDialog(MARCH, dt.date(2026, 3, 30))
    qtbot.addWidget(week)
    assert week.span.text() == "3月30日（周一）至 4月5日（周日）"
    screenshot(qtbot, week, tmp_path / "week.png")


def test_holidays_are_tinted_and_named(
    qtbot: Any, ctx: AppContext, clerk: Actor, shift_ids: dict[str, str]
) -> None:
    dialog = DemandDialog(ctx, clerk, "2026-04")
    qtbot.addWidget(dialog)
    qingming = dialog.model.row_at(3)
    assert qingming is not None and qingming.day == dt.date(2026, 4, 4)
    assert dialog.model.data(dialog.model.index(3, 1)) == "清明节"
    assert dialog.model.row_background(qingming) == HOLIDAY_BACKGROUND
    assert dialog.model.data(dialog.model.index(2, 0)) == "4月3日 周五"


def test_day_runs_group_consecutive_days() -> None:
    days = [dt.date(2026, 3, d) for d in (5, 2, 3, 9, 4, 9)]
    assert day_runs(days) == [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 5)),
        (dt.date(2026, 3, 9), dt.date(2026, 3, 9)),
    ]


# --- 请假登记 -----------------------------------------------------------------------------------------


def test_leave_is_added_an_overlap_refused_and_removed(
    qtbot: Any,
    qtmodeltester: Any,
    ctx: AppContext,
    clerk: Actor,
    members: dict[str, str],
    errors: list[str],
    confirms: Confirms,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dialog = LeaveDialog(ctx, clerk, MARCH)
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 0 and "没有请假记录" in dialog.count_label.text()
    assert dialog.add_button.isEnabled() and not dialog.remove_button.isEnabled()

    def fill(editor: LeaveEditor, start: int = 2, end: int = 4) -> None:
        editor.member.setCurrentText("张伟（一中队）")
        editor.kind.setCurrentIndex(editor.kind.findText("年休假"))
        editor.start.setDate(dt.date(2026, 3, start))
        editor.end.setDate(dt.date(2026, 3, end))
        editor.note.setText("经队长批准")

    drive(monkeypatch, LeaveEditor, fill)
    dialog.add_button.click()
    assert errors == []
    assert dialog.status_label.text() == "已登记张伟3月2日至3月4日的年休假。"
    with ctx.read() as s:
        (leave,) = list_leaves(s, clerk, MARCH)
    assert (leave.member_id, leave.kind, leave.start, leave.end, leave.note) == (
        members["张伟"],
        LeaveKind.ANNUAL,
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 4),
        "经队长批准",
    )
    qtmodeltester.check(dialog.model)
    assert [dialog.model.data(dialog.model.index(0, c)) for c in range(6)] == [
        "张伟",
        "年休假",
        "2026-03-02",
        "2026-03-04",
        "3",
        "经队长批准",
    ]
    assert dialog.selected() is not None and dialog.remove_button.isEnabled()

    # Overlapping leave: the service's message is shown and the editor stays open.
    def overlap(editor: LeaveEditor) -> None:
        fill(editor, 4, 6)
        editor.kind.setCurrentIndex(editor.kind.findText("病假"))

    editors = drive(monkeypatch, LeaveEditor, overlap)
    dialog.add_button.click()
    assert errors == [
        "张伟在3月2日至3月4日已登记年休假，与本次病假（3月4日至3月6日）重叠，请先修改或删除原记录。"
    ]
    assert editors[0].result() == 0 and editors[0].saved is None
    with ctx.read() as s:
        assert len(list_leaves(s, clerk, MARCH)) == 1
    screenshot(qtbot, dialog, tmp_path / "leave.png")

    # 撤销 asks first; declined, nothing happens.
    confirms.answers.append(False)
    dialog.remove_button.click()
    assert confirms.asked == ["撤销张伟3月2日至3月4日的年休假？撤销后这些日期可以正常排班。"]
    with ctx.read() as s:
        assert len(list_leaves(s, clerk, MARCH)) == 1
    dialog.remove_button.click()
    assert errors[1:] == [] and dialog.status_label.text() == "已撤销张伟3月2日至3月4日的年休假。"
    with ctx.read() as s:
        assert list_leaves(s, clerk, MARCH) == []
    assert dialog.model.rowCount() == 0 and not dialog.remove_button.isEnabled()


def test_leave_without_a_member_is_refused(
    qtbot: Any, ctx: AppContext, clerk: Actor, members: dict[str, str], errors: list[str]
) -> None:
    editor = LeaveEditor(ctx, clerk, MARCH)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    assert editor.member.count() == 2
    editor.start.setDate(dt.date(2026, 3, 10))
    assert editor.end.date().toPython() == dt.date(2026, 3, 10)  # the end follows the start
    editor.note.setFocus()
    assert not editor.save()
    assert errors == ["请从列表中选择队员。"] and editor.focusWidget() is editor.member


# --- who may edit -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OFFICER, Role.LEADER])
def test_without_the_permission_the_dialogs_are_read_only(
    qtbot: Any,
    ctx: AppContext,
    actors: dict[Role, Actor],
    admin: Actor,
    shift_ids: dict[str, str],
    members: dict[str, str],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    role: Role,
) -> None:
    actor = actors[role]
    assert not actor.can(Permission.EDIT_ROSTERS)
    with ctx.unit_of_work(admin, "登记请假") as s:
        set_demand(s, admin, shift_ids["早"], dt.date(2026, 3, 2), dt.date(2026, 3, 2), DemandInput(2))
        add_leave(
            s, admin, LeaveInput(members["李娜"], LeaveKind.SICK, dt.date(2026, 3, 5), dt.date(2026, 3, 5))
        )

    def refuse(*args: Any) -> None:
        raise AssertionError("no editor opens without the permission")

    for cls in (ShiftTypeEditor, DemandEditor, LeaveEditor, WeekDialog):
        monkeypatch.setattr(cls, "ask", staticmethod(refuse))
    needed = Permission.EDIT_ROSTERS.label

    shifts = ShiftTypesDialog(ctx, actor)
    qtbot.addWidget(shifts)
    assert shifts.model.rowCount() == 8 and not shifts.changed
    shifts.table.selectRow(0)
    demand = DemandDialog(ctx, actor, MARCH)
    qtbot.addWidget(demand)
    assert cell_text(demand, 2, "早") == "2人"
    demand.select_cells([("早", dt.date(2026, 3, 2))])
    leave = LeaveDialog(ctx, actor, MARCH)
    qtbot.addWidget(leave)
    assert leave.model.rowCount() == 1
    leave.table.selectRow(0)
    for button in (
        shifts.add_button,
        shifts.edit_button,
        demand.set_button,
        demand.copy_button,
        leave.add_button,
        leave.remove_button,
    ):
        assert not button.isEnabled() and needed in button.toolTip(), button.text()
    shifts.table.doubleClicked.emit(shifts.model.index(0, 0))
    demand.table.doubleClicked.emit(demand.model.index(1, 2))
    assert errors == [] and not (shifts.changed or demand.changed or leave.changed)


def test_a_read_only_actor_sees_no_shift_types_created_for_them(
    qtbot: Any, ctx: AppContext, actors: dict[Role, Actor]
) -> None:
    dialog = DemandDialog(ctx, actors[Role.OFFICER], MARCH)
    qtbot.addWidget(dialog)
    assert dialog.model.columnCount() == 2 and not dialog.changed
    with ctx.read() as s:
        assert list_shift_types(s, actors[Role.OFFICER]) == []
