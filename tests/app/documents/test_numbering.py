"""The number register (文号): one per squad, type and year; numbers come from this device's block
(号段); patterns are validated; and numbers stay distinct and gap-free under concurrent issuing from
threads and from processes sharing one data folder."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select

from app.audit import verify
from app.auth.roles import Actor, Role
from app.context import AppContext, open_data_dir
from app.documents.issuing import issue_document, list_issued, void_document
from app.documents.numbering import (
    DOC_TYPES,
    LeaseExhausted,
    check_pattern,
    format_number,
    grant_lease,
    list_registers,
    next_number,
    set_pattern,
    take_number,
)
from app.errors import ConflictError, PermissionDenied, ValidationError
from db.ids import new_id
from db.models import NumberLease, NumberRegister, Squad
from db.models.documents import LAST_SEQ, ImmutableRowError, LeaseSource

D = dt.date
PENALTY = "penalty_decision"


def tiny_pdf(text: str = "SquadDesk test") -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def take(ctx: AppContext, actor: Actor, doc_type: str = PENALTY, year: int = 2026) -> tuple[str, int]:
    with ctx.unit_of_work(actor, "取文号") as s:
        return next_number(s, doc_type, year)


# ---- the register -----------------------------------------------------------------------------


def test_first_number_creates_the_register_and_a_whole_range_lease(ctx: AppContext, admin: Actor) -> None:
    assert take(ctx, admin) == ("车综执罚决字〔2026〕第1号", 1)
    assert take(ctx, admin) == ("车综执罚决字〔2026〕第2号", 2)
    with ctx.read() as s:
        (register,) = s.scalars(select(NumberRegister)).all()
        (lease,) = s.scalars(select(NumberLease)).all()
    assert (register.doc_type, register.year, register.squad_id) == (PENALTY, 2026, ctx.squad_id)
    assert register.pattern == "{prefix}罚决字〔{year}〕第{seq}号"
    assert (lease.register_id, lease.device_id, lease.source) == (register.id, ctx.device_id, "device")
    assert (lease.first_seq, lease.last_seq, lease.next_seq) == (1, LAST_SEQ, 3)


def test_register_is_per_type_and_year(ctx: AppContext, admin: Actor) -> None:
    assert take(ctx, admin, PENALTY, 2026)[1] == 1
    assert take(ctx, admin, PENALTY, 2026)[1] == 2
    assert take(ctx, admin, PENALTY, 2027) == ("车综执罚决字〔2027〕第1号", 1)  # a new year starts at 1
    assert take(ctx, admin, "correction_order", 2026) == ("车综执责改字〔2026〕第1号", 1)
    assert take(ctx, admin, PENALTY, 2026)[1] == 3
    with ctx.read() as s:
        views = list_registers(s, admin)
    assert [(v.doc_type, v.year, v.next_here) for v in views] == [
        ("correction_order", 2026, 2),
        (PENALTY, 2026, 4),
        (PENALTY, 2027, 2),
    ]
    assert views[1].example == "车综执罚决字〔2026〕第12号"
    assert views[1].type_label == "行政处罚决定书"


def test_register_is_per_squad(ctx: AppContext, admin: Actor) -> None:
    """One database may hold several squads (the district does): each has its own registers."""
    home = ctx.require_squad()
    assert take(ctx, admin) == ("车综执罚决字〔2026〕第1号", 1)
    other = new_id()
    with ctx.unit_of_work(admin, "另一中队") as s:
        s.add(
            Squad(
                id=other,
                squad_id=other,
                name="员村街综合行政执法队",
                enforcing_body="广州市天河区人民政府员村街道办事处",
                district_code="440106",
                doc_prefix="员综执",
            )
        )
    ctx.set_squad(other)
    try:
        assert take(ctx, admin) == ("员综执罚决字〔2026〕第1号", 1)
        assert take(ctx, admin) == ("员综执罚决字〔2026〕第2号", 2)
    finally:
        ctx.set_squad(home)
    assert take(ctx, admin) == ("车综执罚决字〔2026〕第2号", 2)


def test_default_patterns_are_distinct_and_valid() -> None:
    patterns = [t.default_pattern for t in DOC_TYPES.values()]
    assert len(set(patterns)) == len(patterns), "two types would print the same number"
    for pattern in patterns:
        assert check_pattern(pattern) == pattern


def test_format_number_pads_seq_when_asked() -> None:
    pattern = "{prefix}罚决字〔{year}〕第{seq}号"
    assert format_number(pattern, prefix="车综执", year=2026, seq=12) == "车综执罚决字〔2026〕第12号"
    assert (
        format_number(pattern, prefix="车综执", year=2026, seq=12, seq_width=4)
        == "车综执罚决字〔2026〕第0012号"
    )


def test_a_rolled_back_number_is_given_back(ctx: AppContext, admin: Actor) -> None:
    class Boom(Exception):
        pass

    assert take(ctx, admin)[1] == 1
    with pytest.raises(Boom), ctx.unit_of_work(admin, "中途失败") as s:
        assert next_number(s, PENALTY, 2026)[1] == 2
        raise Boom
    assert take(ctx, admin)[1] == 2  # no gap


# ---- patterns ---------------------------------------------------------------------------------


def test_set_pattern_with_width_applies_to_the_next_numbers(ctx: AppContext, admin: Actor) -> None:
    assert take(ctx, admin)[0] == "车综执罚决字〔2026〕第1号"
    with ctx.unit_of_work(admin, "文号设置") as s:
        view = set_pattern(s, admin, PENALTY, " {prefix}罚字〔{year}〕{seq}号 ", seq_width=4, year=2026)
    assert (view.pattern, view.seq_width, view.example) == (
        "{prefix}罚字〔{year}〕{seq}号",
        4,
        "车综执罚字〔2026〕0012号",
    )
    assert take(ctx, admin) == ("车综执罚字〔2026〕0002号", 2)  # the sequence goes on
    # A new year's register takes the pattern of the nearest year that has one.
    assert take(ctx, admin, PENALTY, 2027) == ("车综执罚字〔2027〕0001号", 1)


def test_set_pattern_before_any_number(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin, "文号设置") as s:
        view = set_pattern(s, admin, "correction_order", "{prefix}改字〔{year}〕第{seq}号", year=2026)
    assert (view.issued, view.next_here, view.free_here) == (0, 1, LAST_SEQ)
    assert take(ctx, admin, "correction_order") == ("车综执改字〔2026〕第1号", 1)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("{prefix}罚决字第{seq}号", "{year}"),
        ("{prefix}罚决字〔{year}〕", "{seq}"),
        ("{prefix}罚决字〔{year}〕第{num}号", "{num}"),
        ("{prefix}罚决字〔{year}〕第{seq:04d}号", "序号位数"),
        ("{prefix}罚决字〔{year}〕第{seq号", "花括号"),
        ("   ", "请填写文号格式"),
    ],
)
def test_bad_patterns_are_refused_in_chinese(ctx: AppContext, admin: Actor, pattern: str, words: str) -> None:
    with pytest.raises(ValidationError) as err, ctx.unit_of_work(admin) as s:
        set_pattern(s, admin, PENALTY, pattern)
    assert words in err.value.message
    assert err.value.field == "pattern"


def test_a_pattern_equal_to_another_types_is_refused(ctx: AppContext, admin: Actor) -> None:
    with pytest.raises(ValidationError, match="责令（限期）改正通知书") as err, ctx.unit_of_work(admin) as s:
        set_pattern(s, admin, PENALTY, "{prefix}责改字〔{year}〕第{seq}号", year=2026)
    assert "相同的文号" in err.value.message


def test_set_pattern_needs_the_settings_permission(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    for role in (Role.CLERK, Role.LEADER):
        with pytest.raises(PermissionDenied), ctx.unit_of_work(actors[role]) as s:
            set_pattern(s, actors[role], PENALTY, "{prefix}罚字〔{year}〕第{seq}号")


def test_an_unknown_type_needs_a_pattern_first(ctx: AppContext, admin: Actor) -> None:
    with pytest.raises(ValidationError, match="尚未设定文号格式"), ctx.unit_of_work(admin) as s:
        next_number(s, "seal_notice", 2026)
    with ctx.unit_of_work(admin) as s:  # a template may bring its own pattern
        taken = take_number(s, "seal_notice", 2026, default_pattern="{prefix}封字〔{year}〕第{seq}号")
    assert (taken.number, taken.seq) == ("车综执封字〔2026〕第1号", 1)
    assert take(ctx, admin, "seal_notice") == ("车综执封字〔2026〕第2号", 2)
    with pytest.raises(ValidationError, match="文书类型代码"), ctx.unit_of_work(admin) as s:
        next_number(s, "罚款决定", 2026)


# ---- leases -----------------------------------------------------------------------------------


def _register(ctx: AppContext, actor: Actor, year: int = 2026) -> str:
    with ctx.unit_of_work(actor, "文号设置") as s:
        return set_pattern(s, actor, PENALTY, "{prefix}罚决字〔{year}〕第{seq}号", year=year).id


def test_a_used_up_lease_refuses_with_a_clear_message(ctx: AppContext, admin: Actor) -> None:
    register_id = _register(ctx, admin)
    with ctx.unit_of_work(admin, "领取文号段") as s:
        grant_lease(s, register_id, ctx.device_id, 1, 2)
        grant_lease(s, register_id, new_id(), 3, 10)  # another device's block is never used here
    assert take(ctx, admin)[1] == 1
    assert take(ctx, admin)[1] == 2
    with pytest.raises(LeaseExhausted) as err, ctx.unit_of_work(admin) as s:
        next_number(s, PENALTY, 2026)
    assert "本机的文号段已用完，请与区局同步领取新的文号段" in err.value.message
    with ctx.read() as s:
        (view,) = list_registers(s, admin)
    assert (view.next_here, view.free_here) == (None, 0)
    # A new block from the district: numbering goes on from it.
    with ctx.unit_of_work(admin, "领取文号段") as s:
        grant_lease(s, register_id, ctx.device_id, 11, 20)
    assert take(ctx, admin) == ("车综执罚决字〔2026〕第11号", 11)


def test_leases_never_overlap(ctx: AppContext, admin: Actor) -> None:
    register_id = _register(ctx, admin)
    with ctx.unit_of_work(admin) as s:
        grant_lease(s, register_id, ctx.device_id, 1, 100, LeaseSource.DEVICE)
    for first, last in ((100, 200), (50, 60), (1, 1), (0, 5)):
        with pytest.raises((ConflictError, ValidationError)), ctx.unit_of_work(admin) as s:
            grant_lease(s, register_id, new_id(), first, last)
    with ctx.unit_of_work(admin) as s:
        assert grant_lease(s, register_id, new_id(), 101, 200).next_seq == 101


def test_a_lease_only_moves_forward(ctx: AppContext, admin: Actor) -> None:
    for _ in range(3):
        take(ctx, admin)
    with ctx.read() as s:
        lease_id = s.scalars(select(NumberLease.id)).one()
    for change in ({"next_seq": 2}, {"first_seq": 2}, {"last_seq": 2}, {"last_seq": LAST_SEQ + 1}):
        with pytest.raises(ImmutableRowError), ctx.unit_of_work(admin) as s:
            lease = s.get(NumberLease, lease_id)
            for key, value in change.items():
                setattr(lease, key, value)
    # Closing a block at what it has used is allowed (sync does this at enrolment).
    with ctx.unit_of_work(admin) as s:
        s.get(NumberLease, lease_id).last_seq = 3
    with pytest.raises(LeaseExhausted), ctx.unit_of_work(admin) as s:
        next_number(s, PENALTY, 2026)


# ---- concurrency ------------------------------------------------------------------------------

THREADS, PER_THREAD = 8, 25
PROCESSES, PER_PROCESS = 4, 25


def test_threads_take_distinct_consecutive_numbers(ctx: AppContext, admin: Actor) -> None:
    """8 threads × 25 documents on one database file, every fifth voided: 200 distinct numbers,
    1…200 with no gap (voided numbers keep their place), and the next one is 201."""
    pdf = tiny_pdf()
    start = threading.Barrier(THREADS)
    taken: list[list[tuple[int, str]]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait(timeout=30)
            for k in range(PER_THREAD):
                with ctx.unit_of_work(admin, "出具文书") as s:
                    view = issue_document(
                        s, admin, None, PENALTY, D(2026, 3, 2), pdf, {"t": index, "k": k}, 1
                    )
                if k % 5 == 4:
                    with ctx.unit_of_work(admin, "作废文书") as s:
                        void_document(s, admin, view.id, "并发测试作废")
                taken[index].append((view.seq, view.number))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = sorted(seq for chunk in taken for seq, _ in chunk)
    assert seqs == list(range(1, THREADS * PER_THREAD + 1))
    numbers = {number for chunk in taken for _, number in chunk}
    assert len(numbers) == THREADS * PER_THREAD
    for chunk in taken:  # each thread saw its own numbers rise
        assert [seq for seq, _ in chunk] == sorted(seq for seq, _ in chunk)
    with ctx.read() as s:
        register = list_issued(s, admin, doc_type=PENALTY, year=2026)
        assert verify(s).ok, "writers took turns: the audit chain is whole"
    assert [v.seq for v in register] == seqs
    assert sum(v.voided for v in register) == THREADS * PER_THREAD // 5
    with ctx.unit_of_work(admin) as s:
        after = issue_document(s, admin, None, PENALTY, D(2026, 3, 3), pdf, {}, 1)
    assert after.seq == THREADS * PER_THREAD + 1  # voided numbers are never given again


def _issue_in_process(data_dir: str, actor: Actor, count: int, pdf: bytes, start: Any, out: Any) -> None:
    """Runs in a spawned process: opens the data folder itself, like a second copy of the program."""
    ctx = open_data_dir(Path(data_dir))
    try:
        start.wait(timeout=120)
        taken = []
        for k in range(count):
            with ctx.unit_of_work(actor, "出具文书") as s:
                view = issue_document(s, actor, None, PENALTY, D(2026, 4, 1), pdf, {"k": k}, 1)
            taken.append((view.seq, view.number))
        out.put(taken)
    except BaseException as exc:
        out.put(repr(exc))
        raise
    finally:
        ctx.close()


def test_processes_take_distinct_numbers(ctx: AppContext, admin: Actor) -> None:
    """4 programs (spawned processes) × 25 documents on one data folder: 100 distinct numbers."""
    mp = multiprocessing.get_context("spawn")
    start = mp.Barrier(PROCESSES)
    out = mp.Queue()
    pdf = tiny_pdf()
    procs = [
        mp.Process(target=_issue_in_process, args=(str(ctx.data_dir), admin, PER_PROCESS, pdf, start, out))
        for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(isinstance(r, list) for r in results), results
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    seqs = sorted(seq for chunk in results for seq, _ in chunk)
    assert seqs == list(range(1, PROCESSES * PER_PROCESS + 1))
    assert len({number for chunk in results for _, number in chunk}) == PROCESSES * PER_PROCESS
    with ctx.read() as s:
        assert len(list_issued(s, admin, year=2026)) == PROCESSES * PER_PROCESS
