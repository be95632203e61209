"""``squaddesk-district`` in-process on a real SQLite file: every command migrates the database,
works in one transaction and answers in Chinese; a refused action exits 2 with its reason on
stderr and stores nothing. Plus the installed entry point's help in a real subprocess."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.district import cli
from app.district.cli import main
from app.district.service import enroll
from app.sync.signing import DeviceKey
from db import migrate
from db.engine import make_engine, sqlite_url
from db.models import DistrictDevice, DistrictRelease, DistrictSquad, SyncConflict

SQUAD = "车陂街综合行政执法队"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "district" / "district.sqlite3")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@contextmanager
def session_on(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_help_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.district.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "create-squad", "issue-code", "devices", "revoke", "publish"):
        assert command in result.stdout
    assert "区局同步服务" in result.stdout


def test_bad_arguments_exit_2_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--workers", "0"])
    assert exit_.value.code == 2
    assert "命令行参数不正确" in capsys.readouterr().err


def test_migrate_creates_the_database(db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "migrate", "--db", db)
    assert code == 0 and "最新结构" in out
    assert (tmp_path / "district" / "district.sqlite3").is_file()
    engine = make_engine(db)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_squads_codes_devices_and_revoke(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", db, "create-squad", SQUAD)
    assert code == 0 and f"已登记中队“{SQUAD}”" in out
    code, _, err = run(capsys, "--db", db, "create-squad", SQUAD)
    assert code == 2 and "已登记" in err

    code, out, _ = run(capsys, "issue-code", SQUAD, "--db", db)  # --db after the command works too
    assert code == 0
    enrollment = out.split("登记码：")[1].split()[0]
    code, _, err = run(capsys, "--db", db, "issue-code", "不存在的中队")
    assert code == 2 and "找不到中队" in err

    code, out, _ = run(capsys, "--db", db, "devices")
    assert code == 0 and "尚无" in out
    with session_on(db) as s, s.begin():
        enroll(s, enrollment, "device-1", DeviceKey.generate().public_pem(), None, "内勤电脑")
    code, out, _ = run(capsys, "--db", db, "devices")
    assert code == 0 and "device-1" in out and SQUAD in out and "内勤电脑" in out and "正常" in out
    code, out, _ = run(capsys, "--db", db, "squads")
    assert code == 0 and "设备 1 台" in out and "已绑定" in out

    code, out, _ = run(capsys, "--db", db, "revoke", "device-1")
    assert code == 0 and "已停用设备 device-1" in out
    code, out, _ = run(capsys, "--db", db, "devices")
    assert "已停用" in out
    code, _, err = run(capsys, "--db", db, "revoke", "nobody")
    assert code == 2 and "找不到设备" in err
    with session_on(db) as s:
        device = s.get(DistrictDevice, "device-1")
        assert device is not None and device.revoked_at is not None
        assert s.scalar(select(func.count()).select_from(DistrictSquad)) == 1


def test_conflicts_listing(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--db", db, "create-squad", SQUAD)
    code, out, _ = run(capsys, "--db", db, "conflicts")
    assert code == 0 and "没有同步冲突" in out
    with session_on(db) as s, s.begin():
        squad_id = s.scalars(select(DistrictSquad.id)).one()
        s.add(
            SyncConflict(
                squad_id=squad_id,
                table_name="members",
                row_id="row-1",
                winner_version=3,
                winner_by="dev-b",
                loser_version=3,
                loser_by="dev-a",
                loser_payload="{}",
                detected_at=dt.datetime(2026, 5, 1, 9, 30),
            )
        )
    code, out, _ = run(capsys, "--db", db, "conflicts", "--squad", SQUAD)
    assert code == 0
    local = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    assert "row-1" in out and "v3（dev-b）" in out and "未处理" in out and local in out
    code, out, _ = run(capsys, "--db", db, "conflicts", "--open")
    assert "row-1" in out
    code, _, err = run(capsys, "--db", db, "conflicts", "--squad", "别的中队")
    assert code == 2 and "找不到中队" in err


def test_publish_and_releases(db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from test_releases import calendar_file, catalog_file, templates_folder

    code, out, _ = run(capsys, "--db", db, "releases")
    assert code == 0 and "尚未发布" in out
    code, out, err = run(
        capsys,
        "--db",
        db,
        "publish",
        "--catalog",
        str(catalog_file(tmp_path)),
        "--calendar",
        str(calendar_file(tmp_path)),
        "--templates",
        str(templates_folder(tmp_path)),
        "--note",
        "2026 年第 1 次调整",
    )
    assert code == 0, err
    assert "已发布区局参考数据第 1 版" in out and "执法事项目录第 2 版" in out
    assert "节假日调整 2 天" in out and "penalty_decision" in out

    code, out, _ = run(capsys, "--db", db, "releases", "--key")
    assert code == 0 and "第 1 版" in out and "2026 年第 1 次调整" in out and "BEGIN PUBLIC KEY" in out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "squaddesk-reference"}), encoding="utf-8")
    code, _, err = run(capsys, "--db", db, "publish", "--catalog", str(bad))
    assert code == 2 and "bad.json" in err
    code, _, err = run(capsys, "--db", db, "publish", "--note", "空")
    assert code == 2 and "至少指定一项" in err
    with session_on(db) as s:
        assert s.scalar(select(func.count()).select_from(DistrictRelease)) == 1


def test_an_unreachable_database_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", "postgresql://nobody:secret@127.0.0.1:1/none", "devices")
    assert code == 2 and "无法打开区局数据库" in err and "secret" not in err


def test_default_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from app.district import paths

    monkeypatch.setattr(paths, "default_data_dir", lambda: tmp_path / "user")
    assert cli.default_db_url() == sqlite_url(tmp_path / "user" / "district" / "district.sqlite3")
    assert cli.default_files_dir(cli.default_db_url()) == tmp_path / "user" / "district" / "district-files"
    assert cli.default_files_dir("postgresql://d@h/db") == tmp_path / "user" / "district" / "district-files"


def test_serve_runs_the_api_in_a_subprocess(tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = sqlite_url(tmp_path / "served.sqlite3")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.district.cli", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                hello = httpx.get(f"http://127.0.0.1:{port}/v1/hello", timeout=2).json()
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.2)
        assert hello["district_key"].startswith("-----BEGIN PUBLIC KEY-----")
        assert (tmp_path / "district-files").is_dir()
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
