"""Reference data (执法事项、裁量基准、程序阈值): the bundled catalog, the 10 % minimum rule, the
fine check, copy-on-write edits by the admin, and importing a newer release — through the services
on a real SQLite file."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import verify
from app.auth.roles import Actor, Role
from app.context import AppContext
from app.errors import NotFoundError, PermissionDenied, ValidationError
from app.reference import (
    STANDARD_TIER_NAMES,
    FineRange,
    ItemInput,
    PartyKind,
    PenaltyType,
    RateRange,
    Thresholds,
    TierInput,
    add_item,
    categories,
    check_fine,
    current_release,
    default_minimum,
    default_minimum_bp,
    export_release,
    get_item,
    get_tier,
    import_release,
    install_bundled,
    list_items,
    list_releases,
    parse_release,
    parse_yuan,
    remove_item,
    set_thresholds,
    set_tiers,
    thresholds,
    tiers_for,
    upsert_item,
    validate_tiers,
    yuan,
    yuan_range,
)
from db.models import AuditEntry, ChangeLogEntry
from db.models.reference import (
    DiscretionTier,
    ReferenceRelease,
    ReferenceThreshold,
    ReleaseSource,
    ViolationItem,
)

PERSON, ORG = PartyKind.PERSON, PartyKind.ORGANISATION
Y = 100  # fen per yuan: amounts below read as yuan * Y


def counts(ctx: AppContext) -> dict[str, int]:
    with ctx.read() as s:
        return {
            model.__name__: s.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                ReferenceRelease,
                ViolationItem,
                DiscretionTier,
                ReferenceThreshold,
                AuditEntry,
                ChangeLogEntry,
            )
        }


def road_item(**changes: Any) -> ItemInput:
    base = ItemInput(
        code="T-001",
        name="测试事项",
        category="测试",
        breach_basis="《某条例》第一条",
        penalty_basis="《某条例》第二条",
        penalty_types=(PenaltyType.FINE,),
        person_fine=FineRange(1_000 * Y, 10_000 * Y),
        org_fine=FineRange(5_000 * Y, 50_000 * Y),
    )
    return dataclasses.replace(base, **changes)


def minimal_file(release: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "squaddesk-reference",
        "schema_version": 1,
        "release": release,
        "name": "区局目录",
        "published": "2026-04-01",
        "items": [
            {
                "code": "QJ-001",
                "name": "擅自占用城市道路",
                "category": "市政道路",
                "breach_basis": "《城市道路管理条例》第二十七条第（一）项",
                "penalty_basis": "《城市道路管理条例》第四十二条",
                "penalty_types": ["order_correction", "fine"],
                "fine": {"person": {"max_yuan": 20000}, "organisation": {"max_yuan": 20000}},
            }
        ],
    }
    data.update(changes)
    return data


# ---- the bundled catalog ----------------------------------------------------------------------


def test_the_bundled_catalog_is_installed_by_the_first_run_set_up(ctx: AppContext) -> None:
    with ctx.read() as s:
        release = current_release(s)
        items = list_items(s)
    assert release.release_no == 1 and release.source is ReleaseSource.BUNDLED
    assert release.schema_version == 1
    assert len(items) >= 20
    assert len({i.code for i in items}) == len(items)
    for item in items:
        assert item.breach_basis and item.penalty_basis and item.penalty_types, item.code
        assert item.limitation_years in (2, 5)


def _find(items: list[Any], breach: str, penalty: str) -> Any:
    hits = [i for i in items if breach in i.breach_basis and penalty in i.penalty_basis]
    assert hits, f"no item with {breach} → {penalty}"
    return hits[0]


def test_the_six_domain_items_are_there_with_their_legal_bases(ctx: AppContext) -> None:
    with ctx.read() as s:
        items = list_items(s)
    road = _find(items, "《城市道路管理条例》第二十七条", "《城市道路管理条例》第四十二条")
    assert "占用" in road.name and road.person_fine == FineRange(2_000 * Y, 20_000 * Y, derived_min=True)
    vending = _find(items, "《城市市容和环境卫生管理条例》第十四条", "第三十六条")
    assert "堆放" in vending.name and vending.local_rule
    posting = _find(items, "《城市市容和环境卫生管理条例》第十七条", "第三十四条")
    assert PenaltyType.WARNING in posting.penalty_types
    advert = _find(items, "《城市市容和环境卫生管理条例》第十一条", "第三十六条")
    assert "户外广告" in advert.name
    building = _find(items, "《中华人民共和国城乡规划法》第四十条", "《中华人民共和国城乡规划法》第六十四条")
    assert building.fine_rate == RateRange(500, 1000) and building.rate_base == "建设工程造价"
    assert {PenaltyType.DEMOLISH, PenaltyType.CONFISCATE_PROPERTY} <= set(building.penalty_types)
    waste = _find(items, "《中华人民共和国固体废物污染环境防治法》第六十三条", "第一百一十一条")
    assert waste.org_fine == FineRange(100_000 * Y, 1_000_000 * Y)
    domestic = _find(items, "固体废物污染环境防治法》第四十九条", "第一百一十一条第一款第（一）项")
    assert domestic.person_fine == FineRange(100 * Y, 500 * Y)


def test_every_items_tiers_lie_inside_its_range_and_follow_the_shape(ctx: AppContext) -> None:
    with ctx.read() as s:
        catalog = [(item, tiers_for(s, item.code)) for item in list_items(s)]
    standard = 0
    for item, tiers in catalog:
        assert tiers, item.code
        assert [t.rank for t in tiers] == list(range(1, len(tiers) + 1))
        assert validate_tiers(item, tiers)  # inside the statutory range, ordered, not overlapping
        fined = [t for t in tiers if not t.no_penalty]
        assert all(not t.person_fine.is_set and not t.org_fine.is_set for t in tiers if t.no_penalty)
        for kind in PartyKind:
            legal = item.fine_for(kind)
            bands = [t.fine_for(kind) for t in fined if t.fine_for(kind).is_set]
            if not legal.is_set:
                assert not bands, (item.code, kind)
                continue
            # lightest fined tier at the statutory minimum, heaviest at the maximum, no gaps between
            assert bands[0].min_fen == bands[0].max_fen == legal.min_fen, (item.code, kind)
            assert bands[-1].min_fen == bands[-1].max_fen == legal.max_fen, (item.code, kind)
            for before, after in itertools.pairwise(bands):
                assert after.min_fen == before.max_fen, (item.code, kind)
        if [t.name for t in tiers] == list(STANDARD_TIER_NAMES):
            standard += 1
            assert tiers[0].no_penalty  # especially minor → education, no penalty (APL 33)
            for kind in PartyKind:
                legal = item.fine_for(kind)
                if legal.max_fen and legal.min_fen is not None and legal.max_fen // 2 > legal.min_fen:
                    # general ends, and serious begins, at half the maximum
                    assert tiers[2].fine_for(kind).max_fen == legal.max_fen // 2 // Y * Y
                    assert tiers[3].fine_for(kind).min_fen == legal.max_fen // 2 // Y * Y
    assert standard >= 20


def test_install_is_idempotent(ctx: AppContext, admin: Actor) -> None:
    before = counts(ctx)
    with ctx.unit_of_work(admin) as s:
        assert install_bundled(s) is False
    assert counts(ctx) == before


# ---- the 10 % rule ----------------------------------------------------------------------------


def test_the_minimum_is_ten_percent_of_a_maximum_given_alone() -> None:
    assert default_minimum(20_000 * Y) == 2_000 * Y
    assert default_minimum(200 * Y) == 20 * Y
    assert default_minimum(155 * Y) == 16 * Y  # 15.5 yuan rounds half up to the yuan
    assert default_minimum(154 * Y) == 15 * Y
    assert default_minimum_bp(10_000) == 1_000  # "一倍以下" → from 10 %


def test_a_file_without_a_minimum_gets_ten_percent_and_an_explicit_zero_is_kept() -> None:
    data = minimal_file(2)
    data["items"].append(
        {**data["items"][0], "code": "QJ-002", "fine": {"person": {"min_yuan": 0, "max_yuan": 200}}}
    )
    release = parse_release(data)
    (first, _), (second, second_tiers) = release.items
    assert first.person_fine == FineRange(2_000 * Y, 20_000 * Y, derived_min=True)
    assert first.org_fine.min_fen == 2_000 * Y
    assert second.person_fine == FineRange(0, 200 * Y)  # the file said 0: no rule applied
    assert second_tiers[1].person_fine == FineRange(0, 0)


def test_bundled_items_with_only_a_maximum_use_the_rule(ctx: AppContext) -> None:
    with ctx.read() as s:
        decoration = get_item(s, "GF-006")  # 《城市建筑垃圾管理规定》第二十六条: 个人 200 元以下
        temporary = get_item(s, "GH-002")  # 城乡规划法 66: 临时建设工程造价一倍以下
        minor = get_tier(s, "GF-006", "轻微")
    assert decoration.person_fine == FineRange(20 * Y, 200 * Y, derived_min=True)
    assert minor.person_fine == FineRange(20 * Y, 20 * Y)
    assert temporary.fine_rate == RateRange(1_000, 10_000, derived_min=True)


def test_an_admin_edit_without_a_minimum_uses_the_rule(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin) as s:
        view = upsert_item(s, admin, road_item(person_fine=FineRange(None, 3_000 * Y), org_fine=FineRange()))
    assert view.person_fine == FineRange(300 * Y, 3_000 * Y, derived_min=True)


# ---- the fine check ---------------------------------------------------------------------------


@pytest.fixture
def road(ctx: AppContext) -> dict[str, Any]:
    with ctx.read() as s:
        return {"item": get_item(s, "SZ-001"), **{t.name: t for t in tiers_for(s, "SZ-001")}}


def test_fines_inside_the_tier_are_allowed_for_person_and_organisation(road: dict[str, Any]) -> None:
    item = road["item"]
    check_fine(item, road["一般"], 5_000 * Y, PERSON)
    check_fine(item, road["一般"], 2_000 * Y, ORG)
    check_fine(item, road["一般"], 10_000 * Y, "organisation")  # shared end point of two tiers
    check_fine(item, road["严重"], 10_000 * Y, PERSON)
    check_fine(item, road["特别轻微"], 0, PERSON)  # no penalty
    check_fine(item, None, 20_000 * Y, ORG)  # statutory range only


def test_a_fine_outside_the_tier_names_amount_tier_and_range(road: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        check_fine(road["item"], road["一般"], 12_000 * Y, PERSON)
    assert err.value.message.startswith("罚款 12,000 元超出“一般”阶次 2,000–10,000 元的范围")
    assert err.value.field == "fine"
    with pytest.raises(ValidationError, match="“轻微”阶次 2,000 元"):
        check_fine(road["item"], road["轻微"], 2_500 * Y, ORG)


def test_a_fine_outside_the_statutory_range_names_the_range_and_basis(road: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        check_fine(road["item"], road["特别严重"], 25_000 * Y, ORG)
    message = err.value.message
    assert "罚款 25,000 元超出法定幅度" in message
    assert "对单位 2,000–20,000 元" in message and "第四十二条" in message
    with pytest.raises(ValidationError, match="1,500 元超出法定幅度"):
        check_fine(road["item"], None, 1_500 * Y, PERSON)


def test_no_penalty_tier_and_missing_amount_are_refused(road: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="“特别轻微”阶次不予行政处罚，不能处以罚款 2,000 元"):
        check_fine(road["item"], road["特别轻微"], 2_000 * Y, PERSON)
    with pytest.raises(ValidationError, match="“一般”阶次应对个人处以罚款 2,000–10,000 元"):
        check_fine(road["item"], road["一般"], 0, PERSON)


def test_person_and_organisation_ranges_differ(ctx: AppContext) -> None:
    with ctx.read() as s:
        domestic = get_item(s, "GF-001")  # 随意倾倒生活垃圾: 个人 100–500，单位 5–50 万
        site = get_item(s, "GF-002")  # 工程施工单位倾倒建筑垃圾: 单位 10–100 万，个人无
        general = get_tier(s, "GF-001", "一般")
    check_fine(domestic, None, 300 * Y, PERSON)
    check_fine(domestic, None, 300_000 * Y, ORG)
    check_fine(domestic, general, 200 * Y, PERSON)
    with pytest.raises(ValidationError, match="对个人 100–500 元"):
        check_fine(domestic, None, 600 * Y, PERSON)
    with pytest.raises(ValidationError, match="对单位 50,000–500,000 元"):
        check_fine(domestic, None, 600 * Y, ORG)
    with pytest.raises(ValidationError, match="对个人没有规定罚款数额"):
        check_fine(site, None, 300 * Y, PERSON)
    check_fine(site, None, 100_000 * Y, ORG)


def test_fines_by_rate_need_the_base_amount(ctx: AppContext) -> None:
    with ctx.read() as s:
        building = get_item(s, "GH-001")
        general = get_tier(s, "GH-001", "一般")
    cost = 1_000_000 * Y  # 建设工程造价 100 万元: 一般 5 %–7.5 % → 5–7.5 万元
    check_fine(building, general, 60_000 * Y, ORG, base_fen=cost)
    with pytest.raises(ValidationError, match="请先填写建设工程造价"):
        check_fine(building, general, 60_000 * Y, ORG)
    with pytest.raises(ValidationError, match=r"超出“一般”阶次 建设工程造价的 5%–7\.5%（50,000–75,000 元）"):
        check_fine(building, general, 80_000 * Y, PERSON, base_fen=cost)
    with pytest.raises(ValidationError, match="超出法定幅度"):
        check_fine(building, None, 120_000 * Y, ORG, base_fen=cost)


def test_a_tier_of_another_item_is_refused(ctx: AppContext, road: dict[str, Any]) -> None:
    with ctx.read() as s:
        other = get_item(s, "SZ-002")
    with pytest.raises(ValidationError, match="不属于第 1 版的事项 SZ-002"):
        check_fine(other, road["一般"], 5_000 * Y, PERSON)


# ---- thresholds -------------------------------------------------------------------------------


def test_thresholds_and_their_rules(ctx: AppContext) -> None:
    with ctx.read() as s:
        t = thresholds(s)
    assert t == Thresholds()
    assert (t.summary_person_fen, t.summary_org_fen, t.on_the_spot_fen) == (200 * Y, 3_000 * Y, 100 * Y)
    assert t.summary_allowed(PERSON, 200 * Y) and not t.summary_allowed(PERSON, 201 * Y)
    assert t.summary_allowed(ORG, 3_000 * Y) and not t.summary_allowed(ORG, 3_001 * Y)
    assert t.on_the_spot_allowed(100 * Y) and not t.on_the_spot_allowed(150 * Y)
    assert t.hearing_required(PERSON, 10_000 * Y) and not t.hearing_required(PERSON, 9_999 * Y)
    assert not t.hearing_required(ORG, 50_000 * Y)
    assert t.hearing_required(ORG, 0, penalty_types=(PenaltyType.SUSPEND,))
    assert t.hearing_required(PERSON, 0, confiscation_fen=20_000 * Y)
    assert t.legal_review_required(PERSON, 5_000 * Y) and not t.legal_review_required(ORG, 5_000 * Y)


def test_thresholds_are_edited_in_a_new_release_and_checked(ctx: AppContext, admin: Actor) -> None:
    with (
        pytest.raises(ValidationError, match="超过《中华人民共和国行政处罚法》规定的 200 元"),
        ctx.unit_of_work(admin) as s,
    ):
        set_thresholds(s, admin, dataclasses.replace(Thresholds(), summary_person_fen=300 * Y))
    with pytest.raises(ValidationError, match="应为大于 0 的金额"), ctx.unit_of_work(admin) as s:
        set_thresholds(s, admin, dataclasses.replace(Thresholds(), hearing_org_fen=0))
    with ctx.unit_of_work(admin) as s:
        new = set_thresholds(s, admin, dataclasses.replace(Thresholds(), hearing_person_fen=5_000 * Y))
    with ctx.read() as s:
        assert thresholds(s) == new and new.hearing_person_fen == 5_000 * Y
        assert current_release(s).release_no == 2
        assert thresholds(s, release_no=1).hearing_person_fen == 10_000 * Y


# ---- admin edits, copy-on-write ---------------------------------------------------------------


def test_an_admin_edit_makes_release_two_and_release_one_stays_readable(
    ctx: AppContext, admin: Actor
) -> None:
    with ctx.read() as s:
        old = get_item(s, "SZ-001")
        old_tiers = tiers_for(s, "SZ-001")
    changed = dataclasses.replace(old, name="擅自占用城市道路（含人行道）", note="本地细化")
    with ctx.unit_of_work(admin, "修改执法事项") as s:
        view = upsert_item(s, admin, changed)
    assert view.release_no == 2 and view.name == "擅自占用城市道路（含人行道）"
    with ctx.read() as s:
        releases = list_releases(s)
        assert [r.release_no for r in releases] == [2, 1]
        assert releases[0].source is ReleaseSource.LOCAL and releases[0].based_on == 1
        assert "修改事项 SZ-001" in releases[0].note
        assert get_item(s, "SZ-001").name == "擅自占用城市道路（含人行道）"
        assert get_item(s, "SZ-001", release_no=1) == old
        assert tiers_for(s, "SZ-001", release_no=1) == old_tiers
        # the new release holds every item, with its own rows
        assert len(list_items(s)) == len(list_items(s, release_no=1))
        assert get_item(s, "SZ-002").id != get_item(s, "SZ-002", release_no=1).id
        assert [t.name for t in tiers_for(s, "SZ-001")] == [t.name for t in old_tiers]
        assert verify(s).ok


def test_edits_in_one_unit_of_work_share_one_release(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin, "保存基准数据") as s:
        upsert_item(s, admin, road_item())
        upsert_item(s, admin, road_item(code="T-002", name="测试事项二"))
        remove_item(s, admin, "SR-005")
    with ctx.read() as s:
        assert [r.release_no for r in list_releases(s)] == [2, 1]
        note = current_release(s).note
        assert "新增事项 T-001" in note and "新增事项 T-002" in note and "删除事项 SR-005" in note
        codes = [i.code for i in list_items(s)]
        assert codes[-2:] == ["T-001", "T-002"]  # new items go to the end of the catalog
        assert [t.name for t in tiers_for(s, "T-001")] == list(STANDARD_TIER_NAMES)
    with ctx.unit_of_work(admin) as s:
        upsert_item(s, admin, road_item(name="测试事项（改）"))
    with ctx.read() as s:
        assert current_release(s).release_no == 3


def test_an_edit_that_changes_nothing_makes_no_release(ctx: AppContext, admin: Actor) -> None:
    with ctx.read() as s:
        item = get_item(s, "SZ-003")
        tiers = tiers_for(s, "SZ-003")
    before = counts(ctx)
    with ctx.unit_of_work(admin) as s:
        assert upsert_item(s, admin, item) == item
        set_tiers(s, admin, "SZ-003", tiers)
        set_thresholds(s, admin, Thresholds())
    assert counts(ctx) == before


def test_removing_an_item_tombstones_it_in_the_new_release_only(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin) as s:
        remove_item(s, admin, "SR-005")
    with ctx.read() as s:
        with pytest.raises(NotFoundError, match="第 2 版执法事项目录中没有编码为“SR-005”的事项"):
            get_item(s, "SR-005")
        assert get_item(s, "SR-005", release_no=1).name.startswith("随地吐痰")
        assert len(tiers_for(s, "SR-005", release_no=1)) == 5
        gone = s.scalars(
            select(ViolationItem).where(ViolationItem.code == "SR-005", ViolationItem.release_no == 2)
        )
        (row,) = list(gone)
        assert row.deleted
        assert all(
            t.deleted for t in s.scalars(select(DiscretionTier).where(DiscretionTier.item_id == row.id))
        )
        assert verify(s).ok
    with pytest.raises(NotFoundError), ctx.unit_of_work(admin) as s:
        remove_item(s, admin, "NO-SUCH")


def test_adding_an_item_refuses_a_code_already_in_use(ctx: AppContext, admin: Actor) -> None:
    before = counts(ctx)
    with (
        pytest.raises(ValidationError, match="编码 SZ-003 已被事项") as refused,
        ctx.unit_of_work(admin) as s,
    ):
        add_item(s, admin, road_item(code=" SZ-003 "))
    assert refused.value.field == "code" and counts(ctx) == before
    with ctx.unit_of_work(admin) as s:
        added = add_item(s, admin, road_item())
    assert added.code == "T-001" and added.release_no == 2
    with ctx.read() as s:
        assert [t.name for t in tiers_for(s, "T-001")] == list(STANDARD_TIER_NAMES)


def test_item_validation_says_what_to_fix(ctx: AppContext, admin: Actor) -> None:
    cases = [
        (road_item(code="坏 编码"), "事项编码“坏 编码”无效"),
        (road_item(breach_basis=" "), "缺少违法依据"),
        (road_item(penalty_basis=""), "缺少处罚依据"),
        (road_item(penalty_types=()), "请至少选择一种处罚种类"),
        (road_item(person_fine=FineRange(5_000 * Y, 1_000 * Y)), "最低罚款额 5,000 元高于最高额 1,000 元"),
        (road_item(person_fine=FineRange(1_000 * Y, None)), "只填写了最低罚款额"),
        (road_item(penalty_types=(PenaltyType.WARNING,)), "处罚种类中却没有“罚款”"),
        (road_item(person_fine=FineRange(), org_fine=FineRange()), "请填写罚款幅度"),
        (road_item(limitation_years=3), "追责时效应为 2 年"),
        (road_item(fine_rate=RateRange(500, 1000), rate_base="造价"), "不能同时设定固定罚款幅度和按比例罚款"),
    ]
    before = counts(ctx)
    for data, message in cases:
        with pytest.raises(ValidationError, match=message), ctx.unit_of_work(admin) as s:
            upsert_item(s, admin, data)
    assert counts(ctx) == before


def test_tiers_are_validated(ctx: AppContext, admin: Actor) -> None:
    def tier(name: str, low: int | None, high: int | None, **kw: Any) -> TierInput:
        rng = FineRange(None if low is None else low * Y, None if high is None else high * Y)
        return TierInput(name=name, person_fine=rng, org_fine=rng, **kw)

    free = TierInput(name="特别轻微", no_penalty=True)
    cases = [
        ([tier("一般", 1_000, 30_000)], "超出法定幅度 2,000–20,000 元"),
        (
            [tier("一般", 2_000, 10_000), tier("严重", 8_000, 20_000)],
            "与前一阶次“一般”（2,000–10,000 元）重叠或次序颠倒",
        ),
        ([tier("严重", 10_000, 20_000), tier("一般", 2_000, 10_000)], "重叠或次序颠倒"),
        (
            [TierInput(name="特别轻微", no_penalty=True, person_fine=FineRange(2_000 * Y, 2_000 * Y))],
            "不予处罚的阶次，不能设罚款幅度",
        ),
        ([tier("一般", 2_000, 10_000), free], "应排在所有罚款阶次之前"),
        ([tier("一般", 2_000, None)], "请同时填写下限和上限"),
        ([tier("一般", 2_000, 3_000), tier("一般", 3_000, 4_000)], "出现了两次"),
        ([], "至少需要一个裁量阶次"),
    ]
    before = counts(ctx)
    for tiers, message in cases:
        with pytest.raises(ValidationError, match=message), ctx.unit_of_work(admin) as s:
            set_tiers(s, admin, "SZ-001", tiers)
    assert counts(ctx) == before
    with ctx.unit_of_work(admin) as s:
        saved = set_tiers(
            s, admin, "SZ-001", [free, tier("一般", 2_000, 12_000), tier("严重", 12_000, 20_000)]
        )
    assert [(t.rank, t.name, t.release_no) for t in saved] == [
        (1, "特别轻微", 2),
        (2, "一般", 2),
        (3, "严重", 2),
    ]
    with ctx.read() as s:
        assert len(tiers_for(s, "SZ-001", release_no=1)) == 5
        assert verify(s).ok


def test_narrowing_the_statutory_range_requires_new_tiers(ctx: AppContext, admin: Actor) -> None:
    with ctx.read() as s:
        item = get_item(s, "SZ-001")
    narrower = dataclasses.replace(item, person_fine=FineRange(None, 10_000 * Y))
    with pytest.raises(ValidationError, match="请同时调整裁量阶次"), ctx.unit_of_work(admin) as s:
        upsert_item(s, admin, narrower)


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CLERK, Role.LEGAL, Role.LEADER])
def test_only_the_admin_edits_reference_data(ctx: AppContext, actors: dict[Role, Actor], role: Role) -> None:
    actor = actors[role]
    before = counts(ctx)
    attempts = [
        lambda s: upsert_item(s, actor, road_item()),
        lambda s: remove_item(s, actor, "SZ-001"),
        lambda s: set_tiers(s, actor, "SZ-001", [TierInput(name="一般")]),
        lambda s: set_thresholds(s, actor, Thresholds()),
        lambda s: import_release(s, actor, minimal_file(9)),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="维护执法事项与裁量基准"), ctx.unit_of_work(actor) as s:
            attempt(s)
    assert counts(ctx) == before
    with ctx.read() as s:  # reading needs no permission
        assert get_item(s, "SZ-001").code == "SZ-001"


# ---- import -----------------------------------------------------------------------------------


def test_a_newer_release_is_imported_whole(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    path = tmp_path / "区局目录-第5版.json"
    path.write_text(json.dumps(minimal_file(5, thresholds={"hearing_person_yuan": 5000})), encoding="utf-8")
    with ctx.unit_of_work(admin, "导入区局目录") as s:
        release = import_release(s, admin, path)
    assert release.release_no == 5 and release.source is ReleaseSource.DISTRICT
    with ctx.read() as s:
        assert current_release(s).release_no == 5
        assert [i.code for i in list_items(s)] == ["QJ-001"]
        assert [t.name for t in tiers_for(s, "QJ-001")] == list(STANDARD_TIER_NAMES)
        assert thresholds(s).hearing_person_fen == 5_000 * Y
        assert thresholds(s).summary_person_fen == 200 * Y  # left out: the default
        assert len(list_items(s, release_no=1)) >= 20
        assert verify(s).ok
    # a later local edit builds on the imported release
    with ctx.unit_of_work(admin) as s:
        upsert_item(s, admin, road_item())
    with ctx.read() as s:
        assert current_release(s).release_no == 6
        assert [i.code for i in list_items(s)] == ["QJ-001", "T-001"]


@pytest.mark.parametrize("release", [1, 0, -3])
def test_an_older_or_the_same_release_is_refused(ctx: AppContext, admin: Actor, release: int) -> None:
    before = counts(ctx)
    with pytest.raises(ValidationError) as err, ctx.unit_of_work(admin) as s:
        import_release(s, admin, minimal_file(release))
    message = err.value.message
    assert "不能回退到旧版本" in message or "不小于 1" in message
    assert counts(ctx) == before


def test_after_a_local_edit_the_import_must_be_newer_still(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin) as s:
        upsert_item(s, admin, road_item())
    with (
        pytest.raises(ValidationError, match="要导入的是第 2 版，本机已是第 2 版：不能回退到旧版本"),
        ctx.unit_of_work(admin) as s,
    ):
        import_release(s, admin, minimal_file(2))


MALFORMED: list[tuple[str, Any, str]] = [
    ("not json", "{ 这不是 JSON", "不是有效的 JSON：第 1 行"),
    ("foreign file", {"release": 3}, "这不是 SquadDesk 的基准数据文件"),
    ("future format", minimal_file(3, schema_version=2), "只能读取第 1 版格式"),
    ("no items", minimal_file(3, items=[]), "“items”应为至少含一个执法事项的列表"),
    ("float money", "float", "带引号的金额文本"),
    ("missing basis", "basis", "第 1 个事项（QJ-001）：事项“QJ-001 擅自占用城市道路”缺少处罚依据"),
    ("unknown penalty", "penalty", "不认识的处罚种类 ['jail']"),
    ("tier out of range", "tier", "超出法定幅度"),
    ("duplicate code", "duplicate", "事项编码 QJ-001 重复"),
    ("unknown threshold", minimal_file(3, thresholds={"hearing_yuan": 1}), "不认识的阈值"),
    ("bad date", minimal_file(3, published="2026/04/01"), "YYYY-MM-DD"),
]


def _malformed(kind: Any) -> Any:
    if not isinstance(kind, str) or kind == "{ 这不是 JSON":
        return kind
    data = minimal_file(3)
    item = data["items"][0]
    if kind == "float":
        item["fine"]["person"]["max_yuan"] = 20000.5
    elif kind == "basis":
        item["penalty_basis"] = ""
    elif kind == "penalty":
        item["penalty_types"] = ["fine", "jail"]
    elif kind == "tier":
        item["tiers"] = [{"name": "一般", "fine": {"person": {"min_yuan": 100, "max_yuan": 30000}}}]
    elif kind == "duplicate":
        data["items"].append(dict(item))
    return data


@pytest.mark.parametrize(("label", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_file_is_refused_and_nothing_is_written(
    ctx: AppContext, admin: Actor, tmp_path: Path, label: str, content: Any, message: str
) -> None:
    data = _malformed(content)
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    before = counts(ctx)
    with pytest.raises(ValidationError) as err, ctx.unit_of_work(admin) as s:
        import_release(s, admin, path)
    assert message in err.value.message
    assert err.value.message.startswith("文件“bad.json”") or label == "not json"
    assert counts(ctx) == before
    with ctx.read() as s:
        assert current_release(s).release_no == 1


def test_a_missing_file_is_named(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="找不到文件"), ctx.unit_of_work(admin) as s:
        import_release(s, admin, tmp_path / "nope.json")


def test_export_and_reimport_round_trip(ctx: AppContext, admin: Actor) -> None:
    with ctx.read() as s:
        exported = export_release(s)
        items = list_items(s)
        tiers = {i.code: tiers_for(s, i.code) for i in items}
    assert exported["release"] == 1 and exported["thresholds"]["summary_org_yuan"] == 3000
    assert "min_yuan" not in exported["items"][0]["fine"]["person"]  # the law gave only a maximum
    exported["release"] = 2
    with ctx.unit_of_work(admin) as s:
        import_release(s, admin, json.loads(json.dumps(exported)))
    with ctx.read() as s:
        again = list_items(s)
        assert [_plain(i) for i in again] == [_plain(i) for i in items]
        for item in again:
            assert [_plain(t) for t in tiers_for(s, item.code)] == [_plain(t) for t in tiers[item.code]]


def _plain(view: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(view).items() if k not in ("id", "release_no", "version")}


# ---- search and money -------------------------------------------------------------------------


def test_search_by_code_name_pinyin_and_category(ctx: AppContext) -> None:
    with ctx.read() as s:
        assert [i.code for i in list_items(s, "sz-001")] == ["SZ-001"]
        assert "SZ-001" in [i.code for i in list_items(s, "占用城市道路")]
        assert "SZ-001" in [i.code for i in list_items(s, "szzy")]  # 擅自占用…
        assert {i.category for i in list_items(s, category="噪声污染防治")} == {"噪声污染防治"}
        assert "市容环境卫生" in categories(s)
        assert list_items(s, "不存在的事项") == []
        with pytest.raises(NotFoundError, match="找不到第 9 版"):
            list_items(s, release_no=9)


def test_money_is_integer_fen_and_reads_as_yuan() -> None:
    assert yuan(250_000) == "2,500.00 元"
    assert yuan(5) == "0.05 元"
    assert yuan_range(100_000, 500_000) == "1,000–5,000 元"
    assert yuan_range(None, 2_000_000) == "20,000 元以下"
    assert parse_yuan("2,500.5") == 250_050
    assert parse_yuan("300元") == 30_000
    with pytest.raises(ValidationError, match="不是有效的金额"):
        parse_yuan("三百")


def test_the_bundled_file_documents_itself() -> None:
    from app.paths import resource_path

    data = json.loads(resource_path("reference", "catalog.json").read_text(encoding="utf-8"))
    assert data["format"] == "squaddesk-reference" and data["schema_version"] == 1 and data["release"] == 1
    assert "可由管理员" in data["note"]  # thresholds are configurable
    assert parse_release(data).release_no == 1


def test_reads_without_any_release_say_what_to_do(bare_ctx: AppContext) -> None:
    with bare_ctx.read() as s, pytest.raises(NotFoundError, match="尚未安装执法事项目录"):
        current_release(s)
