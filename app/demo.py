"""A realistic demo squad (``squaddesk --demo``): about 40 members with their certificates,
annual reviews and training, including the cases a clerk must notice — a certificate expiring
next month, one already lapsed, one suspended, auxiliary staff and seconded police — plus the
current month's roster demand and leave (app.demo_rosters) and the demo cases."""

from __future__ import annotations

import datetime as dt
import random

from app.auth.roles import SYSTEM, Actor, Role
from app.auth.service import create_user
from app.certificates import CertificateInput, add_certificate, add_review, set_state
from app.context import AppContext
from app.demo_cases import fill_demo_cases
from app.demo_rosters import fill_demo_rosters
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.progress import Progress, step
from app.squad import SquadInput, initialize
from app.training import KIND_LABELS, TrainingInput, add_training
from db.models.personnel import CertificateKind, CertificateState, MemberStatus, StaffCategory

DEMO_SQUAD = SquadInput("车陂街综合行政执法队", "广州市天河区人民政府车陂街道办事处", "440106", "车综执")
DEMO_ADMIN = ("admin", "系统管理员", "squad2026")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余叶"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏俊峰宇浩凯嘉琪晨欣怡子轩梓涵"
UNITS = ["一分队", "二分队", "三分队", "综合组", "法制组"]
POSITIONS = {"一分队": "分队长", "二分队": "分队长", "三分队": "分队长", "综合组": "内勤", "法制组": "法制员"}
COURSES = [
    ("行政处罚法专题培训", "legal", 8),
    ("执法文书规范制作", "on_job", 6),
    ("市容环境卫生执法实务", "special", 4),
    ("执法记录仪使用规范", "on_job", 2),
    ("城乡规划违法建设查处", "special", 8),
    ("习近平法治思想专题学习", "political", 4),
    ("行政强制法与查封扣押程序", "legal", 6),
    ("文明执法与沟通技巧", "other", 3),
]


def id_number(rng: random.Random, born: dt.date, male: bool) -> str:
    seq = rng.randrange(10, 99) * 10 + (rng.choice([1, 3, 5, 7, 9]) if male else rng.choice([0, 2, 4, 6, 8]))
    first17 = f"440106{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def fill_demo(
    ctx: AppContext,
    members: int = 40,
    seed: int = 2026,
    today: dt.date | None = None,
    progress: Progress | None = None,
    certificates_per_member: int = 1,
) -> None:
    """Create the demo squad (if not set up yet) and its people. One transaction."""
    rng = random.Random(seed)
    today = today or dt.date.today()
    if ctx.squad_id is None:
        initialize(ctx, DEMO_SQUAD, *DEMO_ADMIN)
    with ctx.unit_of_work(SYSTEM, "生成演示数据") as s:
        used: set[str] = set()
        created = []
        for i in range(members):
            step(progress, i, members, "正在生成演示队员")
            male = rng.random() < 0.7
            born = dt.date(rng.randint(1968, 2003), rng.randint(1, 12), rng.randint(1, 28))
            number = id_number(rng, born, male)
            while number in used:
                number = id_number(rng, born, male)
            used.add(number)
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
            roll = i % 10
            category = (
                StaffCategory.AUXILIARY
                if roll in (7, 8)
                else StaffCategory.POLICE
                if roll == 9 and i < 30
                else StaffCategory.CAREER
                if roll == 6
                else StaffCategory.CIVIL_SERVANT
            )
            unit = UNITS[i % len(UNITS)]
            status = (
                MemberStatus.ON_LEAVE
                if i == 11
                else MemberStatus.SECONDED
                if i == 23
                else MemberStatus.ON_DUTY
            )
            m = create_member(
                s,
                SYSTEM,
                MemberInput(
                    name=name,
                    id_number=number,
                    category=category,
                    phone=f"13{rng.randint(5, 9)}{rng.randint(0, 99999999):08d}",
                    position=POSITIONS[unit]
                    if i < len(UNITS)
                    else ("协管员" if category is StaffCategory.AUXILIARY else "执法队员"),
                    unit=unit,
                    join_date=dt.date(rng.randint(max(2008, born.year + 20), 2025), rng.randint(1, 12), 1),
                    status=status,
                    legal_qualification_no=f"A2019{rng.randint(10**9, 10**10 - 1)}"
                    if unit == "法制组" and category in (StaffCategory.CIVIL_SERVANT, StaffCategory.CAREER)
                    else "",
                ),
            )
            created.append((i, m, category))
        for i, m, category in created:
            if category in (StaffCategory.AUXILIARY, StaffCategory.POLICE):
                continue
            for k in range(certificates_per_member):
                # Spread expiries so that the ledger shows every colour.
                if i == 1 and k == 0:
                    valid_to = today + dt.timedelta(days=20)
                elif i == 2 and k == 0:
                    valid_to = today - dt.timedelta(days=15)
                elif i in (3, 4) and k == 0:
                    valid_to = today + dt.timedelta(days=75)
                else:
                    valid_to = today + dt.timedelta(days=rng.randint(200, 1500))
                valid_from = (
                    valid_to.replace(year=valid_to.year - 5)
                    if not (valid_to.month == 2 and valid_to.day == 29)
                    else valid_to - dt.timedelta(days=1826)
                )
                cid = add_certificate(
                    s,
                    SYSTEM,
                    CertificateInput(
                        member_id=m.id,
                        kind=CertificateKind.ENFORCEMENT,
                        number=f"粤{44010600000 + i * 10 + k}",
                        issuer="广州市人民政府",
                        scope="市容环境卫生、城乡规划、市政道路等综合行政执法",
                        valid_from=valid_from,
                        valid_to=valid_to,
                    ),
                    today=today,
                )
                last_review = today - dt.timedelta(days=rng.randint(30, 330) if i != 5 else 420)
                if last_review > valid_from:
                    add_review(s, SYSTEM, cid, last_review, True, "年审合格")
                if i == 12 and k == 0:
                    set_state(
                        s,
                        SYSTEM,
                        cid,
                        CertificateState.SUSPENDED,
                        today - dt.timedelta(days=3),
                        "涉嫌违规执法，暂扣待查",
                    )
            if m.legal_qualification_no:
                add_certificate(
                    s,
                    SYSTEM,
                    CertificateInput(
                        member_id=m.id,
                        kind=CertificateKind.LEGAL,
                        number=m.legal_qualification_no,
                        issuer="中华人民共和国司法部",
                        valid_from=dt.date(2019, 12, 1),
                    ),
                    today=today,
                )
        year_start = dt.date(today.year, 1, 1)
        span = max(1, (today - year_start).days)
        for i, m, category in created:
            if category is StaffCategory.POLICE:
                continue
            # Most members reach the yearly minimum through the annual rotation course; a few do not.
            picks = rng.sample(COURSES, k=rng.randint(2, 5) if i % 7 else 1)
            if i % 6:
                picks.append(("年度综合执法轮训", "on_job", 24))
            for course, kind, hours in picks:
                assert kind in KIND_LABELS
                add_training(
                    s,
                    SYSTEM,
                    TrainingInput(
                        member_id=m.id,
                        day=year_start + dt.timedelta(days=rng.randrange(span)),
                        course=course,
                        hours=hours,
                        kind=kind,
                        organizer="天河区综合行政执法局",
                    ),
                )
        clerk = next(m for i, m, c in created if c is StaffCategory.CIVIL_SERVANT and m.unit == "综合组")
        users = {
            Role.CLERK: create_user(
                s, SYSTEM, "neiqin", clerk.name, Role.CLERK, "squad2026", member_id=clerk.id
            ),
            Role.LEADER: create_user(
                s,
                SYSTEM,
                "duizhang",
                created[0][1].name,
                Role.LEADER,
                "squad2026",
                member_id=created[0][1].id,
            ),
        }
        # The legal reviewer is the 法制组 member holding a 法律职业资格 (APL 58 requires one).
        reviewer = next(m for i, m, c in created if m.legal_qualification_no)
        users[Role.LEGAL] = create_user(
            s, SYSTEM, "fazhi", reviewer.name, Role.LEGAL, "squad2026", member_id=reviewer.id
        )
        fill_demo_rosters(s, [m.id for i, m, c in created], today)
        step(progress, members, members + 1, "正在生成演示案件")
        actors = {role: Actor(u.id, u.username, u.display_name, role) for role, u in users.items()}
        fill_demo_cases(s, actors, [m.id for i, m, c in created], rng, today)
        step(progress, members + 1, members + 1, "完成")
