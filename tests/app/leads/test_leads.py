"""The lead register (案源): numbering per year, photos in the file store, triage (transfer out,
close without filing) and its refusals, permissions — through the services on real SQLite and
real files."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import files
from app.audit import verify
from app.auth.roles import Actor, Role
from app.context import AppContext
from app.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from app.leads import (
    SOURCE_LABELS,
    STATUS_LABELS,
    LeadInput,
    LeadStatusError,
    LeadView,
    add_photos,
    close_lead,
    get_lead,
    lead_number,
    list_leads,
    register_lead,
    remove_photo,
    reorder_photos,
    transfer_lead_out,
    update_lead,
)
from db.models.leads import Lead, LeadPhoto, LeadSource, LeadStatus

T = dt.datetime
MARCH_2 = T(2026, 3, 2, 9, 30)


def _input(received: dt.datetime = MARCH_2, **kw: object) -> LeadInput:
    fields: dict[str, object] = {
        "source": LeadSource.PATROL,
        "address": "车陂路 123 号门前",
        "description": "占道经营：流动摊贩在人行道摆卖水果，占用约 6 平方米。",
        "occurred_at": received - dt.timedelta(minutes=20),
        "received_at": received,
        "grid_zone": "车陂第三网格",
    } | kw
    return LeadInput(**fields)  # type: ignore[arg-type]


def _register(
    ctx: AppContext, actor: Actor, data: LeadInput | None = None, photos: list[Path] | None = None
) -> LeadView:
    with ctx.unit_of_work(actor, "登记案源") as s:
        return register_lead(s, actor, data or _input(), photos, files.files_dir(ctx.data_dir))


@pytest.fixture
def clerk(actors: dict[Role, Actor]) -> Actor:
    return actors[Role.CLERK]


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    out = []
    for i, name in enumerate(["IMG_0001.jpg", "IMG_0002.jpg"]):
        path = tmp_path / "camera" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"\xff\xd8\xff\xe0" + name.encode() * 200)
        stamp = T(2026, 3, 2, 9, 10 + i).timestamp()
        os.utime(path, (stamp, stamp))
        out.append(path)
    return out


def _stored_files(ctx: AppContext) -> list[Path]:
    store = files.files_dir(ctx.data_dir)
    return sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []


# ---- numbering --------------------------------------------------------------------------------


def test_numbers_run_per_year_and_restart_in_a_new_year(ctx: AppContext, clerk: Actor) -> None:
    new_year_eve = _register(ctx, clerk, _input(T(2025, 12, 31, 23, 40)))
    first = _register(ctx, clerk, _input(T(2026, 1, 1, 0, 5)))
    second = _register(ctx, clerk, _input(T(2026, 1, 2, 8, 0)))
    late_entry = _register(
        ctx, clerk, _input(T(2025, 12, 30, 16, 0))
    )  # registered late, numbered in its year
    assert [new_year_eve.number, first.number, second.number, late_entry.number] == [
        "案源〔2025〕第0001号",
        "案源〔2026〕第0001号",
        "案源〔2026〕第0002号",
        "案源〔2025〕第0002号",
    ]
    assert lead_number(2026, 12) == "案源〔2026〕第0012号"


def test_a_number_is_never_issued_twice(ctx: AppContext, clerk: Actor) -> None:
    first = _register(ctx, clerk)
    with ctx.unit_of_work(clerk, "删除误登记的案源") as s:
        row = s.get(Lead, first.id)
        assert row is not None
        row.deleted = True
    assert _register(ctx, clerk).number == "案源〔2026〕第0002号"
    with ctx.read() as s:
        assert [v.number for v in list_leads(s, clerk)] == ["案源〔2026〕第0002号"]

    class Boom(Exception):
        pass

    # a registration rolled back (the clerk's action failed later) gives its number back
    with pytest.raises(Boom), ctx.unit_of_work(clerk) as s:
        register_lead(s, clerk, _input())
        raise Boom
    assert _register(ctx, clerk).number == "案源〔2026〕第0003号"


# ---- registering ------------------------------------------------------------------------------


def test_register_with_two_photos_stored_once(ctx: AppContext, clerk: Actor, photos: list[Path]) -> None:
    a, b = photos
    copy_of_a = a.with_name("微信图片_20260302.jpg")
    copy_of_a.write_bytes(a.read_bytes())

    lead = _register(
        ctx,
        clerk,
        _input(source=LeadSource.COMPLAINT, reporter_name="李女士", reporter_phone="138 0013 8000"),
        [a, b, a, copy_of_a],
    )

    assert lead.status is LeadStatus.REGISTERED and lead.status_label == "待处置"
    assert lead.source_label == "群众投诉举报"
    assert (lead.reporter_name, lead.reporter_phone) == ("李女士", "13800138000")
    assert lead.registered_by_name == clerk.display_name
    assert [(p.original_name, p.order) for p in lead.photos] == [("IMG_0001.jpg", 1), ("IMG_0002.jpg", 2)]
    assert lead.photos[0].taken_at == T(2026, 3, 2, 9, 10)
    store = files.files_dir(ctx.data_dir)
    assert _stored_files(ctx) == sorted(files.path_of(store, p.sha256) for p in lead.photos)
    for photo, source in zip(lead.photos, photos, strict=True):
        assert files.path_of(store, photo.sha256).read_bytes() == source.read_bytes()
        assert files.verify(store, photo.sha256)
    with ctx.read() as s:
        assert get_lead(s, clerk, lead.id) == lead


def test_the_same_photo_on_two_leads_is_stored_once(
    ctx: AppContext, clerk: Actor, photos: list[Path]
) -> None:
    one = _register(ctx, clerk, photos=photos[:1])
    two = _register(ctx, clerk, photos=photos[:1])
    assert one.photos[0].sha256 == two.photos[0].sha256
    assert len(_stored_files(ctx)) == 1


def test_a_missing_photo_registers_nothing(ctx: AppContext, clerk: Actor, photos: list[Path]) -> None:
    gone = photos[0].with_name("IMG_9999.jpg")
    with pytest.raises(ValidationError, match=r"找不到照片文件“.*IMG_9999\.jpg”") as err:
        _register(ctx, clerk, photos=[photos[1], gone])
    assert err.value.field == "photos"
    assert _stored_files(ctx) == []
    with ctx.read() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0
    assert _register(ctx, clerk).number == "案源〔2026〕第0001号"


@pytest.mark.parametrize(
    ("changes", "field", "why"),
    [
        ({"address": " "}, "address", "请填写案源地址"),
        ({"description": ""}, "description", "请填写案源简要情况"),
        ({"source": "phone"}, "source", "请选择案源来源"),
        ({"source": LeadSource.HOTLINE_12345}, "source_ref", "12345 工单号"),
        ({"reporter_phone": "8300123"}, "reporter_phone", "举报人电话号码“8300123”格式不对"),
        (
            {"occurred_at": T(2026, 3, 2, 10, 0)},
            "occurred_at",
            "发生时间 2026-03-02 10:00 晚于受理时间 2026-03-02 09:30",
        ),
        (
            {"received_at": T(2099, 1, 1), "occurred_at": None},
            "received_at",
            "受理时间 2099-01-01 00:00 晚于现在",
        ),
        ({"grid_zone": "网" * 51}, "grid_zone", "网格过长"),
    ],
)
def test_invalid_input_says_what_to_fix(
    ctx: AppContext, clerk: Actor, changes: dict[str, object], field: str, why: str
) -> None:
    with pytest.raises(ValidationError) as err:
        _register(ctx, clerk, _input(**changes))
    assert err.value.field == field
    assert why in err.value.message


def test_hotline_lead_with_its_work_order(ctx: AppContext, clerk: Actor) -> None:
    text = "  市民来电反映：\n1. 夜间烧烤占道；\n2. 油烟扰民。 "
    lead = _register(
        ctx,
        clerk,
        _input(source=LeadSource.HOTLINE_12345, source_ref=" GZ12345-20260302-0088 ", description=text),
    )
    assert (lead.source_label, lead.source_ref) == ("12345热线", "GZ12345-20260302-0088")
    assert lead.description == text.strip(), "free text keeps its lines"


def test_received_at_defaults_to_now(ctx: AppContext, clerk: Actor) -> None:
    before = dt.datetime.now().replace(microsecond=0)
    lead = _register(ctx, clerk, LeadInput(LeadSource.GRID, "车陂北街", "网格员上报乱堆物料"))
    assert before <= lead.received_at <= dt.datetime.now()
    assert lead.occurred_at is None
    assert lead.number == lead_number(lead.received_at.year, 1)


def test_labels_cover_every_value() -> None:
    assert set(SOURCE_LABELS) == set(LeadSource)
    assert set(STATUS_LABELS) == set(LeadStatus)
    assert STATUS_LABELS[LeadStatus.FILED] == "已立案"


# ---- editing and photos -----------------------------------------------------------------------


def test_update_lead_and_its_refusals(ctx: AppContext, clerk: Actor, actors: dict[Role, Actor]) -> None:
    lead = _register(ctx, clerk)
    officer = actors[Role.OFFICER]
    with ctx.unit_of_work(officer, "修改案源") as s:
        fixed = update_lead(s, officer, lead.id, _input(address="车陂路 125 号门前"), lead.version)
    assert (fixed.address, fixed.number, fixed.version) == (
        "车陂路 125 号门前",
        lead.number,
        lead.version + 1,
    )
    with pytest.raises(ConflictError, match=f"{lead.number}刚被他人修改过"), ctx.unit_of_work(clerk) as s:
        update_lead(s, clerk, lead.id, _input(address="车陂路 127 号"), lead.version)
    with (
        pytest.raises(ValidationError, match="2026 年的编号，受理时间不能改到 2025 年"),
        ctx.unit_of_work(clerk) as s,
    ):
        update_lead(s, clerk, lead.id, _input(T(2025, 12, 31, 9, 0)), fixed.version)


def test_add_reorder_and_remove_photos(
    ctx: AppContext, clerk: Actor, photos: list[Path], tmp_path: Path
) -> None:
    lead = _register(ctx, clerk, photos=photos)
    third = tmp_path / "IMG_0003.jpg"
    third.write_bytes(b"third picture")
    with ctx.unit_of_work(clerk, "补充照片") as s:
        lead = add_photos(s, clerk, lead.id, [photos[0], third], files.files_dir(ctx.data_dir))
    assert [p.original_name for p in lead.photos] == ["IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"]

    ids = [p.id for p in lead.photos]
    with ctx.unit_of_work(clerk, "调整照片顺序") as s:
        lead = reorder_photos(s, clerk, lead.id, [ids[2], ids[0], ids[1]])
    assert [(p.original_name, p.order) for p in lead.photos] == [
        ("IMG_0003.jpg", 1),
        ("IMG_0001.jpg", 2),
        ("IMG_0002.jpg", 3),
    ]
    with ctx.unit_of_work(clerk, "删除照片") as s:
        lead = remove_photo(s, clerk, ids[2])
    assert [(p.original_name, p.order) for p in lead.photos] == [("IMG_0001.jpg", 1), ("IMG_0002.jpg", 2)]
    assert len(_stored_files(ctx)) == 3, "the file stays in the store; only the link is tombstoned"
    with ctx.read() as s:
        assert s.get(LeadPhoto, ids[2]).deleted  # type: ignore[union-attr]

    with pytest.raises(ConflictError, match="照片刚有增减"), ctx.unit_of_work(clerk) as s:
        reorder_photos(s, clerk, lead.id, ids)  # still lists the removed one
    with pytest.raises(NotFoundError, match="找不到该照片"), ctx.unit_of_work(clerk) as s:
        remove_photo(s, clerk, ids[2])


# ---- triage -----------------------------------------------------------------------------------


def test_close_needs_a_reason_and_only_once(ctx: AppContext, clerk: Actor, actors: dict[Role, Actor]) -> None:
    lead = _register(ctx, clerk)
    with (
        pytest.raises(ValidationError, match=f"请填写{lead.number}不予立案的理由") as err,
        ctx.unit_of_work(clerk) as s,
    ):
        close_lead(s, clerk, lead.id, "  ")
    assert err.value.field == "reason"

    leader = actors[Role.LEADER]
    with ctx.unit_of_work(leader, "不予立案") as s:
        closed = close_lead(s, leader, lead.id, "经现场核查，摊贩已自行撤离，未发现违法行为。")
    assert closed.status is LeadStatus.CLOSED and closed.status_label == "不予立案已结"
    assert closed.triaged_by_name == leader.display_name
    assert closed.triage_reason == "经现场核查，摊贩已自行撤离，未发现违法行为。"
    assert closed.triaged_at is not None

    with pytest.raises(LeadStatusError) as again, ctx.unit_of_work(clerk) as s:
        close_lead(s, clerk, lead.id, "重复处置")
    assert f"{lead.number}当前状态为“不予立案已结”" in again.value.message
    assert "只有“待处置”的案源才能不予立案结案" in again.value.message
    with pytest.raises(LeadStatusError, match="只有“待处置”的案源才能移送"), ctx.unit_of_work(clerk) as s:
        transfer_lead_out(s, clerk, lead.id, "天河区市场监督管理局", "不属本队职权")
    with pytest.raises(LeadStatusError, match="才能修改"), ctx.unit_of_work(clerk) as s:
        update_lead(s, clerk, lead.id, _input(), closed.version)


def test_transfer_out_and_its_refusals(
    ctx: AppContext, clerk: Actor, actors: dict[Role, Actor], photos: list[Path]
) -> None:
    lead = _register(ctx, clerk, _input(description="无证经营食品小作坊"), photos[:1])
    officer = actors[Role.OFFICER]
    for department, reason, field in (
        ("", "不属本队职权", "to_department"),
        ("天河区市场监督管理局", "", "reason"),
    ):
        with pytest.raises(ValidationError, match=lead.number) as err, ctx.unit_of_work(officer) as s:
            transfer_lead_out(s, officer, lead.id, department, reason)
        assert err.value.field == field

    with ctx.unit_of_work(officer, "移送案源") as s:
        moved = transfer_lead_out(
            s, officer, lead.id, " 广州市天河区市场监督管理局 ", "属食品生产经营监管事项，不属本队职权。"
        )
    assert (moved.status, moved.status_label) == (LeadStatus.TRANSFERRED_OUT, "已移送")
    assert moved.transferred_to == "广州市天河区市场监督管理局"
    assert moved.triaged_by_name == officer.display_name

    with (
        pytest.raises(LeadStatusError, match=f"{lead.number}当前状态为“已移送”"),
        ctx.unit_of_work(clerk) as s,
    ):
        close_lead(s, clerk, lead.id, "已移送，结案")
    with pytest.raises(LeadStatusError, match="才能删除照片"), ctx.unit_of_work(clerk) as s:
        remove_photo(s, clerk, moved.photos[0].id)
    with pytest.raises(LeadStatusError, match="才能添加照片"), ctx.unit_of_work(clerk) as s:
        add_photos(s, clerk, lead.id, photos[1:], files.files_dir(ctx.data_dir))


def test_unknown_lead(ctx: AppContext, clerk: Actor) -> None:
    with pytest.raises(NotFoundError, match="找不到该案源"), ctx.unit_of_work(clerk) as s:
        close_lead(s, clerk, "no-such-id", "理由")


# ---- reading and permissions ------------------------------------------------------------------


def test_list_filters_newest_first(ctx: AppContext, clerk: Actor) -> None:
    patrol = _register(ctx, clerk, _input(T(2026, 3, 1, 9, 0)))
    hotline = _register(
        ctx,
        clerk,
        _input(
            T(2026, 3, 5, 14, 0),
            source=LeadSource.HOTLINE_12345,
            source_ref="GZ-0088",
            address="车陂南街 8 号",
        ),
    )
    grid = _register(
        ctx, clerk, _input(T(2026, 4, 10, 10, 0), source=LeadSource.GRID, reporter_name="网格员赵")
    )
    with ctx.unit_of_work(clerk) as s:
        close_lead(s, clerk, patrol.id, "未发现违法行为")

    def ids(**kw: object) -> list[str]:
        with ctx.read() as s:
            return [v.id for v in list_leads(s, clerk, **kw)]  # type: ignore[arg-type]

    assert ids() == [grid.id, hotline.id, patrol.id]
    assert ids(status=LeadStatus.REGISTERED) == [grid.id, hotline.id]
    assert ids(status=LeadStatus.CLOSED) == [patrol.id]
    assert ids(source=LeadSource.HOTLINE_12345) == [hotline.id]
    assert ids(text="车陂南街") == [hotline.id]
    assert ids(text="GZ-0088") == [hotline.id]
    assert ids(text="网格员赵") == [grid.id]
    assert ids(text="0002") == [hotline.id]  # by number
    assert ids(received_from=dt.date(2026, 3, 1), received_to=dt.date(2026, 3, 5)) == [hotline.id, patrol.id]
    assert ids(received_from=dt.date(2026, 3, 2)) == [grid.id, hotline.id]
    assert ids(received_to=dt.date(2026, 2, 28)) == []
    assert ids(limit=1, offset=1) == [hotline.id]


def test_permissions(ctx: AppContext, actors: dict[Role, Actor]) -> None:
    legal = actors[Role.LEGAL]
    with pytest.raises(PermissionDenied, match="登记和处置案源") as err:
        _register(ctx, legal)
    assert "法制员" in err.value.message
    lead = _register(ctx, actors[Role.LEADER])
    with pytest.raises(PermissionDenied), ctx.unit_of_work(legal) as s:
        close_lead(s, legal, lead.id, "无违法行为")
    with pytest.raises(PermissionDenied), ctx.unit_of_work(legal) as s:
        transfer_lead_out(s, legal, lead.id, "区市场监管局", "不属本队职权")
    with ctx.read() as s:
        assert [v.id for v in list_leads(s, legal)] == [lead.id]
        assert get_lead(s, legal, lead.id).number == lead.number


def test_audit_chain_verifies_after_a_day_of_leads(
    ctx: AppContext, actors: dict[Role, Actor], photos: list[Path]
) -> None:
    clerk, officer = actors[Role.CLERK], actors[Role.OFFICER]
    a = _register(ctx, clerk, photos=photos)
    b = _register(ctx, officer)
    c = _register(ctx, officer)
    with ctx.unit_of_work(clerk) as s:
        reorder_photos(s, clerk, a.id, [p.id for p in reversed(a.photos)])
        remove_photo(s, clerk, a.photos[0].id)
    with ctx.unit_of_work(officer) as s:
        close_lead(s, officer, b.id, "已自行整改")
    with ctx.unit_of_work(officer) as s:
        transfer_lead_out(s, officer, c.id, "区住建局", "属建筑施工扬尘监管")
    with ctx.read() as s:
        report = verify(s)
    assert report.ok, report.problems
    assert report.rows_checked > 0
