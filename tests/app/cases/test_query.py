"""The case list query (app.cases.query) on the demo squad's real SQLite file: search by number,
party name, pinyin initials; stage and open filters; paging; a fixed number of queries per page."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Role
from app.auth.service import authenticate
from app.cases import CaseStage, Procedure
from app.cases.query import CaseQuery, CaseRow, count_cases, search_cases
from app.context import AppContext
from app.demo import fill_demo
from db.models import Member, Party


@pytest.fixture
def demo(bare_ctx: AppContext) -> AppContext:
    fill_demo(bare_ctx)
    return bare_ctx


@pytest.fixture
def leader(demo: AppContext) -> Actor:
    actor = authenticate(demo, "duizhang", "squad2026")
    assert actor.role is Role.LEADER
    return actor


def test_search_by_number_party_and_pinyin(demo: AppContext, leader: Actor) -> None:
    with demo.read() as s:
        rows = search_cases(s, leader, CaseQuery())
        assert len(rows) == count_cases(s, leader) >= 12
        # newest first: numbers are issued in the order of opening
        assert [r.opened_on for r in rows] == sorted((r.opened_on for r in rows), reverse=True)
        one = rows[0]
        assert [r.id for r in search_cases(s, leader, CaseQuery(text=one.number[-6:]))] == [one.id]
        chen = search_cases(s, leader, CaseQuery(text="陈国栋"))
        assert len(chen) == 2 and all(r.party_name == "陈国栋" for r in chen)
        assert {r.id for r in search_cases(s, leader, CaseQuery(text="CGD"))} == {r.id for r in chen}
        # A party's earlier cases, as the opening dialog shows them.
        chen_id = s.scalars(select(Party.id).where(Party.name == "陈国栋")).one()
        assert {r.id for r in search_cases(s, leader, CaseQuery(party_id=chen_id))} == {r.id for r in chen}
        assert search_cases(s, leader, CaseQuery(text="鸿运五金"))[0].party_name.endswith("五金店")
        assert search_cases(s, leader, CaseQuery(text="没有这个人")) == []
        # The squad's number prefix is searched as part of the numbers: every case has it.
        assert count_cases(s, leader, CaseQuery(text="车综执")) == count_cases(s, leader)


def test_filters_and_paging(demo: AppContext, leader: Actor) -> None:
    with demo.read() as s:
        notified = search_cases(s, leader, CaseQuery(stage=CaseStage.NOTIFIED))
        assert len(notified) == 1 and notified[0].stage_label == "待陈述申辩"
        summary = search_cases(s, leader, CaseQuery(procedure=Procedure.SUMMARY))
        assert summary and all(r.procedure_label == "简易程序" for r in summary)
        open_rows = search_cases(s, leader, CaseQuery(only_open=True))
        assert open_rows and all(r.is_open for r in open_rows)
        assert count_cases(s, leader, CaseQuery(only_open=True)) == len(open_rows) < count_cases(s, leader)
        road = search_cases(s, leader, CaseQuery(item_code="SZ-001"))
        assert road and all(r.item_name == "擅自占用城市道路" for r in road)
        everything = [r.id for r in search_cases(s, leader)]
        pages = [
            r.id for off in range(0, len(everything), 5) for r in search_cases(s, leader, CaseQuery(), off, 5)
        ]
        assert pages == everything
        investigated = next(r for r in everything_rows(s, leader) if r.officer_names)
        mine = search_cases(s, leader, CaseQuery(officer_id=officer_id(s, investigated.officer_names[0])))
        assert investigated.id in {r.id for r in mine}


def everything_rows(s: Session, actor: Actor) -> list[CaseRow]:
    return search_cases(s, actor, CaseQuery())


def officer_id(s: Session, name: str) -> str:
    return s.scalars(select(Member.id).where(Member.name == name)).one()


def test_a_page_costs_a_fixed_number_of_queries(demo: AppContext, leader: Actor) -> None:
    with demo.read() as s:
        statements: list[str] = []
        engine = s.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            rows = search_cases(s, leader, CaseQuery())
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(rows) >= 12
    selects = [q for q in statements if q.startswith("SELECT")]
    assert len(selects) == 4, selects  # the page, its parties, officers and item names


def test_every_role_may_view_cases(demo: AppContext, leader: Actor) -> None:
    # Every role holds VIEW_CASES today, so there is no refused role to test; a future role
    # without it would be refused by require() in count_cases and search_cases.
    with demo.read() as s:
        for role in Role:
            actor = Actor(leader.user_id, "x", "x", role)
            assert count_cases(s, actor) >= 12
