"""The sync client against the district's real API app in-process (Starlette's test client
speaks HTTP to the ASGI app; signatures, JSON and status codes are the real ones): enrollment
and squad adoption, push and pull between two devices, conflicts seen on both devices and
resolved, and a schema version the district no longer accepts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from case_builders import forge_foreign_row, id_number
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.district.api import create_app
from app.district.service import create_squad, issue_code
from app.personnel.members import MemberInput, create_member, get_member, remove_member, update_member
from app.sync import client
from app.sync.transport import HttpTransport, SyncError
from db.engine import make_engine, sqlite_url
from db.models import ChangeLogEntry, Member, ServerChange, SyncConflict
from db.models.personnel import StaffCategory

PASSWORD = "test1234"


class District:
    def __init__(self, tmp: Path) -> None:
        self.engine = make_engine(sqlite_url(tmp / "district.sqlite3"))
        self.app = create_app(self.engine, tmp / "district-files")
        self.http = TestClient(self.app, base_url="http://district.test")
        self.sessions = sessionmaker(bind=self.engine)

    def code(self, squad: str = "车陂街综合行政执法队") -> str:
        with self.sessions.begin() as s:
            from app.district.service import list_squads

            if not any(q.name == squad for q in list_squads(s)):
                create_squad(s, squad)
            return issue_code(s, squad)

    def transport(self, ctx: AppContext) -> HttpTransport:
        return HttpTransport("http://district.test", client.device_key(ctx), ctx.device_id, client=self.http)


@pytest.fixture
def district(tmp_path: Path) -> Iterator[District]:
    d = District(tmp_path)
    yield d
    d.http.close()
    d.engine.dispose()


def _second_device(tmp_path: Path, district: District) -> tuple[AppContext, Actor]:
    other = open_data_dir(tmp_path / "second")
    client.enroll(other, None, district.transport(other), "http://district.test", district.code(), "外勤站")
    client.sync_once(other, district.transport(other))
    return other, authenticate(other, "admin", PASSWORD)


def test_two_devices_share_the_squads_rows(
    district: District, ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    result = client.enroll(
        ctx, admin, district.transport(ctx), "http://district.test", district.code(), "内勤电脑"
    )
    assert result.squad_id == ctx.squad_id and not result.adopted
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("王小明", id_number(), StaffCategory.CIVIL_SERVANT))
    before = client.status(ctx)
    assert before.outbox > 0 and before.oldest_unacked is not None
    report = client.sync_once(ctx, district.transport(ctx))
    assert report.pushed > 0 and report.rejected == 0
    after = client.status(ctx)
    assert after.outbox == 0 and after.last_sync is not None and after.last_error == ""

    other, other_admin = _second_device(tmp_path, district)
    assert other.squad_id == ctx.squad_id  # the fresh device took the squad
    with other.read() as s:
        assert s.scalar(select(Member.name).where(Member.id == member.id)) == "王小明"
    # A change made on the second device comes back to the first.
    with other.unit_of_work(other_admin, "修改队员") as s:
        view = get_member(s, other_admin, member.id)
        update_member(
            s, other_admin, member.id, MemberInput("王晓明", view.id_number, view.category), view.version
        )
    client.sync_once(other, district.transport(other))
    pulled = client.sync_once(ctx, district.transport(ctx))
    assert pulled.applied >= 1
    with ctx.read() as s:
        assert s.scalar(select(Member.name).where(Member.id == member.id)) == "王晓明"
    from app.audit import verify

    with ctx.read() as s:
        assert verify(s).ok  # rows that arrived by sync are in the audit chain


def test_concurrent_edits_are_a_conflict_on_both_devices(
    district: District, ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    client.enroll(ctx, admin, district.transport(ctx), "http://district.test", district.code())
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("李四", id_number(), StaffCategory.CIVIL_SERVANT))
    client.sync_once(ctx, district.transport(ctx))
    other, other_admin = _second_device(tmp_path, district)
    for device, actor, name in ((ctx, admin, "李四甲"), (other, other_admin, "李四乙")):
        with device.unit_of_work(actor, "修改队员") as s:
            view = get_member(s, actor, member.id)
            update_member(s, actor, member.id, MemberInput(name, view.id_number, view.category), view.version)
    client.sync_once(ctx, district.transport(ctx))
    client.sync_once(other, district.transport(other))
    client.sync_once(ctx, district.transport(ctx))
    names = set()
    for device in (ctx, other):
        with device.read() as s:
            names.add(s.scalar(select(Member.name).where(Member.id == member.id)))
        conflicts = client.list_conflicts(device)
        assert len(conflicts) == 1, device.data_dir  # seen on both devices
    assert len(names) == 1  # both ended with the same winner
    with district.sessions() as s:
        assert s.scalar(select(SyncConflict.resolved_at)) is None  # and at the district
    # The clerk on the first device takes the losing version; everyone follows.
    conflict = client.list_conflicts(ctx)[0]
    assert conflict.differences
    client.resolve_conflict(ctx, admin, conflict.id, client.TAKE_OTHER)
    client.sync_once(ctx, district.transport(ctx))
    client.sync_once(other, district.transport(other))
    loser_name = ({"李四甲", "李四乙"} - names).pop()
    for device in (ctx, other):
        with device.read() as s:
            assert s.scalar(select(Member.name).where(Member.id == member.id)) == loser_name
        assert client.list_conflicts(device) == []
    with district.sessions() as s:
        assert s.scalar(select(SyncConflict.resolution)) == "loser"


def test_an_old_schema_is_asked_to_upgrade_and_keeps_its_outbox(
    district: District, ctx: AppContext, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.enroll(ctx, admin, district.transport(ctx), "http://district.test", district.code())
    import app.sync.transport as transport_module

    monkeypatch.setattr(transport_module, "SCHEMA_VERSION", 3)
    with pytest.raises(SyncError) as refused:
        client.sync_once(ctx, district.transport(ctx))
    assert refused.value.code == "upgrade" and "升级" in refused.value.message
    state = client.status(ctx)
    assert state.outbox > 0 and "升级" in state.last_error and state.failures == 1
    with district.sessions() as s:
        assert s.scalar(select(ServerChange.server_seq)) is None
    monkeypatch.undo()
    client.sync_once(ctx, district.transport(ctx))
    assert client.status(ctx).outbox == 0


def test_a_refused_item_is_acknowledged_and_shown_on_the_device(
    district: District, ctx: AppContext, admin: Actor
) -> None:
    client.enroll(ctx, admin, district.transport(ctx), "http://district.test", district.code())
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("钱七", id_number(), StaffCategory.CIVIL_SERVANT))
    forge_foreign_row(ctx, admin, member.id)
    report = client.sync_once(ctx, district.transport(ctx))
    assert report.rejected == 1 and "拒收 1 条" in report.summary()
    state = client.status(ctx)
    assert state.outbox == 0 and state.rejections == 1  # acknowledged: the queue does not wedge
    [refused] = client.list_rejections(ctx)
    assert refused.row_id == "forged-row" and "其他中队" in refused.reason and refused.table_label == "队员"
    with district.sessions() as s:
        assert s.scalar(select(Member.id).where(Member.id == "forged-row")) is None


def test_an_edit_against_a_deletion_is_a_conflict_not_a_silent_delete(
    district: District, ctx: AppContext, admin: Actor, tmp_path: Path
) -> None:
    client.enroll(ctx, admin, district.transport(ctx), "http://district.test", district.code())
    with ctx.unit_of_work(admin, "新增队员") as s:
        member = create_member(s, admin, MemberInput("孙八", id_number(), StaffCategory.CIVIL_SERVANT))
    client.sync_once(ctx, district.transport(ctx))
    other, other_admin = _second_device(tmp_path, district)
    with ctx.unit_of_work(admin, "删除队员") as s:
        remove_member(s, admin, member.id)
    with other.unit_of_work(other_admin, "修改队员") as s:
        view = get_member(s, other_admin, member.id)
        update_member(
            s, other_admin, member.id, MemberInput("孙八八", view.id_number, view.category), view.version
        )
    for device in (ctx, other, ctx):
        client.sync_once(device, district.transport(device))
    states = set()
    for device in (ctx, other):
        with device.read() as s:
            row = s.get(Member, member.id)
            assert row is not None
            states.add((row.deleted, row.name, row.version))
        [conflict] = client.list_conflicts(device)
        assert conflict.table_label == "队员"
    assert len(states) == 1  # the same outcome everywhere, and the other version kept to choose


def test_a_push_batch_is_bounded_by_entries_and_by_size(ctx: AppContext) -> None:
    """A batch stops at PUSH_BATCH entries or at about PUSH_BATCH_BYTES of row images, whichever
    comes first, but always holds at least one entry; the next batch starts where it ended."""
    with ctx.read() as s:
        images = [len(p) for p in s.scalars(select(ChangeLogEntry.payload).order_by(ChangeLogEntry.seq))]
        whole = client.next_batch(s, 0, raw=True)
        assert whole is not None and whole.seq_to == len(images)
        by_count = client.next_batch(s, 0, limit=3, raw=True)
        assert by_count is not None and by_count.seq_to == 3
        by_size = client.next_batch(s, 0, raw=True, size=images[0] + images[1])
        assert by_size is not None and by_size.seq_to == 2
        one = client.next_batch(s, 0, raw=True, size=1)
        assert one is not None and (one.seq_from, one.seq_to) == (1, 1)
        rest = client.next_batch(s, one.seq_to, raw=True, size=1)
        assert rest is not None and (rest.seq_from, rest.seq_to) == (2, 2)
