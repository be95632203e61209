"""``squaddesk-cli roster-solve`` on the demo squad: the month's roster solved within the time
limit, written into the draft with --save, and the stored roster keeps every hard rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.auth.service import authenticate
from app.cli import main
from app.context import open_data_dir
from app.rosters.data import month_of
from app.rosters.month import check_month

PW = "squad2026"


def test_roster_solve_saves_a_lawful_month(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    assert main(["--data-dir", d, "init", "--demo"]) == 0
    month = month_of(dt.date.today())
    capsys.readouterr()
    args = [
        "--data-dir",
        d,
        "roster-solve",
        month,
        "--password",
        PW,
        "--seconds",
        "5",
        "--seed",
        "1",
        "--save",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{month} 排班：") and "已写入本月排班草稿" in out and "缺口" not in out
    ctx = open_data_dir(Path(d))
    try:
        admin = authenticate(ctx, "admin", PW)
        with ctx.read() as s:
            model, violations = check_month(s, admin, month)
        assert model.roster.assignments and violations == []
    finally:
        ctx.close()


def test_roster_solve_refuses_a_bad_month(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    assert main(["--data-dir", d, "init", "--demo"]) == 0
    assert main(["--data-dir", d, "roster-solve", "2026-13", "--password", PW]) != 0
    assert "月份" in capsys.readouterr().err
