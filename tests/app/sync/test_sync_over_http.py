"""Sync against a real district server process on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from case_builders import id_number
from district_server import DistrictServer
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.documents.issuing import issue_document
from app.personnel.members import MemberInput, create_member
from app.sync import client
from db.models import IssuedDocument, Member
from db.models.personnel import StaffCategory


def test_rows_cross_between_devices_through_a_server_process(
    district_server: DistrictServer, ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    server = district_server
    client.enroll(ctx, admin, server.transport(ctx), server.url, server.code(), "内勤电脑")
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("赵六", id_number(), StaffCategory.CIVIL_SERVANT))
    client.sync_once(ctx, server.transport(ctx))
    other = open_data_dir(tmp_path / "second")
    client.enroll(other, None, server.transport(other), server.url, server.code(), "外勤站")
    report = client.sync_once(other, server.transport(other))
    assert report.applied > 0
    with other.read() as s:
        assert s.scalar(select(Member.name).where(Member.id == member.id)) == "赵六"
    # An empty sync changes nothing.
    again = client.sync_once(other, server.transport(other))
    assert (again.pushed, again.applied) == (0, 0)


def _tiny_pdf() -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
    pdf.drawString(72, 720, "SquadDesk")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def test_two_offline_devices_issuing_documents_never_share_a_number(
    district_server: DistrictServer, ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    server = district_server
    today = dt.date.today()
    with ctx.unit_of_work(admin, "出具文书") as s:  # numbered before the PC was enrolled
        issue_document(s, admin, None, "penalty_decision", today, _tiny_pdf(), {"k": 0}, 1)
    client.enroll(ctx, admin, server.transport(ctx), server.url, server.code(), "内勤电脑")
    client.sync_once(ctx, server.transport(ctx))  # pushes what it used, then leases blocks
    other = open_data_dir(tmp_path / "second")
    client.enroll(other, None, server.transport(other), server.url, server.code(), "外勤站")
    client.sync_once(other, server.transport(other))
    other_admin = authenticate(other, "admin", "test1234")
    # Both offline now: each issues from its own blocks.
    for device, actor in ((ctx, admin), (other, other_admin), (ctx, admin)):
        for n in range(12):
            with device.unit_of_work(actor, "出具文书") as s:
                issue_document(s, actor, None, "penalty_decision", today, _tiny_pdf(), {"k": n}, 1)
    for device in (ctx, other, ctx):
        client.sync_once(device, server.transport(device))
    numbers: dict[int, str] = {}
    for device in (ctx, other):
        with device.read() as s:
            for seq, by in s.execute(select(IssuedDocument.seq, IssuedDocument.updated_by)):
                assert numbers.setdefault(seq, by) == by, f"number {seq} issued on two PCs"
    assert len(numbers) == 1 + 12 * 3
    with server.admin() as s:  # the district holds them all, under its unique constraint
        assert sorted(s.scalars(select(IssuedDocument.seq))) == sorted(numbers)
