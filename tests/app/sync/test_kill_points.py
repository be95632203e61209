"""SIGKILL at every boundary of a sync, then resume: nothing lost, nothing twice.

A device (the set-up squad of the ``ctx`` fixture) syncs with a real district server process
(the ``district_server`` fixture: SQLite and PostgreSQL) while a second device of the squad
edits alongside. Each round the device makes a batch of changes that spans several push batches,
pull pages and attachment chunks (the sizes are lowered for the test: see :data:`LIMITS`): new
members, edits of older ones, and a lead with two photos. Then one kill point is armed
(app.sync.faults, ``SQUADDESK_KILL_AT=name:N``):

* on the device, the sync runs in a process of its own (tests/sync_child.py) that SIGKILLs
  itself at the N-th time it reaches the point — before a push batch is sent, after the district
  answered but before the ack is stored, after the ack is stored, before and after a pull answer
  is applied, after an attachment chunk was sent — and a clean run in a fresh process resumes;
* on the district, the server is restarted with the point armed, the device's sync fails with a
  transient error when the server SIGKILLs itself (after a push or pull transaction committed
  but before it answered, after an attachment chunk committed), the server is restarted and the
  device resumes.

After every kill and resume :func:`check_converged` asserts: the district holds exactly the
device's rows (every synced row of the squad, by id, version, writer and HLC stamp); no
(device, sequence) was taken twice; the outbox is empty and both sides agree on the ack; every
photo the squad's rows name is on the district, whole, and hash-verifies. Then (at the start of
the next round, and at the end) :func:`check_second_device`: the second device syncs and holds
exactly the district's rows, and verified copies of the photos.

The kill points are plain: :data:`CLIENT_PLAN` × :data:`CYCLES` rounds of client kills and
:data:`SERVER_PLAN` of server kills per database, :data:`TOTAL_KILL_POINTS` in all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from district_server import DistrictServer
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session
from sync_child import ROOT, ChildRunner, limits

from app import files as device_store
from app.auth.roles import Actor
from app.context import AppContext, open_data_dir
from app.district.files import FileStore
from app.leads import LeadInput, register_lead
from app.paths import DB_FILE
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.sync import client, faults
from app.sync.faults import ENV as KILL_ENV
from app.sync.transport import SyncError
from db.base import synced_tables
from db.models import ChangeLogEntry, DistrictDevice, DistrictFile, LeadPhoto, Member, ServerChange
from db.models.leads import LeadSource
from db.models.personnel import StaffCategory

# ---- sizes: small enough that one round spans several batches, pages and chunks ----------------

PUSH_BATCH = 4
PULL_LIMIT = 4
CHUNK = 1024
LIMITS = {
    "SQUADDESK_PUSH_BATCH": str(PUSH_BATCH),
    "SQUADDESK_PULL_LIMIT": str(PULL_LIMIT),
    "SQUADDESK_CHUNK_SIZE": str(CHUNK),
}
#: New members the device makes each round; with the 2 edits, the lead and its 2 photos: 15
#: change-log entries = 4 push batches.
NEW_MEMBERS = 10
PHOTOS = 2
#: Photo size: 3 chunks each.
PHOTO_BYTES = 2 * CHUNK + 300

#: The device's kill points and how often one round's sync reaches each (the kill plan takes
#: every occurrence): 4 push batches; 5 pull pages (the 15 own changes and the other device's 3
#: share the pages, 4 to a page); 2 photos of 3 chunks.
CLIENT_POINTS = {
    "client.push.before_send": 4,
    "client.push.answered": 4,
    "client.push.acked": 4,
    "client.pull.before_apply": 5,
    "client.pull.applied": 5,
    "client.file.chunk_sent": 6,
}
CLIENT_PLAN = [(name, n) for name, count in CLIENT_POINTS.items() for n in range(1, count + 1)]


@dataclass(frozen=True)
class Cycle:
    """One pass over :data:`CLIENT_PLAN`, the round's changes laid out differently."""

    #: How many of the new members come before the lead (and its photos) in the change log.
    lead_after: int
    #: The other device edits, the same round and before this device syncs, a member this
    #: device edits too: a conflict on the district, pulled back as one.
    conflict: bool = False


CYCLES = (
    Cycle(lead_after=0),
    Cycle(lead_after=5),
    Cycle(lead_after=NEW_MEMBERS),
    Cycle(lead_after=3, conflict=True),
)

#: The district's kill points and the occurrences taken (counted from the server's start).
SERVER_POINTS = {
    "server.push.committed": (2, 4),  # 4: the last batch
    "server.pull.committed": (1, 5),  # 5: the last page
    "server.file.chunk_committed": (3, 5),  # 3: the chunk that completes the first photo
}
SERVER_PLAN = [(name, n) for name, ns in SERVER_POINTS.items() for n in ns]

DATABASES = 2  # the district_server fixture runs each test on SQLite and on PostgreSQL
TOTAL_KILL_POINTS = DATABASES * (len(CLIENT_PLAN) * len(CYCLES) + len(SERVER_PLAN))
assert TOTAL_KILL_POINTS >= 200, TOTAL_KILL_POINTS

REFERENCE = client.REFERENCE_TABLES


# ---- the squad's two devices ---------------------------------------------------------------------


def _id_number(serial: int) -> str:
    born = dt.date(1970, 1, 1) + dt.timedelta(days=serial // 500)
    first17 = f"440106{born:%Y%m%d}{serial % 500:03d}"
    return first17 + check_digit(first17)


@dataclass
class Squad:
    server: DistrictServer
    device: AppContext  # the device whose sync is killed
    other: AppContext  # a second device of the squad: edits alongside, and pulls everything
    actor: Actor
    runner: ChildRunner
    camera: Path
    mine: list[str] = field(default_factory=list)  # members this device made
    serial: int = 0
    rounds: int = 0
    kills: int = 0

    @property
    def squad_id(self) -> str:
        return self.device.require_squad()

    def sync(self, ctx: AppContext) -> client.SyncReport:
        """A sync in this process: the killed device's with the test's small batches, the second
        device's with the real ones."""
        with self.server.transport(ctx) as transport:
            if ctx is self.other:
                return client.sync_once(ctx, transport)
            with limits(PUSH_BATCH, PULL_LIMIT, CHUNK):
                return client.sync_once(ctx, transport)

    def new_members(self, ctx: AppContext, count: int) -> list[str]:
        made = []
        with ctx.unit_of_work(self.actor, "新增队员") as s:
            for _ in range(count):
                self.serial += 1
                data = MemberInput(f"队员{self.serial}", _id_number(self.serial), StaffCategory.CAREER)
                made.append(create_member(s, self.actor, data).id)
        return made

    def edit(self, ctx: AppContext, member_ids: list[str], note: str) -> None:
        with ctx.unit_of_work(self.actor, "修改队员") as s:
            for member_id in member_ids:
                member = s.get(Member, member_id)
                assert member is not None
                member.note = note

    def lead(self, ctx: AppContext) -> None:
        shots = []
        for i in range(PHOTOS):
            shot = self.camera / f"IMG_{self.rounds:04d}_{i}.jpg"
            shot.write_bytes(b"\xff\xd8\xff\xe0" + photo_bytes(f"{self.squad_id}:{self.rounds}:{i}"))
            shots.append(shot)
        data = LeadInput(
            source=LeadSource.PATROL,
            address=f"车陂路 {self.rounds + 1} 号门前",
            description="占道经营：流动摊贩在人行道摆卖水果。",
            occurred_at=dt.datetime(2026, 3, 2, 9, 10),
            received_at=dt.datetime(2026, 3, 2, 9, 30),
        )
        with ctx.unit_of_work(self.actor, "登记案源") as s:
            register_lead(s, self.actor, data, shots, device_store.files_dir(ctx.data_dir))

    def round(self, cycle: Cycle) -> None:
        """The other device's edits (synced), then this device's changes (not yet synced)."""
        self.rounds += 1
        r = self.rounds
        mine = self.mine
        edited = [mine[(3 * r) % len(mine)], mine[(3 * r + 1) % len(mine)]]
        theirs = edited[0] if cycle.conflict else mine[(3 * r + 2) % len(mine)]
        self.new_members(self.other, 2)
        self.edit(self.other, [theirs], f"外勤站第 {r} 轮修改")
        check_second_device(self)
        self.mine += self.new_members(self.device, cycle.lead_after)
        self.lead(self.device)
        self.mine += self.new_members(self.device, NEW_MEMBERS - cycle.lead_after)
        self.edit(self.device, edited, f"内勤电脑第 {r} 轮修改")


def photo_bytes(seed: str) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < PHOTO_BYTES:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:PHOTO_BYTES])


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, templates: dict[bool, Path]) -> Iterator[ChildRunner]:
    """One fork server for the module: a device's sync in a fresh process costs a fork."""
    folder = tmp_path_factory.mktemp("sync-child")
    child = ChildRunner(folder / "child.log", env=LIMITS, template=templates[True])
    yield child
    child.close()


@pytest.fixture
def squad(
    district_server: DistrictServer,
    ctx: AppContext,
    admin: Actor,
    templates: dict[bool, Path],
    runner: ChildRunner,
    tmp_path: Path,
) -> Iterator[Squad]:
    server = district_server
    client.enroll(ctx, admin, server.transport(ctx), server.url, server.code(), "内勤电脑")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    shutil.copyfile(templates[False], other_dir / DB_FILE)
    other = open_data_dir(other_dir)
    camera = tmp_path / "camera"
    camera.mkdir()
    team = Squad(server, ctx, other, admin, runner, camera)
    try:
        team.mine = team.new_members(ctx, NEW_MEMBERS)
        team.sync(ctx)
        client.enroll(other, None, server.transport(other), server.url, server.code(), "外勤站")
        team.sync(other)
        team.sync(ctx)  # what the second device brought (its number blocks)
        check_converged(team)
        check_second_device(team)
        yield team
    finally:
        other.close()


# ---- what must hold after every kill and resume ------------------------------------------------------

Rows = dict[str, dict[str, tuple[int, str, str]]]


def synced_rows(session: Session, squad_id: str) -> Rows:
    """Every synced row of the squad, reference tables left out: table → id → (version,
    updated_by, updated_at)."""
    out: Rows = {}
    for cls in synced_tables():
        if cls.__tablename__ in REFERENCE:
            continue
        table = cast(Table, cls.__table__)
        query = select(table.c.id, table.c.version, table.c.updated_by, table.c.updated_at).where(
            table.c.squad_id == squad_id
        )
        out[cls.__tablename__] = {r[0]: (int(r[1]), str(r[2]), str(r[3])) for r in session.execute(query)}
    return out


def _differences(expected: Rows, actual: Rows) -> list[str]:
    lines = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name, {}), actual.get(name, {})
        for row_id in sorted(set(want) | set(got)):
            if want.get(row_id) != got.get(row_id):
                lines.append(f"{name} {row_id}: district {want.get(row_id)} device {got.get(row_id)}")
    return lines


def assert_same_rows(server_rows: Rows, device: AppContext, label: str, squad_id: str) -> None:
    with device.read() as s:
        rows = synced_rows(s, squad_id)
    diff = _differences(server_rows, rows)
    assert not diff, f"{label} differs from the district in {len(diff)} rows:\n" + "\n".join(diff[:20])


def check_second_device(team: Squad) -> None:
    """The second device syncs (sending its own edits of the round, if any, and pulling what the
    killed device sent) and then holds exactly the district's rows."""
    report = team.sync(team.other)
    assert report.rejected == 0
    with team.server.admin() as s:
        server_rows = synced_rows(s, team.squad_id)
    assert_same_rows(server_rows, team.other, "the second device", team.squad_id)
    # ... and the attachments those rows name, verified against their hashes.
    with team.other.read() as s:
        photos = set(s.scalars(select(LeadPhoto.sha256)))
    store_dir = device_store.files_dir(team.other.data_dir)
    assert all(device_store.verify(store_dir, sha) for sha in photos)


def check_converged(team: Squad) -> None:
    """After a kill and the resume: the killed device and the district hold the same rows, once
    each, the outbox is empty, and every attachment is whole on the district. (The second device
    pulls and is compared at the start of the next round, :func:`check_second_device`.)"""
    server, squad_id = team.server, team.squad_id
    with server.admin() as s:
        server_rows = synced_rows(s, squad_id)
        duplicates = s.execute(
            select(ServerChange.device_id, ServerChange.device_seq, func.count())
            .where(ServerChange.kind == "row")
            .group_by(ServerChange.device_id, ServerChange.device_seq)
            .having(func.count() > 1)
        ).all()
        server_acked = s.scalar(
            select(DistrictDevice.acked_seq).where(DistrictDevice.id == team.device.device_id)
        )
        photos = set(s.scalars(select(LeadPhoto.sha256).where(LeadPhoto.squad_id == squad_id)))
        held = {
            r.sha256: r.size for r in s.scalars(select(DistrictFile).where(DistrictFile.squad_id == squad_id))
        }
    assert not duplicates, f"(device, seq) taken twice: {duplicates[:5]}"
    assert sum(len(rows) for rows in server_rows.values()) > 0
    assert_same_rows(server_rows, team.device, "the killed device", squad_id)
    status = client.status(team.device)
    assert status.outbox == 0, f"{status.outbox} changes still in the outbox"
    with team.device.read() as s:
        last_seq = s.scalar(select(func.max(ChangeLogEntry.seq))) or 0
    assert status.acked_seq == server_acked == last_seq
    # Every attachment is there, whole, and hash-verifies on the district.
    assert photos <= set(held), f"attachments missing on the district: {photos - set(held)}"
    store = FileStore(server.files_dir)
    for sha in photos:
        data = store.path_of(sha).read_bytes()
        assert len(data) == held[sha] and hashlib.sha256(data).hexdigest() == sha, sha


# ---- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "killed"),
    [("", False), ("b", False), ("a", True), ("a:3", True), ("a:4", False), ("b,a:2", True)],
)
def test_a_kill_point_fires_at_its_nth_occurrence(spec: str, killed: bool) -> None:
    """``SQUADDESK_KILL_AT=name[:N]`` SIGKILLs the process the N-th time ``name`` is reached,
    and nothing else does."""
    script = "from app.sync.faults import checkpoint\nfor _ in range(3):\n    checkpoint('a')\nprint('done')"
    env = {**os.environ, "PYTHONPATH": str(ROOT), KILL_ENV: spec}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == ((-9, b"") if killed else (0, b"done")), done.stderr


def test_a_malformed_kill_point_is_an_error() -> None:
    for spec in ("a:0", "a:x", ":2"):
        with pytest.raises(ValueError):
            faults.parse(spec)
    assert faults.parse(" a:2, b ") == {"a": 2, "b": 1}


def test_device_killed_at_every_boundary_resumes(squad: Squad) -> None:
    """Each round: the device's sync SIGKILLed at one kill point, then a clean run in a fresh
    process; every occurrence of every client kill point, in every cycle."""
    team = squad
    for cycle in CYCLES:
        for name, occurrence in CLIENT_PLAN:
            spec = f"{name}:{occurrence}"
            team.round(cycle)
            code = team.runner.run(team.device.data_dir, team.server.url, {KILL_ENV: spec})
            assert code == -9, (
                f"{spec} ({cycle}): the sync was not killed (exit {code})\n{team.runner.log_tail()}"
            )
            team.kills += 1
            code = team.runner.run(team.device.data_dir, team.server.url)
            assert code == 0, f"resume after {spec} ({cycle}) failed (exit {code})\n{team.runner.log_tail()}"
            check_converged(team)
    check_second_device(team)
    assert team.kills == len(CLIENT_PLAN) * len(CYCLES)


def test_server_killed_at_every_boundary_resumes(squad: Squad) -> None:
    """Each round: the district restarted with one kill point armed; the device's sync fails
    (transient) when the server SIGKILLs itself; the server restarts and the device resumes."""
    team, server = squad, squad.server
    for name, occurrence in SERVER_PLAN:
        spec = f"{name}:{occurrence}"
        team.round(CYCLES[1])
        server.kill()
        server.start(env={KILL_ENV: spec})
        with pytest.raises(SyncError) as failed:
            team.sync(team.device)
        assert failed.value.transient, f"{spec}: {failed.value.code} {failed.value}"
        assert server.process is not None
        assert server.process.wait(timeout=30) == -9, f"{spec}: the server was not killed"
        team.kills += 1
        assert client.status(team.device).last_error
        server.start()
        code = team.runner.run(team.device.data_dir, server.url)
        assert code == 0, f"resume after {spec} failed (exit {code})\n{team.runner.log_tail()}"
        check_converged(team)
    check_second_device(team)
    assert team.kills == len(SERVER_PLAN)
