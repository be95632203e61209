"""Dossier binding (案卷装订) of demo cases, read back with pypdf: the cover, contents and notes
sheet carry no page number, the text pages are numbered 1 … N in order, each contents row names
the page its document starts on, the notes sheet counts right, an issued document is bound from
the store; summary cases share a volume of at most 50."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pdfcheck import case_id, flat, unembedded_fonts
from PIL import Image
from pypdf import PageObject, PdfReader

from app.auth.roles import Actor
from app.cases.evidence import EvidenceKind, add_evidence, list_evidence
from app.cases.machine import StepKind
from app.cases.service import (
    SpotDecision,
    close_case,
    decide_on_the_spot,
    file_spot_record,
    get_case,
    reopen_case,
)
from app.cli import main
from app.context import AppContext
from app.documents import document_data, document_types, load_template, render
from app.documents.dossier import (
    DEFAULT_ORDER,
    SUMMARY_VOLUME_LIMIT,
    DossierResult,
    archive_number,
    binding_order,
    compile_dossier,
    compile_summary_volume,
)
from app.documents.issuing import issue_document, store_beside_database
from app.errors import Cancelled, ValidationError
from app.files import files_dir, path_of
from app.progress import Progress

CLOSED = "车综执立〔2026〕第0002号"  # paid and closed (ordinary procedure)
SUMMARY = ("车综执简〔2026〕第0005号", "车综执简〔2026〕第0009号", "车综执简〔2026〕第0013号")
NUMBER = "车综执罚决字〔2026〕第1号"  # the first penalty decision the demo squad issues
BOUND = dt.date(2026, 11, 20)
CORNER_MM = 30  # the archive page number sits within this of the top right corner


@dataclass(frozen=True)
class Item:
    x: float
    y: float
    text: str


def items(page: PageObject) -> list[Item]:
    """The page's text pieces with where they start (points from the bottom left)."""
    out: list[Item] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, _size: float) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            out.append(Item(x, y, text.strip()))

    page.extract_text(visitor_text=visit)
    return out


def corner_numbers(page: PageObject) -> list[str]:
    """Text in the top right corner: the archive page number, if the page has one."""
    w, h = float(page.mediabox.width), float(page.mediabox.height)
    limit = CORNER_MM * 72 / 25.4
    return [i.text for i in items(page) if i.x > w - limit and i.y > h - limit]


def contents_rows(reader: PdfReader, result: DossierResult) -> list[tuple[str, str]]:
    """(title as printed, page as printed) of each contents row, read off the contents pages:
    a row is its 序号 (the leftmost number) and what stands on the same line."""
    rows: list[tuple[str, str]] = []
    for index in range(result.cover_pages, result.cover_pages + result.contents_pages):
        found = items(reader.pages[index])
        header = {i.text: i for i in found if i.text in ("序号", "题名", "页号", "日期")}
        assert set(header) == {"序号", "题名", "页号", "日期"}, [i.text for i in found][:12]
        numbers = [
            i
            for i in found
            if i.text.isdigit() and abs(i.x - header["序号"].x) < 20 and i.y < header["序号"].y
        ]
        for no in sorted(numbers, key=lambda i: -i.y):
            line = [i for i in found if abs(i.y - no.y) < 1 and i is not no]
            page = min(line, key=lambda i: abs(i.x - header["页号"].x))
            # the title: between the 题名 heading's left edge and the 日期 column
            title = [
                i for i in line if header["题名"].x - 60 < i.x < header["日期"].x and not i.text.isdigit()
            ]
            assert abs(page.x - header["页号"].x) < 15, (no.text, page)
            rows.append((max(title, key=lambda i: len(i.text)).text, page.text))
    return rows


def _png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> Path:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 40):  # something to see
        for y in range(size[1]):
            image.putpixel((x, y), (255, 255, 255))
    image.save(path, "PNG")
    return path


@pytest.fixture
def closed_case(demo: AppContext, boss: Actor, tmp_path: Path) -> Iterator[str]:
    """Case 0002 of the demo with three photos, a video and its penalty decision issued: reopened
    to add the evidence (a closed dossier is final), then closed again."""
    cid = case_id(demo, CLOSED)
    store = files_dir(demo.data_dir)
    with demo.unit_of_work(boss, "补充证据") as s:
        view = get_case(s, boss, cid)
        closed_on = view.closed_on
        assert closed_on is not None
        investigation = next(st for st in view.steps if st.kind is StepKind.INVESTIGATION)
        officer = investigation.officer_ids[0]
        at = dt.datetime.combine(investigation.performed_on, dt.time(10, 15))
        reopen_case(s, boss, cid, closed_on, "补充现场照片")
        for n, colour in enumerate(((200, 60, 40), (40, 120, 200), (60, 160, 60)), 1):
            photo = _png(tmp_path / f"IMG_000{n}.png", colour)
            description = f"现场照片{n}：当事人占用车陂路沿线人行道堆放建材"
            add_evidence(
                s, boss, cid, photo, EvidenceKind.PHOTO, description, officer, at, f"执法记录仪 {n} 号", store
            )
        video = tmp_path / "VID_0001.mp4"
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000)
        add_evidence(
            s, boss, cid, video, EvidenceKind.VIDEO, "现场执法视频", officer, at, "执法记录仪 1 号", store
        )
        close_case(s, boss, cid, closed_on, "罚款已缴纳，同意结案")
    with demo.unit_of_work(boss, "出具文书") as s:
        template = load_template("penalty_decision")
        data = document_data(s, boss, cid, "penalty_decision", number=NUMBER, template=template)
        buffer = io.BytesIO()
        drawn = render(template, data, buffer)
        decided = get_case(s, boss, cid).decided_on
        assert decided is not None
        issued = issue_document(
            s, boss, cid, "penalty_decision", decided, buffer.getvalue(), dict(data), drawn.pages
        )
        assert issued.number == NUMBER
    yield cid


def _compile(demo: AppContext, boss: Actor, cid: str, out: Path, **kw: Any) -> DossierResult:
    with demo.read() as s:
        return compile_dossier(s, boss, cid, out, on=BOUND, **kw)


def test_ordinary_case_dossier(demo: AppContext, boss: Actor, closed_case: str, tmp_path: Path) -> None:
    out = tmp_path / "案卷.pdf"
    result = _compile(demo, boss, closed_case, out)
    reader = PdfReader(out)
    pages = reader.pages
    assert (
        len(pages)
        == result.pages
        == (result.cover_pages + result.contents_pages + result.numbered_pages + result.notes_pages)
    )
    assert result.cover_pages == 1 and result.notes_pages == 1
    assert unembedded_fonts(out) == []

    # the cover, the contents and the notes sheet carry no page number; the text pages 1 … N
    first = result.first_text_page - 1
    unnumbered = [*range(first), len(pages) - 1]
    for index in unnumbered:
        assert corner_numbers(pages[index]) == [], index
    for n in range(1, result.numbered_pages + 1):
        assert corner_numbers(pages[first + n - 1]) == [str(n)], n
    texts = [flat(p.extract_text() or "") for p in pages]
    assert "行政处罚案卷" in texts[0] and "卷内目录" in texts[1] and "卷内备考表" in texts[-1]

    # the documents in the order of the procedure, then the evidence
    kinds = [e.doc_type or e.kind for e in result.entries]
    for earlier, later in (
        ("filing_approval", "penalty_decision"),
        ("inquiry_record", "prior_notice"),
        ("prior_notice", "penalty_decision"),
        ("penalty_decision", "service_receipt"),
        ("service_receipt", "closure_approval"),
        ("closure_approval", "photos"),
        ("photos", "evidence_list"),
    ):
        assert kinds.index(earlier) < kinds.index(later), (earlier, later)
    # a case that had no hearing and no seizure gets none of their documents
    assert not {"hearing_record", "hearing_notice", "seizure_decision", "spot_decision"} & set(kinds)

    # each contents row names the page its document starts on: the title is found there
    rows = contents_rows(reader, result)
    assert len(rows) == len(result.entries)
    for (title, page), entry in zip(rows, result.entries, strict=True):
        assert entry.contents_title == entry.title  # one case: the title alone
        assert flat(entry.title).startswith(flat(title)), (title, entry.title)
        start = int(page.split("-")[0])
        assert start == entry.first_page
        assert flat(entry.title) in texts[first + start - 1], (entry.title, start)
        assert corner_numbers(pages[first + start - 1]) == [str(start)]
    assert rows[-1][1] == f"{result.entries[-1].first_page}-{result.entries[-1].last_page}" or (
        result.entries[-1].first_page == result.entries[-1].last_page
    )
    assert result.entries[-1].last_page == result.numbered_pages

    # the issued decision is the one from the store, with its number, in the contents too
    decision = next(e for e in result.entries if e.doc_type == "penalty_decision")
    assert decision.issued and decision.number == NUMBER and decision.note == ""
    assert NUMBER in texts[first + decision.first_page - 1]
    assert NUMBER in "".join(texts[first - result.contents_pages : first])
    assert sum("行政处罚决定书" in t and "未编号" not in t for t in texts) >= 1
    assert kinds.count("penalty_decision") == 1
    # a document never issued is drawn now, unnumbered, and the contents says so
    notice = next(e for e in result.entries if e.doc_type == "prior_notice")
    assert not notice.issued and notice.note == "未出具"

    # the evidence: three photos two to a page, captioned; the video listed
    photos = next(e for e in result.entries if e.kind == "photos")
    assert (photos.last_page - photos.first_page + 1, result.photos) == (2, 3)
    first_photos = texts[first + photos.first_page - 1]
    assert "现场照片1" in first_photos and "现场照片2" in first_photos and "执法记录仪1号" in first_photos
    assert "现场照片3" in texts[first + photos.last_page - 1]
    assert len(pages[first + photos.first_page - 1]["/Resources"]["/XObject"]) == 2
    listed = next(e for e in result.entries if e.kind == "evidence_list")
    assert "现场执法视频" in texts[first + listed.first_page - 1] and result.other_evidence == 1

    # the notes sheet counts what was bound
    documents = sum(1 for e in result.entries if e.kind == "document")
    assert result.documents == documents >= 8
    assert (
        f"本卷共有文书材料{documents}件，证据照片3张，其他证据1件，共{result.numbered_pages}页" in texts[-1]
    )
    assert result.drafts == sum(1 for e in result.entries if e.note == "未出具") >= 1
    assert f"其中{result.drafts}件应编文号的文书尚未出具" in texts[-1]
    assert "立卷人" in texts[-1] and "检查人" in texts[-1] and "2026年11月20日" in texts[-1]

    # the cover: body, case, party, dates, archive number and retention
    with demo.read() as s:
        view = get_case(s, boss, closed_case)
        number = archive_number(s, closed_case)
    assert number == result.archive_number and number.startswith(f"{view.closed_on.year}-")
    cover = texts[0]
    for text in ("广州市天河区人民政府车陂街道办事处", CLOSED, "陈国栋", f"档号：{number}", "10年", "第1卷"):
        assert text in cover, text
    assert result.retention_years == 10


def test_archive_number_follows_the_closing_order(demo: AppContext, boss: Actor) -> None:
    with demo.read() as s:
        closed = []
        for n in ("车综执立〔2026〕第0001号", CLOSED, "车综执立〔2026〕第0003号", *SUMMARY[:2]):
            cid = case_id(demo, n)
            closed.append((get_case(s, boss, cid).closed_on, archive_number(s, cid)))
        assert archive_number(s, case_id(demo, "车综执立〔2026〕第0004号")) == ""  # not closed
    assert all(len(a) == 9 and a[4] == "-" for _d, a in closed)
    assert [a for _d, a in sorted(closed)] == sorted(a for _d, a in closed)
    assert len({a for _d, a in closed}) == len(closed)


def test_order_is_configurable(demo: AppContext, boss: Actor, closed_case: str, tmp_path: Path) -> None:
    result = _compile(demo, boss, closed_case, tmp_path / "a.pdf", order=["evidence", "decision"])
    kinds = [e.doc_type or e.kind for e in result.entries]
    assert kinds == ["photos", "evidence_list", "penalty_decision"]
    assert result.entries[0].first_page == 1
    with pytest.raises(ValidationError, match="既不是文书类型，也不是分组"):
        _compile(demo, boss, closed_case, tmp_path / "b.pdf", order=["filing", "hearings"])
    with pytest.raises(ValidationError, match="位置是固定的"):
        _compile(demo, boss, closed_case, tmp_path / "b.pdf", order=["dossier_cover"])
    assert DEFAULT_ORDER[0] == "filing" and DEFAULT_ORDER[-1] == "evidence"


def test_every_document_type_has_a_place_in_the_default_order() -> None:
    order = binding_order()
    assert set(order) == {t for t in document_types() if not t.startswith("dossier_")} | {"evidence"}
    assert order.index("filing_approval") < order.index("inquiry_record") < order.index("prior_notice")
    assert order.index("prior_notice") < order.index("penalty_decision") < order.index("service_receipt")
    assert order.index("reminder") < order.index("closure_approval") < order.index("evidence")


def test_open_case_binds_what_it_has(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    """A case still being investigated: its documents so far, no archive number yet."""
    result = _compile(demo, boss, case_id(demo, "车综执立〔2026〕第0010号"), tmp_path / "open.pdf")
    kinds = {e.doc_type for e in result.entries}
    assert {"filing_approval", "preservation_notice"} <= kinds
    assert not {"penalty_decision", "closure_approval", "service_receipt"} & kinds
    assert result.archive_number == ""


def test_progress_and_cancel(demo: AppContext, boss: Actor, closed_case: str, tmp_path: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    _compile(demo, boss, closed_case, tmp_path / "p.pdf", progress=Progress(lambda *a: seen.append(a)))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] and any("行政处罚决定书" in t for *_n, t in seen)
    assert all(done <= total for done, total, _t in seen)

    progress = Progress(lambda done, _total, _text: progress.cancel() if done >= 3 else None)
    out = tmp_path / "cancelled.pdf"
    with pytest.raises(Cancelled):
        _compile(demo, boss, closed_case, out, progress=progress)
    assert not out.exists()


def test_summary_volume(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    ids = [case_id(demo, n) for n in SUMMARY]
    with demo.unit_of_work(boss, "备案") as s:
        spot = next(st for st in get_case(s, boss, ids[2]).steps if st.kind is StepKind.SPOT_DECISION)
        file_spot_record(s, boss, ids[2], spot.performed_on)
    out = tmp_path / "简易卷.pdf"
    with demo.read() as s:
        result = compile_summary_volume(s, boss, list(reversed(ids)), out, on=BOUND)
        last = archive_number(s, ids[2])
    assert result.case_numbers == SUMMARY  # in the order of their numbers
    decisions = [e for e in result.entries if e.doc_type == "spot_decision"]
    assert [e.case_number for e in decisions] == list(SUMMARY)
    assert result.retention_years == 5 and result.archive_number == last
    reader = PdfReader(out)
    texts = [flat(p.extract_text() or "") for p in reader.pages]
    assert result.cover_pages == 1 and "简易程序" in texts[0] and "共3件" in texts[0]
    contents = "".join(texts[1 : 1 + result.contents_pages])
    for number, party in zip(SUMMARY, ("郑少波", "何美玲", "吴建华"), strict=True):
        assert f"当场行政处罚决定书（{party}，{number}）" in contents  # one contents lists every case
    first = result.first_text_page - 1
    for n in range(1, result.numbered_pages + 1):
        assert corner_numbers(reader.pages[first + n - 1]) == [str(n)]
    for (title, page), entry in zip(contents_rows(reader, result), result.entries, strict=True):
        assert int(page.split("-")[0]) == entry.first_page
        assert (
            flat(entry.contents_title).startswith(flat(title)) and entry.case_number in entry.contents_title
        )
        assert flat(entry.title) in texts[first + entry.first_page - 1]
    assert corner_numbers(reader.pages[-1]) == []


def test_contents_over_two_pages_shifts_no_page_number(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    """Seventeen summary cases: the contents runs over two pages, and being unnumbered it moves
    nothing — the first text page is still page 1 and every row still names its page."""
    ids = [case_id(demo, n) for n in SUMMARY]
    with demo.unit_of_work(boss, "当场处罚") as s:
        model = get_case(s, boss, ids[2])
        spot = next(st for st in model.steps if st.kind is StepKind.SPOT_DECISION)
        for n in range(14):
            decision = SpotDecision(
                model.item_code,
                model.party_ids[0],
                f"{model.title}（第 {n + 1} 次）",
                spot.performed_on,
                spot.officer_ids,
                model.penalty_types,
                model.fine_fen,
                model.tier_name,
            )
            ids.append(decide_on_the_spot(s, boss, decision).id)
    out = tmp_path / "长目录.pdf"
    with demo.read() as s:
        result = compile_summary_volume(s, boss, ids, out, on=BOUND)
    assert len(result.case_numbers) == 17 and result.contents_pages >= 2
    assert result.archive_number == ""  # cases not filed yet (备案): not closed, no archive number
    reader = PdfReader(out)
    first = result.first_text_page - 1
    for index in range(first):
        assert corner_numbers(reader.pages[index]) == []
    for n in range(1, result.numbered_pages + 1):
        assert corner_numbers(reader.pages[first + n - 1]) == [str(n)]
    texts = [flat(p.extract_text() or "") for p in reader.pages]
    rows = contents_rows(reader, result)
    assert len(rows) == len(result.entries) >= 17
    for (title, page), entry in zip(rows, result.entries, strict=True):
        assert int(page.split("-")[0]) == entry.first_page
        assert flat(entry.contents_title).startswith(flat(title))
        assert flat(entry.title) in texts[first + entry.first_page - 1]


def test_summary_volume_refusals(demo: AppContext, boss: Actor, tmp_path: Path) -> None:
    ids = [case_id(demo, n) for n in SUMMARY]
    with demo.read() as s:
        too_many = [*ids, *(f"case-{n}" for n in range(SUMMARY_VOLUME_LIMIT + 1 - len(ids)))]
        assert len(too_many) == 51
        with pytest.raises(ValidationError, match="每卷最多装订 50 件，现选了 51 件"):
            compile_summary_volume(s, boss, too_many, tmp_path / "x.pdf")
        with pytest.raises(ValidationError, match=f"{CLOSED}是普通程序案件，应一案一卷"):
            compile_summary_volume(s, boss, [ids[0], case_id(demo, CLOSED)], tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_missing_evidence_file_is_noted_not_fatal(
    demo: AppContext, boss: Actor, closed_case: str, tmp_path: Path
) -> None:
    with demo.read() as s:
        store = store_beside_database(s)
        photo = list_evidence(s, boss, closed_case)[1]
    # The store's files are read-only: the test removes one photo behind the program's back.
    victim = path_of(store, photo.sha256)
    victim.chmod(0o644)
    victim.unlink()
    result = _compile(demo, boss, closed_case, tmp_path / "m.pdf")
    assert result.warnings == (f"第 2 号证据“{photo.description}”的文件缺失，未能印出。",)
    assert "文件缺失" in flat(PdfReader(tmp_path / "m.pdf").pages[-1].extract_text() or "")


def test_cli_dossier(
    demo: AppContext, closed_case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "卷.pdf"
    args = ["--data-dir", str(demo.data_dir), "dossier", CLOSED, "--out", str(out), "--password", "squad2026"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"已装订{CLOSED}" in printed and "档号" in printed and "页号 1–" in printed
    assert len(PdfReader(out).pages) >= 10
    assert main([*args, "--order", "decision,evidence"]) == 0
    assert "文书 1 件" in capsys.readouterr().out
    args = ["--data-dir", str(demo.data_dir), "dossier", "车综执立〔2026〕第9999号", "--out", str(out)]
    assert main([*args, "--password", "squad2026"]) == 2
    assert "找不到案号" in capsys.readouterr().err
