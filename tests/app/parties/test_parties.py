"""Parties (当事人): credit-code and ID validation, one party per identity, masked ID numbers for
roles that may not see them, stale edits refused — through the services on a real SQLite file."""

from __future__ import annotations

import pytest

from app.audit import verify
from app.auth.roles import Actor, Role
from app.context import AppContext
from app.errors import ConflictError, PermissionDenied, ValidationError
from app.parties import (
    PartyInput,
    PartyView,
    create_party,
    find_party_by_identity,
    get_party,
    search_parties,
    update_party,
    validate_credit_code,
)
from app.personnel.idcard import check_digit
from db.models.parties import PartyKind

PERSON, ORG = PartyKind.PERSON, PartyKind.ORGANISATION


def make_id(birth: str, seq: int) -> str:
    first17 = f"440106{birth}{seq:03d}"
    return first17 + check_digit(first17)


def make_credit_code(first17: str) -> str:
    """GB 32100-2015, written out here independently of the code under test."""
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(charset.index(c) * w for c, w in zip(first17, weights, strict=True))
    check = 31 - total % 31
    return first17 + ("0" if check == 31 else charset[check])


WANG = make_id("19780412", 35)  # a man
CHEN = make_id("19920101", 48)
SHOP = make_credit_code("92440106MA5CXR3H1")  # 个体工商户, Tianhe district
RESTAURANT = make_credit_code("91440106MA59C7L2Q")  # 企业
PUBLISHED = ["91350100M000100Y43", "91440300708461136T", "91110000802100433B"]


# ---- 统一社会信用代码 ------------------------------------------------------------------------------


def test_a_code_computed_from_the_algorithm_is_accepted() -> None:
    assert validate_credit_code(SHOP) == SHOP
    assert validate_credit_code(RESTAURANT) == RESTAURANT


def test_the_check_character_can_be_zero() -> None:
    # Search a body whose weighted sum is a multiple of 31: the check (31) is written as "0".
    first17 = next(
        f"9144010600{n:07d}" for n in range(10_000) if make_credit_code(f"9144010600{n:07d}")[-1] == "0"
    )
    assert validate_credit_code(first17 + "0") == first17 + "0"


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_accepted(code: str) -> None:
    assert validate_credit_code(code) == code


def test_full_width_lower_case_and_spaces_are_normalised() -> None:
    assert validate_credit_code("９１３５０１００ｍ０００１００ｙ４３") == "91350100M000100Y43"
    assert validate_credit_code(" 9135 0100 m000 100y 43 ") == "91350100M000100Y43"


def test_wrong_check_character_names_the_expected_one() -> None:
    wrong = SHOP[:17] + ("1" if SHOP[17] != "1" else "2")
    with pytest.raises(ValidationError) as err:
        validate_credit_code(wrong)
    assert f"末位应为 {SHOP[17]}" in err.value.message
    assert err.value.field == "credit_code"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("", "请填写统一社会信用代码"),
        ("9135010000010", "应为 18 位"),
        ("440106000123456", "15 位的旧营业执照注册号"),
        ("91350100MOOO100Y43", "“O”多半应为“0”"),
        ("B1350100M000100Y43", "第 1 位“B”不是登记管理部门代码"),
        ("95350100M000100Y43", "第 2 位“5”不是工商（市场监管）登记的机构类别代码（应为 1 企业、2 个体工商户"),
        ("913501A0M000100Y43", "第 3 至 8 位“3501A0”应为 6 位数字"),
    ],
)
def test_invalid_codes_say_what_to_fix(code: str, why: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_credit_code(code)
    assert why in err.value.message


def test_other_departments_and_their_types() -> None:
    for first17 in ("31440000E00017525", "N2440106MA5CXR3H1", "81440106MA5CXR3H1", "Y1440106MA5CXR3H1"):
        code = make_credit_code(first17)
        assert validate_credit_code(code) == code
    with pytest.raises(ValidationError, match="司法行政登记的机构类别代码"):
        validate_credit_code(make_credit_code("37440000E00017525"))


# ---- the party service ------------------------------------------------------------------------


def _person(name: str = "王建国", id_number: str = WANG, **kw: str) -> PartyInput:
    fields = {"address": "天河区车陂路 88 号", "phone": "13800138000"} | kw
    return PartyInput(PERSON, name, id_number=id_number, **fields)


def _org(name: str = "广州市天河区好滋味餐饮店", code: str = SHOP, **kw: str) -> PartyInput:
    fields = {"legal_representative": "陈晓东", "address": "车陂路 12 号"} | kw
    return PartyInput(ORG, name, credit_code=code, **fields)


def _create(ctx: AppContext, actor: Actor, data: PartyInput) -> PartyView:
    with ctx.unit_of_work(actor, f"登记当事人 {data.name}") as s:
        return create_party(s, actor, data)


def test_create_person_and_organisation(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    clerk = actors[Role.CLERK]
    person = _create(ctx, clerk, _person(id_number=WANG.lower()))
    org = _create(ctx, clerk, _org(code=SHOP.lower()))
    assert (person.kind, person.kind_label, person.id_number, person.credit_code) == (
        PERSON,
        "自然人",
        WANG,
        "",
    )
    assert (org.kind_label, org.credit_code, org.id_number, org.legal_representative) == (
        "法人或其他组织",
        SHOP,
        "",
        "陈晓东",
    )
    assert org.identity == SHOP and person.identity == WANG
    with ctx.read() as s:
        assert get_party(s, clerk, org.id) == org


def test_invalid_input_names_the_field(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    officer = actors[Role.OFFICER]
    cases = [
        (_person(id_number=WANG[:17] + ("0" if WANG[17] != "0" else "1")), "id_number"),
        (_person(name="  "), "name"),
        (PartyInput(PERSON, "王建国", id_number=WANG, credit_code=SHOP), "kind"),
        (PartyInput(ORG, "某公司", credit_code=SHOP), "legal_representative"),
        (PartyInput(ORG, "某公司", credit_code=SHOP, legal_representative="甲", id_number=WANG), "id_number"),
        (_person(phone="8300123"), "phone"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as err, ctx.unit_of_work(officer) as s:
            create_party(s, officer, data)
        assert err.value.field == field, data


def test_duplicate_identity_is_refused_naming_the_existing_party(
    ctx: AppContext, actors: dict[Role, Actor]
) -> None:
    clerk, officer = actors[Role.CLERK], actors[Role.OFFICER]
    _create(ctx, clerk, _person())
    _create(ctx, clerk, _org())
    with pytest.raises(ConflictError, match=f"身份证号 {WANG} 已登记为当事人“王建国”"):
        _create(ctx, officer, _person(name="王建图"))
    # the same code typed full-width is the same organisation
    full_width = SHOP.translate({ord(c): ord(c) + 0xFEE0 for c in SHOP})
    with pytest.raises(ConflictError, match=r"已登记为当事人“广州市天河区好滋味餐饮店”.*请直接选用"):
        _create(ctx, officer, _org(name="好滋味", code=full_width))


def test_find_by_identity_tolerates_how_it_was_typed(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    clerk, legal = actors[Role.CLERK], actors[Role.LEGAL]
    person = _create(ctx, clerk, _person())
    org = _create(ctx, clerk, _org())
    with ctx.read() as s:
        assert find_party_by_identity(s, clerk, f" {SHOP.lower()} ") == org
        found = find_party_by_identity(s, legal, person.id_number)
        assert found is not None and found.id == person.id
        assert find_party_by_identity(s, clerk, RESTAURANT) is None
        assert find_party_by_identity(s, clerk, "") is None


def test_id_numbers_masked_for_an_officer_whole_for_a_clerk(
    ctx: AppContext, actors: dict[Role, Actor]
) -> None:
    clerk, officer = actors[Role.CLERK], actors[Role.OFFICER]
    created = _create(ctx, officer, _person())
    assert created.id_number == WANG[:6] + "********" + WANG[-4:], (
        "the officer who typed it sees it masked too"
    )
    _create(ctx, clerk, _org())
    with ctx.read() as s:
        (as_clerk,) = search_parties(s, clerk, "王建国")
        (as_officer,) = search_parties(s, officer, "王建国")
        assert as_clerk.id_number == WANG
        assert as_officer.id_number == WANG[:6] + "********" + WANG[-4:]
        assert get_party(s, officer, created.id).id_number == as_officer.id_number
        # credit codes are public registration data: never masked
        assert search_parties(s, officer, SHOP)[0].credit_code == SHOP
        # an officer finds a person by the visible last four digits, not by the hidden middle
        assert [p.id for p in search_parties(s, officer, WANG[-4:])] == [created.id]
        assert search_parties(s, officer, WANG[6:14]) == []
        assert [p.id for p in search_parties(s, clerk, WANG[6:14])] == [created.id]


def test_search_by_name_pinyin_initials_code_and_kind(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    clerk = actors[Role.CLERK]
    wang = _create(ctx, clerk, _person())
    chen = _create(ctx, clerk, _person(name="陈美玲", id_number=CHEN))
    shop = _create(ctx, clerk, _org())
    with ctx.read() as s:
        assert [p.id for p in search_parties(s, clerk, "wjg")] == [wang.id]
        assert [p.id for p in search_parties(s, clerk, "CML")] == [chen.id]
        assert [p.id for p in search_parties(s, clerk, "好滋味")] == [shop.id]
        assert [p.id for p in search_parties(s, clerk, SHOP[:8].lower())] == [shop.id]
        assert {p.id for p in search_parties(s, clerk)} == {wang.id, chen.id, shop.id}
        assert [p.id for p in search_parties(s, clerk, kind=ORG)] == [shop.id]
        assert len(search_parties(s, clerk, limit=2)) == 2


def test_update_and_stale_update(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    clerk, officer = actors[Role.CLERK], actors[Role.OFFICER]
    party = _create(ctx, clerk, _org())
    other = _create(ctx, clerk, _org(name="车陂烧腊店", code=RESTAURANT))
    with ctx.unit_of_work(officer, "修改当事人") as s:
        moved = update_party(s, officer, party.id, _org(address="车陂路 14 号"), party.version)
    assert moved.address == "车陂路 14 号" and moved.version == party.version + 1
    with pytest.raises(ConflictError, match="刚被他人修改过"), ctx.unit_of_work(clerk) as s:
        update_party(s, clerk, party.id, _org(address="车陂路 16 号"), party.version)
    with pytest.raises(ConflictError, match="已登记为当事人“车陂烧腊店”"), ctx.unit_of_work(clerk) as s:
        update_party(s, clerk, party.id, _org(code=RESTAURANT), moved.version)
    with ctx.read() as s:
        assert get_party(s, clerk, party.id).address == "车陂路 14 号"
        assert get_party(s, clerk, other.id).credit_code == RESTAURANT


def test_permissions(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    for role in (Role.LEGAL, Role.LEADER):
        with pytest.raises(PermissionDenied, match="登记当事人") as err, ctx.unit_of_work(actors[role]) as s:
            create_party(s, actors[role], _person())
        assert actors[role].role.label in err.value.message
    party = _create(ctx, actors[Role.CLERK], _person())
    with pytest.raises(PermissionDenied), ctx.unit_of_work(actors[Role.LEGAL]) as s:
        update_party(s, actors[Role.LEGAL], party.id, _person(name="王建设"), party.version)
    with ctx.read() as s:
        assert [p.id for p in search_parties(s, actors[Role.LEGAL], "王")] == [party.id]
        assert search_parties(s, actors[Role.LEADER], "王")[0].id_number == WANG  # the leader sees whole IDs


def test_audit_chain_still_verifies(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    clerk = actors[Role.CLERK]
    party = _create(ctx, clerk, _person())
    with ctx.unit_of_work(clerk) as s:
        update_party(s, clerk, party.id, _person(address="车陂北街 1 号"), party.version)
    with ctx.read() as s:
        report = verify(s)
    assert report.ok, report.problems
