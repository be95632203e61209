"""Evidence of a case (证据) on a real SQLite data folder with real files in the content store:
storing once, order, refusals, and detecting a stored file altered behind the program's back."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from case_builders import Crew, decide_case, make_crew, open_and_file, serve_case

from app.audit import verify
from app.auth.roles import Actor, Role
from app.cases.evidence import (
    EvidenceKind,
    add_evidence,
    list_evidence,
    remove_evidence,
    reorder_evidence,
    verify_evidence,
)
from app.cases.service import close_case, record_payment
from app.context import AppContext
from app.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from app.files import files_dir, path_of
from db.models.cases import CaseEvidence

D = dt.date
T = dt.datetime
FILED = D(2026, 3, 2)  # the builders' lead is received at 09:00 that day
COLLECTED = T(2026, 3, 2, 10, 30)


@pytest.fixture
def crew(ctx: AppContext, admin: Actor) -> Crew:
    return make_crew(ctx, admin)


@pytest.fixture
def store(ctx: AppContext) -> Path:
    return files_dir(ctx.data_dir)


def _file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _add(
    crew: Crew,
    case_id: str,
    path: Path,
    store: Path,
    description: str = "现场照片：占道堆放建材",
    at: dt.datetime = COLLECTED,
    collector: str = "陈志强",
    actor: Actor | None = None,
) -> str:
    actor = actor or crew.actor
    with crew.ctx.unit_of_work(actor, "添加证据") as s:
        return add_evidence(
            s,
            actor,
            case_id,
            path,
            EvidenceKind.PHOTO,
            description,
            crew.officers.get(collector, collector),
            at,
            "执法记录仪 3 号",
            store,
        ).id


def test_added_evidence_is_stored_once_and_listed_in_order(crew: Crew, store: Path, tmp_path: Path) -> None:
    case_id = open_and_file(crew, FILED)
    other_id = open_and_file(crew, FILED)
    photo = _file(tmp_path, "IMG_0001.jpg", b"photo one")
    video = _file(tmp_path, "VID_0002.mp4", b"video two" * 1000)
    first = _add(crew, case_id, photo, store)
    second = _add(crew, case_id, video, store, "现场视频")
    # The same photo as evidence in another case: a second row, but one stored file.
    _add(crew, other_id, photo, store, "同一现场照片")

    with crew.ctx.read() as s:
        items = list_evidence(s, crew.actor, case_id)
        assert [(i.id, i.order) for i in items] == [(first, 1), (second, 2)]
        assert items[0].collected_by_name == "陈志强" and items[0].device == "执法记录仪 3 号"
        assert items[0].kind_label == "照片" and items[0].original_name == "IMG_0001.jpg"
        assert items[1].size == len(b"video two" * 1000)
        assert len(list_evidence(s, crew.actor, other_id)) == 1
    stored = [p for p in store.rglob("*") if p.is_file()]
    assert len(stored) == 2  # the photo once, the video once
    assert path_of(store, items[0].sha256).read_bytes() == b"photo one"


def test_the_same_content_twice_in_one_case_is_refused_naming_the_item(
    crew: Crew, store: Path, tmp_path: Path
) -> None:
    case_id = open_and_file(crew, FILED)
    _add(crew, case_id, _file(tmp_path, "a.jpg", b"same"), store, "门前堆放建材照片")
    copy = _file(tmp_path, "copy of a.jpg", b"same")
    with pytest.raises(ConflictError) as err:
        _add(crew, case_id, copy, store, "另一说明")
    assert "第 1 号证据“门前堆放建材照片”" in str(err.value)
    with crew.ctx.read() as s:
        assert len(list_evidence(s, crew.actor, case_id)) == 1


def test_reorder_and_remove_keep_the_numbering_closed(crew: Crew, store: Path, tmp_path: Path) -> None:
    case_id = open_and_file(crew, FILED)
    ids = [_add(crew, case_id, _file(tmp_path, f"{n}.jpg", bytes([n])), store, f"证据{n}") for n in range(3)]
    a = crew.actor
    with crew.ctx.unit_of_work(a, "调整顺序") as s:
        views = reorder_evidence(s, a, case_id, [ids[2], ids[0], ids[1]])
    assert [(v.description, v.order) for v in views] == [("证据2", 1), ("证据0", 2), ("证据1", 3)]
    with crew.ctx.unit_of_work(a) as s, pytest.raises(ConflictError, match="刚有增减"):
        reorder_evidence(s, a, case_id, [ids[0], ids[1]])
    with crew.ctx.unit_of_work(a, "删除证据") as s:
        rest = remove_evidence(s, a, ids[2])
    assert [(v.description, v.order) for v in rest] == [("证据0", 1), ("证据1", 2)]
    with crew.ctx.read() as s:
        row = s.get(CaseEvidence, ids[2])
        assert row is not None and row.deleted  # a tombstone, not a deleted row
        assert [v.id for v in list_evidence(s, a, case_id)] == [ids[0], ids[1]]
    with crew.ctx.unit_of_work(a) as s, pytest.raises(NotFoundError):
        remove_evidence(s, a, ids[2])
    with crew.ctx.read() as s:
        assert verify(s).ok


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"description": "  "}, "description", "请填写证据说明"),
        ({"collector": "no-such-member"}, "collected_by", "采集人须是本队队员"),
        ({"at": T(2099, 1, 1, 8, 0)}, "collected_at", "晚于现在"),
        ({"at": T(2026, 3, 2, 8, 59)}, "collected_at", "早于案源"),
    ],
)
def test_refusals_name_the_field(
    crew: Crew, store: Path, tmp_path: Path, kwargs: dict[str, object], field: str, words: str
) -> None:
    case_id = open_and_file(crew, FILED)
    with pytest.raises(ValidationError) as err:
        _add(crew, case_id, _file(tmp_path, "x.jpg", b"x"), store, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field and words in str(err.value)
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))  # nothing copied


def test_a_missing_source_file_and_a_reader_are_refused(
    crew: Crew, store: Path, tmp_path: Path, actors: dict[Role, Actor]
) -> None:
    case_id = open_and_file(crew, FILED)
    with pytest.raises(ValidationError, match="找不到证据文件"):
        _add(crew, case_id, tmp_path / "gone.jpg", store)
    legal = actors[Role.LEGAL]  # may view cases, not handle them
    with pytest.raises(PermissionDenied):
        _add(crew, case_id, _file(tmp_path, "y.jpg", b"y"), store, actor=legal)
    with crew.ctx.read() as s:
        assert list_evidence(s, legal, case_id) == []


def test_a_closed_case_refuses_changes_to_its_evidence(crew: Crew, store: Path, tmp_path: Path) -> None:
    case_id = open_and_file(crew, FILED, D(2026, 3, 4))
    item = _add(crew, case_id, _file(tmp_path, "z.jpg", b"z"), store)
    decide_case(crew, case_id, D(2026, 3, 10))
    serve_case(crew, case_id, D(2026, 3, 10))
    a = crew.actor
    with crew.ctx.unit_of_work(a) as s:
        record_payment(s, a, case_id, D(2026, 3, 12), 300000, "NO.1")
        close_case(s, a, case_id, D(2026, 3, 13))
    with pytest.raises(ConflictError, match="不能再添加证据"):
        _add(crew, case_id, _file(tmp_path, "late.jpg", b"late"), store)
    with crew.ctx.unit_of_work(a) as s, pytest.raises(ConflictError, match="不能再删除证据"):
        remove_evidence(s, a, item)
    with crew.ctx.unit_of_work(a) as s, pytest.raises(ConflictError, match="不能再调整证据顺序"):
        reorder_evidence(s, a, case_id, [item])


def test_verify_detects_an_altered_and_a_missing_stored_file(crew: Crew, store: Path, tmp_path: Path) -> None:
    case_id = open_and_file(crew, FILED)
    _add(crew, case_id, _file(tmp_path, "a.jpg", b"original A"), store, "证据甲")
    _add(crew, case_id, _file(tmp_path, "b.jpg", b"original B"), store, "证据乙")
    _add(crew, case_id, _file(tmp_path, "c.jpg", b"original C"), store, "证据丙")
    with crew.ctx.read() as s:
        assert verify_evidence(s, crew.actor, case_id, store) == []
        items = list_evidence(s, crew.actor, case_id)

    altered = path_of(store, items[0].sha256)
    os.chmod(altered, stat.S_IREAD | stat.S_IWRITE)  # the store makes its files read-only
    data = bytearray(altered.read_bytes())
    data[0] ^= 0xFF
    altered.write_bytes(bytes(data))
    missing = path_of(store, items[2].sha256)
    os.chmod(missing, stat.S_IREAD | stat.S_IWRITE)
    missing.unlink()

    with crew.ctx.read() as s:
        problems = verify_evidence(s, crew.actor, case_id, store)
        assert [(p.item.description, p.missing) for p in problems] == [("证据甲", False), ("证据丙", True)]
        assert "第 1 号证据“证据甲”文件内容已被改动" in problems[0].message
        assert "文件缺失" in problems[1].message
        assert verify(s).ok  # the audit chain itself is intact
