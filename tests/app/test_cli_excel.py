"""``squaddesk-cli import-members`` and ``export-members`` on a fresh demo data folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from openpyxl import load_workbook

from app.auth.service import authenticate
from app.certificates import list_certificates
from app.cli import main
from app.context import open_data_dir
from app.personnel.members import count_members

PASSWORD = "squad2026"  # the demo administrator's (init --demo)


def _messy_ledger() -> ModuleType:
    """The ledger builder that lives beside the personnel tests (tests have no packages)."""
    if "messy_ledger" in sys.modules:
        return sys.modules["messy_ledger"]
    spec = importlib.util.spec_from_file_location(
        "messy_ledger", Path(__file__).parent / "personnel" / "messy_ledger.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["messy_ledger"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "data"
    assert main(["init", "--demo", "--data-dir", str(folder)]) == 0
    capsys.readouterr()
    return folder


def _counts(folder: Path) -> tuple[int, int]:
    ctx = open_data_dir(folder)
    try:
        admin = authenticate(ctx, "admin", PASSWORD)
        with ctx.read() as s:
            return count_members(s, admin), len(list_certificates(s, admin, ctx.settings))
    finally:
        ctx.close()


def _import(folder: Path, file: Path, *flags: str) -> int:
    return main(["import-members", str(file), "--data-dir", str(folder), "--password", PASSWORD, *flags])


def test_dry_run_lists_rejected_rows_and_writes_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = _messy_ledger().build_messy_ledger(tmp_path / "台账.xlsx")
    before = _counts(data_dir)

    assert _import(data_dir, ledger.path, "--dry-run") == 3
    out = capsys.readouterr().out
    assert f"工作表“{ledger.sheet}”，表头在第 3 行" in out
    # the database-duplicate row is valid here: the demo squad does not hold that ID
    assert f"可导入 {len(ledger.valid) + 1} 人" in out
    assert f"拒绝 {len(ledger.rejected) - 1} 行" in out
    assert f"跳过空行/备注行 {ledger.skipped} 行" in out
    row, _ = ledger.rejected["check_digit"]
    assert f"第 {row} 行 孙丽：身份证号" in out
    assert "试运行（--dry-run）：未写入任何数据。" in out
    assert _counts(data_dir) == before


def test_rejected_rows_stop_the_import_unless_skipped(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = _messy_ledger().build_messy_ledger(tmp_path / "台账.xlsx")
    members, certificates = _counts(data_dir)

    assert _import(data_dir, ledger.path) == 3
    assert "--skip-rejected" in capsys.readouterr().err
    assert _counts(data_dir) == (members, certificates)

    assert _import(data_dir, ledger.path, "--skip-rejected") == 0
    imported = len(ledger.valid) + 1
    assert f"已导入 {imported} 名队员、{ledger.certificates} 本证件。" in capsys.readouterr().out
    assert _counts(data_dir) == (members + imported, certificates + ledger.certificates)
    assert main(["verify-audit", "--data-dir", str(data_dir)]) == 0

    # the same file again: every row is now a duplicate of the database, and nothing changes
    assert _import(data_dir, ledger.path, "--skip-rejected") == 0
    out = capsys.readouterr().out
    assert "已登记在队员“张伟”名下" in out
    assert "已导入 0 名队员、0 本证件。" in out
    assert _counts(data_dir) == (members + imported, certificates + ledger.certificates)


def test_export_members(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "导出台账.xlsx"
    code = main(["export-members", str(out_file), "--data-dir", str(data_dir), "--password", PASSWORD])

    assert code == 0
    assert f"已导出 40 名队员及其证件到 {out_file}。" in capsys.readouterr().out
    wb = load_workbook(out_file, read_only=True)
    assert wb.sheetnames == ["人员台账", "执法证台账"]
    wb.close()


@pytest.mark.parametrize("content", [b"name,id\n", b"\xd0\xcf\x11\xe0" + b"\0" * 100, b""])
def test_a_file_that_is_not_excel_gives_a_chinese_error_not_a_traceback(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bad = tmp_path / "台账.xlsx"
    bad.write_bytes(content)

    assert _import(data_dir, bad, "--dry-run") == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：“台账.xlsx”不是有效的 Excel 文件")
    assert "Traceback" not in err


def test_a_wrong_password_imports_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = _messy_ledger().build_messy_ledger(tmp_path / "台账.xlsx")
    before = _counts(data_dir)
    code = main(["import-members", str(ledger.path), "--data-dir", str(data_dir), "--password", "wrong-1234"])
    assert code == 2
    assert capsys.readouterr().err.startswith("错误：")
    assert _counts(data_dir) == before
