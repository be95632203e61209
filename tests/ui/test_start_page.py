"""The start page: the squad's name at once, the to-dos gathered off the GUI thread."""

from __future__ import annotations

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext
from app.demo import fill_demo
from ui.start.page import StartPage


def test_start_page_lists_the_demo_squads_todos(qtbot, bare_ctx: AppContext) -> None:
    fill_demo(bare_ctx)
    actor: Actor = authenticate(bare_ctx, "admin", "squad2026")
    page = StartPage(bare_ctx, actor)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_loaded, timeout=20000):
        page.refresh()
    assert "车陂街综合行政执法队" in page.title.text()
    texts = [page.todo_list.item(i).text() for i in range(page.todo_list.count())]
    # the demo has a lapsed certificate (red) and one expiring within 30 days
    assert any("过期" in t for t in texts) and any("天后到期" in t for t in texts)
    assert "<b>40</b>" in page.card_labels["members"].text()
    with qtbot.waitSignal(page.sig_open, timeout=2000) as opened:
        page._open(page.todo_list.item(0))
    assert opened.args[0] in {"certificates", "cases", "training"}
