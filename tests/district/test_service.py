"""The district server's rules without HTTP, on a real migrated SQLite file and a real device
data folder: squads and one-time codes, enrollment binding the squad to the first device's id,
a pushed change-log batch taken once however often it is sent, gaps never applied past, and
every write a device may not make — another squad's row, a reference table, a revoked device —
stored as refused, never applied."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from case_builders import id_number
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.roles import Actor
from app.certificates import CertificateInput, add_certificate
from app.context import AppContext
from app.district.service import (
    REFERENCE_TABLES,
    PushGap,
    create_squad,
    device_for_request,
    enroll,
    issue_code,
    list_devices,
    pull,
    push,
    revoke_device,
)
from app.errors import PermissionDenied, ValidationError
from app.personnel.members import MemberInput, create_member
from db.models import ChangeLogEntry, DistrictDevice, Member, PushRejection, ServerChange
from db.models.personnel import CertificateKind, StaffCategory


@pytest.fixture
def server(district_sqlite: sessionmaker[Session]) -> sessionmaker[Session]:
    """The district's database: a migrated SQLite file (conftest.district_sqlite)."""
    return district_sqlite


def outbox(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.read() as s:
        rows = s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.seq))
        return [
            {
                "seq": r.seq,
                "table": r.table_name,
                "row_id": r.row_id,
                "base_version": r.base_version,
                "base_by": r.base_by,
                "payload": json.loads(r.payload),
            }
            for r in rows
        ]


def _enrolled(server: sessionmaker[Session], ctx: AppContext) -> str:
    with server.begin() as s:
        squad = create_squad(s, "车陂街综合行政执法队")
        code = issue_code(s, squad.id)
    with server.begin() as s:
        done = enroll(s, code, ctx.device_id, "PUBLIC KEY", ctx.squad_id, "内勤电脑")
    assert done.squad_id == ctx.squad_id  # the district's squad now carries the device's id
    return code


def test_a_code_enrolls_one_device_once(server: sessionmaker[Session], ctx: AppContext) -> None:
    code = _enrolled(server, ctx)
    with server.begin() as s, pytest.raises(PermissionDenied, match="登记码无效"):
        enroll(s, code, "another-device", "KEY", None)
    with server.begin() as s:
        fresh = issue_code(s, "车陂街综合行政执法队")
    with server.begin() as s, pytest.raises(PermissionDenied, match="另一个中队"):
        enroll(s, fresh, "third-device", "KEY", "some-other-squad")
    with server.begin() as s:
        assert [d.id for d in list_devices(s)] == [ctx.device_id]


def test_an_expired_code_is_refused(server: sessionmaker[Session], ctx: AppContext) -> None:
    with server.begin() as s:
        squad = create_squad(s, "试点中队")
        code = issue_code(s, squad.id, now=dt.datetime(2026, 1, 1))
    with server.begin() as s, pytest.raises(PermissionDenied, match="过期"):
        enroll(s, code, ctx.device_id, "KEY", ctx.squad_id)


def test_a_batch_is_taken_once_and_never_past_a_gap(
    server: sessionmaker[Session], ctx: AppContext, admin: Actor
) -> None:
    _enrolled(server, ctx)
    with ctx.unit_of_work(admin, "新增队员") as s:
        create_member(s, admin, MemberInput("王小明", id_number(), StaffCategory.CIVIL_SERVANT))
    entries = outbox(ctx)
    assert len(entries) > 3
    with server.begin() as s:
        device = device_for_request(s, ctx.device_id, "nonce-1")
        push(s, device, entries[:2])
    with server.begin() as s:
        device = device_for_request(s, ctx.device_id, "nonce-1b")
        with pytest.raises(PushGap) as gap:  # the third entry is missing: nothing after it is taken
            push(s, device, entries[3:])
    assert gap.value.acked_seq == 2
    with server() as s:
        assert s.scalar(select(func.count()).select_from(ServerChange)) == 2
    for nonce in ("nonce-2", "nonce-3"):  # the whole batch, then the same batch again
        with server.begin() as s:
            device = device_for_request(s, ctx.device_id, nonce)
            result = push(s, device, entries)
    assert result.acked_seq == entries[-1]["seq"] and result.skipped == len(entries)
    assert result.conflicts == 0
    with server() as s:
        taken = s.scalars(select(ServerChange.device_seq)).all()
        # Each exactly once; the bundled catalog's rows stay refused (only the district releases it).
        assert sorted(taken) == [e["seq"] for e in entries if e["table"] not in REFERENCE_TABLES]
        assert s.scalar(select(func.count()).select_from(PushRejection)) == len(entries) - len(taken)
        assert s.scalar(select(Member.name)) == "王小明"
    with server.begin() as s, pytest.raises(PermissionDenied, match="重复"):
        device_for_request(s, ctx.device_id, "nonce-3")


def test_foreign_rows_reference_tables_and_revoked_devices_are_refused(
    server: sessionmaker[Session], ctx: AppContext
) -> None:
    _enrolled(server, ctx)
    entries = outbox(ctx)
    with server.begin() as s:
        device = device_for_request(s, ctx.device_id, "n1")
        push(s, device, entries)
    member_like = next(e for e in entries if e["table"] == "users")
    seq = entries[-1]["seq"]
    forged = [
        # A row claiming another squad.
        {**member_like, "seq": seq + 1, "payload": {**member_like["payload"], "squad_id": "other-squad"}},
        # A reference table (only district releases change it).
        next({**e, "seq": seq + 2} for e in entries if e["table"].startswith("reference_")),
    ]
    with server.begin() as s:
        device = device_for_request(s, ctx.device_id, "n2")
        result = push(s, device, forged)
    assert (result.rejected, result.applied, result.acked_seq) == (2, 0, seq + 2)
    with server() as s:
        reasons = s.scalars(
            select(PushRejection.reason)
            .where(PushRejection.device_seq > seq)
            .order_by(PushRejection.device_seq)
        ).all()
        assert "其他中队" in reasons[0] and "区局发布" in reasons[1]
        assert s.scalar(select(DistrictDevice.acked_seq)) == seq + 2  # acknowledged, not wedged
    with server.begin() as s:
        revoke_device(s, ctx.device_id)
    with server.begin() as s, pytest.raises(PermissionDenied, match="停用"):
        device_for_request(s, ctx.device_id, "n3")


def _members_with_certificates(ctx: AppContext, admin: Actor, names: list[str]) -> None:
    with ctx.unit_of_work(admin, "新增队员") as s:
        for name in names:
            member = create_member(s, admin, MemberInput(name, id_number(), StaffCategory.CIVIL_SERVANT))
            add_certificate(
                s,
                admin,
                CertificateInput(
                    member.id,
                    CertificateKind.ENFORCEMENT,
                    f"粤A{len(name)}{uuid.uuid4().hex[:6]}",
                    valid_from=dt.date(2024, 1, 1),
                    valid_to=dt.date(2029, 1, 1),
                ),
            )


@pytest.mark.parametrize("more", [1, 24], ids=["small batch", "large batch"])
def test_what_the_database_refuses_is_refused_alone_and_the_rest_is_taken(
    district_db: sessionmaker[Session], ctx: AppContext, admin: Actor, more: int
) -> None:
    """A row the district's database cannot store (a parent it does not have, a date that is no
    date, a value too long for its column) is refused with its reason, and an insert over a row
    the district has is weighed as a concurrent edit; the entries around them are taken and the
    batch acknowledged, so the device's queue does not wedge. A large batch goes through COPY on
    PostgreSQL, a small one through INSERTs."""
    _enrolled(district_db, ctx)
    _members_with_certificates(ctx, admin, ["王小明"])
    first = outbox(ctx)
    with district_db.begin() as s:
        push(s, device_for_request(s, ctx.device_id, "n1"), first)
    seq = first[-1]["seq"]
    names = [f"队员{i}" for i in range(more)]
    _members_with_certificates(ctx, admin, names)
    later = [e for e in outbox(ctx) if e["seq"] > seq]
    certificate = next(e for e in first if e["table"] == "certificates")
    member_entry = next(e for e in first if e["table"] == "members")

    def copy_of(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
        new_id = str(uuid.uuid4())
        return {**entry, "row_id": new_id, "payload": {**entry["payload"], "id": new_id, **changes}}

    orphan = copy_of(certificate, member_id=str(uuid.uuid4()))  # a member the district does not have
    no_date = copy_of(certificate, number="粤B0001", valid_to="2029-13-45")
    # An insert of a row the district already has, under another version: a concurrent edit.
    twice = {**certificate, "payload": {**certificate["payload"], "version": 7, "number": "粤A0002"}}
    bad = [orphan, no_date, twice]
    expected = [(orphan["row_id"], "引用的记录区局没有"), (no_date["row_id"], "格式不正确")]
    if district_db.kw["bind"].dialect.name == "postgresql":  # SQLite does not check lengths
        too_long = copy_of(member_entry, name="王" * 51)
        bad.append(too_long)
        expected.append((too_long["row_id"], "长度超限"))
    batch = [{**e, "seq": seq + 1 + i} for i, e in enumerate(bad)]
    batch += [{**e, "seq": e["seq"] + len(bad)} for e in later]
    with district_db.begin() as s:
        result = push(s, device_for_request(s, ctx.device_id, "n2"), batch)
    assert result.acked_seq == batch[-1]["seq"]  # acknowledged, not wedged
    assert (result.applied, result.rejected, result.conflicts) == (len(later), len(expected), 1)
    with district_db() as s:
        refused = s.scalars(
            select(PushRejection).where(PushRejection.device_seq > seq).order_by(PushRejection.device_seq)
        ).all()
        assert [r.row_id for r in refused] == [row_id for row_id, _ in expected]
        assert all(reason in r.reason for r, (_, reason) in zip(refused, expected, strict=True))
        assert set(s.scalars(select(Member.name))) == {"王小明", *names}
        changed = set(s.scalars(select(ServerChange.row_id)))
        assert not changed & {row_id for row_id, _ in expected}
        assert {e["row_id"] for e in later} <= changed


def test_pull_hands_a_device_the_other_devices_changes(
    server: sessionmaker[Session], ctx: AppContext, tmp_path: Path
) -> None:
    _enrolled(server, ctx)
    with server.begin() as s:
        device = device_for_request(s, ctx.device_id, "n1")
        push(s, device, outbox(ctx))
        code = issue_code(s, ctx.squad_id or "")
    with server.begin() as s:
        enroll(s, code, "second-device", "KEY2", None)
    with server.begin() as s:
        second = device_for_request(s, "second-device", "n2")
        answer = pull(s, second, 0, limit=1)
        assert answer.more and len(answer.changes) == 1 and answer.cursor == 1
        everything = pull(s, second, 0, limit=10_000)
        own = pull(s, device_for_request(s, ctx.device_id, "n3"), 0)
    shared = [e for e in outbox(ctx) if e["table"] not in REFERENCE_TABLES]
    assert not everything.more and len(everything.changes) == len(shared)
    assert own.changes == [] and own.cursor == everything.cursor  # its own changes are not echoed


def test_enrolling_again_after_a_lost_answer_gives_the_same_answer(
    server: sessionmaker[Session], ctx: AppContext
) -> None:
    code = _enrolled(server, ctx)
    with server.begin() as s:  # the device never heard the answer and asks again with its code
        again = enroll(s, code, ctx.device_id, "PUBLIC KEY", ctx.squad_id, "内勤电脑")
    assert again.squad_id == ctx.squad_id
    with server.begin() as s, pytest.raises(ValidationError, match="已经登记过"):
        enroll(s, code, ctx.device_id, "ANOTHER KEY", ctx.squad_id)  # not with another key
    with server.begin() as s:
        assert len(list_devices(s)) == 1
