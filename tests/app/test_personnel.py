"""The personnel and certificate ledger: ID numbers, members and their search, who may enforce,
certificates and their warnings, training hours, the to-do list, and the settings file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.roles import SYSTEM, Actor, Role
from app.certificates import (
    Alert,
    CertFacts,
    CertificateInput,
    add_certificate,
    add_review,
    alert_for,
    certificate_valid_on,
    history,
    list_certificates,
    remove_certificate,
    set_state,
    update_certificate,
)
from app.context import AppContext, open_data_dir
from app.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from app.personnel.enforce import can_enforce, explain_enforce
from app.personnel.idcard import (
    birth_date,
    check_digit,
    gender_of,
    mask_id_number,
    normalize_id_number,
    normalize_phone,
)
from app.personnel.members import (
    MemberInput,
    MemberQuery,
    count_members,
    create_member,
    get_member,
    initials,
    remove_member,
    search_members,
    update_member,
)
from app.settings import FILE_NAME, Settings, load_settings, save_settings
from app.todos import todos
from app.training import TrainingInput, add_training, list_training, remove_training, yearly_hours
from db.models import Certificate, ChangeLogEntry, Member, User
from db.models.personnel import CertificateKind, CertificateState, MemberStatus, StaffCategory

D = dt.date
SAMPLE_X = "11010519491231002X"  # the GB 11643 example: check digit X, a woman born 1949-12-31
SETTINGS = Settings()


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    """The set-up administrator, taken from the users table: login (argon2, slow) is tested in test_auth."""
    with ctx.read() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
    assert user is not None
    return Actor(user.id, user.username, user.display_name, Role(user.role))


def as_role(role: Role) -> Actor:
    """What a service sees of a logged-in user: permissions follow the role."""
    return Actor(f"user-{role.value}", f"user_{role.value}", f"{role.label}甲", role)


def make_id(birth: str, seq: int) -> str:
    first17 = f"440106{birth}{seq:03d}"
    return first17 + check_digit(first17)


# ---- ID numbers and phones ------------------------------------------------------------------


def test_valid_id_with_x_check_digit() -> None:
    assert normalize_id_number(SAMPLE_X) == SAMPLE_X
    assert normalize_id_number("11010519491231002x") == SAMPLE_X  # lower-case x
    assert normalize_id_number(" 110105 19491231 002X ") == SAMPLE_X  # spaces pasted in
    assert birth_date(SAMPLE_X) == D(1949, 12, 31)
    assert gender_of(SAMPLE_X) == "女"


def test_full_width_digits_are_normalised() -> None:
    full_width = "１１０１０５１９４９１２３１００２Ｘ"
    assert normalize_id_number(full_width) == SAMPLE_X


def test_bad_check_digit_names_the_expected_digit() -> None:
    good = make_id("19850615", 123)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValidationError) as err:
        normalize_id_number(wrong)
    assert f"末位应为 {good[17]}" in err.value.message
    assert err.value.field == "id_number"


def test_excel_damage_fifteen_digits_then_zeros() -> None:
    damaged = "440106198506151000"  # Excel kept 15 significant digits of 440106198506151239
    assert check_digit(damaged[:17]) != "0"
    with pytest.raises(ValidationError) as err:
        normalize_id_number(damaged)
    assert "000" in err.value.message and "Excel" in err.value.message and "文本" in err.value.message


@pytest.mark.parametrize("text", ["4.40106E+17", "4.40106198506151e17", "4.4E+17"])
def test_scientific_notation_text(text: str) -> None:
    with pytest.raises(ValidationError, match="科学计数法"):
        normalize_id_number(text)


@pytest.mark.parametrize("cell", [4.40106198506151e17, 440106198506151239, 440106198506151239.0])
def test_number_cells_are_rejected_with_the_reason(cell: float) -> None:
    with pytest.raises(ValidationError, match="存成了数字"):
        normalize_id_number(cell)


def test_number_text_ending_in_point_zero() -> None:
    with pytest.raises(ValidationError, match="存成了数字"):
        normalize_id_number("440106198506151239.0")


def test_impossible_birth_date() -> None:
    first17 = "44010619900230123"  # 30 February
    with pytest.raises(ValidationError, match="出生日期 19900230 不存在"):
        normalize_id_number(first17 + check_digit(first17))


@pytest.mark.parametrize(
    ("raw", "why"),
    [("", "请填写"), (None, "请填写"), ("44010619850615123", "18 位"), ("44010619850615123Y", "非法字符")],
)
def test_other_bad_ids(raw: object, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        normalize_id_number(raw)


def test_mask_id_number() -> None:
    assert mask_id_number("440106199001011234") == "440106********1234"
    assert mask_id_number(SAMPLE_X) == "110105********002X"
    assert mask_id_number("123") == "***"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        (13800138000.0, "13800138000"),
        ("020-83001234", "020-83001234"),
        ("（020）83001234", "02083001234"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_phone(raw: object, clean: str) -> None:
    assert normalize_phone(raw) == clean


@pytest.mark.parametrize("raw", ["12345", "12800138000", "1380013800", "83001234", "电话"])
def test_bad_phone(raw: str) -> None:
    with pytest.raises(ValidationError, match="格式不对") as err:
        normalize_phone(raw)
    assert err.value.field == "phone"


# ---- members --------------------------------------------------------------------------------

ZHANG = make_id("19850615", 123)  # a man
LI = make_id("19900307", 2)  # a woman


def _member(
    ctx: AppContext,
    actor: Actor,
    name: str,
    number: str,
    category: StaffCategory = StaffCategory.CIVIL_SERVANT,
    **kw: object,
) -> str:
    with ctx.unit_of_work(actor, f"新增 {name}") as s:
        return create_member(s, actor, MemberInput(name, number, category, **kw)).id  # type: ignore[arg-type]


def _cert(
    ctx: AppContext,
    actor: Actor,
    member_id: str,
    number: str,
    valid_from: dt.date | None,
    valid_to: dt.date | None,
    kind: CertificateKind = CertificateKind.ENFORCEMENT,
) -> str:
    with ctx.unit_of_work(actor) as s:
        return add_certificate(
            s, actor, CertificateInput(member_id, kind, number, "广州市人民政府", "", valid_from, valid_to)
        )


def test_create_member(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin) as s:
        view = create_member(
            s,
            admin,
            MemberInput(
                " 张  三丰 ",
                "４４" + ZHANG[2:],
                StaffCategory.CIVIL_SERVANT,
                phone="138 0013 8000",
                unit="一分队",
                join_date=D(2010, 7, 1),
            ),
        )
    assert view.name == "张 三丰"  # inner runs of spaces collapse
    assert view.id_number == ZHANG and view.gender == "男" and view.birth == D(1985, 6, 15)
    assert view.phone == "13800138000" and view.version == 1
    assert view.category_label == "行政执法类公务员" and view.status_label == "在岗"
    with ctx.read() as s:
        row = s.get(Member, view.id)
        assert row.name_initials == "zsf"
        assert get_member(s, admin, view.id) == view


def test_member_validation(ctx: AppContext, admin: Actor) -> None:
    wrong_check = ZHANG[:17] + ("0" if ZHANG[17] != "0" else "1")
    cases: list[tuple[dict[str, object], str]] = [
        ({"name": "  "}, "name"),
        ({"name": "张" * 51}, "name"),
        ({"gender": "女"}, "gender"),  # the ID says a man
        ({"gender": "M"}, "gender"),
        ({"phone": "12345"}, "phone"),
        ({"join_date": D(2000, 1, 1)}, "join_date"),  # aged 14
        ({"join_date": dt.date.today() + dt.timedelta(days=1)}, "join_date"),
        ({"id_number": wrong_check}, "id_number"),
        ({"category": "volunteer"}, "category"),
    ]
    base = MemberInput("张三丰", ZHANG, StaffCategory.CIVIL_SERVANT)
    for change, field in cases:
        with pytest.raises(ValidationError) as err, ctx.unit_of_work(admin) as s:
            create_member(s, admin, dataclasses.replace(base, **change))  # type: ignore[arg-type]
        assert err.value.field == field, change
        assert err.value.message
    with ctx.read() as s:
        assert count_members(s, admin) == 0


def test_duplicate_id_number_names_the_other_member(ctx: AppContext, admin: Actor) -> None:
    _member(ctx, admin, "张三丰", ZHANG)
    with pytest.raises(ConflictError) as err, ctx.unit_of_work(admin) as s:
        create_member(s, admin, MemberInput("张三", ZHANG.lower(), StaffCategory.AUXILIARY))
    assert "张三丰" in err.value.message and ZHANG in err.value.message
    # an edit may not take someone else's number either
    li = _member(ctx, admin, "李秀英", LI)
    with pytest.raises(ConflictError, match="张三丰"), ctx.unit_of_work(admin) as s:
        update_member(s, admin, li, MemberInput("李秀英", ZHANG, StaffCategory.CIVIL_SERVANT, gender="男"), 1)


def test_update_with_a_stale_version_is_refused(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG)
    data = MemberInput("张三丰", ZHANG, StaffCategory.CIVIL_SERVANT, phone="13800138000")
    with ctx.unit_of_work(admin) as s:
        assert update_member(s, admin, mid, data, version=1).version == 2
    # someone still holding version 1 tries to save
    with pytest.raises(ConflictError, match="刚被他人修改过"), ctx.unit_of_work(admin) as s:
        update_member(s, admin, mid, dataclasses.replace(data, phone="13900139000"), version=1)
    with ctx.read() as s:
        view = get_member(s, admin, mid)
    assert (view.phone, view.version) == ("13800138000", 2)


@pytest.fixture
def ledger(ctx: AppContext, admin: Actor) -> dict[str, str]:
    ids = {
        "zhang": _member(ctx, admin, "张三丰", ZHANG, phone="13800138000", unit="一分队"),
        "li": _member(ctx, admin, "李秀英", LI, StaffCategory.AUXILIARY, unit="二分队"),
        "wang": _member(
            ctx, admin, "王五", make_id("19781120", 31), StaffCategory.POLICE, status=MemberStatus.LEFT
        ),
    }
    _cert(ctx, admin, ids["zhang"], "粤A4401060123", D(2021, 1, 1), D(2030, 12, 31))
    return ids


def _find(ctx: AppContext, actor: Actor, text: str) -> list[str]:
    with ctx.read() as s:
        return [m.name for m in search_members(s, actor, MemberQuery(text=text))]


def test_search(ctx: AppContext, ledger: dict[str, str]) -> None:
    clerk, officer = as_role(Role.CLERK), as_role(Role.OFFICER)
    assert _find(ctx, clerk, "三丰") == ["张三丰"]
    assert _find(ctx, clerk, "zsf") == ["张三丰"]
    assert _find(ctx, clerk, "ZS") == ["张三丰"]  # initials prefix, any case
    assert _find(ctx, clerk, "lxy") == ["李秀英"]
    assert _find(ctx, clerk, ZHANG) == ["张三丰"]
    assert _find(ctx, clerk, LI[:10]) == ["李秀英"]
    assert _find(ctx, clerk, "A4401060123") == ["张三丰"]  # certificate number
    assert _find(ctx, clerk, "0123") == ["张三丰"]
    assert _find(ctx, clerk, "13800138") == ["张三丰"]  # phone
    assert _find(ctx, clerk, "赵") == []
    # an officer sees masked numbers, finds by the visible last four digits, but cannot probe full IDs
    assert _find(ctx, officer, ZHANG[-4:]) == ["张三丰"]
    assert _find(ctx, officer, ZHANG) == []
    with ctx.read() as s:
        views = {m.name: m for m in search_members(s, officer)}
        assert views["张三丰"].id_number == mask_id_number(ZHANG) == ZHANG[:6] + "*" * 8 + ZHANG[-4:]
        assert views["张三丰"].enforcement_cert_no == "粤A4401060123"
        assert views["张三丰"].enforcement_cert_to == D(2030, 12, 31)
        clerk_views = {m.name: m for m in search_members(s, clerk)}
        assert clerk_views["张三丰"].id_number == ZHANG


def test_search_filters_and_paging(ctx: AppContext, admin: Actor, ledger: dict[str, str]) -> None:
    with ctx.read() as s:
        assert count_members(s, admin) == 3
        assert count_members(s, admin, MemberQuery(include_left=False)) == 2
        assert count_members(s, admin, MemberQuery(category=StaffCategory.AUXILIARY)) == 1
        assert count_members(s, admin, MemberQuery(status=MemberStatus.LEFT)) == 1
        assert [m.name for m in search_members(s, admin, MemberQuery(unit="一分队"))] == ["张三丰"]
        everyone = [m.id for m in search_members(s, admin)]
        paged = [m.id for m in search_members(s, admin, offset=0, limit=2)] + [
            m.id for m in search_members(s, admin, offset=2, limit=2)
        ]
        assert paged == everyone and len(set(everyone)) == 3


def test_remove_member_tombstones(ctx: AppContext, admin: Actor, ledger: dict[str, str]) -> None:
    zhang = ledger["zhang"]
    with ctx.unit_of_work(admin, "误录删除") as s:
        remove_member(s, admin, zhang)
    with ctx.read() as s:
        row = s.get(Member, zhang)
        assert row is not None and row.deleted and row.version == 2  # kept, marked deleted
        certs = list(s.scalars(select(Certificate).where(Certificate.member_id == zhang)))
        assert certs and all(c.deleted for c in certs)
        assert "张三丰" not in [m.name for m in search_members(s, admin)]
        with pytest.raises(NotFoundError):
            get_member(s, admin, zhang)
        ops = [e.op for e in s.scalars(select(ChangeLogEntry).where(ChangeLogEntry.row_id == zhang))]
        assert ops == ["insert", "delete"]
        assert list_certificates(s, admin, SETTINGS, D(2026, 5, 1)) == []
    # the number is free again for a correct entry
    _member(ctx, admin, "张三丰", ZHANG)
    with pytest.raises(NotFoundError), ctx.unit_of_work(admin) as s:
        remove_member(s, admin, zhang)


def test_initials() -> None:
    assert initials("张三丰") == "zsf"
    assert initials("欧阳娜娜") == "oynn"


# ---- who may enforce ------------------------------------------------------------------------


def _row(ctx: AppContext, member_id: str) -> Member:
    with ctx.read() as s:
        m = s.get(Member, member_id)
        assert m is not None
        return m


def _can(ctx: AppContext, member_id: str, day: dt.date) -> bool:
    with ctx.read() as s:
        member = s.get(Member, member_id)
        result = can_enforce(s, member, day)
        assert result == explain_enforce(s, member, day).ok
        return result


def _why(ctx: AppContext, member_id: str, day: dt.date) -> str:
    with ctx.read() as s:
        return explain_enforce(s, s.get(Member, member_id), day).reason


def test_civil_servant_with_a_valid_certificate_may_enforce(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG, join_date=D(2010, 7, 1))
    career = _member(ctx, admin, "陈敏", make_id("19880808", 42), StaffCategory.CAREER)
    assert not _can(ctx, mid, D(2026, 5, 1))
    assert "没有登记行政执法证" in _why(ctx, mid, D(2026, 5, 1))
    _cert(ctx, admin, mid, "粤A1", D(2021, 7, 1), D(2026, 6, 30))
    _cert(ctx, admin, career, "粤A2", D(2021, 7, 1), D(2026, 6, 30))
    assert _can(ctx, mid, D(2026, 5, 1)) and _can(ctx, career, D(2026, 5, 1))
    # the last valid day and the day after
    assert _can(ctx, mid, D(2026, 6, 30))
    assert not _can(ctx, mid, D(2026, 7, 1))
    assert "到期" in _why(ctx, mid, D(2026, 7, 1))
    assert not _can(ctx, mid, D(2021, 6, 30))  # before the certificate took effect
    with ctx.read() as s:
        assert certificate_valid_on(s, s.get(Member, mid), D(2026, 6, 30))
        assert not certificate_valid_on(s, s.get(Member, mid), D(2026, 7, 1))


def test_a_legal_qualification_is_not_an_enforcement_certificate(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG)
    _cert(ctx, admin, mid, "A20191234567", D(2019, 12, 1), None, CertificateKind.LEGAL)
    assert not _can(ctx, mid, D(2026, 5, 1))


@pytest.mark.parametrize(
    ("category", "label"), [(StaffCategory.AUXILIARY, "辅助人员"), (StaffCategory.POLICE, "公安民警")]
)
def test_auxiliary_staff_and_police_never_enforce(
    ctx: AppContext, admin: Actor, category: StaffCategory, label: str
) -> None:
    mid = _member(ctx, admin, "李秀英", LI, category)
    _cert(ctx, admin, mid, "粤A9", D(2021, 1, 1), D(2030, 12, 31))
    assert not _can(ctx, mid, D(2026, 5, 1))
    assert label in _why(ctx, mid, D(2026, 5, 1))
    with ctx.read() as s:  # the certificate itself is valid; the person still may not enforce
        assert certificate_valid_on(s, s.get(Member, mid), D(2026, 5, 1))


def test_suspension_applies_from_its_day(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG)
    cid = _cert(ctx, admin, mid, "粤A1", D(2021, 1, 1), D(2030, 12, 31))
    suspended_from = D(2026, 5, 10)
    with ctx.unit_of_work(admin) as s:
        set_state(s, admin, cid, CertificateState.SUSPENDED, suspended_from, "涉嫌违规执法")
    assert _can(ctx, mid, suspended_from - dt.timedelta(days=1))
    assert not _can(ctx, mid, suspended_from)
    assert "暂扣" in _why(ctx, mid, suspended_from)
    with ctx.unit_of_work(admin) as s:
        set_state(s, admin, cid, CertificateState.VALID, D(2026, 6, 1), "恢复")
    assert not _can(ctx, mid, D(2026, 5, 31))
    assert _can(ctx, mid, D(2026, 6, 1))
    assert _can(ctx, mid, D(2026, 5, 9))  # the past stays as it was
    with pytest.raises(ValidationError, match="已经是"), ctx.unit_of_work(admin) as s:
        set_state(s, admin, cid, CertificateState.VALID, D(2026, 6, 2))


def test_not_yet_joined(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG, join_date=D(2015, 3, 1))
    _cert(ctx, admin, mid, "粤A1", D(2014, 1, 1), D(2030, 12, 31))
    assert not _can(ctx, mid, D(2015, 2, 28))
    assert "尚未入职" in _why(ctx, mid, D(2015, 2, 28))
    assert _can(ctx, mid, D(2015, 3, 1))


def test_a_member_who_left_no_longer_enforces(ctx: AppContext, admin: Actor) -> None:
    today = dt.date.today()
    mid = _member(ctx, admin, "张三丰", ZHANG, status=MemberStatus.LEFT)
    _cert(ctx, admin, mid, "粤A1", today - dt.timedelta(days=1000), today + dt.timedelta(days=1000))
    assert not _can(ctx, mid, today)
    assert "离岗" in _why(ctx, mid, today)
    assert _can(ctx, mid, today - dt.timedelta(days=30))  # acts done while serving stay valid


# ---- certificates ---------------------------------------------------------------------------

TODAY = D(2026, 5, 1)
NEW_YEAR = D(2026, 1, 1)


def _facts(valid_to: dt.date | None, valid_from: dt.date | None = NEW_YEAR, **kw: object) -> CertFacts:
    return CertFacts(CertificateKind.ENFORCEMENT, valid_from, valid_to, CertificateState.VALID, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("days_left", "alert"),
    [
        (200, Alert.NONE),
        (91, Alert.NONE),
        (90, Alert.AMBER),
        (31, Alert.AMBER),
        (30, Alert.RED),
        (0, Alert.RED),
        (-1, Alert.RED),
    ],
)
def test_expiry_alerts(days_left: int, alert: Alert) -> None:
    valid_to = TODAY + dt.timedelta(days=days_left)
    got, why = alert_for(_facts(valid_to), TODAY - dt.timedelta(days=10), TODAY, SETTINGS)
    assert got is alert
    if days_left < 0:
        assert "过期" in why
    elif alert is not Alert.NONE:
        assert f"{days_left} 天后到期" in why


def test_review_and_state_alerts() -> None:
    far = TODAY + dt.timedelta(days=900)
    old_from = D(2020, 1, 1)
    overdue, why = alert_for(_facts(far, old_from), TODAY - dt.timedelta(days=366), TODAY, SETTINGS)
    assert overdue is Alert.AMBER and "年审逾期" in why
    assert alert_for(_facts(far, old_from), TODAY - dt.timedelta(days=365), TODAY, SETTINGS)[0] is Alert.NONE
    # never reviewed: counted from the day the certificate took effect
    assert alert_for(_facts(far, old_from), None, TODAY, SETTINGS)[0] is Alert.AMBER
    assert alert_for(_facts(far, D(2026, 1, 1)), None, TODAY, SETTINGS)[0] is Alert.NONE
    # a renewed certificate starts its own cycle: a review of the old window does not make it overdue
    renewed = _facts(far, TODAY - dt.timedelta(days=30))
    assert alert_for(renewed, TODAY - dt.timedelta(days=400), TODAY, SETTINGS)[0] is Alert.NONE
    # a suspended certificate is red from its day on
    suspended = _facts(
        far,
        old_from,
        state_events=((old_from, CertificateState.VALID), (D(2026, 4, 1), CertificateState.SUSPENDED)),
    )
    got, why = alert_for(suspended, TODAY, TODAY, SETTINGS)
    assert got is Alert.RED and "暂扣" in why
    assert alert_for(suspended, D(2026, 3, 1), D(2026, 3, 1), SETTINGS)[0] is Alert.NONE
    # the windows come from the settings
    tighter = SETTINGS.replace(cert_warn_days=10, cert_urgent_days=5)
    assert alert_for(_facts(TODAY + dt.timedelta(days=20)), TODAY, TODAY, tighter)[0] is Alert.NONE


def test_certificate_ledger_colours_worst_first(ctx: AppContext, admin: Actor) -> None:
    a = _member(ctx, admin, "张三丰", ZHANG)
    b = _member(ctx, admin, "李秀英", LI)
    _cert(ctx, admin, a, "粤OK", D(2026, 1, 1), TODAY + dt.timedelta(days=400))
    _cert(ctx, admin, a, "粤AMBER", D(2026, 1, 1), TODAY + dt.timedelta(days=60))
    _cert(ctx, admin, b, "粤RED", D(2026, 1, 1), TODAY + dt.timedelta(days=10))
    with ctx.read() as s:
        ledger = list_certificates(s, admin, SETTINGS, TODAY)
        assert [(c.number, c.alert) for c in ledger] == [
            ("粤RED", Alert.RED),
            ("粤AMBER", Alert.AMBER),
            ("粤OK", Alert.NONE),
        ]
        assert ledger[0].member_name == "李秀英" and ledger[0].kind_label == "行政执法证"
        assert [c.number for c in list_certificates(s, admin, SETTINGS, TODAY, only_alerts=True)] == [
            "粤RED",
            "粤AMBER",
        ]
        assert [c.number for c in list_certificates(s, admin, SETTINGS, TODAY, member_id=b)] == ["粤RED"]
        assert {c.number for c in list_certificates(s, admin, SETTINGS, TODAY, text="zsf")} == {
            "粤OK",
            "粤AMBER",
        }


def test_certificate_validation(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG)
    with pytest.raises(ValidationError, match="早于") as err:
        _cert(ctx, admin, mid, "粤A1", D(2026, 6, 1), D(2026, 5, 31))
    assert err.value.field == "valid_to"
    with pytest.raises(ValidationError, match="有效期至"):
        _cert(ctx, admin, mid, "粤A1", D(2026, 6, 1), None)
    with pytest.raises(ValidationError, match="编号"):
        _cert(ctx, admin, mid, "  ", D(2026, 6, 1), D(2031, 6, 1))
    with pytest.raises(NotFoundError):
        _cert(ctx, admin, "no-such-member", "粤A1", D(2026, 6, 1), D(2031, 6, 1))
    _cert(ctx, admin, mid, "粤A1", D(2026, 6, 1), D(2031, 6, 1))
    with pytest.raises(ConflictError, match="粤A1"):
        _cert(ctx, admin, mid, " 粤A1 ", D(2026, 6, 1), D(2031, 6, 1))
    with ctx.read() as s:
        assert [c.number for c in list_certificates(s, admin, SETTINGS, TODAY)] == ["粤A1"]


def test_certificate_history(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG)
    cid = _cert(ctx, admin, mid, "粤A1", D(2021, 7, 1), D(2026, 6, 30))
    with ctx.unit_of_work(admin) as s:
        add_review(s, admin, cid, D(2025, 7, 3), True, "年审合格")
        set_state(s, admin, cid, CertificateState.LOST, D(2026, 1, 5), "外勤时遗失")
    data = CertificateInput(
        mid, CertificateKind.ENFORCEMENT, "粤A1", "广州市人民政府", "", D(2026, 7, 1), D(2031, 6, 30)
    )
    with ctx.unit_of_work(admin) as s:
        update_certificate(s, admin, cid, data, version=2, today=D(2026, 2, 1))
    with pytest.raises(ConflictError, match="刚被他人修改过"), ctx.unit_of_work(admin) as s:
        update_certificate(s, admin, cid, data, version=2)
    with ctx.read() as s:
        reviews, events = history(s, admin, cid)
        (ledger,) = list_certificates(s, admin, SETTINGS, D(2026, 8, 1))
    assert [(r.review_date, r.passed, r.note) for r in reviews] == [(D(2025, 7, 3), True, "年审合格")]
    assert [(e.day, e.kind, e.new_state) for e in events] == [
        (D(2021, 7, 1), "issued", "valid"),
        (D(2026, 1, 5), "state", "lost"),
        (D(2026, 2, 1), "renewed", ""),
        (D(2026, 2, 1), "state", "valid"),
    ]
    assert "2031-06-30" in events[2].note
    assert ledger.state is CertificateState.VALID and ledger.valid_to == D(2031, 6, 30)
    assert ledger.last_review == D(2025, 7, 3) and ledger.alert is Alert.NONE
    with ctx.unit_of_work(admin) as s:
        remove_certificate(s, admin, cid)
    with ctx.read() as s:
        assert list_certificates(s, admin, SETTINGS, TODAY) == []


def test_review_in_the_future_is_refused(ctx: AppContext, admin: Actor) -> None:
    mid = _member(ctx, admin, "张三丰", ZHANG)
    cid = _cert(ctx, admin, mid, "粤A1", D(2021, 7, 1), D(2030, 6, 30))
    with pytest.raises(ValidationError, match="在今天之后"), ctx.unit_of_work(admin) as s:
        add_review(s, admin, cid, dt.date.today() + dt.timedelta(days=1), True)


# ---- training -------------------------------------------------------------------------------


def _train(
    ctx: AppContext,
    actor: Actor,
    member_id: str,
    day: dt.date,
    hours: float,
    course: str = "执法文书规范制作",
    kind: str = "on_job",
    organizer: str = "",
) -> str:
    with ctx.unit_of_work(actor) as s:
        return add_training(s, actor, TrainingInput(member_id, day, course, hours, kind, organizer))


def test_training_and_yearly_hours(ctx: AppContext, admin: Actor) -> None:
    zhang = _member(ctx, admin, "张三丰", ZHANG)
    li = _member(ctx, admin, "李秀英", LI, StaffCategory.AUXILIARY)
    _train(ctx, admin, zhang, D(2026, 3, 2), 8)
    extra = _train(ctx, admin, zhang, D(2026, 4, 9), 4.5, kind="legal", organizer=" 区局 ")
    _train(ctx, admin, zhang, D(2025, 12, 30), 24)  # last year's
    _train(ctx, admin, li, D(2026, 3, 2), 6)
    with ctx.read() as s:
        hours = yearly_hours(s, admin, 2026, 40)
        records = list_training(s, admin, 2026, member_id=zhang)
    # only members who enforce are held to the minimum
    assert [(h.member_name, h.hours, h.short) for h in hours] == [("张三丰", 12.5, 27.5)]
    assert [(r.day, r.hours, r.kind_label) for r in records] == [
        (D(2026, 4, 9), 4.5, "法律知识"),
        (D(2026, 3, 2), 8.0, "岗位培训"),
    ]
    assert records[0].organizer == "区局"
    with ctx.unit_of_work(admin) as s:
        remove_training(s, admin, extra)
    with ctx.read() as s:
        assert yearly_hours(s, admin, 2026, 40)[0].hours == 8.0
        assert yearly_hours(s, admin, 2025, 20)[0].short == 0


def test_invalid_training_is_refused(ctx: AppContext, admin: Actor) -> None:
    zhang = _member(ctx, admin, "张三丰", ZHANG)
    cases: list[tuple[float, dict[str, str], str]] = [
        (0, {}, "学时"),
        (-2, {}, "学时"),
        (201, {}, "学时"),
        (4, {"course": "  "}, "课程"),
        (4, {"kind": "party"}, "类别"),
    ]
    for hours, kw, why in cases:
        with pytest.raises(ValidationError, match=why):
            _train(ctx, admin, zhang, D(2026, 3, 2), hours, **kw)
    with pytest.raises(ValidationError, match="在今天之后"):
        _train(ctx, admin, zhang, dt.date.today() + dt.timedelta(days=1), 4)
    with pytest.raises(NotFoundError):
        _train(ctx, admin, "no-such-member", D(2026, 3, 2), 4)
    with ctx.read() as s:
        assert list_training(s, admin, 2026) == []


# ---- to-dos ---------------------------------------------------------------------------------


def test_todos_list_expiring_certificates_and_missing_hours(ctx: AppContext, admin: Actor) -> None:
    today = D(2026, 11, 2)
    zhang = _member(ctx, admin, "张三丰", ZHANG)
    li = _member(ctx, admin, "李秀英", LI, StaffCategory.CAREER)
    _cert(ctx, admin, zhang, "粤A1", D(2022, 1, 1), today + dt.timedelta(days=20))
    _cert(ctx, admin, li, "粤A2", D(2026, 1, 1), today + dt.timedelta(days=70))
    _train(ctx, admin, zhang, D(2026, 3, 2), 8)
    _train(ctx, admin, li, D(2026, 3, 2), 40)
    with ctx.read() as s:
        items = todos(s, admin, SETTINGS, today)
    certs = [t for t in items if t.area == "证件"]
    assert [(t.level, t.member_id) for t in certs] == [(Alert.RED, zhang), (Alert.AMBER, li)]
    assert "张三丰" in certs[0].text and "粤A1" in certs[0].text and "20 天后到期" in certs[0].text
    training = [t for t in items if t.area == "培训"]
    assert [(t.member_id, t.level) for t in training] == [(zhang, Alert.AMBER)]
    assert "还差 32 学时" in training[0].text
    assert items[0].level is Alert.RED  # worst first
    with ctx.read() as s:  # before October the training shortfall is not nagged about yet
        assert [t.area for t in todos(s, admin, SETTINGS, D(2026, 9, 30))] == ["证件"]


# ---- settings -------------------------------------------------------------------------------


def test_settings_round_trip(tmp_path: Path) -> None:
    changed = Settings(idle_lock_minutes=5, training_min_hours=36.5, auto_backup=False, backups_keep=30)
    save_settings(tmp_path, changed)
    assert load_settings(tmp_path) == changed
    raw = json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))
    assert raw["_version"] >= 1 and raw["backups_keep"] == 30


def test_settings_defaults_for_unknown_keys_and_wrong_types(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(
        json.dumps(
            {
                "idle_lock_minutes": "30",  # text: default
                "training_min_hours": 36,  # an int for a float is fine
                "auto_backup": 1,  # not a bool: default
                "backups_keep": True,  # a bool is not a count: default
                "cert_warn_days": 60,
                "login_max_failures": 3.0,  # a float for an int: default
                "colour_scheme": "dark",  # unknown: dropped
            }
        ),
        encoding="utf-8",
    )
    got = load_settings(tmp_path)
    assert got == Settings(training_min_hours=36.0, cert_warn_days=60)
    assert isinstance(got.training_min_hours, float)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "null", ""])
def test_damaged_settings_file_gives_defaults(tmp_path: Path, content: str) -> None:
    (tmp_path / FILE_NAME).write_text(content, encoding="utf-8")
    assert load_settings(tmp_path) == Settings()
    assert load_settings(tmp_path / "missing") == Settings()


def test_context_saves_and_reloads_settings(ctx: AppContext) -> None:
    ctx.save_settings(ctx.settings.replace(login_max_failures=3), SYSTEM)
    assert ctx.settings.login_max_failures == 3
    again = open_data_dir(ctx.data_dir)
    try:
        assert again.settings.login_max_failures == 3
    finally:
        again.close()


def test_options_need_the_settings_permission_and_sense(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    with pytest.raises(PermissionDenied):
        ctx.save_settings(ctx.settings.replace(idle_lock_minutes=5), actors[Role.CLERK])
    with pytest.raises(ValidationError, match="紧急提醒"):
        ctx.save_settings(ctx.settings.replace(cert_urgent_days=90, cert_warn_days=30), actors[Role.ADMIN])
    assert ctx.settings.idle_lock_minutes == Settings().idle_lock_minutes
    ctx.save_settings(ctx.settings.replace(idle_lock_minutes=5), actors[Role.ADMIN])
    assert load_settings(ctx.data_dir).idle_lock_minutes == 5
