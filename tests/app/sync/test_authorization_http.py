"""Authorization on the district, against a real server process (SQLite and PostgreSQL).

Two squads: 车陂 (the ``ctx`` device, and an enrolled device an attacker controls, which sends
hand-made signed requests) and 员村 (a device of its own with a member on the district). Every
attempt to write across squads, to write reference data, or to get in without a valid,
unreplayed signature of an enrolled, unrevoked device is refused, and the district's rows are
exactly what they were before (compared row by row, every squad). A refused push *item* is
answered (acknowledged), stored in ``district_rejections`` and kept on the device for the sync
page, so the outbox never wedges on it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from conftest import PASSWORD
from district_server import DistrictServer
from sqlalchemy import Table, func, insert, select
from sync_child import ChildRunner

from app.auth.roles import Actor
from app.context import AppContext, open_data_dir
from app.district import service
from app.paths import DB_FILE
from app.personnel.idcard import check_digit
from app.personnel.members import MemberInput, create_member
from app.squad import SquadInput, initialize
from app.sync import client
from app.sync.faults import ENV as KILL_ENV
from app.sync.protocol import SCHEMA_HEADER, SCHEMA_VERSION
from app.sync.signing import DeviceKey, sign_request
from app.sync.transport import SyncError
from db.base import synced_tables
from db.ids import new_id
from db.models import ChangeLogEntry, DistrictDevice, Member, PushRejection, ServerChange
from db.models.personnel import StaffCategory

SQUAD_A = "车陂街综合行政执法队"
SQUAD_B = SquadInput("员村街综合行政执法队", "广州市天河区人民政府员村街道办事处", "440106", "员综执")


def _id_number(serial: int) -> str:
    first17 = f"44010619850101{serial:03d}"
    return first17 + check_digit(first17)


# ---- the district's state ------------------------------------------------------------------------

Snapshot = dict[str, Any]


def snapshot(server: DistrictServer) -> Snapshot:
    """Every synced row on the district, of every squad (id → squad, version, writer, stamp),
    and the change stream's length: what a refused request must leave as it was."""
    out: Snapshot = {}
    with server.admin() as s:
        for cls in synced_tables():
            table = cast(Table, cls.__table__)
            out[cls.__tablename__] = {
                r[0]: tuple(str(v) for v in r[1:])
                for r in s.execute(
                    select(
                        table.c.id, table.c.squad_id, table.c.version, table.c.updated_by, table.c.updated_at
                    )
                )
            }
        out["district_changes"] = s.scalar(select(func.count()).select_from(ServerChange))
    return out


def acked(server: DistrictServer, device_id: str) -> int:
    with server.admin() as s:
        return int(s.scalar(select(DistrictDevice.acked_seq).where(DistrictDevice.id == device_id)) or 0)


def rejections(server: DistrictServer, device_id: str) -> dict[int, str]:
    with server.admin() as s:
        rows = s.execute(
            select(PushRejection.device_seq, PushRejection.reason).where(PushRejection.device_id == device_id)
        ).all()
    return {int(seq): reason for seq, reason in rows}


def server_payload(server: DistrictServer, table: str, row_id: str) -> dict[str, Any]:
    """The newest row image the district took for a row (as a device pushed it)."""
    with server.admin() as s:
        text = s.scalar(
            select(ServerChange.payload)
            .where(
                ServerChange.kind == "row", ServerChange.table_name == table, ServerChange.row_id == row_id
            )
            .order_by(ServerChange.server_seq.desc())
            .limit(1)
        )
    assert text is not None, (table, row_id)
    payload = json.loads(text)
    assert isinstance(payload, dict)
    return payload


# ---- a device that sends hand-made requests -------------------------------------------------------


@dataclass
class RawDevice:
    """An enrolled device whose requests the test writes by hand (signed with its own key)."""

    server: DistrictServer
    device_id: str
    key: DeviceKey
    squad_id: str
    seq: int = 0

    def signed(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, key: DeviceKey | None = None
    ) -> tuple[bytes, dict[str, str]]:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SCHEMA_HEADER: str(SCHEMA_VERSION),
            **sign_request(key or self.key, self.device_id, method, path, data),
        }
        return data, headers

    def signed_raw(self, method: str, path: str, data: bytes) -> dict[str, str]:
        """The headers of a request with a raw body (an attachment chunk)."""
        return {
            "Content-Type": "application/octet-stream",
            SCHEMA_HEADER: str(SCHEMA_VERSION),
            **sign_request(self.key, self.device_id, method, path, data),
        }

    def send(self, method: str, path: str, data: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.request(method, self.server.url + path, content=data, headers=headers, timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.send(method, path, *self.signed(method, path, body))

    def push(self, *entries: tuple[str, dict[str, Any], tuple[int, str] | None]) -> httpx.Response:
        """One batch of (table, payload, base) entries, numbered after the last one sent."""
        items = []
        for table, payload, base in entries:
            self.seq += 1
            items.append(
                {
                    "seq": self.seq,
                    "table": table,
                    "row_id": payload["id"],
                    "base_version": base[0] if base else None,
                    "base_by": base[1] if base else None,
                    "payload": payload,
                }
            )
        return self.call(
            "POST",
            "/v1/push",
            {"seq_from": self.seq - len(items) + 1, "seq_to": self.seq, "entries": items, "resolved": []},
        )


def enroll_raw(server: DistrictServer, squad: str) -> RawDevice:
    key = DeviceKey.generate()
    device_id = new_id()
    body = {
        "code": server.code(squad),
        "device_id": device_id,
        "public_key": key.public_pem(),
        "squad_id": None,
        "label": "手工请求",
    }
    answer = httpx.post(
        server.url + "/v1/enroll", json=body, headers={SCHEMA_HEADER: str(SCHEMA_VERSION)}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return RawDevice(server, device_id, key, str(answer.json()["squad_id"]))


# ---- the two squads -----------------------------------------------------------------------------------


@dataclass
class District:
    server: DistrictServer
    a: AppContext  # 车陂's device (the ctx fixture)
    admin: Actor
    b: AppContext  # 员村's device
    b_admin: Actor
    attacker: RawDevice  # an enrolled device of 车陂, sending hand-made requests
    a_member: str  # a member of 车陂 on the district
    b_member: str  # a member of 员村 on the district

    def sync(self, ctx: AppContext) -> client.SyncReport:
        with self.server.transport(ctx) as transport:
            return client.sync_once(ctx, transport)


def _member(ctx: AppContext, actor: Actor, name: str, serial: int) -> str:
    with ctx.unit_of_work(actor, "新增队员") as s:
        return create_member(s, actor, MemberInput(name, _id_number(serial), StaffCategory.CAREER)).id


@pytest.fixture
def district(
    district_server: DistrictServer,
    ctx: AppContext,
    admin: Actor,
    templates: dict[bool, Path],
    tmp_path: Path,
) -> Iterator[District]:
    server = district_server
    client.enroll(ctx, admin, server.transport(ctx), server.url, server.code(SQUAD_A), "内勤电脑")
    a_member = _member(ctx, admin, "赵六", 1)
    with server.transport(ctx) as transport:
        client.sync_once(ctx, transport)
    b_dir = tmp_path / "yuancun"
    b_dir.mkdir()
    shutil.copyfile(templates[False], b_dir / DB_FILE)
    b = open_data_dir(b_dir)
    try:
        b_admin = initialize(b, SQUAD_B, "admin", "员村管理员", PASSWORD)
        client.enroll(b, b_admin, server.transport(b), server.url, server.code(SQUAD_B.name), "员村内勤")
        b_member = _member(b, b_admin, "钱七", 2)
        with server.transport(b) as transport:
            client.sync_once(b, transport)
        attacker = enroll_raw(server, SQUAD_A)
        assert attacker.squad_id == ctx.require_squad() != b.require_squad()
        yield District(server, ctx, admin, b, b_admin, attacker, a_member, b_member)
    finally:
        b.close()


def _assert_refused_item(d: District, answer: httpx.Response, before: Snapshot, reason: str) -> None:
    """A push whose one item the district refused: answered, acknowledged, stored, nothing applied."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    seq = d.attacker.seq
    assert (body["applied"], body["rejected"], body["acked_seq"]) == (0, 1, seq), body
    assert [r["seq"] for r in body.get("rejections", [])] == [seq]
    assert acked(d.server, d.attacker.device_id) == seq
    assert reason in rejections(d.server, d.attacker.device_id)[seq]
    assert snapshot(d.server) == before


def _new_member_payload(d: District, squad_id: str) -> dict[str, Any]:
    """A member row image for a new id (copied from a real one), stamped by the attacker."""
    payload = server_payload(d.server, "members", d.a_member)
    member_id = new_id()
    return {
        **payload,
        "id": member_id,
        "squad_id": squad_id,
        "name": "冒名队员",
        "id_number": _id_number(900 + d.attacker.seq % 50),
        "version": 1,
        "updated_by": d.attacker.device_id,
    }


# ---- refused push items ----------------------------------------------------------------------------------


def test_cross_squad_and_reference_writes_are_refused_and_acknowledged(district: District) -> None:
    d = district
    squad_a, squad_b = d.a.require_squad(), d.b.require_squad()
    stored_b = server_payload(d.server, "members", d.b_member)
    base_b = (int(stored_b["version"]), str(stored_b["updated_by"]))

    # A forged squad: a new row that claims to be 员村's.
    before = snapshot(d.server)
    _assert_refused_item(
        d, d.attacker.push(("members", _new_member_payload(d, squad_b), None)), before, "其他中队"
    )

    # A forged squad: an edit of 员村's member, in 员村's name.
    forged = {**stored_b, "name": "篡改", "version": base_b[0] + 1, "updated_by": d.attacker.device_id}
    _assert_refused_item(d, d.attacker.push(("members", forged, base_b)), before, "其他中队")

    # A foreign row id: 员村's member taken over under this squad's id.
    taken = {**forged, "squad_id": squad_a}
    _assert_refused_item(d, d.attacker.push(("members", taken, base_b)), before, "其他中队")

    # ... and 员村's squad record itself.
    squad_row = server_payload(d.server, "squads", squad_b)
    renamed = {
        **squad_row,
        "name": "被改名的中队",
        "version": int(squad_row["version"]) + 1,
        "squad_id": squad_a,
    }
    _assert_refused_item(
        d,
        d.attacker.push(("squads", renamed, (int(squad_row["version"]), str(squad_row["updated_by"])))),
        before,
        "其他中队",
    )

    # Reference tables change only through district releases, whatever squad a row names.
    for table in sorted(client.REFERENCE_TABLES):
        row = {"id": new_id(), "squad_id": squad_a, "version": 1, "updated_by": d.attacker.device_id}
        _assert_refused_item(d, d.attacker.push((table, row, None)), before, "区局发布")

    # A batch mixing a good row and a forged one: the good one is taken, the forged one stored
    # and acknowledged with it — the queue goes on.
    good = _new_member_payload(d, squad_a)
    answer = d.attacker.push(("members", good, None), ("members", _new_member_payload(d, squad_b), None))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["applied"], answer.json()["rejected"], answer.json()["acked_seq"]) == (
        1,
        1,
        d.attacker.seq,
    )
    after = snapshot(d.server)
    assert after["members"][good["id"]][0] == squad_a
    assert {t: rows for t, rows in after.items() if t not in ("members", "district_changes")} == {
        t: rows for t, rows in before.items() if t not in ("members", "district_changes")
    }
    assert {k: v for k, v in after["members"].items() if k != good["id"]} == before["members"]
    assert len(rejections(d.server, d.attacker.device_id)) == d.attacker.seq - 1

    # 员村's device pulls nothing of it; its member is as it was.
    d.sync(d.b)
    with d.b.read() as s:
        assert s.scalar(select(Member.name).where(Member.id == d.b_member)) == "钱七"
        assert (
            s.scalar(select(func.count()).select_from(Member).where(Member.name.in_(["冒名队员", "篡改"])))
            == 0
        )


def _forge_outbox(
    ctx: AppContext, entries: list[tuple[str, dict[str, Any], tuple[int, str] | None]]
) -> list[int]:
    """Write change-log entries straight into a device's database (a tampered data folder):
    the client pushes them like its own."""
    seqs = []
    with ctx.engine.begin() as conn:
        for table, payload, base in entries:
            done = conn.execute(
                insert(ChangeLogEntry).values(
                    table_name=table,
                    row_id=payload["id"],
                    op="update" if base else "insert",
                    version=int(payload["version"]),
                    hlc=str(payload.get("updated_at") or "0000000000000-000000"),
                    device_id=ctx.device_id,
                    payload=json.dumps(payload, ensure_ascii=False),
                    base_version=base[0] if base else None,
                    base_by=base[1] if base else None,
                )
            )
            assert done.inserted_primary_key is not None
            seqs.append(int(done.inserted_primary_key[0]))
    return seqs


def test_a_tampered_device_outbox_is_refused_acknowledged_and_shown(district: District) -> None:
    """The real client with forged entries in its change log: the district refuses them, the
    device's ack moves past them (the outbox does not wedge), the device keeps the reasons for
    the sync page, and its next real change still goes up."""
    d = district
    squad_a, squad_b = d.a.require_squad(), d.b.require_squad()
    stored_b = server_payload(d.server, "members", d.b_member)
    base_b = (int(stored_b["version"]), str(stored_b["updated_by"]))
    forged = {**stored_b, "name": "篡改", "version": base_b[0] + 1, "updated_by": d.a.device_id}
    seqs = _forge_outbox(
        d.a,
        [
            ("members", forged, base_b),  # another squad's row, in its name
            ("members", {**forged, "squad_id": squad_a}, base_b),  # another squad's row id
        ],
    )
    before = snapshot(d.server)
    report = d.sync(d.a)
    assert report.rejected == 2
    assert snapshot(d.server) == before
    status = client.status(d.a)
    assert status.outbox == 0 and status.acked_seq == acked(d.server, d.a.device_id) >= max(seqs)
    assert set(rejections(d.server, d.a.device_id)) == set(seqs)
    shown = client.list_rejections(d.a)
    assert sorted(r.seq for r in shown) == seqs and all(r.reason for r in shown)
    # The queue goes on: a real change after the refused ones reaches the district.
    later = _member(d.a, d.admin, "孙八", 3)
    d.sync(d.a)
    assert later in snapshot(d.server)["members"]
    assert client.status(d.a).outbox == 0
    with d.server.admin() as s:
        assert s.scalar(select(Member.squad_id).where(Member.id == d.b_member)) == squad_b


def test_rejections_reach_the_device_when_the_first_answer_was_lost(
    district: District, tmp_path: Path
) -> None:
    """The district took a batch with a refused item, but the device was killed before it
    stored the answer (kill point client.push.answered). On the resend the district skips what
    it already took — and must still tell the device which of those items it refused, or the
    sync page never shows them."""
    d = district
    stored_b = server_payload(d.server, "members", d.b_member)
    base_b = (int(stored_b["version"]), str(stored_b["updated_by"]))
    forged = {**stored_b, "name": "篡改", "version": base_b[0] + 1, "updated_by": d.a.device_id}
    [seq] = _forge_outbox(d.a, [("members", forged, base_b)])
    runner = ChildRunner(tmp_path / "child.log")
    try:
        assert runner.run(d.a.data_dir, d.server.url, {KILL_ENV: "client.push.answered"}) == -9
        assert seq in rejections(d.server, d.a.device_id)  # taken (and refused) by the district
        assert client.status(d.a).outbox > 0  # ... but the device never heard
        assert runner.run(d.a.data_dir, d.server.url) == 0, runner.log_tail()
    finally:
        runner.close()
    assert client.status(d.a).outbox == 0
    assert [r.seq for r in client.list_rejections(d.a)] == [seq], "the refusal was lost with the first answer"


# ---- refused requests ------------------------------------------------------------------------------------


def _assert_refused(answer: httpx.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error, answer.text
    assert answer.json()["message"]


def test_requests_without_a_valid_fresh_signature_are_refused(district: District) -> None:
    d = district
    squad_a = d.a.require_squad()
    before = snapshot(d.server)
    acked_before = acked(d.server, d.attacker.device_id)
    good = _new_member_payload(d, squad_a)
    entry = {
        "seq": acked_before + 1,
        "table": "members",
        "row_id": good["id"],
        "base_version": None,
        "base_by": None,
        "payload": good,
    }
    body = {"seq_from": acked_before + 1, "seq_to": acked_before + 1, "entries": [entry], "resolved": []}

    # An unsigned request.
    _assert_refused(
        httpx.post(d.server.url + "/v1/push", json=body, headers={SCHEMA_HEADER: str(SCHEMA_VERSION)}),
        401,
        "signature",
    )
    # Signed with a key that is not the device's (a stolen device id).
    data, headers = d.attacker.signed("POST", "/v1/push", body, key=DeviceKey.generate())
    _assert_refused(d.attacker.send("POST", "/v1/push", data, headers), 401, "signature")
    # Signed by the device, but the body changed after signing.
    data, headers = d.attacker.signed("POST", "/v1/push", body)
    _assert_refused(
        d.attacker.send("POST", "/v1/push", data.replace("冒名队员".encode(), "改过队员".encode()), headers),
        401,
        "signature",
    )
    # Signed for another path.
    data, headers = d.attacker.signed("POST", "/v1/pull", body)
    _assert_refused(d.attacker.send("POST", "/v1/push", data, headers), 401, "signature")
    # A device the district never enrolled, however well it signs.
    stranger = RawDevice(d.server, new_id(), DeviceKey.generate(), squad_a)
    _assert_refused(stranger.call("POST", "/v1/push", body), 403, "forbidden")
    _assert_refused(stranger.call("POST", "/v1/pull", {"after": 0}), 403, "forbidden")
    assert snapshot(d.server) == before
    assert acked(d.server, d.attacker.device_id) == acked_before

    # A replay: the exact bytes of a request the district took, sent again.
    data, headers = d.attacker.signed("POST", "/v1/push", body)
    first = d.attacker.send("POST", "/v1/push", data, headers)
    assert first.status_code == 200 and first.json()["applied"] == 1, first.text
    d.attacker.seq = acked_before + 1
    taken = snapshot(d.server)
    assert taken["members"][good["id"]][0] == squad_a
    _assert_refused(d.attacker.send("POST", "/v1/push", data, headers), 403, "forbidden")
    # ... of a pull too (it answers nothing the second time).
    data, headers = d.attacker.signed("POST", "/v1/pull", {"after": 0, "release_after": 0, "limit": 10})
    assert d.attacker.send("POST", "/v1/pull", data, headers).status_code == 200
    _assert_refused(d.attacker.send("POST", "/v1/pull", data, headers), 403, "forbidden")
    assert snapshot(d.server) == taken


def test_a_revoked_device_is_refused_and_keeps_its_outbox(district: District) -> None:
    d = district
    member = _member(d.a, d.admin, "周九", 4)
    with d.server.admin() as s:
        service.revoke_device(s, d.a.device_id)
        service.revoke_device(s, d.attacker.device_id)
    before = snapshot(d.server)
    with pytest.raises(SyncError) as refused:
        d.sync(d.a)
    assert (refused.value.status, refused.value.code, refused.value.transient) == (403, "forbidden", False)
    assert "停用" in str(refused.value)
    status = client.status(d.a)
    assert status.outbox > 0 and "停用" in status.last_error  # kept, and shown
    # Hand-made requests of a revoked device: refused before anything is read or written.
    _assert_refused(
        d.attacker.push(("members", _new_member_payload(d, d.a.require_squad()), None)), 403, "forbidden"
    )
    _assert_refused(d.attacker.call("POST", "/v1/pull", {"after": 0}), 403, "forbidden")
    _assert_refused(d.attacker.call("GET", "/v1/status"), 403, "forbidden")
    assert snapshot(d.server) == before
    assert member not in before["members"]


def test_enrollment_cannot_claim_another_squad(district: District) -> None:
    """A code names the squad: a device cannot enroll into one squad while holding another's data,
    nor bind a new squad to an existing squad's id."""
    d = district
    before = snapshot(d.server)
    for squad, claimed in (
        (SQUAD_B.name, d.a.require_squad()),
        ("猎德街综合行政执法队", d.a.require_squad()),
    ):
        key = DeviceKey.generate()
        body = {
            "code": d.server.code(squad),
            "device_id": new_id(),
            "public_key": key.public_pem(),
            "squad_id": claimed,
            "label": "冒名",
        }
        answer = httpx.post(
            d.server.url + "/v1/enroll", json=body, headers={SCHEMA_HEADER: str(SCHEMA_VERSION)}, timeout=30
        )
        _assert_refused(answer, 403, "forbidden")
        with d.server.admin() as s:
            assert s.get(DistrictDevice, body["device_id"]) is None
    assert snapshot(d.server) == before


def test_a_squad_reads_only_its_own_rows_and_files(district: District) -> None:
    """The other direction: what a device pulls and fetches is its own squad's, whatever it asks;
    and knowing a file's hash is not possessing it."""
    d = district
    evidence = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    sha = hashlib.sha256(evidence).hexdigest()
    put = f"/v1/files/{sha}?offset=0&total={len(evidence)}"
    answer = d.attacker.send("PUT", put, evidence, d.attacker.signed_raw("PUT", put, evidence))
    assert answer.status_code == 200 and answer.json()["complete"], answer.text
    yuancun = enroll_raw(d.server, SQUAD_B.name)
    status = yuancun.call("GET", f"/v1/files/{sha}/status")
    assert status.status_code == 200 and not status.json()["complete"], status.text
    _assert_refused(yuancun.call("GET", f"/v1/files/{sha}?offset=0&length={len(evidence)}"), 404, "not_found")
    # Other bytes under 车陂's hash: refused at the hash check, 车陂's file untouched.
    fake = evidence[:-1] + b"?"
    answer = yuancun.send("PUT", put, fake, yuancun.signed_raw("PUT", put, fake))
    assert answer.status_code >= 400 and answer.json()["error"] == "hash_mismatch", answer.text
    _assert_refused(yuancun.call("GET", f"/v1/files/{sha}?offset=0&length={len(evidence)}"), 404, "not_found")
    mine = d.attacker.call("GET", f"/v1/files/{sha}?offset=0&length={len(evidence)}")
    assert mine.status_code == 200 and mine.content == evidence
    a_squad = d.a.require_squad()
    with d.server.admin() as s:
        foreign = s.scalar(
            select(func.count()).select_from(ServerChange).where(ServerChange.squad_id != a_squad)
        )
    assert foreign  # 员村's rows are on the district
    answer = d.attacker.call("POST", "/v1/pull", {"after": 0, "release_after": 0, "limit": 2000})
    assert answer.status_code == 200, answer.text
    pulled = answer.json()["changes"]
    assert pulled and all(
        c["payload"].get("squad_id") in (a_squad, None) for c in pulled if c["kind"] == "row"
    )
    assert d.b_member not in {c["row_id"] for c in pulled}
    # 员村's device never received 车陂's member, nor 车陂's device 员村's.
    d.sync(d.a)
    d.sync(d.b)
    with d.a.read() as s:
        assert s.get(Member, d.b_member) is None
    with d.b.read() as s:
        assert s.get(Member, d.a_member) is None
