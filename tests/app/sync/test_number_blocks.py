"""Document-number blocks (号段) leased from the district (issue 6 item 10), on real SQLite files and
a real PostgreSQL: a device that numbered documents before it was enrolled closes its block at what
it used and the district's next block starts after it; two devices issuing offline from their
blocks never share a number (the district's unique register takes both pushes); an enrolled
device whose blocks are used up refuses in Chinese instead of granting itself numbers; and the
district's blocks of a register never overlap, however many requests and workers race."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import random
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.district import numbers as district_numbers
from app.district.numbers import DEFAULT_WANT, MAX_REQUESTS, MAX_WANT, grant_blocks, highest_seq
from app.district.service import create_squad, enroll, issue_code, push, revoke_device
from app.documents.issuing import issue_document
from app.documents.numbering import (
    DOC_TYPES,
    LeaseExhausted,
    grant_lease,
    is_enrolled,
    list_registers,
    next_number,
    register_id_for,
    set_pattern,
)
from app.errors import ConflictError, PermissionDenied, ValidationError
from app.paths import DB_FILE
from app.sync import numbers as device_numbers
from app.sync.numbers import (
    LOW_WATER,
    MIN_WANT,
    close_self_granted,
    install_grants,
    lease_requests,
)
from db import migrate
from db.engine import make_engine
from db.ids import new_id
from db.models import (
    ChangeLogEntry,
    DistrictDevice,
    DistrictSquad,
    IssuedDocument,
    LocalMeta,
    NumberBlock,
    NumberLease,
    NumberRegister,
)
from db.models.documents import LAST_SEQ, LeaseSource

PASSWORD = "test1234"
PENALTY = "penalty_decision"
CORRECTION = "correction_order"
TODAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 9, 0)


# ---- fixtures and a tiny sync client ------------------------------------------------------------


@pytest.fixture
def server(district_sqlite: sessionmaker[Session]) -> sessionmaker[Session]:
    """The district's database: a migrated SQLite file (conftest.district_sqlite)."""
    return district_sqlite


def second_device(templates: dict[bool, Path], folder: Path) -> AppContext:
    """Another installation of the same squad: its own data folder and its own device id (a copy
    of the set-up template, as the ``ctx`` fixture is, with a fresh device identity)."""
    folder.mkdir(parents=True)
    shutil.copyfile(templates[True], folder / DB_FILE)
    with sqlite3.connect(folder / DB_FILE) as conn:
        conn.execute("UPDATE local_meta SET value = ? WHERE key = 'device_id'", (new_id(),))
    conn.close()
    return open_data_dir(folder)


@pytest.fixture
def other(templates: dict[bool, Path], tmp_path: Path, ctx: AppContext) -> Iterator[AppContext]:
    device = second_device(templates, tmp_path / "second")
    assert device.device_id != ctx.device_id and device.squad_id == ctx.squad_id
    yield device
    device.close()


def enroll_all(server: sessionmaker[Session], *devices: AppContext) -> None:
    with server.begin() as s:
        squad = create_squad(s, "车陂街综合行政执法队")
    for device in devices:
        with server.begin() as s:
            code = issue_code(s, squad.name, now=NOW)  # its id changes at the first enrolment
        with server.begin() as s:
            enroll(s, code, device.device_id, "PUBLIC KEY", device.squad_id, "内勤电脑", now=NOW)


def push_outbox(server: sessionmaker[Session], device: AppContext) -> None:
    with device.read() as s:
        entries = [
            {"seq": r.seq, "table": r.table_name, "row_id": r.row_id, "payload": json.loads(r.payload)}
            for r in s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.seq))
        ]
    with server.begin() as s:
        result = push(s, s.get_one(DistrictDevice, device.device_id), entries)
    assert result.acked_seq == entries[-1]["seq"]


def enrol_device(device: AppContext, actor: Actor) -> list[device_numbers.ClosedLease]:
    with device.unit_of_work(actor, "登记本机") as s:
        return close_self_granted(s, device.device_id)


def lease(
    server: sessionmaker[Session],
    device: AppContext,
    actor: Actor,
    today: dt.date = TODAY,
    want: int | None = None,
) -> list[dict[str, Any]]:
    """One number round of a sync: push, ask for what runs low, install what is granted."""
    push_outbox(server, device)
    with device.read() as s:
        requests = lease_requests(s, device.device_id, today)
    if want is not None:
        requests = [{**r, "want": want} for r in requests]
    with server.begin() as s:
        grants = grant_blocks(s, s.get_one(DistrictDevice, device.device_id), requests, now=NOW)
    with device.unit_of_work(actor, "领取文号段") as s:
        install_grants(s, device.device_id, grants)
    return grants


def tiny_pdf() -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
    pdf.drawString(72, 720, "SquadDesk number blocks")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def issue(device: AppContext, actor: Actor, doc_type: str = PENALTY, on_day: dt.date = TODAY) -> int:
    with device.unit_of_work(actor, "出具文书") as s:
        return issue_document(s, actor, None, doc_type, on_day, tiny_pdf(), {"k": new_id()}, 1).seq


def grant_of(grants: list[dict[str, Any]], doc_type: str, year: int = TODAY.year) -> tuple[int, int]:
    (found,) = [g for g in grants if g["doc_type"] == doc_type and g["year"] == year]
    return found["first_seq"], found["last_seq"]


def assert_tiled(blocks: list[tuple[int, int]]) -> None:
    """Blocks of one register: never overlapping, each starting right after the one before."""
    ordered = sorted(blocks)
    assert ordered[0][0] == 1
    for (_, last), (first, _) in itertools.pairwise(ordered):
        assert first == last + 1, ordered


# ---- enrolment ----------------------------------------------------------------------------------


def test_a_device_closes_its_self_granted_lease_and_the_next_block_starts_after_it(
    server: sessionmaker[Session], ctx: AppContext, admin: Actor
) -> None:
    assert [issue(ctx, admin) for _ in range(3)] == [1, 2, 3]  # before sync: the whole range, self-granted
    register_id = register_id_for(ctx.require_squad(), CORRECTION, 2026)
    with ctx.unit_of_work(admin, "文号设置") as s:  # a register with a self-granted block never used
        assert (
            set_pattern(s, admin, CORRECTION, "{prefix}责改字〔{year}〕第{seq}号", year=2026).id
            == register_id
        )
        grant_lease(s, register_id, ctx.device_id, 1, LAST_SEQ, LeaseSource.DEVICE)
    enroll_all(server, ctx)

    closed = enrol_device(ctx, admin)
    assert [(c.doc_type, c.first_seq, c.last_seq, c.tombstoned) for c in closed] == [
        (CORRECTION, 1, 0, True),
        (PENALTY, 1, 3, False),
    ]
    assert enrol_device(ctx, admin) == []  # idempotent
    with ctx.read() as s:
        assert is_enrolled(s)
        leases = {r.register_id: r for r in s.scalars(select(NumberLease))}
        views = {v.doc_type: v for v in list_registers(s, admin)}
    assert leases[register_id].deleted and leases[register_id].last_seq == 0
    assert (views[PENALTY].next_here, views[PENALTY].free_here) == (None, 0)
    with pytest.raises(LeaseExhausted, match="本机的文号段已用完，请与区局同步领取新的文号段"):
        issue(ctx, admin)

    grants = lease(server, ctx, admin)
    assert grant_of(grants, PENALTY) == (4, 3 + DEFAULT_WANT)  # after the 3 numbers used
    assert grant_of(grants, CORRECTION) == (1, DEFAULT_WANT)  # the closed, unused block is no obstacle
    assert {(g["doc_type"], g["year"]) for g in grants} == {(code, 2026) for code in DOC_TYPES}
    with server() as s:
        assert highest_seq(s, ctx.require_squad(), PENALTY, 2026) == 3 + DEFAULT_WANT
    assert issue(ctx, admin) == 4
    assert issue(ctx, admin, CORRECTION) == 1

    with ctx.unit_of_work(admin, "再次领取") as s:  # the same answer again changes nothing
        assert install_grants(s, ctx.device_id, grants) == []
    with ctx.read() as s:
        assert lease_requests(s, ctx.device_id, TODAY) == []  # 200 free of every type: enough
        (penalty,) = [v for v in list_registers(s, admin) if v.doc_type == PENALTY]
    assert (penalty.next_here, penalty.free_here) == (5, DEFAULT_WANT - 1)


def test_a_lease_pushed_by_another_device_is_never_granted_again(
    server: sessionmaker[Session], ctx: AppContext, admin: Actor, other: AppContext
) -> None:
    """The district's highest number counts the leases devices pushed, not only its own blocks."""
    for _ in range(7):
        issue(ctx, admin)
    enroll_all(server, ctx, other)
    enrol_device(ctx, admin)
    push_outbox(server, ctx)  # the closed lease 1–7 reaches the district
    with server.begin() as s:
        grants = grant_blocks(
            s, s.get_one(DistrictDevice, other.device_id), [{"doc_type": PENALTY, "year": 2026}]
        )
    assert grant_of(grants, PENALTY) == (8, 7 + DEFAULT_WANT)
    # The district names the register as the first device made it, so the second makes the same row.
    assert grants[0]["register_id"] == register_id_for(ctx.require_squad(), PENALTY, 2026)


# ---- two devices offline ------------------------------------------------------------------------


def test_two_offline_devices_never_share_a_number(
    server: sessionmaker[Session], ctx: AppContext, admin: Actor, other: AppContext
) -> None:
    actor_b = authenticate(other, "admin", PASSWORD)
    issued_before = [issue(ctx, admin) for _ in range(5)]  # device A numbered before sync existed
    enroll_all(server, ctx, other)
    enrol_device(ctx, admin)
    enrol_device(other, actor_b)
    lease(server, ctx, admin, want=20)
    lease(server, other, actor_b, want=20)

    def issue_or_sync(device: AppContext, actor: Actor, doc_type: str) -> int:
        try:
            return issue(device, actor, doc_type)
        except LeaseExhausted as exc:  # offline no more: sync, and go on from the new block
            assert "本机的文号段已用完，请与区局同步领取新的文号段" in exc.message
            lease(server, device, actor, want=20)
            return issue(device, actor, doc_type)

    # Both offline: each issues from its own blocks until they run out, then syncs and goes on.
    seqs: dict[str, list[int]] = {ctx.device_id: list(issued_before), other.device_id: []}
    for device, actor, count in ((ctx, admin, 30), (other, actor_b, 30), (ctx, admin, 10)):
        for _ in range(count):
            seqs[device.device_id].append(issue_or_sync(device, actor, PENALTY))
            seqs[device.device_id].append(issue_or_sync(device, actor, CORRECTION))
    for device, actor in ((ctx, admin), (other, actor_b)):  # a last round of issuing after a sync
        lease(server, device, actor, want=20)
        for _ in range(15):
            seqs[device.device_id].append(issue(device, actor))

    numbers: dict[tuple[str, int], str] = {}
    for device in (ctx, other):
        with device.read() as s:
            for row in s.scalars(select(IssuedDocument)):
                key = (row.doc_type, row.seq)
                assert key not in numbers, f"{row.number} issued by two devices"
                numbers[key] = device.device_id
    assert len(numbers) == sum(len(v) for v in seqs.values()) == 5 + (30 + 30 + 10) * 2 + 2 * 15
    a_penalty = sorted(seq for (t, seq), d in numbers.items() if t == PENALTY and d == ctx.device_id)
    b_penalty = sorted(seq for (t, seq), d in numbers.items() if t == PENALTY and d == other.device_id)
    assert a_penalty[:6] == [1, 2, 3, 4, 5, 6] and b_penalty[0] == 26  # A: 1–5 then 6–25; B: 26–45
    assert not set(a_penalty) & set(b_penalty)

    # The district takes both devices' documents: its unique (squad, type, year, seq) holds.
    push_outbox(server, ctx)
    push_outbox(server, other)
    with server() as s:
        rows = s.execute(select(IssuedDocument.doc_type, IssuedDocument.seq)).all()
        blocks = s.execute(select(NumberBlock.doc_type, NumberBlock.first_seq, NumberBlock.last_seq)).all()
        registers = s.scalars(select(NumberRegister.id).where(NumberRegister.doc_type == PENALTY)).all()
    assert sorted((t, seq) for t, seq in rows) == sorted(numbers)
    assert registers == [register_id_for(ctx.require_squad(), PENALTY, 2026)]  # one register, one id
    for doc_type in (PENALTY, CORRECTION):
        assert_tiled([(1, 5)] * (doc_type == PENALTY) + [(f, la) for t, f, la in blocks if t == doc_type])


def test_registers_get_the_same_id_on_every_device(ctx: AppContext, admin: Actor, other: AppContext) -> None:
    """Two devices that each open a register offline make the same row, not two."""
    actor_b = authenticate(other, "admin", PASSWORD)
    with ctx.unit_of_work(admin) as s:
        next_number(s, PENALTY, 2027)
    with other.unit_of_work(actor_b) as s:
        install_grants(
            s, other.device_id, [{"doc_type": PENALTY, "year": 2027, "first_seq": 1, "last_seq": 9}]
        )
    with other.unit_of_work(actor_b) as s:
        set_pattern(s, actor_b, CORRECTION, "{prefix}责改字〔{year}〕第{seq}号", year=2027)
    expected = {register_id_for(ctx.require_squad(), code, 2027) for code in (PENALTY, CORRECTION)}
    with ctx.read() as s:
        ids_a = set(s.scalars(select(NumberRegister.id)))
    with other.read() as s:
        ids_b = set(s.scalars(select(NumberRegister.id)))
    assert ids_a == {register_id_for(ctx.require_squad(), PENALTY, 2027)}
    assert ids_b == expected


# ---- an enrolled device never grants itself numbers -----------------------------------------------


def test_an_enrolled_device_without_blocks_refuses_in_chinese(
    server: sessionmaker[Session], ctx: AppContext, admin: Actor
) -> None:
    enroll_all(server, ctx)
    enrol_device(ctx, admin)
    with pytest.raises(LeaseExhausted) as err:
        issue(ctx, admin, "spot_decision")  # no block of this register at all: never self-granted
    assert (
        err.value.message == "当场行政处罚决定书（2026 年）：本机的文号段已用完，请与区局同步领取新的文号段。"
    )
    with ctx.read() as s:
        assert s.scalar(select(NumberLease.id)) is None  # nothing granted, nothing kept
    # A small block is used up, then the device refuses again until it syncs.
    with server.begin() as s:
        grants = grant_blocks(
            s, s.get_one(DistrictDevice, ctx.device_id), [{"doc_type": PENALTY, "year": 2026, "want": 2}]
        )
    with ctx.unit_of_work(admin) as s:
        install_grants(s, ctx.device_id, grants)
    assert [issue(ctx, admin), issue(ctx, admin)] == [1, 2]
    with pytest.raises(LeaseExhausted, match="请与区局同步领取新的文号段"):
        issue(ctx, admin)


def test_the_district_key_alone_also_means_enrolled(ctx: AppContext, admin: Actor) -> None:
    with ctx.read() as s:
        assert not is_enrolled(s)
    with ctx.unit_of_work(admin) as s:
        s.add(LocalMeta(key="sync.district_key", value="-----BEGIN PUBLIC KEY-----"))
    with pytest.raises(LeaseExhausted), ctx.unit_of_work(admin) as s:
        next_number(s, PENALTY, 2026)


# ---- what a device asks for ---------------------------------------------------------------------


def test_lease_requests_follow_the_low_water_mark_and_the_use(ctx: AppContext, admin: Actor) -> None:
    with ctx.unit_of_work(admin) as s:
        close_self_granted(s, ctx.device_id)
    with ctx.read() as s:
        asked = lease_requests(s, ctx.device_id, TODAY)
        december = lease_requests(s, ctx.device_id, dt.date(2026, 12, 5))
    assert asked == [{"doc_type": code, "year": 2026, "want": MIN_WANT} for code in sorted(DOC_TYPES)]
    assert {(r["doc_type"], r["year"]) for r in december} == {(c, y) for c in DOC_TYPES for y in (2026, 2027)}

    squad = ctx.require_squad()
    with ctx.unit_of_work(admin) as s:
        install_grants(
            s,
            ctx.device_id,
            [
                {
                    "doc_type": code,
                    "year": 2026,
                    "first_seq": 1,
                    "last_seq": 60 if code == CORRECTION else 1_000,
                }
                for code in DOC_TYPES
            ],
        )
        # 600 penalty decisions in 61 days (10 a day): 14 days' worth is the low-water mark there.
        penalty = s.scalars(
            select(NumberLease).where(NumberLease.register_id == register_id_for(squad, PENALTY, 2026))
        ).one()
        penalty.next_seq = 601
        correction = s.scalars(
            select(NumberLease).where(NumberLease.register_id == register_id_for(squad, CORRECTION, 2026))
        ).one()
        correction.next_seq = 61 - LOW_WATER + 1  # one below the low-water mark left
    with ctx.read() as s:
        assert lease_requests(s, ctx.device_id, TODAY) == [
            {"doc_type": CORRECTION, "year": 2026, "want": MIN_WANT}
        ]
        later = lease_requests(s, ctx.device_id, dt.date(2026, 3, 2) + dt.timedelta(days=30))
    assert later == [{"doc_type": CORRECTION, "year": 2026, "want": MIN_WANT}]  # 600 in 91 days: 6.6/day
    with ctx.unit_of_work(admin) as s:
        penalty = s.scalars(
            select(NumberLease).where(NumberLease.register_id == register_id_for(squad, PENALTY, 2026))
        ).one()
        penalty.next_seq = 900  # 101 left, 899 used in 61 days: 14.7 a day, 14 days need 206
    with ctx.read() as s:
        asked = lease_requests(s, ctx.device_id, TODAY)
    assert asked == [
        {"doc_type": CORRECTION, "year": 2026, "want": MIN_WANT},
        {"doc_type": PENALTY, "year": 2026, "want": 885},  # 60 days of 899/61 a day
    ]
    with ctx.read() as s:  # in January, last year's registers this device numbered from too
        january = lease_requests(s, ctx.device_id, dt.date(2027, 1, 10))
    # (penalty 2026 has 101 left: enough for January, when this year's use is nil so far)
    assert {(r["doc_type"], r["year"]) for r in january} == {(c, 2027) for c in DOC_TYPES} | {
        (CORRECTION, 2026)
    }


def test_install_refuses_a_grant_over_numbers_already_used(ctx: AppContext, admin: Actor) -> None:
    for _ in range(3):
        issue(ctx, admin)
    with ctx.unit_of_work(admin) as s:
        close_self_granted(s, ctx.device_id)
    with pytest.raises(ConflictError, match="重叠"), ctx.unit_of_work(admin) as s:
        install_grants(
            s, ctx.device_id, [{"doc_type": PENALTY, "year": 2026, "first_seq": 3, "last_seq": 50}]
        )
    for bad in ({"doc_type": PENALTY, "year": "2026", "first_seq": 4, "last_seq": 9}, {"year": 2026}):
        with pytest.raises(ValidationError, match="区局发来的文号段无效"), ctx.unit_of_work(admin) as s:
            install_grants(s, ctx.device_id, [bad])


# ---- the district's grants ----------------------------------------------------------------------


def _devices(session: Session, squad_id: str, count: int) -> list[DistrictDevice]:
    if session.get(DistrictSquad, squad_id) is None:
        session.add(DistrictSquad(id=squad_id, name=f"中队{squad_id[-4:]}", created_at=NOW, bound_at=NOW))
    devices = [
        DistrictDevice(
            id=new_id(), squad_id=squad_id, label="", public_key="KEY", enrolled_at=NOW, acked_seq=0
        )
        for _ in range(count)
    ]
    session.add_all(devices)
    session.flush()
    return devices


def test_requests_are_validated_whole_in_chinese(server: sessionmaker[Session]) -> None:
    with server.begin() as s:
        device = _devices(s, new_id(), 1)[0]
    cases: list[tuple[Any, str]] = [
        ([{"doc_type": "seal_notice", "year": 2026}], "不是编号文书"),
        ([{"doc_type": "罚款", "year": 2026}], "文书类型代码"),
        ([{"doc_type": PENALTY, "year": 1999}], "2000–2027"),
        ([{"doc_type": PENALTY, "year": 2028}], "请检查本机的日期"),
        ([{"doc_type": PENALTY, "year": True}], "年份"),
        ([{"doc_type": PENALTY, "year": 2026, "want": 0}], "申请的文号数量"),
        ([{"doc_type": PENALTY, "year": 2026, "want": "many"}], "申请的文号数量"),
        ([{"doc_type": PENALTY, "year": 2026}] * (MAX_REQUESTS + 1), "请分批申请"),
        ({"doc_type": PENALTY}, "应为申请项的列表"),
        ([{"doc_type": PENALTY, "year": 2026}, {"year": 2026}], "缺少文书类型"),
    ]
    for requests, words in cases:
        with pytest.raises(ValidationError, match=words), server.begin() as s:
            grant_blocks(s, s.get_one(DistrictDevice, device.id), requests, now=NOW)
    with server() as s:  # nothing granted by a refused request, not even its valid items
        assert s.scalar(select(NumberBlock.id)) is None
    with server.begin() as s:
        big = grant_blocks(
            s,
            s.get_one(DistrictDevice, device.id),
            [{"doc_type": PENALTY, "year": 2027, "want": 10**6}],
            now=NOW,
        )
        assert grant_blocks(s, s.get_one(DistrictDevice, device.id), [], now=NOW) == []
    assert grant_of(big, PENALTY, 2027) == (1, MAX_WANT)
    with server.begin() as s:
        revoke_device(s, device.id)
    with pytest.raises(PermissionDenied, match="停用"), server.begin() as s:
        grant_blocks(s, s.get_one(DistrictDevice, device.id), [{"doc_type": PENALTY, "year": 2026}], now=NOW)


def test_a_used_up_register_gets_no_block(server: sessionmaker[Session]) -> None:
    squad_id = new_id()
    with server.begin() as s:
        device = _devices(s, squad_id, 1)[0]
        s.add(
            NumberBlock(
                squad_id=squad_id, doc_type=PENALTY, year=2026, device_id=device.id,
                first_seq=1, last_seq=LAST_SEQ - 10, granted_at=NOW,
            )
        )  # fmt: skip
    with server.begin() as s:
        me = s.get_one(DistrictDevice, device.id)
        requests = [{"doc_type": PENALTY, "year": 2026, "want": 100}] * 2 + [
            {"doc_type": CORRECTION, "year": 2026}
        ]
        grants = grant_blocks(s, me, requests, now=NOW)
    assert [(g["doc_type"], g["first_seq"], g["last_seq"]) for g in grants] == [
        (PENALTY, LAST_SEQ - 9, LAST_SEQ),  # cut at the register's end; the second ask gets nothing
        (CORRECTION, 1, DEFAULT_WANT),
    ]


def test_grants_never_overlap_under_many_requests(server: sessionmaker[Session]) -> None:
    rng = random.Random(6)
    squads = [new_id(), new_id()]
    with server.begin() as s:
        devices = [d.id for squad in squads for d in _devices(s, squad, 3)]
    types = [PENALTY, CORRECTION, "spot_decision"]
    for _ in range(150):
        requests = [
            {
                "doc_type": rng.choice(types),
                "year": rng.choice([2025, 2026, 2027]),
                "want": rng.randint(1, 400),
            }
            for _ in range(rng.randint(1, 6))
        ]
        with server.begin() as s:
            grants = grant_blocks(s, s.get_one(DistrictDevice, rng.choice(devices)), requests, now=NOW)
        assert [(g["doc_type"], g["year"], g["last_seq"] - g["first_seq"] + 1) for g in grants] == [
            (r["doc_type"], r["year"], r["want"]) for r in requests
        ]
    with server() as s:
        rows = s.execute(
            select(
                NumberBlock.squad_id,
                NumberBlock.doc_type,
                NumberBlock.year,
                NumberBlock.first_seq,
                NumberBlock.last_seq,
            )
        ).all()
    registers: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
    for squad, doc_type, year, first, last in rows:
        registers.setdefault((squad, doc_type, year), []).append((first, last))
    assert len(registers) > 10
    for blocks in registers.values():  # each squad's register numbers from 1 on its own
        assert_tiled(blocks)


# ---- PostgreSQL: several workers at once -----------------------------------------------------------


def test_concurrent_grants_on_postgresql_never_overlap(postgres_url: str) -> None:
    """Worker threads, each with its own connection, grant blocks of one squad's registers at
    once; the squad's advisory lock makes each read the block the one before committed. A lease a
    device pushed (the register 1–37 used before enrolment) is counted too."""
    engine = make_engine(postgres_url)
    try:
        migrate.upgrade(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        squad_id = new_id()
        with factory.begin() as s:
            devices = [d.id for d in _devices(s, squad_id, 4)]
            register = NumberRegister(
                id=register_id_for(squad_id, PENALTY, 2026), squad_id=squad_id, doc_type=PENALTY, year=2026,
                pattern="{prefix}罚决字〔{year}〕第{seq}号", seq_width=0, updated_at="0", updated_by=devices[0],
            )  # fmt: skip
            s.add(register)
            s.flush()
            s.add(
                NumberLease(
                    register_id=register.id, device_id=devices[0], source="device", first_seq=1, last_seq=37,
                    next_seq=38, squad_id=squad_id, updated_at="0", updated_by=devices[0],
                )
            )  # fmt: skip
        workers, rounds = 8, 15
        start = threading.Barrier(workers)
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                start.wait(timeout=30)
                for k in range(rounds):
                    with factory.begin() as s:
                        device = s.get_one(DistrictDevice, devices[index % len(devices)])
                        requests = [
                            {"doc_type": PENALTY, "year": 2026, "want": 3 + k},
                            {"doc_type": CORRECTION, "year": 2026, "want": 5},
                        ]
                        grant_blocks(s, device, requests, now=NOW)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with factory() as s:
            rows = s.execute(select(NumberBlock.doc_type, NumberBlock.first_seq, NumberBlock.last_seq)).all()
        penalty = [(f, la) for t, f, la in rows if t == PENALTY]
        correction = [(f, la) for t, f, la in rows if t == CORRECTION]
        assert len(penalty) == len(correction) == workers * rounds
        assert_tiled([(1, 37), *penalty])
        assert_tiled(correction)
        assert max(la for _, la in correction) == workers * rounds * 5
    finally:
        engine.dispose()


def test_the_squad_lock_is_what_keeps_postgresql_grants_apart(postgres_url: str) -> None:
    """Without the advisory lock two workers read the same highest number: the test above would
    catch it. Here the lock is held by one session while another tries to grant."""
    engine = make_engine(postgres_url)
    try:
        migrate.upgrade(engine)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        squad_id = new_id()
        with factory.begin() as s:
            device_id = _devices(s, squad_id, 1)[0].id
        holder = factory()
        holder.begin()
        district_numbers.lock_squad_numbers(holder, squad_id)
        done = threading.Event()

        def other() -> None:
            with factory.begin() as s:
                grant_blocks(
                    s, s.get_one(DistrictDevice, device_id), [{"doc_type": PENALTY, "year": 2026}], now=NOW
                )
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(1.0), "a grant went ahead while the squad's lock was held"
        holder.add(
            NumberBlock(
                squad_id=squad_id, doc_type=PENALTY, year=2026, device_id=device_id,
                first_seq=1, last_seq=50, granted_at=NOW,
            )
        )  # fmt: skip
        holder.commit()
        holder.close()
        thread.join(timeout=30)
        assert done.is_set()
        with factory() as s:
            blocks = sorted(
                (f, la) for f, la in s.execute(select(NumberBlock.first_seq, NumberBlock.last_seq))
            )
        assert blocks == [(1, 50), (51, 50 + DEFAULT_WANT)]
    finally:
        engine.dispose()
