"""``squaddesk-cli case-check`` and ``clocks`` on a demo data folder with a case built through the
services: output, exit 0 / 5 (veto) / 2 (no such case)."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_builders import D, decide_case, make_crew, open_and_file, serve_case

from app.auth.service import authenticate
from app.cases.service import get_case
from app.cli import main
from app.context import open_data_dir
from db.models import Party

PW = "squad2026"


def test_case_check_and_clocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "data")
    assert main(["--data-dir", d, "init", "--demo"]) == 0
    ctx = open_data_dir(Path(d))
    try:
        admin = authenticate(ctx, "admin", PW)
        crew = make_crew(ctx, admin)
        case_id = open_and_file(crew, D(2026, 3, 2), D(2026, 3, 4))
        decide_case(crew, case_id, D(2026, 3, 10))
        serve_case(crew, case_id, D(2026, 3, 10))
        with ctx.read() as s:
            number = get_case(s, admin, case_id).number
    finally:
        ctx.close()
    capsys.readouterr()

    assert main(["--data-dir", d, "case-check", number, "--password", PW]) == 0
    out = capsys.readouterr().out
    assert number in out and "否决项 0 项" in out

    assert main(["--data-dir", d, "clocks", number, "--password", PW, "--today", "2026-03-24"]) == 0
    out = capsys.readouterr().out
    assert "案件办理期限：截止 2026-06-01" in out and "[已完成]" in out
    assert "罚款缴纳期限：截止 2026-03-25" in out and "[临近]" in out

    assert main(["--data-dir", d, "clocks", number, "--password", PW, "--today", "2026-11-20"]) == 0
    out = capsys.readouterr().out
    # the fine unpaid: the lawsuit period has passed (red), the court application is next
    assert "提起行政诉讼期限：截止 2026-09-10 [已超期]" in out
    assert "申请法院强制执行期限：截止 2026-12-10 [正常]" in out

    # the party's ID number erased: identity unproven is a veto, exit 5
    ctx = open_data_dir(Path(d))
    try:
        with ctx.unit_of_work(admin) as s:
            party = s.get(Party, crew.party_id)
            assert party is not None
            party.id_number = ""
    finally:
        ctx.close()
    assert main(["--data-dir", d, "case-check", number, "--password", PW]) == 5
    out = capsys.readouterr().out
    assert "[否决项]" in out and "王某没有登记公民身份号码" in out and "当事人信息" in out

    assert main(["--data-dir", d, "case-check", "车综执立〔2026〕第9999号", "--password", PW]) == 2
    assert "找不到案号" in capsys.readouterr().err
    assert main(["--data-dir", d, "clocks", "不存在", "--password", PW]) == 2
