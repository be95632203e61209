"""``squaddesk-cli enroll``, ``sync``, ``sync-status``, ``conflicts``, ``bundle-export`` and
``bundle-import`` against a real district server process on 127.0.0.1 (SQLite): output, exit
codes 0 / 2 (needs a person) / 3 (try again later), a fresh installation joining its squad
without a login, a conflict listed with its differing fields, and a USB round trip through
``squaddesk-district bundle-import``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from case_builders import id_number
from district_server import ROOT, DistrictServer, start_server

from app.auth.service import authenticate
from app.cli import main
from app.context import open_data_dir
from app.paths import DB_FILE
from app.personnel.members import MemberInput, create_member, get_member, update_member
from db.models.personnel import StaffCategory

PW = "test1234"  # the set-up template's admin password (tests/conftest.py)


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = start_server(f"sqlite+pysqlite:///{tmp_path / 'district.sqlite3'}", tmp_path / "district")
    yield server
    server.stop()


def _folder(templates: dict[bool, Path], folder: Path, set_up: bool) -> str:
    folder.mkdir(parents=True)
    shutil.copyfile(templates[set_up], folder / DB_FILE)
    return str(folder)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _rename(data_dir: str, member_id: str, name: str) -> None:
    ctx = open_data_dir(Path(data_dir))
    try:
        admin = authenticate(ctx, "admin", PW)
        with ctx.unit_of_work(admin, "修改队员") as s:
            view = get_member(s, admin, member_id)
            update_member(s, admin, member_id, MemberInput(name, view.id_number, view.category), view.version)
    finally:
        ctx.close()


def test_enroll_sync_status_and_conflicts(
    district: DistrictServer, templates: dict[bool, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _folder(templates, tmp_path / "office", set_up=True)

    code, out, err = _run(capsys, "--data-dir", d, "sync")
    assert code == 2 and "尚未在区局登记" in err and "enroll" in err
    code, out, _ = _run(capsys, "--data-dir", d, "sync-status")
    assert code == 0 and "尚未在区局登记" in out

    # Enrolling a set-up installation is the administrator's.
    code, _, err = _run(
        capsys, "--data-dir", d, "enroll", "--server", district.url, "--code", "x", "--password", "bad"
    )
    assert code == 2 and "密码" in err
    code, _, err = _run(
        capsys, "--data-dir", d, "enroll", "--server", "http://", "--code", district.code(), "--password", PW
    )
    assert code == 2 and "区局地址" in err and "格式不正确" in err
    code, _, err = _run(
        capsys, "--data-dir", d, "enroll", "--server", district.url, "--code", "NOT-A-CODE", "--password", PW
    )
    assert code == 2 and "登记码无效" in err
    code, out, err = _run(
        capsys,
        "--data-dir",
        d,
        "enroll",
        "--server",
        district.url.removeprefix("http://"),
        "--code",
        district.code(),
        "--label",
        "内勤电脑",
        "--password",
        PW,
    )
    assert code == 0, err
    assert "已在区局登记为“车陂街综合行政执法队”的设备" in out and "squaddesk-cli sync" in out

    code, out, _ = _run(capsys, "--data-dir", d, "sync-status")
    assert code == 0 and f"区局地址：{district.url}" in out and "上次同步：从未同步" in out
    assert "最早一条已等待" in out

    ctx = open_data_dir(Path(d))
    try:
        admin = authenticate(ctx, "admin", PW)
        with ctx.unit_of_work(admin, "新增队员") as s:
            member = create_member(s, admin, MemberInput("王五", id_number(), StaffCategory.CIVIL_SERVANT))
    finally:
        ctx.close()
    code, out, err = _run(capsys, "--data-dir", d, "sync")
    assert code == 0, err
    assert out.startswith("同步完成：上传 ") and "接收" in out
    code, out, _ = _run(capsys, "--data-dir", d, "sync-status")
    assert "待上传：0 条" in out and "上次同步：从未同步" not in out and "上次同步失败" not in out
    assert "区局拒收：无" in out

    # A fresh installation joins without a login, and its first sync brings the squad's users.
    field = _folder(templates, tmp_path / "field", set_up=False)
    code, out, err = _run(
        capsys,
        "--data-dir",
        field,
        "enroll",
        "--server",
        district.url,
        "--code",
        district.code(),
        "--label",
        "外勤站",
    )
    assert code == 0, err
    assert "本机加入“车陂街综合行政执法队”" in out
    code, out, err = _run(capsys, "--data-dir", field, "sync")
    assert code == 0, err
    ctx = open_data_dir(Path(field))
    try:
        authenticate(ctx, "admin", PW)
    finally:
        ctx.close()

    # The same member edited on both: a conflict, listed with what differs.
    code, out, _ = _run(capsys, "--data-dir", d, "conflicts")
    assert code == 0 and "没有未处理的同步冲突" in out
    _rename(d, member.id, "王五甲")
    _rename(field, member.id, "王五乙")
    assert _run(capsys, "--data-dir", d, "sync")[0] == 0
    code, out, _ = _run(capsys, "--data-dir", field, "sync")
    assert code == 0 and "冲突" in out and "squaddesk-cli conflicts" in out
    code, out, _ = _run(capsys, "--data-dir", field, "conflicts")
    assert code == 0 and "未处理" in out and "发现于" in out
    assert "姓名：当前版本" in out and "“王五甲”" in out and "“王五乙”" in out
    # (Logging in on both PCs also edits the user's 最近登录 on both, which shows as conflicts too.)
    listed = re.search(r"共 (\d+) 条，其中未处理 (\d+) 条", out)
    assert listed is not None and listed[1] == listed[2]
    code, out, _ = _run(capsys, "--data-dir", field, "sync-status")
    assert f"未处理冲突：{listed[2]} 处" in out


def test_an_unreachable_district_exits_3_so_a_script_retries(
    district: DistrictServer, templates: dict[bool, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _folder(templates, tmp_path / "office", set_up=True)
    code, _, err = _run(
        capsys,
        "--data-dir",
        d,
        "enroll",
        "--server",
        district.url,
        "--code",
        district.code(),
        "--password",
        PW,
    )
    assert code == 0, err
    district.stop()
    # As a script runs it: the real program in its own process.
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--data-dir", d, "sync"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 3, result.stderr
    assert "无法连接区局同步服务" in result.stderr and "Traceback" not in result.stderr
    code, out, _ = _run(capsys, "--data-dir", d, "sync-status")
    assert code == 0 and "上次同步失败：无法连接区局同步服务" in out and "已连续失败 1 次" in out
    district.start()
    code, out, err = _run(capsys, "--data-dir", d, "sync")
    assert code == 0, err
    assert "上次同步失败" not in _run(capsys, "--data-dir", d, "sync-status")[1]


def test_bundles_round_trip_by_usb_stick(
    district: DistrictServer, templates: dict[bool, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _folder(templates, tmp_path / "office", set_up=True)
    bundle = tmp_path / "stick" / "车陂.sdbundle"
    bundle.parent.mkdir()
    code, _, err = _run(capsys, "--data-dir", d, "bundle-export", str(bundle))
    assert code == 2 and "登记" in err and not bundle.exists()
    code, _, err = _run(
        capsys,
        "--data-dir",
        d,
        "enroll",
        "--server",
        district.url,
        "--code",
        district.code(),
        "--password",
        PW,
    )
    assert code == 0, err

    code, out, err = _run(capsys, "--data-dir", d, "bundle-export", str(bundle))
    assert code == 0, err
    assert "已导出离线同步文件“车陂.sdbundle”" in out and bundle.stat().st_size > 0
    # The outbox stays until the district's answer acknowledges it.
    assert "最早一条已等待" in _run(capsys, "--data-dir", d, "sync-status")[1]

    # Something that is not the district's answer is refused whole, with a message and exit 2.
    fake = tmp_path / "stick" / "答复.sdbundle"
    fake.write_bytes(b"PK\x03\x04 not a bundle")
    code, out, err = _run(capsys, "--data-dir", d, "bundle-import", str(fake))
    assert code == 2 and err.startswith("错误：") and "Traceback" not in err
    # Importing the device's own push bundle as an answer is refused too.
    code, _, err = _run(capsys, "--data-dir", d, "bundle-import", str(bundle))
    assert code == 2 and err.startswith("错误：")

    # The district imports the stick's file and writes its answer; the answer acknowledges the outbox.
    from app.district.cli import main as district_main

    answer = tmp_path / "stick" / "车陂-答复.sdbundle"
    code = district_main(
        [
            "--db",
            district.db_url,
            "bundle-import",
            str(bundle),
            "--answer",
            str(answer),
            "--files",
            str(district.files_dir),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert answer.exists()
    code, out, err = _run(capsys, "--data-dir", d, "bundle-import", str(answer))
    assert code == 0, err
    assert out.startswith("已导入区局回执")
    assert "待上传：0 条" in _run(capsys, "--data-dir", d, "sync-status")[1]
    # The same answer again changes nothing.
    code, out, _ = _run(capsys, "--data-dir", d, "bundle-import", str(answer))
    assert code == 0 and "已经导入过" in out


def test_the_bundle_commands_print_the_results_summary(
    templates: dict[bool, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The commands call app.sync.offline directly and print what it returned, its ``summary``."""
    import app.cli as cli
    from app.sync import offline

    assert not hasattr(cli, "_offline") and not hasattr(cli, "_outcome")  # no fallback for a missing module
    d = _folder(templates, tmp_path / "office", set_up=True)
    bundle = tmp_path / "stick" / "车陂.sdbundle"
    exported = offline.ExportInfo(
        path=bundle, sha256="0" * 64, size=1, seq_from=4, seq_to=9, entries=5, resolutions=1, files=2
    )
    imported = offline.ImportInfo(path=bundle, sha256="1" * 64, replay=True, acked_seq=9)
    monkeypatch.setattr(offline, "export_bundle", lambda ctx, path, progress=None: exported)
    monkeypatch.setattr(offline, "import_answer", lambda ctx, path, progress=None: imported)
    code, out, err = _run(capsys, "--data-dir", d, "bundle-export", str(bundle))
    assert code == 0, err
    assert out == exported.summary + "\n"
    code, out, err = _run(capsys, "--data-dir", d, "bundle-import", str(bundle))
    assert code == 0, err
    assert out == imported.summary + "\n"
