"""District reference-data releases end to end, without HTTP: the district publishes a signed,
numbered release from real files on a real migrated SQLite database; a real device data folder
verifies and installs it — the catalog as a district release numbered after any local revision,
calendar overrides by day, templates in the data folder preferred to the bundled ones. Refused,
with nothing installed or stored: a release not newer than the installed one, any changed byte
of payload or signature, an invalid catalog, calendar or template."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.roles import Actor
from app.calendar import calendar_for
from app.context import AppContext
from app.district.releases import (
    district_key,
    district_public_pem,
    list_releases,
    publish_release,
    releases_after,
)
from app.documents import template as templates_module
from app.documents.template import document_types, load_template, use_district_templates
from app.errors import ValidationError
from app.paths import resource_path
from app.reference import current_release, list_items, remove_item
from app.sync.releases import ReleaseError, apply_release, verify_release
from app.sync.signing import canonical
from db import migrate
from db.engine import make_engine, sqlite_url
from db.models import CalendarOverride, DistrictRelease, DistrictSetting
from db.models.reference import ReferenceRelease, ReleaseSource

HOLIDAY = dt.date(2026, 10, 9)  # a Friday the district gives off
MAKEUP = dt.date(2026, 10, 10)  # a Saturday worked instead
TITLE = "行政处罚决定书（区局修订）"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url(tmp_path / "district.sqlite3"))
    migrate.upgrade(engine)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture(autouse=True)
def bundled_templates_only() -> Iterator[None]:
    """Every test starts and ends with no district template folder in use (a module global)."""
    use_district_templates(None)
    yield
    use_district_templates(None)


def catalog_file(folder: Path, release: int = 2, name: str = "擅自占用城市道路（区局）") -> Path:
    data = json.loads(resource_path("reference", "catalog.json").read_text(encoding="utf-8"))
    data.update(release=release, source="bundled", name="区局 2026 年第 1 次调整")
    data["items"][0]["name"] = name
    path = folder / f"catalog-{release}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def template_json(title: str = TITLE, revision: int = 2) -> dict[str, Any]:
    data = json.loads(resource_path("templates", "penalty_decision.json").read_text(encoding="utf-8"))
    data.update(title=title, revision=revision)
    return data


def templates_folder(folder: Path, **changes: Any) -> Path:
    out = folder / "district-templates"
    out.mkdir(exist_ok=True)
    data = template_json()
    data.update(changes)
    (out / "penalty_decision.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


def calendar_file(folder: Path) -> Path:
    path = folder / "calendar.json"
    path.write_text(
        json.dumps(
            [
                {"day": HOLIDAY.isoformat(), "is_workday": False, "name": "区局统一调休"},
                {"day": MAKEUP.isoformat(), "is_workday": True, "name": "调休上班"},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def publish_all(
    server: sessionmaker[Session], tmp_path: Path, release: int = 2
) -> tuple[str, dict[str, Any]]:
    """Publish catalog, calendar and templates; the district's public key and the release as it travels."""
    with server.begin() as s:
        publish_release(
            s,
            catalog=catalog_file(tmp_path, release),
            calendar=calendar_file(tmp_path),
            templates=templates_folder(tmp_path),
            note="2026 年第 1 次调整",
        )
        pem = district_public_pem(s)
        return pem, releases_after(s, 0)[-1]


def install(ctx: AppContext, admin: Actor, body: dict[str, Any], current: int = 0) -> Any:
    with ctx.unit_of_work(admin, "安装区局参考数据") as s:
        return apply_release(s, admin, body, ctx.data_dir, current)


def stored_releases(server: sessionmaker[Session]) -> int:
    with server() as s:
        return int(s.scalar(select(func.count()).select_from(DistrictRelease)) or 0)


# ---- the district key ------------------------------------------------------------------------------


def test_district_key_is_made_once_and_kept(server: sessionmaker[Session]) -> None:
    with server.begin() as s:
        first = district_public_pem(s)
    with server.begin() as s:
        assert district_public_pem(s) == first
        assert s.scalar(select(func.count()).select_from(DistrictSetting)) == 1
        assert "PRIVATE KEY" in (s.get(DistrictSetting, "signing_key") or DistrictSetting()).value
    assert first.startswith("-----BEGIN PUBLIC KEY-----")


def test_district_key_race_on_postgres_yields_one_key(postgres_url: str) -> None:
    """Two workers making the key at once: the second waits for the first's insert, finds it
    and signs with the same key."""
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        first = factory()
        first.begin()
        mine = district_key(first).public_pem()  # inserted, not yet committed
        theirs: list[str] = []
        worker = threading.Thread(target=lambda: theirs.append(_key_in_own_session(factory)))
        worker.start()
        time.sleep(0.5)
        assert not theirs  # blocked on the uncommitted insert of the same key
        first.commit()
        first.close()
        worker.join(timeout=20)
        assert theirs == [mine]
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(DistrictSetting)) == 1
    finally:
        engine.dispose()


def _key_in_own_session(factory: sessionmaker[Session]) -> str:
    with factory.begin() as s:
        return district_key(s).public_pem()


# ---- publish, verify, apply --------------------------------------------------------------------------


def test_publish_verify_and_apply_on_a_device(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    pem, release = publish_all(server, tmp_path)
    assert release["version"] == 1
    with server() as s:
        [info] = list_releases(s)
    assert (info.version, info.catalog_release, info.calendar_days, info.templates) == (
        1,
        2,
        2,
        ("penalty_decision",),
    )
    assert info.note == "2026 年第 1 次调整"

    body = verify_release(pem, release)
    assert body["catalog"]["source"] == "district"
    applied = install(ctx, admin, body)
    assert (applied.version, applied.catalog_release_no, applied.calendar_days) == (1, 2, 2)
    assert applied.templates == ("penalty_decision",)
    assert "第 1 版" in applied.summary

    with ctx.read() as s:
        current = current_release(s)
        assert (current.release_no, current.source) == (2, ReleaseSource.DISTRICT)
        assert list_items(s)[0].name == "擅自占用城市道路（区局）"
        calendar = calendar_for(s)
        assert not calendar.is_workday(HOLIDAY)
        assert calendar.is_workday(MAKEUP)
        assert calendar.info(HOLIDAY).name == "区局统一调休"

    # The template is in the data folder, which open_data_dir put in use: it replaces the bundled one.
    shipped = ctx.data_dir / "templates" / "penalty_decision.json"
    assert json.loads(shipped.read_text(encoding="utf-8"))["title"] == TITLE
    assert load_template("penalty_decision").title == TITLE
    use_district_templates(None)
    assert load_template("penalty_decision").title == "行政处罚决定书"
    use_district_templates(ctx.data_dir / "templates")
    assert load_template("penalty_decision").title == TITLE
    assert document_types()["penalty_decision"] == TITLE
    assert load_template("correction_order").source == "correction_order.json"  # others stay bundled
    assert list(ctx.data_dir.joinpath("templates").glob(".*")) == []  # no temporary file left behind


def test_templates_appear_only_when_the_transaction_commits(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    """A release applied in a transaction that then rolls back (a later check fails, the clerk
    cancels, the commit fails) leaves the templates in use as they were."""
    pem, release = publish_all(server, tmp_path)
    body = verify_release(pem, release)
    folder = ctx.data_dir / "templates"
    shipped = folder / "penalty_decision.json"
    with pytest.raises(RuntimeError), ctx.unit_of_work(admin, "安装区局参考数据") as s:
        apply_release(s, admin, body, ctx.data_dir, 0)
        with s.begin_nested():  # a savepoint released is not the commit
            pass
        assert not shipped.exists()  # not before the commit either
        raise RuntimeError("the commit is refused")
    assert not shipped.exists() and list(folder.iterdir()) == []  # nor a temporary file
    assert load_template("penalty_decision").title == "行政处罚决定书"
    with ctx.read() as s:
        assert current_release(s).source == ReleaseSource.BUNDLED

    install(ctx, admin, body)
    assert [p.name for p in folder.iterdir()] == ["penalty_decision.json"]
    assert load_template("penalty_decision").title == TITLE


def test_a_template_written_in_a_savepoint_that_rolls_back_is_not_installed(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    pem, release = publish_all(server, tmp_path)
    body = verify_release(pem, release)
    folder = ctx.data_dir / "templates"
    with ctx.unit_of_work(admin, "安装区局参考数据") as s, pytest.raises(RuntimeError), s.begin_nested():
        apply_release(s, admin, body, ctx.data_dir, 0)
        raise RuntimeError("this part is abandoned")
    assert list(folder.iterdir()) == []
    with ctx.read() as s:
        assert current_release(s).source == ReleaseSource.BUNDLED


def test_a_district_catalog_is_numbered_after_local_revisions(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    with ctx.unit_of_work(admin, "删除事项") as s:
        remove_item(s, admin, list_items(s)[-1].code)  # local revision: release 2
    pem, release = publish_all(server, tmp_path, release=2)
    applied = install(ctx, admin, verify_release(pem, release))
    assert applied.catalog_release_no == 3
    with ctx.read() as s:
        rows = s.execute(select(ReferenceRelease.release_no, ReferenceRelease.source)).all()
        assert sorted(rows) == [(1, "bundled"), (2, "local"), (3, "district")]
        assert list_items(s)[0].name == "擅自占用城市道路（区局）"


def test_the_same_or_an_older_release_is_refused(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    pem, first = publish_all(server, tmp_path, release=2)
    with server.begin() as s:
        publish_release(s, catalog=catalog_file(tmp_path, 3), calendar=None, templates=None, note="")
        second = releases_after(s, 1)
    assert [r["version"] for r in second] == [2]
    install(ctx, admin, verify_release(pem, second[0]), current=0)

    with pytest.raises(ReleaseError) as same:
        install(ctx, admin, verify_release(pem, second[0]), current=2)
    assert same.value.reason == "rollback"
    with pytest.raises(ReleaseError) as older:
        install(ctx, admin, verify_release(pem, first), current=2)
    assert older.value.reason == "rollback"
    assert "区局参考数据第 1 版早于本机已安装的第 2 版，拒绝回退" in older.value.message
    with ctx.read() as s:
        assert s.scalar(select(func.count()).select_from(ReferenceRelease)) == 2  # bundled + district 3
        assert current_release(s).release_no == 3
        assert s.scalar(select(func.count()).select_from(CalendarOverride)) == 0


@pytest.mark.parametrize("field", ["payload", "signature"])
@pytest.mark.parametrize("where", [0, 40, -3])
def test_one_changed_character_is_refused(
    server: sessionmaker[Session], tmp_path: Path, field: str, where: int
) -> None:
    pem, release = publish_all(server, tmp_path)
    text: str = release[field]
    index = where % len(text)
    flipped = chr(ord(text[index]) ^ 1)
    tampered = {**release, field: text[:index] + flipped + text[index + 1 :]}
    with pytest.raises(ReleaseError) as refused:
        verify_release(pem, tampered)
    assert refused.value.reason in {"checksum", "signature", "malformed"}
    assert "已拒绝" in refused.value.message


def test_a_changed_payload_with_a_matching_hash_fails_the_signature(
    server: sessionmaker[Session], tmp_path: Path
) -> None:
    import hashlib

    pem, release = publish_all(server, tmp_path)
    payload = release["payload"].replace("区局统一调休", "随意放假")
    forged = {**release, "payload": payload, "sha256": hashlib.sha256(payload.encode()).hexdigest()}
    with pytest.raises(ReleaseError) as refused:
        verify_release(pem, forged)
    assert refused.value.reason == "signature"
    # Another district's key (or a key made by someone else) does not verify it either.
    other = tmp_path / "other"
    other.mkdir()
    engine = make_engine(sqlite_url(other / "d.sqlite3"))
    migrate.upgrade(engine)
    with sessionmaker(bind=engine).begin() as s:
        stranger = district_public_pem(s)
    engine.dispose()
    with pytest.raises(ReleaseError) as foreign:
        verify_release(stranger, release)
    assert foreign.value.reason == "signature"


def test_the_outer_version_must_match_the_signed_body(server: sessionmaker[Session], tmp_path: Path) -> None:
    pem, release = publish_all(server, tmp_path)
    with pytest.raises(ReleaseError) as refused:
        verify_release(pem, {**release, "version": 7})
    assert refused.value.reason == "malformed"


# ---- refused at publish: nothing stored ----------------------------------------------------------


def test_an_invalid_catalog_is_refused_and_nothing_stored(
    server: sessionmaker[Session], tmp_path: Path
) -> None:
    path = catalog_file(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["items"][1]["penalty_types"] = ["flogging"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError) as refused, server.begin() as s:
        publish_release(
            s, catalog=path, calendar=calendar_file(tmp_path), templates=templates_folder(tmp_path), note=""
        )
    assert "catalog-2.json" in refused.value.message
    assert "第 2 个事项" in refused.value.message and "flogging" in refused.value.message
    assert stored_releases(server) == 0


def test_a_catalog_not_newer_than_the_last_published_is_refused(
    server: sessionmaker[Session], tmp_path: Path
) -> None:
    publish_all(server, tmp_path, release=3)
    with pytest.raises(ValidationError) as refused, server.begin() as s:
        publish_release(s, catalog=catalog_file(tmp_path, 3), calendar=None, templates=None, note="")
    assert "大于 3" in refused.value.message
    assert stored_releases(server) == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"blocks": [{"type": "paragraph", "text": "{no_such_field}"}]},
            ["penalty_decision.json", "no_such_field"],
        ),
        ({"type": "penalty_decisions"}, ["penalty_decision.json", "文件名"]),
        ({"schema_version": 9}, ["penalty_decision.json", "升级"]),
    ],
)
def test_an_invalid_template_is_refused_at_publish(
    server: sessionmaker[Session], tmp_path: Path, change: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ValidationError) as refused, server.begin() as s:
        publish_release(
            s,
            catalog=catalog_file(tmp_path),
            calendar=None,
            templates=templates_folder(tmp_path, **change),
            note="",
        )
    for word in words:
        assert word in refused.value.message
    assert stored_releases(server) == 0


def test_a_template_of_an_unknown_document_type_is_refused(
    server: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "new-types"
    folder.mkdir()
    data = template_json()
    data["type"] = "district_circular"
    (folder / "district_circular.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError) as refused, server.begin() as s:
        publish_release(s, catalog=None, calendar=None, templates=folder, note="")
    assert "district_circular" in refused.value.message and "已有文书类型" in refused.value.message
    assert stored_releases(server) == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('[{"day": "2026-13-01", "is_workday": false, "name": ""}]', ["第 1 项", "YYYY-MM-DD"]),
        ('[{"day": "2026-10-09", "is_workday": "no"}]', ["is_workday"]),
        (
            '[{"day": "2026-10-09", "is_workday": false}, {"day": "2026-10-09", "is_workday": true}]',
            ["第 2 项", "重复"],
        ),
        ("[]", ["没有任何调整"]),
        ("{not json", ["不是有效的 JSON"]),
    ],
)
def test_an_invalid_calendar_is_refused(
    server: sessionmaker[Session], tmp_path: Path, content: str, words: list[str]
) -> None:
    path = tmp_path / "holidays.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as refused, server.begin() as s:
        publish_release(s, catalog=None, calendar=path, templates=None, note="")
    assert "holidays.json" in refused.value.message
    for word in words:
        assert word in refused.value.message
    assert stored_releases(server) == 0


def test_a_calendar_csv_with_chinese_headers_in_gbk(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    path = tmp_path / "holidays.csv"
    path.write_bytes(
        "日期,是否工作日,名称\n2026-10-09,否,区局统一调休\n2026-10-10,是,调休上班\n".encode("gbk")
    )
    with server.begin() as s:
        info = publish_release(s, catalog=None, calendar=path, templates=None, note="调休")
        pem, [release] = district_public_pem(s), releases_after(s, 0)
    assert (info.catalog_release, info.calendar_days) == (None, 2)
    body = verify_release(pem, release)
    assert body["calendar"] == [
        {"day": "2026-10-09", "is_workday": False, "name": "区局统一调休"},
        {"day": "2026-10-10", "is_workday": True, "name": "调休上班"},
    ]
    with ctx.unit_of_work(admin) as s:
        s.add(CalendarOverride(day=HOLIDAY, is_workday=True, name="本地记错了"))
    applied = install(ctx, admin, body)
    assert applied.catalog_release_no is None
    with ctx.read() as s:
        rows = s.scalars(select(CalendarOverride).order_by(CalendarOverride.day)).all()
        assert [(r.day, r.is_workday, r.name) for r in rows] == [
            (HOLIDAY, False, "区局统一调休"),  # the local row was updated, not duplicated
            (MAKEUP, True, "调休上班"),
        ]
        assert current_release(s).source == ReleaseSource.BUNDLED


def test_nothing_to_publish_is_refused(server: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationError), server.begin() as s:
        publish_release(s, catalog=None, calendar=None, templates=None, note="")


# ---- refused at apply: nothing installed -----------------------------------------------------------


def signed(server: sessionmaker[Session], body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A release the district's key really signed, but that publish would not have made."""
    import hashlib

    payload = canonical(body)
    with server.begin() as s:
        key = district_key(s)
        pem = key.public_pem()
    return pem, {
        "version": body["version"],
        "sha256": hashlib.sha256(payload).hexdigest(),
        "signature": key.sign(payload),
        "payload": payload.decode(),
    }


def test_a_district_template_that_fails_validation_is_refused_at_apply(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    pem, good = publish_all(server, tmp_path)
    body = copy.deepcopy(verify_release(pem, good))
    body["templates"]["penalty_decision"]["blocks"].append({"type": "paragraph", "text": "{no_such_field}"})
    pem, release = signed(server, body)
    with pytest.raises(ReleaseError) as refused:
        install(ctx, admin, verify_release(pem, release))
    assert refused.value.reason == "invalid"
    assert "penalty_decision.json" in refused.value.message and "no_such_field" in refused.value.message
    # Nothing of it was installed: no catalog, no calendar day, no template file.
    assert not (ctx.data_dir / "templates").exists()
    with ctx.read() as s:
        assert current_release(s).source == ReleaseSource.BUNDLED
        assert s.scalar(select(func.count()).select_from(CalendarOverride)) == 0


def test_an_invalid_catalog_in_a_signed_release_is_refused_at_apply(
    server: sessionmaker[Session], tmp_path: Path, ctx: AppContext, admin: Actor
) -> None:
    pem, good = publish_all(server, tmp_path)
    body = copy.deepcopy(verify_release(pem, good))
    body["catalog"]["items"][0]["code"] = ""
    pem, release = signed(server, body)
    with pytest.raises(ReleaseError) as refused:
        install(ctx, admin, verify_release(pem, release))
    assert refused.value.reason == "invalid" and "code" in refused.value.message
    assert not (ctx.data_dir / "templates").exists()


# ---- template preference ---------------------------------------------------------------------------


def test_a_newer_bundled_template_wins_over_an_older_district_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    district = tmp_path / "district"
    district.mkdir()
    (district / "penalty_decision.json").write_text(json.dumps(template_json(revision=2)), encoding="utf-8")
    use_district_templates(district)
    assert load_template("penalty_decision").title == TITLE

    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "penalty_decision.json").write_text(
        json.dumps(template_json("行政处罚决定书（新版程序）", revision=3)), encoding="utf-8"
    )
    monkeypatch.setattr(templates_module, "templates_dir", lambda: bundled)
    assert load_template("penalty_decision").title == "行政处罚决定书（新版程序）"
    assert document_types() == {"penalty_decision": "行政处罚决定书（新版程序）"}


def test_a_damaged_district_template_falls_back_to_the_bundled_one(tmp_path: Path) -> None:
    district = tmp_path / "district"
    district.mkdir()
    (district / "penalty_decision.json").write_text(
        '{"format": "squaddesk-document-template", ', encoding="utf-8"
    )
    use_district_templates(district)
    assert load_template("penalty_decision").title == "行政处罚决定书"
    assert document_types()["penalty_decision"] == "行政处罚决定书"
