"""The demo squad's cases (演示案件): leads and cases at every stage of the procedure, built only
through the real services, so every rule (officers, tiers, order of steps, legal review …) holds
and the audit chain is the one a real squad would have.

Every date is counted back from ``today``: the demo looks current whenever it is generated, and
no step lies in the future.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth.roles import SYSTEM, Actor, Role
from app.cases.machine import StepKind
from app.cases.measures import (
    Instalment,
    ItemLine,
    PreservationOutcome,
    approve_instalments,
    hand_over_cash,
    handle_preservation,
    pay_instalment,
    preserve_evidence,
    seize,
)
from app.cases.service import (
    CaseOpening,
    PenaltyProposal,
    SpotDecision,
    archive_case,
    close_case,
    conclude,
    decide,
    decide_on_the_spot,
    file_case,
    file_spot_record,
    get_case,
    legal_review,
    mark_not_applicable,
    open_case_from_lead,
    prior_notice,
    record_investigation,
    record_payment,
    record_statement,
    serve,
)
from app.leads import LeadInput, close_lead, register_lead, transfer_lead_out
from app.parties import PartyInput, create_party, credit_check_char
from app.personnel.enforce import can_enforce
from app.personnel.idcard import check_digit
from app.reference import PenaltyType
from db.models import Member
from db.models.cases import Outcome
from db.models.leads import LeadSource
from db.models.parties import PartyKind

FINE = (PenaltyType.ORDER_CORRECTION, PenaltyType.FINE)
POLICE = "广州市公安局天河区分局车陂派出所"
RECORDS = ("现场检查笔录", "询问笔录", "现场照片 6 张")

#: (name, kind, address); persons get a generated ID number, organisations a credit code.
PARTIES: tuple[tuple[str, PartyKind, str], ...] = (
    ("陈国栋", PartyKind.PERSON, "天河区车陂路 112 号"),
    ("林晓燕", PartyKind.PERSON, "天河区东圃大马路 45 号"),
    ("黄志明", PartyKind.PERSON, "天河区车陂北街 8 号"),
    ("刘德胜", PartyKind.PERSON, "天河区车陂南路 20 号"),
    ("张桂兰", PartyKind.PERSON, "天河区沙美村 3 巷 6 号"),
    ("吴建华", PartyKind.PERSON, "天河区车陂东岸路 71 号"),
    ("何美玲", PartyKind.PERSON, "天河区东圃二马路 9 号"),
    ("郑少波", PartyKind.PERSON, "天河区车陂新村 15 栋"),
    ("周丽华", PartyKind.PERSON, "天河区东圃二马路 15 号"),
    ("广州市天河区车陂鸿运五金店", PartyKind.ORGANISATION, "天河区车陂路 233 号首层"),
    ("广州市粤顺建筑工程有限公司", PartyKind.ORGANISATION, "天河区中山大道中 1020 号"),
)


def _person_id(rng: random.Random) -> str:
    born = dt.date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"440106{born:%Y%m%d}{rng.randint(100, 999):03d}"
    return first17 + check_digit(first17)


def _credit_code(serial: int) -> str:
    first17 = f"91440106MA5{serial:06d}"
    return first17 + credit_check_char(first17)


@dataclass
class _Builder:
    """Walks demo cases through the services; dates are ``today`` minus the given days."""

    s: Session
    actors: Mapping[Role, Actor]
    officers: Sequence[str]  # member ids who may enforce over the whole demo period
    today: dt.date
    _pair: int = 0

    @property
    def clerk(self) -> Actor:
        return self.actors[Role.CLERK]

    @property
    def leader(self) -> Actor:
        return self.actors[Role.LEADER]

    def day(self, ago: int) -> dt.date:
        return self.today - dt.timedelta(days=ago)

    def pair(self) -> tuple[str, str]:
        # Rotate through the squad so that the case list shows different officers.
        i = self._pair % (len(self.officers) - 1)
        self._pair += 1
        return self.officers[i], self.officers[i + 1]

    def lead(self, ago: int, source: LeadSource, address: str, description: str, **extra: str) -> str:
        received = dt.datetime.combine(self.day(ago), dt.time(9 + ago % 8, 15))
        if source is LeadSource.HOTLINE_12345 and "source_ref" not in extra:
            # A 12345 lead is answered by its work-order number, so the register requires one.
            extra["source_ref"] = f"GZ12345-{received:%Y%m%d}-{ago:04d}"
        data = LeadInput(source, address, description, received_at=received, **extra)  # type: ignore[arg-type]
        return register_lead(self.s, self.clerk, data).id

    def open(self, ago: int, item: str, party_id: str, title: str, address: str, source: LeadSource) -> str:
        lead_id = self.lead(ago, source, address, title)
        opening = CaseOpening(item, (party_id,), title, self.day(ago), violation_ended=self.day(ago))
        return open_case_from_lead(self.s, self.clerk, lead_id, opening).id

    def investigate(self, case_id: str, filed: int, investigated: int) -> None:
        file_case(self.s, self.leader, case_id, self.day(filed))
        record_investigation(self.s, self.clerk, case_id, self.day(investigated), self.pair(), RECORDS)

    def skip(self, case_id: str, ago: int, reason: str, *steps: StepKind) -> None:
        for kind in steps:
            mark_not_applicable(self.s, self.clerk, case_id, kind, self.day(ago), reason)

    def to_notice(self, case_id: str, concluded: int, notified: int, tier: str, fine_yuan: int) -> None:
        """调查终结 with a fine below the legal-review threshold, then 事先告知."""
        proposal = PenaltyProposal(Outcome.PENALTY, tier, fine_yuan * 100, FINE, reasons="事实清楚，证据确凿")
        conclude(self.s, self.leader, case_id, self.day(concluded), proposal)
        self.skip(case_id, notified, "拟罚款未达法制审核起点，且非重大、复杂案件", StepKind.LEGAL_REVIEW)
        prior_notice(self.s, self.clerk, case_id, self.day(notified), self.day(notified))

    def decide_fine(self, case_id: str, stated: int, decided: int, tier: str, fine_yuan: int) -> None:
        record_statement(self.s, self.clerk, case_id, self.day(stated), waived=True)
        self.skip(case_id, stated, "当事人未申请听证", StepKind.HEARING)
        self.skip(case_id, stated, "非重大、复杂案件", StepKind.COLLECTIVE_DISCUSSION)
        decision = PenaltyProposal(Outcome.PENALTY, tier, fine_yuan * 100, FINE, reasons="同意调查终结意见")
        decide(self.s, self.leader, case_id, self.day(decided), decision)


def fill_demo_cases(
    s: Session, actors: Mapping[Role, Actor], member_ids: Sequence[str], rng: random.Random, today: dt.date
) -> None:
    """About a dozen cases at every stage, and leads awaiting triage, one transferred out."""
    earliest = today - dt.timedelta(days=130)
    members = [m for m in (s.get(Member, i) for i in member_ids) if m is not None]
    officers = [m.id for m in members if can_enforce(s, m, earliest) and can_enforce(s, m, today)]
    b = _Builder(s, actors, officers, today)
    party: dict[str, str] = {}
    for n, (name, kind, address) in enumerate(PARTIES):
        data = (
            PartyInput(kind, name, id_number=_person_id(rng), address=address, phone=f"1380020{n:04d}")
            if kind is PartyKind.PERSON
            else PartyInput(
                kind, name, credit_code=_credit_code(n), legal_representative="李伟", address=address
            )
        )
        party[name] = create_party(s, SYSTEM, data).id

    # Cases are opened in the order of their dates, so that their numbers (issued at opening)
    # follow the calendar as a real squad's would.
    # ---- summary procedure: 当场处罚 ---------------------------------------------------------
    def spot(ago: int, who: str, item: str, title: str, tier: str, fine_yuan: int, collected: bool) -> str:
        decision = SpotDecision(
            item,
            party[who],
            title,
            b.day(ago),
            b.pair(),
            FINE,
            fine_yuan * 100,
            tier,
            collected_on_spot=collected,
        )
        return decide_on_the_spot(s, b.clerk, decision).id

    road = "擅自占用城市道路堆放建材"
    # ---- paid and closed; the oldest also archived ---------------------------------------------
    for ago, who, title, archived in (
        (125, "广州市粤顺建筑工程有限公司", "未按批准的位置占用城市道路", True),
        (90, "陈国栋", road, False),
    ):
        item = "SZ-001" if not archived else "SZ-002"
        case_id = b.open(
            ago, item, party[who], title, "车陂路沿线", LeadSource.ASSIGNED if archived else LeadSource.PATROL
        )
        b.investigate(case_id, ago - 1, ago - 3)
        b.to_notice(case_id, ago - 10, ago - 11, "轻微", 2000)
        b.decide_fine(case_id, ago - 14, ago - 20, "轻微", 2000)
        serve(s, b.clerk, case_id, b.day(ago - 21), "直接送达", who)
        record_payment(s, b.clerk, case_id, b.day(ago - 28), 200_000, f"4401{rng.randint(10**9, 10**10 - 1)}")
        close_case(s, b.leader, case_id, b.day(ago - 30), "罚款已缴纳，同意结案")
        if archived:
            archive_case(s, b.clerk, case_id, b.day(ago - 35))

    # ---- 首违不罚 (APL 33): decided, served and closed without a penalty -------------------------
    # A party of its own: an earlier penalty would make this no first violation.
    first = b.open(
        50, "SR-001", party["周丽华"], "擅自在街道两侧摆摊经营", "东圃二马路 15 号", LeadSource.GRID
    )
    _first_violation(b, first)

    # ---- decided and served, the fine not yet paid ---------------------------------------------
    served = b.open(40, "SZ-001", party["林晓燕"], road, "东圃大马路 45 号", LeadSource.PATROL)
    b.investigate(served, 39, 37)
    b.to_notice(served, 30, 28, "一般", 4000)
    b.decide_fine(served, 25, 10, "一般", 4000)
    serve(s, b.clerk, served, b.day(8), "直接送达", "林晓燕")
    # 分期缴纳 (APL 66): three instalments approved, the first paid.
    schedule = (
        Instalment(b.day(2), 150_000),
        Instalment(b.day(-28), 150_000),
        Instalment(b.day(-58), 100_000),
    )
    approve_instalments(
        s, b.leader, served, b.day(6), b.day(7), schedule, "当事人经营困难，提交了书面申请及收入证明"
    )
    pay_instalment(s, b.clerk, served, b.day(3), 150_000, f"4401{rng.randint(10**9, 10**10 - 1)}")

    for ago, who, item, title, tier, fine, collected in (
        (40, "郑少波", "SR-001", "擅自在人行道摆摊经营", "轻微", 50, True),
    ):
        case_id = spot(ago, who, item, title, tier, fine, collected)
        if collected:
            hand_over_cash(s, b.clerk, case_id, b.day(ago - 1), f"JK{rng.randint(10**7, 10**8 - 1)}")
        file_spot_record(s, b.clerk, case_id, b.day(ago - 1))

    # ---- decided with legal review, awaiting service -------------------------------------------
    reviewed = b.open(
        35, "SZ-001", party["陈国栋"], "擅自占用城市道路经营洗车", "车陂路 112 号门前", LeadSource.PATROL
    )
    b.investigate(reviewed, 34, 33)
    conclude(
        s,
        b.leader,
        reviewed,
        b.day(25),
        PenaltyProposal(Outcome.PENALTY, "一般", 800_000, FINE, reasons="占道面积约 15 平方米，影响通行"),
    )
    legal_review(
        s,
        actors[Role.LEGAL],
        reviewed,
        b.day(23),
        "事实清楚，证据确凿，程序合法，适用依据正确，裁量适当，同意。",
    )
    prior_notice(s, b.clerk, reviewed, b.day(22), b.day(21))
    record_statement(
        s,
        b.clerk,
        reviewed,
        b.day(19),
        statement="已清理完毕，请求从轻处罚。",
        review="当事人已改正，但占道时间较长，维持拟处罚意见。",
    )
    b.skip(reviewed, 19, "拟罚款未达听证标准，当事人无听证权利", StepKind.HEARING)
    b.skip(reviewed, 19, "非重大、复杂案件", StepKind.COLLECTIVE_DISCUSSION)
    decide(
        s,
        b.leader,
        reviewed,
        b.day(3),
        PenaltyProposal(Outcome.PENALTY, "一般", 800_000, FINE, reasons="维持"),
    )

    # ---- 事先告知 sent, awaiting the party's statement -----------------------------------------
    notified = b.open(30, "SZ-001", party["张桂兰"], road, "沙美村 3 巷口", LeadSource.HOTLINE_12345)
    b.investigate(notified, 29, 27)
    b.to_notice(notified, 20, 2, "一般", 3000)

    # ---- 移送 to the police (APL 27): the case ends without service or execution ---------------
    moved_case = b.open(
        26,
        "GF-001",
        party["吴建华"],
        "随意焚烧生活垃圾引发火情",
        "车陂东岸路 71 号后巷",
        LeadSource.COMPLAINT,
    )
    b.investigate(moved_case, 25, 24)
    proposal = PenaltyProposal(Outcome.TRANSFER, reasons="涉嫌失火，可能构成犯罪", transfer_to=POLICE)
    conclude(s, b.leader, moved_case, b.day(20), proposal)
    none = "拟移送公安机关，不作行政处罚"
    b.skip(
        moved_case,
        19,
        none,
        StepKind.LEGAL_REVIEW,
        StepKind.PRIOR_NOTICE,
        StepKind.STATEMENT,
        StepKind.HEARING,
        StepKind.COLLECTIVE_DISCUSSION,
    )
    decide(s, b.leader, moved_case, b.day(18), proposal)
    b.skip(moved_case, 17, "案件已移送公安机关", StepKind.SERVICE, StepKind.EXECUTION)
    close_case(s, b.leader, moved_case, b.day(15), "已移送公安机关，同意结案")

    for ago, who, item, title, tier, fine, collected in (
        (21, "何美玲", "SR-005", "随意丢弃烟头等废弃物", "轻微", 20, True),
    ):
        case_id = spot(ago, who, item, title, tier, fine, collected)
        if collected:
            hand_over_cash(s, b.clerk, case_id, b.day(ago - 1), f"JK{rng.randint(10**7, 10**8 - 1)}")
        file_spot_record(s, b.clerk, case_id, b.day(ago - 1))

    closed = b.lead(15, LeadSource.PATROL, "沙美村 5 巷", "巡查发现巷内堆放杂物。")
    close_lead(s, b.clerk, closed, "经现场核查，杂物已由住户自行清理，未发现违法行为。")
    moved = b.lead(
        12,
        LeadSource.COMPLAINT,
        "车陂路 201 号",
        "举报某餐馆后厨卫生状况差，疑似使用过期食材。",
        reporter_name="匿名",
    )
    transfer_lead_out(
        s, b.clerk, moved, "广州市天河区市场监督管理局", "属食品安全监管事项，不属本队职权，依法移送。"
    )

    # ---- ordinary procedure at the early stages ------------------------------------------------
    investigated = b.open(
        10,
        "SR-002",
        party["广州市天河区车陂鸿运五金店"],
        "擅自在公共场地搭建雨棚",
        "车陂路 233 号门前",
        LeadSource.COMPLAINT,
    )
    b.investigate(investigated, 9, 7)  # 待调查终结
    # 先行登记保存 (APL 56) of the awning's parts, handled within 7 working days.
    preserve_evidence(
        s,
        b.leader,
        investigated,
        b.day(8),
        b.pair(),
        (ItemLine("雨棚钢架", 6, "根"), ItemLine("防水帆布", 1, "卷")),
        "当事人拟自行拆除，证据可能灭失",
        "车陂路 233 号门前",
    )
    preservation = next(
        st for st in get_case(s, b.leader, investigated).steps if st.kind is StepKind.PRESERVATION
    )
    handle_preservation(
        s, b.leader, investigated, preservation.id, b.day(4), PreservationOutcome.RETURN, "已拍照、记录后退还"
    )
    filed = b.open(
        6, "SZ-001", party["刘德胜"], "擅自占用城市道路设置广告牌", "车陂南路 20 号", LeadSource.GRID
    )
    file_case(s, b.leader, filed, b.day(5))  # 调查取证中
    # 扣押 (ACL 18, 24): the sign taken away and kept; the 30-day clock runs.
    seize(
        s,
        b.leader,
        filed,
        b.day(4),
        b.pair(),
        (ItemLine("落地广告牌", 2, "块"),),
        "车陂街综合行政执法队暂扣物品仓库",
        "广告牌占用人行道，当事人拒不自行移除",
    )

    # ---- leads still awaiting triage, and the newest cases ------------------------------------
    b.lead(3, LeadSource.PATROL, "车陂北街与车陂路交界", "商铺在门前空地搭建雨棚，疑未经批准。")
    b.lead(
        2,
        LeadSource.GRID,
        "东圃大马路 88 号工地",
        "工地出入口未设置冲洗设施，车辆带泥上路。",
        grid_zone="东圃第一网格",
    )
    b.open(2, "SZ-001", party["黄志明"], road, "车陂北街 8 号门前", LeadSource.PATROL)  # 待立案
    b.lead(
        1,
        LeadSource.HOTLINE_12345,
        "车陂路 156 号门前",
        "群众反映有人在人行道上摆卖水果，影响通行。",
        reporter_name="市民李先生",
        grid_zone="车陂第三网格",
    )
    spot(1, "吴建华", "SR-001", "擅自在街道两侧堆放物料经营", "一般", 150, False)  # 待备案


def _first_violation(b: _Builder, case_id: str) -> None:
    b.investigate(case_id, 49, 48)
    proposal = PenaltyProposal(
        Outcome.FIRST_VIOLATION_NO_PENALTY,
        reasons="初次违法，危害后果轻微并及时改正（《行政处罚法》第三十三条）",
    )
    conclude(b.s, b.leader, case_id, b.day(45), proposal)
    b.skip(
        case_id,
        44,
        "拟不予行政处罚",
        StepKind.LEGAL_REVIEW,
        StepKind.PRIOR_NOTICE,
        StepKind.STATEMENT,
        StepKind.HEARING,
        StepKind.COLLECTIVE_DISCUSSION,
    )
    decide(b.s, b.leader, case_id, b.day(43), proposal)
    serve(b.s, b.clerk, case_id, b.day(42), "直接送达")
    b.skip(case_id, 42, "不予行政处罚，无须执行", StepKind.EXECUTION)
    close_case(b.s, b.leader, case_id, b.day(40), "首违不罚，已责令改正，同意结案")


__all__ = ["fill_demo_cases"]
