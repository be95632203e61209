"""Every document type drawn from a demo case: the PDF opens, every mandatory field's text is in
it, every font is embedded, and the page count is the “共 Y 页” printed on each page. Written
records strike out what is empty; numbers come from the caller."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from case_builders import D, decide_case, make_crew, open_and_file, serve_case
from pdfcheck import case_id, flat, line_segments, page_texts, unembedded_fonts

from app.auth.roles import Actor
from app.cases.measures import apply_to_court, serve_reminder
from app.context import AppContext
from app.documents import UNNUMBERED, document_data, document_types, load_template, render
from app.documents.fields import LISTS
from app.documents.numbering import DOC_TYPES
from app.errors import ValidationError
from db.models.cases import CaseStep

#: Each type on a demo case that has what the document speaks of.
CASES = {
    "filing_approval": "车综执立〔2026〕第0002号",
    "inquiry_record": "车综执立〔2026〕第0001号",
    "prior_notice": "车综执立〔2026〕第0007号",
    "penalty_decision": "车综执立〔2026〕第0006号",
    "spot_decision": "车综执简〔2026〕第0013号",
    "service_receipt": "车综执立〔2026〕第0004号",
    "closure_approval": "车综执立〔2026〕第0002号",
    "no_penalty_decision": "车综执立〔2026〕第0003号",
    "seizure_decision": "车综执立〔2026〕第0011号",
    "preservation_notice": "车综执立〔2026〕第0010号",
    "lead_registration": "车综执立〔2026〕第0007号",  # a 12345 work order
    "inspection_record": "车综执立〔2026〕第0014号",
    "correction_order": "车综执立〔2026〕第0010号",
    "preservation_decision": "车综执立〔2026〕第0010号",
    "investigation_conclusion": "车综执立〔2026〕第0006号",
    "legal_review_opinion": "车综执立〔2026〕第0006号",
    "collective_discussion": "车综执立〔2026〕第0014号",
    "hearing_rights_notice": "车综执立〔2026〕第0014号",
    "hearing_notice": "车综执立〔2026〕第0014号",
    "hearing_record": "车综执立〔2026〕第0014号",
    "transfer_letter": "车综执立〔2026〕第0008号",
}
#: Types no demo case reaches, each drawn from a case of its own test below.
BUILT = {"reminder", "enforcement_application"}
#: Case 0006: legal review, no hearing rights; case 0014 (conftest.py's ``add_heard_case``):
#: a hearing and a collective discussion.
REVIEWED, HEARD = "车综执立〔2026〕第0006号", "车综执立〔2026〕第0014号"


def _draw(
    ctx: AppContext, actor: Actor, case_number: str, doc_type: str, out: Path, **kw: Any
) -> tuple[Mapping[str, Any], Any]:
    template = load_template(doc_type)
    with ctx.read() as s:
        data = document_data(s, actor, case_id(ctx, case_number), doc_type, template=template, **kw)
    return data, render(template, data, out)


def _running_text(texts: list[str], page_signatures: tuple[str, ...]) -> str:
    """The pages' text without their footers and per-page signature strips (drawn last on each
    page), so that a field running over a page break reads whole."""
    out = []
    for n, text in enumerate(texts, 1):
        body = flat(text).replace(f"第{n}页共{len(texts)}页", "")
        for label in page_signatures:
            body = body.replace(f"{label}：", "")
        out.append(body)
    return "".join(out)


def _check_pdf(out: Path, pages: int) -> list[str]:
    texts = page_texts(out)
    assert len(texts) == pages
    for n, text in enumerate(texts, 1):
        assert f"第{n}页共{pages}页" in flat(text), f"page {n}: {text[-60:]}"
    assert unembedded_fonts(out) == []
    return texts


def test_every_bundled_type_is_covered() -> None:
    # The dossier's own pages (卷宗封面, 卷内目录, 备考表) are drawn by the dossier compiler.
    types = {t for t in document_types() if not t.startswith("dossier_")}
    assert types == {*CASES, *BUILT}
    assert len(types) >= 22  # with the dossier's three pages, the 25 of DOMAIN.md


def test_numbered_types_match_the_number_register() -> None:
    """A numbered template's code is a type of the number register, with the same type word."""
    for code in document_types():
        template = load_template(code)
        if template.number_word:
            assert code in DOC_TYPES, code
            assert f"{DOC_TYPES[code].word}字" == template.number_word, code
            assert DOC_TYPES[code].name == template.title, code
    assert set(DOC_TYPES) <= set(document_types())


@pytest.mark.parametrize("doc_type", sorted(CASES))
def test_document_type(doc_type: str, demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / f"{doc_type}.pdf"
    data, result = _draw(demo, boss, CASES[doc_type], doc_type, out)
    _check_type(doc_type, data, result, out)


def _check_type(doc_type: str, data: Mapping[str, Any], result: Any, out: Path) -> None:
    """The checks every type passes: the PDF opens with its page count on every page, fonts
    embedded, every mandatory field's text in it, no glyph missing, unnumbered until issued."""
    texts = _check_pdf(out, result.pages)
    template = load_template(doc_type)
    text = _running_text(texts, template.page_signatures)
    assert result.missing == ()
    for name in template.required:
        value = data[name]
        if name in LISTS:
            assert value, name
            for row in value:
                assert flat(str(row.get("name", ""))) in text, (name, row)
        else:
            assert value, name
            assert flat(str(value)) in text, (name, value)
    assert flat(template.title) in text
    assert result.missing_glyphs == ""
    assert {u.role for u in result.fonts} == {"body", "title", "heading", "fallback"}
    if template.number_word:
        assert UNNUMBERED in text  # not issued yet


def test_decision_amount_in_figures_and_capitals_and_appeal_routes(
    demo: AppContext, boss: Actor, tmp_path: Path
) -> None:
    out = tmp_path / "decision.pdf"
    number = "车综执罚决字〔2026〕第12号"
    data, result = _draw(demo, boss, CASES["penalty_decision"], "penalty_decision", out, number=number)
    text = flat("".join(page_texts(out)))
    assert number in text and UNNUMBERED not in text
    assert data["fine_capital"] == "人民币捌仟元整" and data["fine_digits"] == "8,000.00元"
    assert "罚款人民币捌仟元整（8,000.00元）" in text
    assert "六十日内向广州市天河区人民政府申请行政复议" in text
    assert "六个月内依法向广州市天河区人民法院提起行政诉讼" in text
    assert "本处罚决定不停止执行" in text
    assert "当事人陈述、申辩称：已清理完毕，请求从轻处罚。经复核，" in text
    assert data["decided_date"] == "2026年6月27日" and "2026年6月27日" in text
    assert len(result.seals) == 1 and result.seals[0].page == result.pages
    assert result.struck == 0  # a decision leaves blanks to fill, it strikes nothing


def test_inquiry_record_strikes_out_what_is_empty(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    """The party of case 0001 is a company: the one questioned has no gender, age or ID number
    on file, and no question was recorded — all struck out, never blank."""
    out = tmp_path / "record.pdf"
    data, result = _draw(demo, boss, CASES["inquiry_record"], "inquiry_record", out)
    assert data["interviewee_gender"] == data["interviewee_age"] == data["interviewee_id_number"] == ""
    assert data["qa"] == []
    # gender, age, ID number, phone (the company gave none), and the question-and-answer area
    assert result.struck == 5
    texts = _check_pdf(out, result.pages)
    assert "（以下空白）" in texts[0]
    diagonals = [s for s in line_segments(out) if abs(s[0] - s[2]) > 100 and abs(s[1] - s[3]) > 50]
    assert len(diagonals) == 1  # the empty Q&A area struck through
    # each page signed by the one questioned and the officer
    for t in texts:
        assert "被询问人签名" in t and "执法人员签名" in t
    # officers with the certificate valid on the day of the inquiry
    officers = data["officers"]
    assert len(officers) == 2 and all(o["cert_no"].startswith("粤") for o in officers)
    for o in officers:
        assert o["name"] in flat(texts[0]) and o["cert_no"] in flat(texts[0])


def test_inquiry_record_questions_from_the_investigation(
    demo: AppContext, boss: Actor, tmp_path: Path
) -> None:
    cid = case_id(demo, CASES["inquiry_record"])
    qa = [
        {"q": "你是否申请回避？", "a": "不申请。"},
        {"q": "门前的建材是谁堆放的？", "a": "是我们公司施工队堆放的，大约二十平方米，已经堆了三天。"},
        {"q": "是否办理了占用道路的审批手续？", "a": ""},
    ] + [{"q": f"第{n}个问题？", "a": "回答。" * 30} for n in range(4, 12)]
    with demo.unit_of_work(boss, "补录询问笔录") as s:
        step = next(st for st in s.query(CaseStep).filter_by(case_id=cid, kind="investigation"))
        step.data = json.dumps({**json.loads(step.data), "inquiry": qa}, ensure_ascii=False)
    out = tmp_path / "record.pdf"
    data, result = _draw(demo, boss, CASES["inquiry_record"], "inquiry_record", out)
    assert [r["q"] for r in data["qa"]] == [r["q"] for r in qa]
    texts = _check_pdf(out, result.pages)
    assert result.pages >= 2
    text = flat("".join(texts))
    assert "问：门前的建材是谁堆放的？答：是我们公司施工队堆放的，大约二十平方米，已经堆了三天。" in text
    assert "（以下空白）" in text
    assert result.struck == 5  # four empty header fields and the one empty answer


def test_overrides_and_missing_fields(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / "receipt.pdf"
    served = "行政处罚决定书（车综执罚决字〔2026〕第3号）"
    _data, result = _draw(
        demo, boss, CASES["service_receipt"], "service_receipt", out, overrides={"served_document": served}
    )
    assert flat(served) in flat("".join(page_texts(out)))
    _data, result = _draw(
        demo, boss, CASES["service_receipt"], "service_receipt", out, overrides={"party_name": ""}
    )
    assert result.missing == ("当事人",)


def test_refused_for_the_wrong_case(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    with pytest.raises(ValidationError, match="只用于简易程序案件"):
        _draw(demo, boss, CASES["penalty_decision"], "spot_decision", out)
    with pytest.raises(ValidationError, match=r"首违不罚.*不能制作“行政处罚决定书”"):
        _draw(demo, boss, CASES["no_penalty_decision"], "penalty_decision", out)
    with pytest.raises(ValidationError, match="没有登记“查封扣押”，不能制作"):
        _draw(demo, boss, CASES["penalty_decision"], "seizure_decision", out)


def test_reminder(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    crew = make_crew(ctx, admin)
    cid = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 4))
    decide_case(crew, cid, D(2026, 3, 10))
    serve_case(crew, cid, D(2026, 3, 10))
    with ctx.unit_of_work(admin, "催告") as s:
        serve_reminder(s, admin, cid, D(2026, 4, 1), "直接送达", "王某")
    template = load_template("reminder")
    with ctx.read() as s:
        data = document_data(s, admin, cid, "reminder", template=template)
    out = tmp_path / "reminder.pdf"
    result = render(template, data, out)
    text = flat("".join(_check_pdf(out, result.pages)))
    assert data["payment_due_date"] == "2026年3月25日" and "2026年3月25日前履行" in text
    assert "罚款人民币叁仟元整（3,000.00元）" in text
    assert "每日按罚款数额的百分之三加处罚款" in text
    assert data["reminder_date"] == "2026年4月1日" and result.missing == ()


def test_render_to_a_stream_is_deterministic(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    import io

    template = load_template("penalty_decision")
    with demo.read() as s:
        data = document_data(s, boss, case_id(demo, CASES["penalty_decision"]), "penalty_decision")
    first, second = io.BytesIO(), io.BytesIO()
    a, b = render(template, data, first), render(template, data, second)
    assert first.getvalue() == second.getvalue() and a.size == len(first.getvalue()) == b.size
    assert first.getvalue().startswith(b"%PDF")


def test_masked_id_for_a_reader_without_the_right(demo: AppContext, tmp_path: Path) -> None:
    from app.auth.service import authenticate

    reviewer = authenticate(demo, "fazhi", "squad2026")  # legal reviewer: reads cases, not full IDs
    with demo.read() as s:
        data = document_data(s, reviewer, case_id(demo, CASES["filing_approval"]), "filing_approval")
    assert "*" in data["party_id_number"]


def test_dates_are_full_arabic(demo: AppContext, boss: Actor) -> None:
    with demo.read() as s:
        data = document_data(s, boss, case_id(demo, CASES["penalty_decision"]), "penalty_decision")
    for key in ("filed_date", "decided_date", "notice_date"):
        value = data[key]
        assert dt.datetime.strptime(value, "%Y年%m月%d日") and "年0" not in value and "月0" not in value


# ---- the remaining standard documents ---------------------------------------------------------


def test_enforcement_application(ctx: AppContext, admin: Actor, tmp_path: Path) -> None:
    """Served 10 March, unpaid, reminded 1 April; the lawsuit period ends 10 September, so the
    court application comes on 11 September with the late fee capped at the fine (APL 72)."""
    crew = make_crew(ctx, admin)
    cid = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 4))
    decide_case(crew, cid, D(2026, 3, 10))
    serve_case(crew, cid, D(2026, 3, 10))
    with ctx.unit_of_work(admin, "催告、申请强制执行") as s:
        serve_reminder(s, admin, cid, D(2026, 4, 1), "直接送达", "王某")
        apply_to_court(s, admin, cid, D(2026, 9, 11), "广州市天河区人民法院")
    template = load_template("enforcement_application")
    with ctx.read() as s:
        data = document_data(s, admin, cid, "enforcement_application", template=template)
    out = tmp_path / "application.pdf"
    result = render(template, data, out)
    _check_type("enforcement_application", data, result, out)
    text = flat("".join(page_texts(out)))
    assert data["application_court"] == "广州市天河区人民法院" and data["application_date"] == "2026年9月11日"
    assert "罚款人民币叁仟元整（3,000.00元）" in text
    assert "加处罚款人民币叁仟元整（3,000.00元，计至2026年9月11日）" in text
    assert "2026年3月25日前履行" in text and "2026年4月1日向被申请人送达催告书" in text
    assert "此致广州市天河区人民法院" in text
    assert "《中华人民共和国行政强制法》第五十三条、第五十四条、第五十五条" in text
    assert "行政机关负责人（签名）" in text
    assert len(result.seals) == 1 and result.seals[0].page == result.pages


def test_lead_registration_from_the_case_lead(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / "lead.pdf"
    data, _result = _draw(demo, boss, CASES["lead_registration"], "lead_registration", out)
    text = flat("".join(page_texts(out)))
    assert data["lead_source"] == "12345热线" and data["lead_source_ref"].startswith("GZ12345-")
    assert data["lead_number"].startswith("案源〔2026〕") and data["lead_number"] in text
    assert data["lead_received_time"] == "2026年5月31日15时15分"  # 30 days before 30 June
    assert "经审查，符合立案条件" in text and CASES["lead_registration"] in text


def test_inspection_record_is_a_written_record(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    """Case 0014's party is a person: no legal representative, struck out; every page signed."""
    out = tmp_path / "inspection.pdf"
    data, result = _draw(demo, boss, HEARD, "inspection_record", out)
    assert data["party_legal_rep"] == ""
    assert result.struck == 1
    texts = page_texts(out)
    text = flat("".join(texts))
    assert "现场检查发现" in data["inspection_text"] and flat(data["inspection_text"]) in text
    for t in texts:
        assert "当事人（在场人）签名" in t and "执法人员签名" in t
    for o in data["officers"]:
        assert o["cert_no"] and o["cert_no"] in text


def test_hearing_record_strikes_what_was_not_recorded(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / "hearing.pdf"
    data, result = _draw(demo, boss, HEARD, "hearing_record", out)
    texts = page_texts(out)
    text = flat("".join(texts))
    assert data["hearing_chair"] and data["hearing_chair"] not in {o["name"] for o in data["officers"]}
    assert (
        "当事人到场参加听证" in text
        and "拟作出如下行政处罚：责令（限期）改正；罚款人民币壹万伍仟元整" in text
    )
    # place, recorder, legal representative, agent — and the Q&A area below “（以下空白）”
    assert data["qa"] == [] and result.struck == 5
    assert "（以下空白）" in text
    for t in texts:
        assert "当事人（代理人）签名" in t and "主持人签名" in t


def test_hearing_documents_and_collective_discussion(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    data, _r = _draw(demo, boss, HEARD, "hearing_notice", out)
    text = flat("".join(page_texts(out)))
    assert data["hearing_requested"] and data["hearing_notified_date"] in text
    assert f"根据你（单位）于{data['hearing_request_date']}提出的听证申请" in text
    data, _r = _draw(demo, boss, HEARD, "hearing_rights_notice", out)
    assert "第六十三条、第六十四条" in flat("".join(page_texts(out))) and data["hearing_rights"]

    data, result = _draw(demo, boss, HEARD, "collective_discussion", out)
    text = flat("".join(page_texts(out)))
    names = data["discussion_attendees"].split("、")
    assert len(names) == 3 and [o["name"] for o in data["officers"]] == names
    assert all(n in text for n in names) and "讨论结论：当事人占道面积大" in text
    assert result.struck == 2  # place and recorder not recorded

    # the decision after the hearing: lighter than the notice, inside the tier
    data, _r = _draw(demo, boss, HEARD, "penalty_decision", out)
    assert (
        data["fine_capital"] == "人民币壹万贰仟元整" and data["notice_fine_capital"] == "人民币壹万伍仟元整"
    )


def test_hearing_documents_refused_without_hearing_rights(
    demo: AppContext, boss: Actor, tmp_path: Path
) -> None:
    out = tmp_path / "x.pdf"
    with pytest.raises(ValidationError, match="当事人不享有听证权利"):
        _draw(demo, boss, REVIEWED, "hearing_rights_notice", out)
    with pytest.raises(ValidationError, match="的当事人没有申请听证"):
        _draw(demo, boss, REVIEWED, "hearing_notice", out)
    with pytest.raises(ValidationError, match="“听证”环节记为不适用（拟罚款未达听证标准"):
        _draw(demo, boss, REVIEWED, "hearing_record", out)
    with pytest.raises(ValidationError, match="没有登记“申请法院强制执行”"):
        _draw(demo, boss, REVIEWED, "enforcement_application", out)
    with pytest.raises(ValidationError, match="不能制作“案件移送函”"):
        _draw(demo, boss, REVIEWED, "transfer_letter", out)


def test_review_conclusion_and_transfer(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    data, _r = _draw(demo, boss, REVIEWED, "legal_review_opinion", out)
    text = flat("".join(page_texts(out)))
    assert data["reviewer_qualification_no"].startswith("A2019") and data["reviewer_qualification_no"] in text
    assert "达到法制审核起点" in data["review_triggers"] and "《中华人民共和国行政处罚法》第五十八条" in text
    data, _r = _draw(demo, boss, REVIEWED, "investigation_conclusion", out)
    assert (
        data["conclusion_proposal"]
        == "建议给予行政处罚：责令（限期）改正；罚款人民币捌仟元整（8,000.00元）。"
    )
    assert flat(data["conclusion_proposal"]) in flat("".join(page_texts(out)))
    data, _r = _draw(demo, boss, CASES["transfer_letter"], "transfer_letter", out)
    text = flat("".join(page_texts(out)))
    assert data["transfer_to"] == "广州市公安局天河区分局车陂派出所" and f"{data['transfer_to']}：" in text
    assert "第二十七条第一款" in text and "经审查，涉嫌失火，可能构成犯罪。" in text
    data, _r = _draw(demo, boss, CASES["preservation_decision"], "preservation_decision", out)
    text = flat("".join(page_texts(out)))
    assert "处理决定：退还当事人。" in text and "雨棚钢架" in text and "第五十六条" in text
