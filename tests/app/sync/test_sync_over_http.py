"""Sync against a real district server process on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from case_builders import id_number
from district_server import DistrictServer
from sqlalchemy import select

from app.auth.roles import Actor
from app.context import AppContext, open_data_dir
from app.personnel.members import MemberInput, create_member
from app.sync import client
from db.models import Member
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
