"""Convergence of a squad's devices (issue 6, "Done when"): a Hypothesis state machine of five
devices in two squads against a real district server process on 127.0.0.1 — on a SQLite file and
on a real PostgreSQL database — with every request signed and sent over HTTP.

Each example enrolls fresh installations (copies of the migrated template, each with a device id
of its own) for two new squads on the one server process of its test, so examples do not
interfere; each device makes a member and all of them are shared before the first step. The
steps then

* edit rows on a device: members, and training records that point at a member (perhaps another
  device's) — inserts, edits, tombstones, rows made on other devices too, members whose id every
  device derives alike (as number registers are), and two devices changing one row side by side:
  an edit against an edit or against a deletion; clerks resolve conflicts either way;
* run each device on its own clock, a year fast or slow (its hybrid logical clock reads a skewed
  wall clock, which may jump by a year mid-run);
* take devices off the network and back, and sync one device (push and pull, or either half);
* deliver badly: an answer lost after the district committed, a push batch delivered again (same
  body, fresh signature), batches out of order (a later one first: refused with a gap, nothing
  taken), a pull from an older cursor (nothing may change).

Push batches and pull answers are cut to a few changes, so that one sync is several transactions
on both sides. At the end of every example everyone goes online and syncs until nothing moves;
then

* every device of a squad holds exactly the district's rows of that squad — every pushed table,
  every column, stamps included — and nothing of the other squad;
* every version any device made is the row's final version, was built on by a later one, or is
  kept as the loser of a recorded conflict: none is silently dropped;
* the district and every device of the squad list the same conflicts, resolved alike;
* the devices' audit chains are intact;
* rows really crossed: what one device made is on its squad mates (counted, and asserted).

``test_scripted_tour`` runs the same machine through a fixed script, with the real enrollment
(the bundled catalog, number blocks leased on every sync) and whole batches: the situations the
random runs found, and every fault at least once whatever Hypothesis draws. Set
``CONVERGENCE_EXAMPLES`` for a longer hunt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import shutil
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from district_server import DistrictServer, start_server
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy import Table, select

from app.audit import verify
from app.auth.roles import SYSTEM
from app.context import AppContext, open_data_dir
from app.district import service
from app.paths import DB_FILE
from app.sync import client
from app.sync.merge import same_content
from app.sync.transport import HttpTransport, SyncError
from db.base import Synced, synced_tables
from db.hlc import HybridLogicalClock
from db.ids import new_id
from db.models import ChangeLogEntry, Member, TrainingRecord
from db.models.personnel import StaffCategory

#: Devices per squad: three in the first (three-way races, versions relayed twice), two in the second.
SQUADS = (3, 2)
DEVICES = sum(SQUADS)
YEAR_MS = 365 * 24 * 3600 * 1000
SKEWS = (-YEAR_MS, 0, YEAR_MS)
#: Few values, so that two devices often write the same thing (side by side, yet no conflict).
NAMES = ("王一", "李二", "张三")
NOTES = ("", "借调", "病休")
PHONES = ("", "13800000000")
COURSES = ("法规", "执法记录仪")
HOURS = (1.5, 4.0)
#: What a clerk does, drawn with these weights ("add listed": a member whose id every device of
#: the squad derives alike, as number registers are, so two devices may insert the same row).
OPS = (
    "add member",
    "add listed",
    "add training",
    "edit member",
    "edit member",
    "edit training",
    "delete member",
    "delete training",
    "resolve",
)
LISTED = 2
CHOICES = (client.KEEP_CURRENT, client.TAKE_OTHER)
#: Whole rounds of syncing after which everything must have settled.
SETTLE_ROUNDS = 6
#: Every table whose rows the devices push (their copy of reference data stays home).
COMPARED = [cls for cls in synced_tables() if cls.__tablename__ not in client.REFERENCE_TABLES]

AFTER_RACE = ("nothing", "sync", "sync, resolve")
FAULTS = ("answer lost: push", "answer lost: pull", "push again", "out of order", "pull again")
device_index = st.integers(0, DEVICES - 1)
edited_table = st.sampled_from([Member, TrainingRecord])


def _note(text: str) -> None:
    if currently_in_test_context():
        note(text)


def _event(text: str) -> None:
    if currently_in_test_context():
        event(text)


# ---- one device ---------------------------------------------------------------------------------


class Link:
    """A device's line to the district: the real signed HTTP transport, plus the faults of a
    field network — off the net, or the answer lost after the district handled the request."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.online = True
        self.lose: set[str] = set()  # paths whose next answer is lost on the way back
        self.pushes: list[dict[str, Any]] = []  # bodies of the pushes the district answered

    def call(self, method: str, path: str, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.online:
            raise SyncError("离线", code="network", transient=True)
        answer = self.inner.call(method, path, json_body)
        if path == "/v1/push" and json_body is not None:
            self.pushes.append(json.loads(json.dumps(json_body)))
        if path in self.lose:
            self.lose.discard(path)
            raise SyncError("答复在路上丢失", code="network", transient=True)
        return answer

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:
        return self.inner.put_bytes(path, data)

    def get_bytes(self, path: str) -> bytes:
        return self.inner.get_bytes(path)


@dataclass
class Device:
    name: str
    squad: int
    ctx: AppContext
    link: Link
    skew_ms: int
    #: Row ids the machine made here.
    made: set[str] = field(default_factory=set)

    @property
    def squad_id(self) -> str:
        return self.ctx.require_squad()


def _use_skewed_clock(device: Device) -> None:
    """The device's own hybrid logical clock on a wall clock ``device.skew_ms`` off; the flush hook
    takes the clock from ``session.info``, so both session factories get it."""
    clock = HybridLogicalClock(wall=lambda: time.time_ns() // 1_000_000 + device.skew_ms)
    device.ctx.clock = clock
    for factory in (device.ctx._read, device.ctx._write):
        factory.kw["info"]["clock"] = clock


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


RowKey = tuple[str, str]
Rows = dict[RowKey, dict[str, Any]]
ConflictKey = tuple[str, str, int, str]


def read_rows(session: Any, squad_id: str | None = None) -> Rows:
    """(table, id) → every column, of every pushed table (one squad's rows only, when given)."""
    out: Rows = {}
    for cls in COMPARED:
        table = cast(Table, cls.__table__)
        query = select(table)
        if squad_id is not None:
            query = query.where(table.c.squad_id == squad_id)
        for r in session.execute(query).mappings():
            out[(cls.__tablename__, r["id"])] = {k: _plain(v) for k, v in r.items()}
    return out


def device_conflicts(ctx: AppContext) -> dict[ConflictKey, str | None]:
    """The conflicts a device's sync page lists, open and resolved: loser → how it was resolved
    (None while open)."""
    return {
        (c.table_name, c.row_id, c.loser[0], c.loser[1]): c.resolution
        for c in client.list_conflicts(ctx, include_resolved=True)
    }


def _same_rows(expected: Rows, actual: Rows, what: str) -> None:
    if expected == actual:
        return
    differ = {
        k: {c: (v, actual[k].get(c)) for c, v in expected[k].items() if v != actual[k].get(c)}
        for k in set(expected) & set(actual)
        if expected[k] != actual[k]
    }
    raise AssertionError(
        f"{what}: missing {sorted(set(expected) - set(actual))}, "
        f"extra {sorted(set(actual) - set(expected))}, differing {differ}"
    )


def _diff(a: dict[Any, Any], b: dict[Any, Any]) -> dict[Any, Any]:
    return {k: v for k, v in a.items() if k not in b or b[k] != v}


def _body(batch: client.Batch) -> dict[str, Any]:
    return {"seq_from": batch.seq_from, "seq_to": batch.seq_to, "entries": batch.entries, "resolved": []}


# ---- the machine --------------------------------------------------------------------------------


class Convergence(RuleBasedStateMachine):
    #: Set by :func:`machine_for`: the server, one HTTP connection pool for all devices (each
    #: request still signed by its device's key), a folder for the devices, the bare template.
    server: DistrictServer
    http: httpx.Client
    root: Path
    template: Path
    #: Totals over all examples of one test, checked at its end: the machine really did these things.
    stats: Counter[str]
    _numbers = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.devices: list[Device] = []
        self.number = next(self._numbers)
        self.folder = self.root / f"example-{self.number}"
        self.origin: dict[str, int] = {}  # row id → the device that made it

    # ---- set-up and the end ---------------------------------------------------------------------

    @initialize(skews=st.lists(st.sampled_from(SKEWS), min_size=DEVICES, max_size=DEVICES))
    def enroll_devices(self, skews: list[int]) -> None:
        """Fresh installations enroll for two new squads; each makes a member, and two rounds of
        syncing share them, so that there is something to work on from the first step."""
        tag = f"{self.number}-{new_id()[-6:]}"
        for squad, count in enumerate(SQUADS):
            for _ in range(count):
                self.devices.append(self._new_device(len(self.devices), squad, f"中队{tag}-{squad}", skews))
        _note(f"devices: {[(d.name, d.ctx.device_id, d.skew_ms // YEAR_MS) for d in self.devices]}")
        for d in range(DEVICES):
            self.add_member_on(d)
        for what in ("push", "pull"):
            for device in self.devices:
                assert self._sync(device, what) is not None

    def _new_device(self, index: int, squad: int, squad_name: str, skews: list[int]) -> Device:
        """A copy of the migrated template with a device id of its own, enrolled with a one-time
        code: it adopts the squad from the district, as a new PC does."""
        folder = self.folder / f"device-{index}"
        folder.mkdir(parents=True)
        shutil.copyfile(self.template, folder / DB_FILE)
        with contextlib.closing(sqlite3.connect(folder / DB_FILE)) as db, db:
            db.execute("UPDATE local_meta SET value = ? WHERE key = 'device_id'", (new_id(),))
        ctx = open_data_dir(folder)
        link = Link(HttpTransport(self.server.url, client.device_key(ctx), ctx.device_id, client=self.http))
        device = Device(f"d{index}", squad, ctx, link, skews[index])
        _use_skewed_clock(device)
        client.enroll(ctx, None, link, self.server.url, self.server.code(squad_name), device.name)
        return device

    def teardown(self) -> None:
        self.stats["examples"] += 1
        try:
            if self.devices and sys.exc_info()[1] is None:  # a failed step is reported as it is
                self.settle()
                self.check_converged()
        finally:
            for device in self.devices:
                device.ctx.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def settle(self) -> None:
        """Everyone online; sync round after round until a round moves nothing."""
        for device in self.devices:
            device.link.online = True
        for _ in range(SETTLE_ROUNDS):
            moved = False
            for device in self.devices:
                report = self._sync(device)
                assert report is not None
                moved |= bool(report.pushed or report.pulled)
            if not moved:
                return
        raise AssertionError(f"the devices still exchange changes after {SETTLE_ROUNDS} rounds")

    def check_converged(self) -> None:
        assert len({d.squad_id for d in self.devices}) == len(SQUADS)
        for squad in range(len(SQUADS)):
            mates = [d for d in self.devices if d.squad == squad]
            squad_id = mates[0].squad_id
            with self.server.admin() as s:
                district = read_rows(s, squad_id)
                head = service.server_head(s, squad_id)
                district_conflicts = {
                    (c.table_name, c.row_id, c.loser[0], c.loser[1]): c.resolution
                    for c in service.list_conflicts(s, squad_id)
                }
            crossed = 0
            for device in mates:
                with device.ctx.read() as s:
                    rows = read_rows(s)
                    if device is mates[self.number % len(mates)]:  # one device an example: it takes a while
                        assert verify(s).ok, f"{device.name}: audit chain broken"
                    assert int(client.get_meta(s, client.CURSOR) or 0) >= head
                _same_rows(district, rows, f"{device.name} against the district")
                foreign = {k for k, r in rows.items() if r["squad_id"] != squad_id}
                assert not foreign, f"{device.name} holds rows of another squad: {foreign}"
                for other in self.devices:
                    ids = {row_id for _table, row_id in rows}
                    if other.squad != squad:
                        assert not ids & other.made, f"{device.name} holds rows of {other.name}'s squad"
                    elif other is not device:
                        crossed += len(ids & other.made)
                listed = device_conflicts(device.ctx)
                assert listed == district_conflicts, (
                    f"{device.name} lists other conflicts than the district: "
                    f"only on the device {_diff(listed, district_conflicts)}, "
                    f"only at the district {_diff(district_conflicts, listed)}"
                )
            self._check_no_version_lost(mates, district, district_conflicts)
            assert crossed > 0, "no row crossed from one device to another"
            self.stats["rows crossed"] += crossed
            self.stats["conflicts at the end"] += len(district_conflicts)
            _event(f"squad {squad}: rows crossed {'<10' if crossed < 10 else '10+'}")
            _event(
                f"squad {squad}: conflicts {min(len(district_conflicts), 3)}{'+' * (len(district_conflicts) > 3)}"
            )

    def _check_no_version_lost(
        self, mates: list[Device], district: Rows, conflicts: dict[ConflictKey, str | None]
    ) -> None:
        """Every version a device made is the row's final one, was built on by a later one, or is
        a recorded conflict's loser — or says exactly what another version of the row says."""
        versions: dict[ConflictKey, dict[str, Any]] = {}
        continued: set[ConflictKey] = set()
        for device in mates:
            with device.ctx.read() as s:
                query = select(ChangeLogEntry).where(
                    ChangeLogEntry.table_name.not_in(client.REFERENCE_TABLES)
                )
                for e in s.scalars(query):
                    payload = json.loads(e.payload)
                    versions[(e.table_name, e.row_id, e.version, payload["updated_by"])] = payload
                    if e.base_version is not None and e.base_by is not None:
                        continued.add((e.table_name, e.row_id, e.base_version, e.base_by))
        for key, payload in versions.items():
            table, row_id, version, by = key
            final = district[(table, row_id)]
            if (
                (final["version"], final["updated_by"]) == (version, by)
                or key in continued
                or key in conflicts
            ):
                continue
            others = [p for k, p in versions.items() if k[:2] == key[:2] and k != key]
            assert any(same_content(payload, p) for p in others), (
                f"version {version} by {by} of {table} {row_id} was lost without a conflict"
            )

    # ---- what the steps do ----------------------------------------------------------------------

    def _mates(self, d: int) -> list[int]:
        """The devices of ``d``'s squad, ``d`` included."""
        return [i for i, m in enumerate(self.devices) if m.squad == self.devices[d].squad]

    def _ids(self, device: Device, cls: type[Synced], *, live: bool = True) -> list[str]:
        with device.ctx.read() as s:
            query = select(cls.id).order_by(cls.id)
            if live:
                query = query.where(cls.deleted.is_(False))
            return list(s.scalars(query))

    def add_member_on(self, d: int) -> str:
        device = self.devices[d]
        n = len(self.origin)
        with device.ctx.unit_of_work(SYSTEM, "新增队员") as s:
            member = Member(
                name=NAMES[n % len(NAMES)],
                id_number=f"44010619900101{n:04d}",
                category=StaffCategory.POLICE.value,
            )
            s.add(member)
        self.origin[member.id] = d
        device.made.add(member.id)
        self.stats["inserts"] += 1
        return member.id

    def add_listed_on(self, d: int, k: int) -> str:
        """A member whose id follows from the squad and ``k``: two devices may both insert it."""
        device = self.devices[d]
        row_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{device.squad_id}/{k}"))
        with device.ctx.unit_of_work(SYSTEM, "新增队员") as s:
            if s.get(Member, row_id) is not None:
                return row_id
            s.add(
                Member(
                    id=row_id,
                    name=NAMES[k],
                    id_number=f"4401061990010{k:05d}",
                    category=StaffCategory.POLICE.value,
                )
            )
        if self.origin.setdefault(row_id, d) == d:
            device.made.add(row_id)
        self.stats["inserts"] += 1
        return row_id

    def add_training_on(self, d: int, member_id: str, course: str, hours: float) -> str:
        """A row pointing at another (perhaps another device's member): the district must take
        the parent first, whatever order a batch names them in."""
        device = self.devices[d]
        with device.ctx.unit_of_work(SYSTEM, "登记培训") as s:
            record = TrainingRecord(member_id=member_id, day=dt.date(2024, 3, 1), course=course, hours=hours)
            s.add(record)
        self.origin[record.id] = d
        device.made.add(record.id)
        self.stats["inserts"] += 1
        return record.id

    def edit_on(self, d: int, table: type[Synced], row_id: str, column: str, value: Any) -> None:
        """Change one column of a row on a device (the flush hook stamps and logs it)."""
        with self.devices[d].ctx.unit_of_work(SYSTEM, "编辑") as s:
            row = s.get(table, row_id)
            assert row is not None
            setattr(row, column, value)
        self.stats["edits"] += 1
        if self.origin.get(row_id) != d:
            self.stats["edits of rows made elsewhere"] += 1

    def delete_on(self, d: int, table: type[Synced], row_id: str) -> None:
        with self.devices[d].ctx.unit_of_work(SYSTEM, "删除") as s:
            row = s.get(table, row_id)
            assert row is not None
            row.deleted = True
        self.stats["tombstones"] += 1

    def resolve_on(self, d: int, conflict_id: int, choice: str) -> None:
        """A clerk resolves a conflict: keeps the version in use, or takes the other one."""
        client.resolve_conflict(self.devices[d].ctx, SYSTEM, conflict_id, choice)
        self.stats["resolutions"] += 1

    def _draw_edit(self, d: int, table: type[Synced], row_id: str, data: st.DataObject) -> None:
        if table is Member:
            column = data.draw(st.sampled_from(["name", "note", "phone"]), label="column")
            values: Any = {"name": NAMES, "note": NOTES, "phone": PHONES}[column]
        else:
            column = data.draw(st.sampled_from(["course", "hours", "member_id"]), label="column")
            values = {"course": COURSES, "hours": HOURS}.get(column) or self._ids(
                self.devices[d], Member, live=False
            )
        self.edit_on(d, table, row_id, column, data.draw(st.sampled_from(values), label="value"))

    def _sync(self, device: Device, what: str = "sync") -> client.SyncReport | None:
        """A sync (or half of one) as the device runs it; off the network it fails, keeping
        everything for later. Any other failure is a fault of the sync itself."""
        report = client.SyncReport()
        try:
            if what == "push":
                client.push(device.ctx, device.link, report)
            elif what == "pull":
                client.pull(device.ctx, device.link, report)
            else:
                report = client.sync_once(device.ctx, device.link)
        except SyncError as exc:
            assert exc.code == "network", exc
            self.stats["network failures"] += 1
            return None
        self.stats["syncs"] += 1
        self.stats["conflicts reported"] += report.conflicts
        return report

    def _server_head(self, device: Device) -> int:
        with self.server.admin() as s:
            return service.server_head(s, device.squad_id)

    def push_again_body(self, d: int, body: dict[str, Any]) -> None:
        """An earlier push batch delivered again (same body, a fresh signature): nothing is taken."""
        device = self.devices[d]
        head = self._server_head(device)
        answer = device.link.inner.call("POST", "/v1/push", body)
        assert answer["acked_seq"] >= body["seq_to"], answer
        assert (answer["applied"], answer["conflicts"], answer["rejected"]) == (0, 0, 0), answer
        assert answer["skipped"] == len(body["entries"]), answer
        assert self._server_head(device) == head
        self.stats["pushes delivered again"] += 1

    def push_out_of_order_on(self, d: int, first: int) -> None:
        """Two batches of the outbox, the later one first: the district refuses it with a gap and
        takes nothing; then both in order. The device is not told, so its own next push delivers
        both once more, and the district skips them."""
        device = self.devices[d]
        acked = int(device.link.inner.call("GET", "/v1/status")["acked_seq"])
        while True:
            with device.ctx.read() as s:
                early = client.next_batch(s, acked, limit=first)
                late = client.next_batch(s, early.seq_to) if early is not None else None
            if early is not None and late is not None:
                break
            self.add_member_on(d)  # something to send in two batches
        head = self._server_head(device)
        with pytest.raises(SyncError) as refused:
            device.link.inner.call("POST", "/v1/push", _body(late))
        assert refused.value.code == "gap" and refused.value.body.get("acked_seq") == acked
        assert self._server_head(device) == head
        assert int(device.link.inner.call("GET", "/v1/status")["acked_seq"]) == acked
        for batch in (early, late):
            answer = device.link.inner.call("POST", "/v1/push", _body(batch))
            assert answer["acked_seq"] == batch.seq_to, answer
        self.stats["gaps refused"] += 1

    def pull_again_from(self, d: int, fraction: float) -> None:
        """After a pull, the device pulls again from an older cursor, so it is handed changes it
        applied before: its rows and its conflicts stay exactly as they are."""
        device = self.devices[d]
        if self._sync(device, "pull") is None:
            return
        with device.ctx.read() as s:
            cursor = int(client.get_meta(s, client.CURSOR) or 0)
            before = read_rows(s)
        conflicts = device_conflicts(device.ctx)
        older = int(cursor * fraction)
        with device.ctx.unit_of_work(SYSTEM, "测试：游标回退") as s:
            client.set_meta(s, client.CURSOR, str(older))
        assert self._sync(device, "pull") is not None
        with device.ctx.read() as s:
            assert int(client.get_meta(s, client.CURSOR) or 0) == cursor
            _same_rows(before, read_rows(s), f"{device.name} after pulling again from {older}")
        again = device_conflicts(device.ctx)
        assert again == conflicts, (
            f"{device.name}: pulling again from {older} changed the conflicts: {_diff(again, conflicts)}"
        )
        self.stats["pulls from an older cursor"] += 1

    # ---- rules ----------------------------------------------------------------------------------

    @rule(d=device_index, data=st.data())
    def work(self, d: int, data: st.DataObject) -> None:
        """A clerk's few changes on one device: new members and training records, edits and
        deletions — of rows made here or elsewhere — and now and then a conflict resolved."""
        for _ in range(data.draw(st.integers(1, 4), label="changes")):
            op = data.draw(st.sampled_from(OPS), label="op")
            if op == "resolve":
                if self._resolve_some(d, data):
                    continue
                op = "edit member"
            table: type[Synced] = TrainingRecord if op in ("edit training", "delete training") else Member
            ids = self._ids(self.devices[d], table)
            if op == "add listed":
                self.add_listed_on(d, data.draw(st.integers(0, LISTED - 1), label="listed"))
                continue
            if op == "add member" or not ids:
                self.add_member_on(d)
                continue
            row_id = data.draw(st.sampled_from(ids), label="row")
            if op == "add training":
                course = data.draw(st.sampled_from(COURSES), label="course")
                self.add_training_on(d, row_id, course, data.draw(st.sampled_from(HOURS), label="hours"))
            elif op.startswith("edit"):
                self._draw_edit(d, table, row_id, data)
            else:
                self.delete_on(d, table, row_id)

    @rule(
        d=device_index,
        table=edited_table,
        delete=st.booleans(),
        then=st.sampled_from(AFTER_RACE),
        data=st.data(),
    )
    def race(self, d: int, table: type[Synced], delete: bool, then: str, data: st.DataObject) -> None:
        """Two devices of one squad change the same row before either syncs: an edit against an
        edit, or an edit against a deletion; perhaps both sync right after (so the second one
        hears of the conflict at once), and a clerk resolves it."""
        mates = self._mates(d)
        live = {i: set(self._ids(self.devices[i], table)) for i in mates}
        pairs = [(a, b) for a in mates for b in mates if a != b and live[a] & live[b]]
        if not pairs:
            return
        first, second = data.draw(st.sampled_from(pairs), label="devices")
        row_id = data.draw(st.sampled_from(sorted(live[first] & live[second])), label="row")
        self._draw_edit(first, table, row_id, data)
        if delete:
            self.delete_on(second, table, row_id)
            self.stats["edits against a deletion"] += 1
        else:
            self._draw_edit(second, table, row_id, data)
        self.stats["races"] += 1
        if then != "nothing":
            for i in (first, second):
                self._sync(self.devices[i])
        if then == "sync, resolve":
            self._resolve_some(second, data)

    @rule(d=device_index, data=st.data())
    def resolve(self, d: int, data: st.DataObject) -> None:
        self._resolve_some(d, data)

    def _resolve_some(self, d: int, data: st.DataObject) -> bool:
        """A clerk resolves an open conflict — on this device if it lists one, else on a squad
        mate that does: keeps the version in use, or takes the other one."""
        mates = sorted(self._mates(d), key=lambda i: i != d)
        listed = [(i, c.id) for i in mates for c in client.list_conflicts(self.devices[i].ctx)]
        if not listed:
            return False
        where, conflict_id = data.draw(st.sampled_from(listed), label="conflict")
        self.resolve_on(where, conflict_id, data.draw(st.sampled_from(CHOICES), label="choice"))
        return True

    @rule(d=device_index, online=st.booleans(), skew=st.none() | st.sampled_from(SKEWS))
    def field_conditions(self, d: int, online: bool, skew: int | None) -> None:
        """A device goes off the network (its syncs fail until it is back) or comes back; its
        PC's clock may jump a year forward or back (its HLC never runs backwards)."""
        self.devices[d].link.online = online
        if skew is not None:
            self.devices[d].skew_ms = skew

    @rule(d=device_index, what=st.sampled_from(["sync", "sync", "push", "pull"]))
    def sync(self, d: int, what: str) -> None:
        self._sync(self.devices[d], what)

    @rule(d=device_index, fault=st.sampled_from(FAULTS), data=st.data())
    def delivery(self, d: int, fault: str, data: st.DataObject) -> None:
        """Deliveries that go wrong: an answer lost after the district handled the request (the
        device keeps its outbox or its cursor and sends again), a push batch delivered again,
        batches out of order, a pull from an older cursor."""
        device = self.devices[d]
        if not device.link.online:
            return
        if fault.startswith("answer lost"):
            path = "/v1/push" if fault.endswith("push") else "/v1/pull"
            device.link.lose.add(path)
            self._sync(device)
            device.link.lose.discard(path)
        elif fault == "push again":
            if device.link.pushes:
                self.push_again_body(d, data.draw(st.sampled_from(device.link.pushes), label="batch"))
        elif fault == "out of order":
            self.push_out_of_order_on(d, data.draw(st.integers(1, 3), label="first batch"))
        else:
            self.pull_again_from(d, data.draw(st.sampled_from([0.0, 0.5, 0.9]), label="older cursor"))


@contextlib.contextmanager
def machine_for(server: DistrictServer, root: Path, template: Path) -> Iterator[type[Convergence]]:
    with httpx.Client(timeout=30.0) as http:
        attributes = {"server": server, "http": http, "root": root, "template": template, "stats": Counter()}
        yield cast(type[Convergence], type("Convergence", (Convergence,), attributes))


#: Push batches and pull answers this small split a sync into several, each its own transaction
#: on both sides: one row's versions end up in different batches and answers.
PAGE = 3


@pytest.fixture
def quick_small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrollment without the bundled catalog and syncs without number blocks: neither touches
    the rows compared here (the scripted tour and their own tests run them), and together they
    would take most of an example's time. And pages of :data:`PAGE` changes each way."""
    import app.reference

    monkeypatch.setattr(app.reference, "install_bundled", lambda session: False)
    monkeypatch.setattr(client, "lease_numbers", lambda ctx, transport, report: None)
    whole_batch = client.next_batch
    monkeypatch.setattr(
        client,
        "next_batch",
        lambda session, acked, limit=PAGE, **kw: whole_batch(session, acked, min(limit, PAGE), **kw),
    )
    monkeypatch.setattr(client, "PULL_LIMIT", PAGE)


# ---- the tests ----------------------------------------------------------------------------------

#: CONVERGENCE_EXAMPLES raises the number of examples for a longer hunt.
EXAMPLES = int(os.environ.get("CONVERGENCE_EXAMPLES", "0"))


@pytest.fixture(params=["sqlite", "postgresql"])
def district(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DistrictServer]:
    """One real server process for the test (each example enrolls new squads on it)."""
    if request.param == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path / 'district.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    server = start_server(url, tmp_path / "district")
    yield server
    server.stop()


def test_devices_converge(
    district: DistrictServer, templates: dict[bool, Path], tmp_path: Path, quick_small_pages: None
) -> None:
    """The state machine: 20 examples on SQLite, 15 on PostgreSQL, up to 30 steps each."""
    examples = EXAMPLES or (20 if district.db_url.startswith("sqlite") else 15)
    with machine_for(district, tmp_path / "devices", templates[False]) as machine:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            ),
        )
    stats = machine.stats
    print(dict(stats))
    assert stats["rows crossed"] > 0 and stats["edits of rows made elsewhere"] > 0


def test_scripted_tour(district: DistrictServer, templates: dict[bool, Path], tmp_path: Path) -> None:
    """The machine through a fixed script (with the real enrollment: the bundled catalog, and
    number blocks leased on every sync): what the random runs found, and every fault once."""
    with machine_for(district, tmp_path / "devices", templates[False]) as machine:
        m = machine()
        m.enroll_devices(skews=[YEAR_MS, -YEAR_MS, 0, -YEAR_MS, YEAR_MS])
        try:
            _tour(m)
        finally:
            m.teardown()  # settles and checks everything, unless the tour failed
    stats = machine.stats
    assert (
        stats["gaps refused"] == stats["pushes delivered again"] == stats["pulls from an older cursor"] == 1
    )
    assert stats["conflicts at the end"] >= 2 and stats["rows crossed"] > 0 and stats["resolutions"] == 2


def _tour(m: Convergence) -> None:
    seeded = sorted(m.devices[0].made)[0]  # d0's member, on every device of the first squad
    # Found by the machine: d0 edits a row twice and syncs; d2 (the greater device id) edits it
    # twice side by side. d2 wins with its second version; the versions d0 made on the way to its
    # own losing one are no conflict of their own, on d2 no more than at the district.
    m.edit_on(0, Member, seeded, "phone", PHONES[1])
    m.delete_on(0, Member, seeded)
    m.edit_on(2, Member, seeded, "name", NAMES[1])
    m.edit_on(2, Member, seeded, "note", NOTES[2])
    m._sync(m.devices[0])
    m._sync(m.devices[2])
    # Two devices insert the same listed row (alike: no conflict), and one edits its copy at once.
    m.add_listed_on(1, 0)
    m.add_listed_on(2, 0)
    m.edit_on(2, Member, m.add_listed_on(2, 0), "note", NOTES[1])
    # A parent and a child made in one batch after an edit of another child that is then moved
    # to the new parent: the district takes the member before the records that point at it.
    older = m.add_training_on(1, seeded, COURSES[0], HOURS[0])
    m._sync(m.devices[1])
    m.edit_on(1, TrainingRecord, older, "hours", HOURS[1])
    parent = m.add_member_on(1)
    m.add_training_on(1, parent, COURSES[1], HOURS[1])
    m.edit_on(1, TrainingRecord, older, "member_id", parent)
    # Faults: an answer lost each way, a gap, a batch delivered again, a pull from an older cursor.
    m.devices[1].link.lose.add("/v1/push")
    assert m._sync(m.devices[1]) is None
    m.add_member_on(0)
    m.add_member_on(0)
    m.push_out_of_order_on(0, 1)
    m.push_again_body(0, m.devices[0].link.pushes[0])
    m.devices[2].link.lose.add("/v1/pull")
    assert m._sync(m.devices[2]) is None
    # (Before app.sync.apply left conflicts to the district, this made conflicts up on d2 out of
    # versions it had applied long before.)
    m.pull_again_from(2, 0.0)
    # Off the network while the others move on, with a clock that jumps a year back.
    mine = sorted(m.devices[3].made)[0]
    m.field_conditions(4, online=False, skew=-YEAR_MS)
    m.edit_on(4, Member, mine, "note", NOTES[1])
    m.edit_on(3, Member, mine, "note", NOTES[2])
    assert m._sync(m.devices[4]) is None
    m._sync(m.devices[3])
    # Two clerks resolve the same conflict before either syncs, one each way: every device ends
    # with the district's record of it (the first resolution the district heard of).
    for d in (0, 1):
        m._sync(m.devices[d])
    views = [{(c.row_id, c.loser): c.id for c in client.list_conflicts(m.devices[d].ctx)} for d in (0, 1)]
    both = sorted(set(views[0]) & set(views[1]))
    assert both, "the district's conflicts reached both devices"
    m.resolve_on(0, views[0][both[0]], client.TAKE_OTHER)
    m.resolve_on(1, views[1][both[0]], client.KEEP_CURRENT)
