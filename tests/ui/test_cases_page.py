"""qtbot tests of the case list (案件办理) and the read-only case workspace, on the demo squad's
real SQLite data folder, offscreen."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.cases import CaseStage
from app.context import AppContext
from app.demo import fill_demo
from ui.cases import models
from ui.cases.page import CasesPage
from ui.cases.workspace import CaseWorkspace, data_summary


@pytest.fixture(autouse=True)
def _fonts(qapp: QApplication) -> None:
    from ui.fonts import install_fonts

    install_fonts(qapp)


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


@pytest.fixture
def leader(demo: AppContext) -> Actor:
    return authenticate(demo, "duizhang", "squad2026")


def make(qtbot: Any, ctx: AppContext, actor: Actor) -> CasesPage:
    page = CasesPage(ctx, actor)
    qtbot.addWidget(page)
    page.resize(1200, 650)
    page.refresh()
    return page


def test_page_lists_the_demo_cases_and_filters(
    qtbot: Any, qtmodeltester: Any, demo: AppContext, leader: Actor
) -> None:
    page = make(qtbot, demo, leader)
    qtmodeltester.check(page.model)
    total = page.model.rowCount()
    assert total >= 12 and page.summary.text() == f"共 {total} 件"
    numbers = [page.model.index(r, 0).data() for r in range(total)]
    assert all(n.startswith("车综执") for n in numbers)

    page.stage.setCurrentIndex(page.stage.findData(CaseStage.NOTIFIED.value))
    assert page.model.rowCount() == 1
    assert page.model.index(0, 4).data() == "待陈述申辩"

    page.stage.setCurrentIndex(0)
    page.only_open.setChecked(True)
    assert 0 < page.model.rowCount() < total
    page.only_open.setChecked(False)

    # the search waits for a pause in typing, then matches pinyin initials of the party
    page.search.setText("cgd")
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    assert {page.model.index(r, 2).data() for r in range(2)} == {"陈国栋"}


def test_lazy_fetch_in_pages(
    qtbot: Any, qtmodeltester: Any, demo: AppContext, leader: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.CaseTableModel, "page_size", 5)
    page = make(qtbot, demo, leader)
    model = page.model
    assert model.rowCount() == 5 and model.canFetchMore()
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == model.total >= 12
    assert len({model.index(r, 0).data() for r in range(model.rowCount())}) == model.total
    qtmodeltester.check(model)


def test_workspace_shows_the_timeline_and_next_action(qtbot: Any, demo: AppContext, leader: Actor) -> None:
    page = make(qtbot, demo, leader)
    row = next(r for r in range(page.model.rowCount()) if page.model.index(r, 4).data() == "待送达")
    workspace = page.open_case(row)
    assert isinstance(workspace, CaseWorkspace)
    qtbot.addWidget(workspace)
    case = workspace.case
    assert case.number in workspace.header.text() and "待送达" in workspace.header.text()
    timeline = workspace.timeline
    kinds = [timeline.item(r, 1).text() for r in range(timeline.rowCount())]
    assert kinds[:5] == ["立案", "调查取证", "调查终结", "法制审核", "事先告知"] and kinds[-1] == "作出决定"
    # the investigators are named, the approvals and the opinions are shown
    assert "、" in timeline.item(1, 4).text()
    assert "审批" in timeline.item(0, 5).text()
    assert "不适用" in [timeline.item(r, 2).text() for r in range(timeline.rowCount())]
    assert "8,000 元" in timeline.item(kinds.index("作出决定"), 6).text()
    assert workspace.next_label.text().startswith("下一步：送达")


def test_data_summary_reads_in_chinese() -> None:
    text = data_summary({"outcome": "penalty", "fine_fen": 300000, "penalty_types": ["fine"], "waived": True})
    assert text == "处理结果：给予行政处罚；罚款：3,000 元；处罚种类：罚款；放弃陈述申辩：是"
