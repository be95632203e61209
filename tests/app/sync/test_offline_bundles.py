"""Offline sync by USB bundle (离线同步文件), both sides, with real files: device data folders
(app.sync.offline) and a real migrated district SQLite database (app.district.bundles).

A round trip carries rows and attachments from one device through the district to another of
its squad and back. Every way a bundle can be wrong is refused with a Chinese message and
nothing of it applied on either side: one flipped bit, a cut-off copy, a foreign key or squad, a
gap, an answer carrying an older district release (no rollback). A bundle or answer imported a
second time is a no-op."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from case_builders import forge_foreign_row, id_number
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from app import files as store
from app.auth.roles import Actor, Role
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.district import service
from app.district.bundles import ImportResult, import_push_bundle
from app.district.releases import district_public_pem, publish_release
from app.leads import LeadInput, register_lead
from app.personnel.members import MemberInput, create_member, get_member, update_member
from app.sync import client, offline
from app.sync.bundle import BundleError, push_content, read_bundle, write_bundle
from app.sync.offline import ExportInfo, ImportInfo, export_bundle, import_answer
from db import migrate
from db.base import synced_tables
from db.engine import make_engine, sqlite_url, writer
from db.models import (
    CalendarOverride,
    DistrictDevice,
    DistrictFile,
    LeadPhoto,
    LocalMeta,
    Member,
    PushRejection,
    ServerChange,
    SyncConflict,
)
from db.models.leads import LeadSource
from db.models.personnel import StaffCategory

PASSWORD = "test1234"
SQUAD_NAME = "车陂街综合行政执法队"
OTHER_SQUAD = "员村街综合行政执法队"


# ---- the district ------------------------------------------------------------------------------


class District:
    """A real district database file and attachment folder, used as the CLI uses them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "district.sqlite3"
        self.files = folder / "district-files"
        self._open()

    def _open(self) -> None:
        self.engine = make_engine(sqlite_url(self.db))
        migrate.upgrade(self.engine, backup_dir=self.folder / "backups")
        self.sessions = sessionmaker(bind=writer(self.engine), expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def backup(self, target: Path) -> None:
        """A consistent copy of the database (SQLite's online backup)."""
        source, copy = sqlite3.connect(self.db), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()

    def restore(self, source: Path) -> None:
        """Put the database back as it was at ``source`` (a backup restored after a disk fault)."""
        self.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, self.db)
        self._open()

    def code(self, squad: str = SQUAD_NAME) -> str:
        with self.sessions.begin() as s:
            if not any(q.name == squad for q in service.list_squads(s)):
                service.create_squad(s, squad)
            return service.issue_code(s, squad)

    def enroll(self, ctx: AppContext, actor: Actor | None, squad: str = SQUAD_NAME, label: str = "") -> None:
        client.enroll(ctx, actor, EnrollOnly(self), "", self.code(squad), label)

    def take(self, bundle: Path, answer: Path) -> ImportResult:
        """``squaddesk-district bundle-import`` in one transaction."""
        with self.sessions.begin() as s:
            return import_push_bundle(s, bundle, answer, self.files)

    def state(self) -> dict[str, Any]:
        """Everything an import could change."""
        with self.sessions() as s:
            out: dict[str, Any] = {
                model.__tablename__: s.scalar(select(func.count()).select_from(model))
                for model in (ServerChange, DistrictFile, PushRejection, SyncConflict)
            }
            out["rows"] = {
                cls.__tablename__: s.scalar(select(func.count()).select_from(cls)) for cls in synced_tables()
            }
            out["devices"] = sorted(
                (d.id, d.acked_seq, d.last_bundle_hash, d.last_seen)
                for d in s.scalars(select(DistrictDevice))
            )
        out["files"] = sorted(str(p.relative_to(self.files)) for p in self.files.rglob("*") if p.is_file())
        return out


class EnrollOnly:
    """A Transport that enrolls through the district's service in-process (the device never goes
    online afterwards: everything else travels by bundle)."""

    def __init__(self, district: District) -> None:
        self.district = district

    def call(self, method: str, path: str, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        assert (method, path) == ("POST", "/v1/enroll") and json_body is not None
        with self.district.sessions.begin() as s:
            done = service.enroll(
                s,
                json_body["code"],
                json_body["device_id"],
                json_body["public_key"],
                json_body["squad_id"],
                json_body["label"],
            )
            return {
                "device_id": done.device_id,
                "squad_id": done.squad_id,
                "squad_name": done.squad_name,
                "district_key": district_public_pem(s),
            }

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:  # pragma: no cover
        raise AssertionError("offline devices upload nothing")

    def get_bytes(self, path: str) -> bytes:  # pragma: no cover
        raise AssertionError("offline devices download nothing")


@pytest.fixture
def district(tmp_path: Path) -> Iterator[District]:
    folder = tmp_path / "district"
    folder.mkdir()
    d = District(folder)
    yield d
    d.close()


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    """The USB stick."""
    folder = tmp_path / "stick"
    folder.mkdir()
    return folder


# ---- devices -----------------------------------------------------------------------------------


@pytest.fixture
def enrolled(ctx: AppContext, admin: Actor, district: District) -> AppContext:
    district.enroll(ctx, admin, label="内勤电脑")
    return ctx


def fresh_device(
    tmp_path: Path, district: District, folder: str, label: str, squad: str = SQUAD_NAME
) -> AppContext:
    """A new installation enrolled for ``squad``: it takes the squad and gets its data by bundle."""
    other = open_data_dir(tmp_path / folder)
    district.enroll(other, None, squad, label)
    return other


def add_member(ctx: AppContext, actor: Actor, name: str) -> str:
    with ctx.unit_of_work(actor, "新增队员") as s:
        return create_member(s, actor, MemberInput(name, id_number(), StaffCategory.CIVIL_SERVANT)).id


def rename_member(ctx: AppContext, actor: Actor, member_id: str, name: str) -> None:
    with ctx.unit_of_work(actor, "修改队员") as s:
        view = get_member(s, actor, member_id)
        update_member(s, actor, member_id, MemberInput(name, view.id_number, view.category), view.version)


def member_name(ctx: AppContext, member_id: str) -> str | None:
    with ctx.read() as s:
        return s.scalar(select(Member.name).where(Member.id == member_id))


def register_lead_with_photos(ctx: AppContext, actor: Actor, folder: Path, seed: int) -> list[str]:
    """A clerk registers a lead with two photos; their sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for i in range(2):
        shot = folder / f"IMG_{seed}{i}.jpg"
        shot.write_bytes(b"\xff\xd8\xff\xe0" + hashlib.sha256(f"{seed}-{i}".encode()).digest() * 500)
        shots.append(shot)
    lead = LeadInput(
        source=LeadSource.PATROL,
        address="车陂路 123 号门前",
        description="占道经营：流动摊贩在人行道摆卖水果。",
        occurred_at=dt.datetime(2026, 3, 2, 9, 10),
        received_at=dt.datetime(2026, 3, 2, 9, 30),
        grid_zone="车陂第三网格",
    )
    with ctx.unit_of_work(actor, "登记案源") as s:
        register_lead(s, actor, lead, shots, store.files_dir(ctx.data_dir))
    return sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in shots)


def device_state(ctx: AppContext) -> dict[str, Any]:
    """Everything importing an answer could change on a device."""
    with ctx.read() as s:
        out: dict[str, Any] = {
            "meta": {m.key: m.value for m in s.scalars(select(LocalMeta)) if m.key.startswith("sync.")},
            "rows": {
                cls.__tablename__: s.scalar(select(func.count()).select_from(cls)) for cls in synced_tables()
            },
            "conflicts": s.scalar(select(func.count()).select_from(SyncConflict)),
            "calendar": sorted((c.day, c.is_workday) for c in s.scalars(select(CalendarOverride))),
        }
    folder = store.files_dir(ctx.data_dir)
    out["files"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return out


def round_trip(
    ctx: AppContext, district: District, stick: Path, name: str
) -> tuple[ExportInfo, ImportResult, ImportInfo]:
    """Export on the device, import at the district, bring the answer back and import it."""
    exported = export_bundle(ctx, stick / f"{name}.zip")
    taken = district.take(exported.path, stick / f"{name}-answer.zip")
    answered = import_answer(ctx, taken.answer_path)
    return exported, taken, answered


def flipped(source: Path, target: Path, position: int) -> Path:
    data = bytearray(source.read_bytes())
    data[position] ^= 0x10
    target.write_bytes(bytes(data))
    return target


def truncated(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) * 2 // 3])
    return target


def calendar_file(folder: Path, day: dt.date) -> Path:
    path = folder / f"calendar-{day.isoformat()}.json"
    path.write_text(
        json.dumps(
            [{"day": day.isoformat(), "is_workday": False, "name": "区局统一调休"}], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    return path


def publish_calendar(district: District, folder: Path, day: dt.date) -> int:
    with district.sessions.begin() as s:
        info = publish_release(s, catalog=None, calendar=calendar_file(folder, day), templates=None, note="")
    return info.version


# ---- the round trip ------------------------------------------------------------------------------


def test_rows_and_attachments_travel_from_device_to_device_by_bundle(
    enrolled: AppContext,
    actors: dict[Role, Actor],
    district: District,
    stick: Path,
    tmp_path: Path,
) -> None:
    ctx, admin, clerk = enrolled, actors[Role.ADMIN], actors[Role.CLERK]
    member = add_member(ctx, admin, "王小明")
    photos = register_lead_with_photos(ctx, clerk, tmp_path / "camera", seed=1)
    outbox = client.status(ctx).outbox
    assert outbox > 0

    first = export_bundle(ctx, stick / "a-1.zip")
    assert first.entries == outbox and first.files == 2 and first.seq_from == 1 and not first.files_missing
    # Exporting acknowledges nothing: the next export carries the very same entries.
    assert client.status(ctx).outbox == outbox
    again = export_bundle(ctx, stick / "a-1-again.zip")
    assert (again.seq_from, again.seq_to, again.entries) == (first.seq_from, first.seq_to, first.entries)
    assert not list(stick.glob(".*"))  # no temporary file left beside them

    taken = district.take(first.path, stick / "a-1-answer.zip")
    assert not taken.replay and taken.applied > 0 and taken.rejected == 0 and taken.files_in == 2
    assert taken.acked_seq == first.seq_to and taken.answer_path.is_file()
    assert "已导入" in taken.summary
    with district.sessions() as s:
        assert s.scalar(select(Member.name).where(Member.id == member)) == "王小明"
        assert sorted(s.scalars(select(DistrictFile.sha256))) == photos
        device = s.get(DistrictDevice, ctx.device_id)
        assert device is not None and device.last_bundle_hash == first.sha256

    answered = import_answer(ctx, taken.answer_path)
    assert not answered.replay and answered.acked_seq == first.seq_to
    state = client.status(ctx)
    assert state.outbox == 0 and state.acked_seq == first.seq_to and state.last_sync is not None
    with ctx.read() as s:
        assert client.get_meta(s, offline.LAST_BUNDLE) == first.sha256

    # A fresh installation of the squad gets everything through its own round trip.
    other = fresh_device(tmp_path, district, "second", "外勤站")
    try:
        assert other.squad_id == ctx.squad_id
        _, to_other, into_other = round_trip(other, district, stick, "b-1")
        assert to_other.changes_out > 0 and to_other.files_out == 2
        assert into_other.report.applied > 0 and into_other.report.files_down == 2
        assert member_name(other, member) == "王小明"
        other_store = store.files_dir(other.data_dir)
        assert all(store.verify(other_store, sha) for sha in photos)
        with other.read() as s:
            assert sorted(s.scalars(select(LeadPhoto.sha256))) == photos
        other_admin = authenticate(other, "admin", PASSWORD)  # the users came too

        # And back: an edit and new photos made on the second device reach the first.
        rename_member(other, other_admin, member, "王晓明")
        other_clerk = authenticate(other, "user_clerk", PASSWORD)
        new_photos = register_lead_with_photos(other, other_clerk, tmp_path / "camera-2", seed=2)
        _, from_other, _ = round_trip(other, district, stick, "b-2")
        assert from_other.applied > 0 and from_other.files_in == 2
        _, to_first, into_first = round_trip(ctx, district, stick, "a-2")
        assert to_first.files_out == 2 and into_first.report.files_down == 2
        assert member_name(ctx, member) == "王晓明"
        assert all(store.verify(store.files_dir(ctx.data_dir), sha) for sha in new_photos)
        assert client.status(other).outbox == 0 and client.status(ctx).outbox == 0
    finally:
        other.close()
    from app.audit import verify

    with ctx.read() as s:
        assert verify(s).ok  # rows that arrived by bundle are in the audit chain


def test_a_second_export_before_the_answer_supersedes_the_first(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    """A field station exports every day; the answers come back later. The district takes the
    second bundle after the first (it carries the first's entries again, skipped), and either
    answer imports."""
    add_member(enrolled, admin, "甲")
    first = export_bundle(enrolled, stick / "day-1.zip")
    add_member(enrolled, admin, "乙")
    second = export_bundle(enrolled, stick / "day-2.zip")
    assert second.seq_from == first.seq_from and second.seq_to > first.seq_to
    one = district.take(first.path, stick / "day-1-answer.zip")
    two = district.take(second.path, stick / "day-2-answer.zip")
    assert not two.replay and two.skipped == first.entries and two.acked_seq == second.seq_to
    import_answer(enrolled, two.answer_path)
    older = import_answer(enrolled, one.answer_path)  # older, but nothing in it goes back
    assert older.acked_seq == second.seq_to and client.status(enrolled).outbox == 0
    with enrolled.read() as s:
        assert client.get_meta(s, offline.LAST_BUNDLE) == second.sha256
    # The next export chains on the last one the district took.
    add_member(enrolled, admin, "丙")
    third = export_bundle(enrolled, stick / "day-3.zip")
    assert third.seq_from == second.seq_to + 1
    assert not district.take(third.path, stick / "day-3-answer.zip").replay


# ---- replays ---------------------------------------------------------------------------------------


def test_a_push_bundle_imported_twice_is_taken_once(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    add_member(enrolled, admin, "王小明")
    exported = export_bundle(enrolled, stick / "push.zip")
    first = district.take(exported.path, stick / "answer-1.zip")
    before = district.state()
    again = district.take(exported.path, stick / "answer-2.zip")
    assert again.replay and again.applied == 0 and again.files_in == 0
    assert "已经导入过" in again.summary
    assert district.state() == before  # nothing taken
    # The second answer is a full answer all the same (for a device whose first answer was lost).
    assert again.answer_path.is_file() and again.acked_seq == first.acked_seq
    info = import_answer(enrolled, again.answer_path)
    assert not info.replay and client.status(enrolled).outbox == 0


def test_an_answer_imported_twice_is_applied_once(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    member = add_member(enrolled, admin, "王小明")
    round_trip(enrolled, district, stick, "a-1")
    other = fresh_device(tmp_path, district, "second", "外勤站")
    try:
        _, taken, first = round_trip(other, district, stick, "b-1")
        assert not first.replay and member_name(other, member) == "王小明"
        before = device_state(other)
        second = import_answer(other, taken.answer_path)
        assert second.replay and "已经导入过" in second.summary
        assert device_state(other) == before
    finally:
        other.close()


# ---- damaged files -----------------------------------------------------------------------------------


def test_one_flipped_bit_is_refused_on_both_sides(
    enrolled: AppContext,
    actors: dict[Role, Actor],
    district: District,
    stick: Path,
    tmp_path: Path,
) -> None:
    add_member(enrolled, actors[Role.ADMIN], "王小明")
    register_lead_with_photos(enrolled, actors[Role.CLERK], tmp_path / "camera", seed=3)
    exported = export_bundle(enrolled, stick / "push.zip")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    answers = tmp_path / "answers"
    answers.mkdir()
    size = exported.size
    before = district.state()
    for position in sorted({0, 40, size // 4, size // 2, 3 * size // 4, size - 200, size - 30, size - 1}):
        bad = flipped(exported.path, damaged / f"push-{position}.zip", position)
        with pytest.raises(BundleError) as refused:
            district.take(bad, answers / "answer.zip")
        assert refused.value.reason in {"checksum", "signature", "truncated", "format"}, position
        assert "未导入任何内容" in refused.value.message or "损坏" in refused.value.message
        assert district.state() == before, position
        assert list(answers.iterdir()) == []  # no answer, not even a temporary one

    taken = district.take(exported.path, stick / "answer.zip")
    device_before = device_state(enrolled)
    size = taken.answer_path.stat().st_size
    for position in sorted({0, size // 3, size // 2, size - 100, size - 1}):
        bad = flipped(taken.answer_path, damaged / f"answer-{position}.zip", position)
        with pytest.raises(BundleError) as refused:
            import_answer(enrolled, bad)
        assert refused.value.reason in {"checksum", "signature", "truncated", "format"}, position
        assert device_state(enrolled) == device_before, position
    import_answer(enrolled, taken.answer_path)
    assert client.status(enrolled).outbox == 0


def test_a_truncated_bundle_is_refused_on_both_sides(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    add_member(enrolled, admin, "王小明")
    exported = export_bundle(enrolled, stick / "push.zip")
    before = district.state()
    with pytest.raises(BundleError) as refused:
        district.take(truncated(exported.path, tmp_path / "cut.zip"), stick / "answer.zip")
    assert refused.value.reason == "truncated" and "不完整" in refused.value.message
    assert district.state() == before and not (stick / "answer.zip").exists()

    taken = district.take(exported.path, stick / "answer.zip")
    device_before = device_state(enrolled)
    with pytest.raises(BundleError) as refused:
        import_answer(enrolled, truncated(taken.answer_path, tmp_path / "cut-answer.zip"))
    assert refused.value.reason == "truncated"
    assert device_state(enrolled) == device_before


# ---- foreign keys and squads ------------------------------------------------------------------------


def test_a_bundle_signed_by_another_squads_device_is_refused(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    add_member(enrolled, admin, "王小明")
    genuine = export_bundle(enrolled, stick / "genuine.zip")
    stranger = fresh_device(tmp_path, district, "stranger", "员村外勤", squad=OTHER_SQUAD)
    try:
        assert stranger.squad_id != enrolled.squad_id
        theirs = export_bundle(stranger, stick / "stranger.zip")
        key = client.device_key(stranger)
        with district.sessions() as s:
            device = s.get(DistrictDevice, enrolled.device_id)
            assert device is not None
            public = device.public_key
        read = read_bundle(genuine.path, public, expect_kind="push")
        manifest = read.manifest

        def forge(target: Path, device_id: str, squad_id: str) -> Path:
            return write_bundle(
                target,
                kind="push",
                schema_version=manifest.schema_version,
                device_id=device_id,
                squad_id=squad_id,
                seq_from=manifest.seq_from,
                seq_to=manifest.seq_to,
                previous_hash=manifest.previous_hash,
                changes=read.changes,
                key=key,
            ).path

        before = district.state()
        # The first squad's device named, the other squad's device key: not its signature.
        with pytest.raises(BundleError) as refused:
            district.take(
                forge(tmp_path / "forged.zip", enrolled.device_id, str(enrolled.squad_id)), stick / "x.zip"
            )
        assert refused.value.reason == "signature" and "签名不符" in refused.value.message
        # Its own id and key, but the first squad named: another squad's file.
        with pytest.raises(BundleError) as refused:
            district.take(
                forge(tmp_path / "claimed.zip", stranger.device_id, str(enrolled.squad_id)), stick / "x.zip"
            )
        assert refused.value.reason == "foreign" and "其他中队" in refused.value.message
        assert district.state() == before and not (stick / "x.zip").exists()

        # Its genuine bundle is taken, and its answer is for it alone.
        answer = district.take(theirs.path, stick / "stranger-answer.zip").answer_path
        device_before = device_state(enrolled)
        with pytest.raises(BundleError) as refused:
            import_answer(enrolled, answer)
        assert refused.value.reason == "foreign"
        # An "answer" signed by anyone but the district is refused too.
        own = district.take(genuine.path, stick / "answer.zip").answer_path
        fake = read_bundle(own, enrolled_district_key(enrolled), expect_kind="answer")
        forged_answer = write_bundle(
            tmp_path / "forged-answer.zip",
            kind="answer",
            schema_version=fake.manifest.schema_version,
            device_id=enrolled.device_id,
            squad_id=str(enrolled.squad_id),
            seq_from=fake.manifest.seq_from,
            seq_to=fake.manifest.seq_to,
            previous_hash=fake.manifest.previous_hash,
            changes=fake.changes,
            key=key,
        ).path
        with pytest.raises(BundleError) as refused:
            import_answer(enrolled, forged_answer)
        assert refused.value.reason == "signature"
        assert device_state(enrolled) == device_before
    finally:
        stranger.close()


def enrolled_district_key(ctx: AppContext) -> str:
    with ctx.read() as s:
        return client.get_meta(s, client.DISTRICT_KEY) or ""


def test_a_revoked_device_is_refused(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    add_member(enrolled, admin, "王小明")
    exported = export_bundle(enrolled, stick / "push.zip")
    with district.sessions.begin() as s:
        service.revoke_device(s, enrolled.device_id)
    before = district.state()
    with pytest.raises(BundleError) as refused:
        district.take(exported.path, stick / "answer.zip")
    assert refused.value.reason == "revoked" and "停用" in refused.value.message
    assert district.state() == before and not (stick / "answer.zip").exists()


# ---- gaps ------------------------------------------------------------------------------------------------


def test_a_bundle_after_a_missing_one_is_refused(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    """The district's database is restored from a backup made before bundle 1 was taken: it
    never acknowledged bundle 1, so bundle 2 (which starts after it) must wait for it."""
    add_member(enrolled, admin, "甲")
    backup = tmp_path / "district-backup.sqlite3"
    district.backup(backup)
    first, _, _ = round_trip(enrolled, district, stick, "1")
    add_member(enrolled, admin, "乙")
    second = export_bundle(enrolled, stick / "2.zip")
    assert second.seq_from == first.seq_to + 1

    district.restore(backup)
    before = district.state()
    with pytest.raises(BundleError) as refused:
        district.take(second.path, stick / "2-answer.zip")
    assert refused.value.reason == "gap"
    assert f"{first.seq_from}–{first.seq_to}" in refused.value.message
    assert district.state() == before and not (stick / "2-answer.zip").exists()

    # Bundle 1 first, then bundle 2: both taken.
    district.take(first.path, stick / "1-again-answer.zip")
    taken = district.take(second.path, stick / "2-answer.zip")
    assert not taken.replay and taken.acked_seq == second.seq_to
    import_answer(enrolled, taken.answer_path)
    assert client.status(enrolled).outbox == 0


# ---- releases --------------------------------------------------------------------------------------------


def test_an_answer_with_an_older_release_is_refused(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    day_one, day_two = dt.date(2026, 10, 9), dt.date(2026, 10, 16)
    assert publish_calendar(district, tmp_path, day_one) == 1
    add_member(enrolled, admin, "甲")
    first = export_bundle(enrolled, stick / "1.zip")
    old = district.take(first.path, stick / "1-answer.zip")
    assert old.releases_out == (1,)

    assert publish_calendar(district, tmp_path, day_two) == 2
    add_member(enrolled, admin, "乙")
    second = export_bundle(enrolled, stick / "2.zip")  # before the first answer came back
    new = district.take(second.path, stick / "2-answer.zip")
    assert new.releases_out == (1, 2)
    installed = import_answer(enrolled, new.answer_path)
    assert installed.report.releases == [1, 2]
    with enrolled.read() as s:
        assert client.get_meta(s, client.RELEASE) == "2"
        assert {c.day for c in s.scalars(select(CalendarOverride))} >= {day_one, day_two}

    before = device_state(enrolled)
    with pytest.raises(BundleError) as refused:
        import_answer(enrolled, old.answer_path)
    assert refused.value.reason == "rollback"
    assert "第 1 版" in refused.value.message and "不能回退" in refused.value.message
    assert device_state(enrolled) == before


def test_a_push_bundle_says_what_the_answer_should_carry(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    """The device's cursor and release travel in the push bundle's first line, its conflict
    resolutions in their own lines — all under the device's signature."""
    add_member(enrolled, admin, "甲")
    exported = export_bundle(enrolled, stick / "push.zip")
    bundle = read_bundle(exported.path, client.device_key(enrolled).public_pem(), expect_kind="push")
    content = push_content(bundle)
    assert (content.cursor, content.release_version, content.exported) == (0, 0, ())
    assert [e["seq"] for e in content.entries] == sorted(e["seq"] for e in content.entries)
    assert content.resolved == [] and len(content.entries) == exported.entries


# ---- conflicts ---------------------------------------------------------------------------------------------


def test_conflicts_and_their_resolution_travel_by_bundle(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    ctx = enrolled
    member = add_member(ctx, admin, "李四")
    round_trip(ctx, district, stick, "a-1")
    other = fresh_device(tmp_path, district, "second", "外勤站")
    try:
        round_trip(other, district, stick, "b-1")
        other_admin = authenticate(other, "admin", PASSWORD)
        rename_member(ctx, admin, member, "李四甲")
        rename_member(other, other_admin, member, "李四乙")
        round_trip(ctx, district, stick, "a-2")
        _, taken, _ = round_trip(other, district, stick, "b-2")
        assert taken.conflicts == 1
        round_trip(ctx, district, stick, "a-3")
        names = {member_name(device, member) for device in (ctx, other)}
        assert len(names) == 1  # the same winner on both
        for device in (ctx, other):
            assert len(client.list_conflicts(device)) == 1, device.data_dir

        conflict = client.list_conflicts(ctx)[0]
        client.resolve_conflict(ctx, admin, conflict.id, client.TAKE_OTHER)
        exported, _, _ = round_trip(ctx, district, stick, "a-4")
        assert exported.resolutions == 1
        with ctx.read() as s:
            assert client.get_meta(s, client.PENDING_RESOLUTIONS) is None  # acknowledged
        with district.sessions() as s:
            assert s.scalar(select(SyncConflict.resolution)) == "loser"
        round_trip(other, district, stick, "b-3")
        loser = ({"李四甲", "李四乙"} - names).pop()
        for device in (ctx, other):
            assert member_name(device, member) == loser
            assert client.list_conflicts(device) == []
    finally:
        other.close()


# ---- the answer appears only with the district's commit -----------------------------------------------------


def test_no_answer_is_written_when_the_districts_transaction_rolls_back(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    add_member(enrolled, admin, "王小明")
    exported = export_bundle(enrolled, stick / "push.zip")
    answers = stick / "answers"
    answers.mkdir()
    before = district.state()
    with pytest.raises(RuntimeError), district.sessions.begin() as s:
        taken = import_push_bundle(s, exported.path, answers / "answer.zip", district.files)
        with s.begin_nested():  # a savepoint committing is not the district's commit
            pass
        assert not taken.answer_path.exists()
        raise RuntimeError("power cut before the commit")
    assert list(answers.iterdir()) == []  # neither the answer nor its temporary file
    state = district.state()
    assert {k: v for k, v in state.items() if k != "files"} == {
        k: v for k, v in before.items() if k != "files"
    }
    # (the attachment folder may keep verified files without rows: they are simply taken again)

    with district.sessions.begin() as s:
        taken = import_push_bundle(s, exported.path, answers / "answer.zip", district.files)
        with s.begin_nested():
            pass
        assert not taken.answer_path.exists()
    assert taken.answer_path.is_file() and [p.name for p in answers.iterdir()] == ["answer.zip"]
    import_answer(enrolled, taken.answer_path)
    assert client.status(enrolled).outbox == 0


def test_the_district_command_imports_a_bundle_and_writes_the_answer(
    enrolled: AppContext,
    admin: Actor,
    district: District,
    stick: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.district.cli import main

    member = add_member(enrolled, admin, "王小明")
    exported = export_bundle(enrolled, stick / "push.zip")
    answer = stick / "answer.zip"
    args = ["bundle-import", str(exported.path), "--answer", str(answer), "--db", sqlite_url(district.db)]
    assert main([*args, "--files", str(district.files)]) == 0
    out = capsys.readouterr().out
    assert "已导入" in out and str(answer) in out
    with district.sessions() as s:
        assert s.scalar(select(Member.name).where(Member.id == member)) == "王小明"
    assert import_answer(enrolled, answer).acked_seq == exported.seq_to

    # A damaged file: exit code 2, the reason on stderr, no answer.
    bad = flipped(exported.path, stick / "bad.zip", exported.size // 2)
    assert (
        main(
            [
                "bundle-import",
                str(bad),
                "--answer",
                str(stick / "bad-answer.zip"),
                "--db",
                sqlite_url(district.db),
            ]
        )
        == 2
    )
    assert "未导入任何内容" in capsys.readouterr().err
    assert not (stick / "bad-answer.zip").exists()


# ---- review fixes: locks, templates, refused items, replays, releases -----------------------------------


def template_folder(folder: Path, title: str) -> Path:
    """A district revision of the penalty-decision template, as the district publishes it."""
    from app.paths import resource_path

    out = folder / "district-templates"
    out.mkdir(exist_ok=True)
    data = json.loads(resource_path("templates", "penalty_decision.json").read_text(encoding="utf-8"))
    data.update(title=title, revision=int(data.get("revision", 1)) + 1)
    (out / "penalty_decision.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.fixture
def bundled_templates_only() -> Iterator[None]:
    """The district-template folder in use is a module global: leave none behind."""
    from app.documents.template import use_district_templates

    yield
    use_district_templates(None)


def test_the_devices_database_is_free_while_an_answers_attachments_are_copied(
    enrolled: AppContext,
    actors: dict[Role, Actor],
    district: District,
    stick: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copying attachments off a stick may take minutes: the device's write lock is not held
    meanwhile (another writer gets it at once), and the rows come after their files."""
    from app.paths import DB_FILE

    photos = register_lead_with_photos(enrolled, actors[Role.CLERK], tmp_path / "camera", seed=7)
    round_trip(enrolled, district, stick, "a-1")
    other = fresh_device(tmp_path, district, "second", "外勤站")
    try:
        exported = export_bundle(other, stick / "b-1.zip")
        taken = district.take(exported.path, stick / "b-1-answer.zip")
        assert taken.files_out == 2
        database = other.data_dir / DB_FILE
        copies: list[tuple[bool, int]] = []
        put_stream = store.put_stream

        def watched(*args: Any, **kwargs: Any) -> Any:
            probe = sqlite3.connect(database, timeout=0.2, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                free = True
            except sqlite3.OperationalError:
                free = False
            finally:
                probe.close()
            with other.read() as s:
                rows = s.scalar(select(func.count()).select_from(LeadPhoto)) or 0
            copies.append((free, rows))
            return put_stream(*args, **kwargs)

        monkeypatch.setattr(store, "put_stream", watched)
        answered = import_answer(other, taken.answer_path)
        assert answered.report.files_down == 2
        assert copies == [(True, 0), (True, 0)]  # no write lock held, no photo row yet
        assert all(store.verify(store.files_dir(other.data_dir), sha) for sha in photos)
        with other.read() as s:
            assert sorted(s.scalars(select(LeadPhoto.sha256))) == photos
    finally:
        other.close()


def test_the_district_takes_attachments_before_the_squads_lock(
    enrolled: AppContext,
    actors: dict[Role, Actor],
    district: District,
    stick: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The squad's lock (held until the district's commit) is not held while files are copied
    off the stick: the squad's other devices can sync meanwhile."""
    from app.district.files import FileStore

    register_lead_with_photos(enrolled, actors[Role.CLERK], tmp_path / "camera", seed=8)
    exported = export_bundle(enrolled, stick / "push.zip")
    events: list[str] = []
    lock, put_stream = service.lock_squad_stream, FileStore.put_stream

    def locking(*args: Any, **kwargs: Any) -> None:
        events.append("lock")
        lock(*args, **kwargs)

    def copying(*args: Any, **kwargs: Any) -> Any:
        events.append("file")
        return put_stream(*args, **kwargs)

    monkeypatch.setattr(service, "lock_squad_stream", locking)
    monkeypatch.setattr(FileStore, "put_stream", copying)
    taken = district.take(exported.path, stick / "answer.zip")
    assert taken.files_in == 2 and not taken.replay
    assert events[:2] == ["file", "file"] and "lock" in events and "file" not in events[2:]


def test_a_refused_answer_installs_no_district_template(
    enrolled: AppContext,
    admin: Actor,
    district: District,
    stick: Path,
    tmp_path: Path,
    bundled_templates_only: None,
) -> None:
    """Templates are files beside the database: they appear only with the import's commit."""
    from app.errors import Cancelled
    from app.progress import Progress

    title = "行政处罚决定书（区局修订）"
    with district.sessions.begin() as s:
        publish_release(s, catalog=None, calendar=None, templates=template_folder(tmp_path, title), note="")
    add_member(enrolled, admin, "甲")
    exported = export_bundle(enrolled, stick / "push.zip")
    taken = district.take(exported.path, stick / "answer.zip")
    assert taken.releases_out == (1,)
    folder = enrolled.data_dir / "templates"
    before = device_state(enrolled)

    def cancel_after_receiving(done: int, total: int, text: str) -> None:
        if text.startswith("正在接收"):  # inside the transaction, before the release is applied
            clerk.cancel()

    clerk = Progress(cancel_after_receiving)
    with pytest.raises(Cancelled):
        import_answer(enrolled, taken.answer_path, progress=clerk)
    assert device_state(enrolled) == before
    assert not folder.exists() or list(folder.iterdir()) == []  # no template, no temporary file

    installed = import_answer(enrolled, taken.answer_path)
    assert installed.report.releases == [1]
    shipped = folder / "penalty_decision.json"
    assert json.loads(shipped.read_text(encoding="utf-8"))["title"] == title
    assert [p.name for p in folder.iterdir()] == ["penalty_decision.json"]


def test_the_items_the_district_refused_come_back_with_their_reasons(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    forge_foreign_row(enrolled, admin, add_member(enrolled, admin, "钱七"))
    exported = export_bundle(enrolled, stick / "push.zip")
    first = district.take(exported.path, stick / "answer-1.zip")
    assert first.rejected == 1 and not first.replay
    # The first answer is lost on the way; the district imports the bundle again (a replay),
    # and its answer still names what was refused.
    again = district.take(exported.path, stick / "answer-2.zip")
    assert again.replay
    answered = import_answer(enrolled, again.answer_path)
    assert answered.report.rejected == 1 and "拒收 1 条" in answered.summary
    state = client.status(enrolled)
    assert state.outbox == 0 and state.rejections == 1
    [refused] = client.list_rejections(enrolled)
    assert refused.row_id == "forged-row" and "其他中队" in refused.reason and refused.table_label == "队员"
    assert refused.at is not None
    # The lost answer turning up later adds nothing twice.
    import_answer(enrolled, first.answer_path)
    assert client.status(enrolled).rejections == 1


def test_a_device_restored_from_an_old_backup_is_refused_not_acknowledged(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    """The device's data folder is restored from a backup made before its last export: its new
    changes carry sequence numbers the district has taken — with other content. They must not be
    acknowledged as already received (they would never reach the district)."""
    from app.paths import DB_FILE

    database = enrolled.data_dir / DB_FILE
    backup = tmp_path / "device-backup.sqlite3"
    source, copy = sqlite3.connect(database), sqlite3.connect(backup)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    add_member(enrolled, admin, "甲")
    add_member(enrolled, admin, "丙")
    taken = district.take(export_bundle(enrolled, stick / "1.zip").path, stick / "1-answer.zip")

    enrolled.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, database)
    restored = open_data_dir(enrolled.data_dir)
    try:
        add_member(restored, admin, "乙")
        again = export_bundle(restored, stick / "1-restored.zip")
        assert again.seq_from == 1 and again.seq_to <= taken.acked_seq  # numbers already taken
        before = district.state()
        with pytest.raises(BundleError) as refused:
            district.take(again.path, stick / "restored-answer.zip")
        assert refused.value.reason == "chain"
        assert "备份" in refused.value.message and "未导入任何内容" in refused.value.message
        assert district.state() == before and not (stick / "restored-answer.zip").exists()
    finally:
        restored.close()


def test_an_older_bundle_taken_before_is_still_a_replay(
    enrolled: AppContext, admin: Actor, district: District, stick: Path
) -> None:
    """Known by its hash: a bundle the district took, imported again after a newer one."""
    add_member(enrolled, admin, "甲")
    first, _, _ = round_trip(enrolled, district, stick, "1")
    add_member(enrolled, admin, "乙")
    round_trip(enrolled, district, stick, "2")
    before = district.state()
    again = district.take(first.path, stick / "1-again-answer.zip")
    assert again.replay and district.state() == before
    assert import_answer(enrolled, again.answer_path).acked_seq > first.seq_to


def test_releases_installed_meanwhile_are_skipped_not_refused(
    enrolled: AppContext, admin: Actor, district: District, stick: Path, tmp_path: Path
) -> None:
    """An answer carrying releases 1 and 2 on a device that got 2 online meanwhile is imported;
    from one carrying 1–3 only 3 is installed."""
    from app.auth.roles import SYSTEM
    from app.district.releases import releases_after

    days = [dt.date(2026, 10, 9), dt.date(2026, 10, 16), dt.date(2026, 10, 23)]
    for version, day in enumerate(days[:2], start=1):
        assert publish_calendar(district, tmp_path, day) == version
    add_member(enrolled, admin, "甲")
    first = district.take(export_bundle(enrolled, stick / "1.zip").path, stick / "1-answer.zip")
    assert first.releases_out == (1, 2)
    assert publish_calendar(district, tmp_path, days[2]) == 3
    add_member(enrolled, admin, "乙")
    second = district.take(export_bundle(enrolled, stick / "2.zip").path, stick / "2-answer.zip")
    assert second.releases_out == (1, 2, 3)

    # Releases 1 and 2 arrive by an online sync meanwhile.
    with district.sessions() as s:
        online = releases_after(s, 0)[:2]
    with enrolled.unit_of_work(SYSTEM, "同步接收") as s:
        for item in online:
            client.apply_release_item(enrolled, s, item)

    older = import_answer(enrolled, first.answer_path)
    assert older.report.releases == [] and older.acked_seq == first.acked_seq
    newer = import_answer(enrolled, second.answer_path)
    assert newer.report.releases == [3]
    with enrolled.read() as s:
        assert client.get_meta(s, client.RELEASE) == "3"
        assert {c.day for c in s.scalars(select(CalendarOverride))} >= set(days)
    assert client.status(enrolled).outbox == 0
