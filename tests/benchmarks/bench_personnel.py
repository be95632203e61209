"""Benchmark: start-up to a usable main window, and member search.

    python tests/benchmarks/bench_personnel.py [--runs 5]

Builds two data folders in a temporary directory — the demo squad (~40 members) and a large
one (2,000 members with about 10,000 certificates) — then:

* starts the real program offscreen (``python -m ui.main --login admin --quit-after-start``)
  several times on each and reports the median time from process start to the main window
  being shown with its first page loaded (the program prints it), and the wall time of the
  whole process;
* times ``search_members`` (first page of 200) for a name fragment, pinyin initials, an ID
  number and a certificate number on the large folder, median of 30 runs each.

Not part of the normal test run: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.auth.service import authenticate
from app.context import open_data_dir
from app.demo import fill_demo
from app.personnel.members import MemberQuery, count_members, search_members
from db.models import Certificate, Member


def build(folder: Path, members: int, certs: int) -> tuple[int, int]:
    ctx = open_data_dir(folder)
    fill_demo(ctx, members=members, certificates_per_member=certs)
    with ctx.read() as s:
        n_members = s.query(Member).count()
        n_certs = s.query(Certificate).count()
    ctx.close()
    return n_members, n_certs


def startup(folder: Path, runs: int) -> tuple[float, float, float]:
    ready, todos, wall = [], [], []
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SQUADDESK_PASSWORD="squad2026")
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "ui.main",
                "--data-dir",
                str(folder),
                "--login",
                "admin",
                "--quit-after-start",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        wall.append((time.perf_counter() - t0) * 1000)
        ready.append(float(out.split("ready ")[1].split(" ms")[0]))
        todos.append(float(out.split("todos ")[1].split(" ms")[0]))
    return statistics.median(ready), statistics.median(todos), statistics.median(wall)


def search_times(folder: Path, runs: int = 30) -> dict[str, float]:
    ctx = open_data_dir(folder)
    actor = authenticate(ctx, "admin", "squad2026")
    with ctx.read() as s:
        sample = s.query(Member).offset(777).first()
        cert = s.query(Certificate).offset(4321).first()
        assert sample is not None and cert is not None
        queries = {
            "姓名片段": sample.name[:1],
            "拼音首字母": sample.name_initials[:2],
            "身份证号": sample.id_number,
            "执法证号": cert.number,
            "全部（无条件，首页 200 行）": "",
        }
    out = {}
    for label, text in queries.items():
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            with ctx.read() as s:
                q = MemberQuery(text=text)
                count_members(s, actor, q)
                rows = search_members(s, actor, q, 0, 200)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{label} “{text}” → {len(rows)} 行"] = statistics.median(times)
    ctx.close()
    return out


def excel_times(large: Path, tmp: Path) -> dict[str, float]:
    """Export the large ledger, then preview and import it into a fresh squad (seconds)."""
    from app.personnel.excel import commit_import, export_ledgers, preview_import
    from app.squad import SquadInput, initialize

    out: dict[str, float] = {}
    ctx = open_data_dir(large)
    actor = authenticate(ctx, "admin", "squad2026")
    xlsx = tmp / "ledger.xlsx"
    t0 = time.perf_counter()
    with ctx.read() as s:
        export_ledgers(s, actor, ctx.settings, xlsx)
    out["export 2,000 members + certificates"] = time.perf_counter() - t0
    ctx.close()
    fresh = open_data_dir(tmp / "fresh")
    admin = initialize(
        fresh, SquadInput("测试中队", "测试街道办事处", "440106", "测综执"), "admin", "管理员", "abc12345"
    )
    t0 = time.perf_counter()
    with fresh.read() as s:
        preview = preview_import(s, admin, xlsx)
    out[f"import preview ({len(preview.rows)} rows)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with fresh.unit_of_work(admin, "导入") as s:
        commit_import(s, admin, preview)
    out["import commit (one transaction)"] = time.perf_counter() - t0
    fresh.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo, large = Path(tmp) / "demo", Path(tmp) / "large"
        t0 = time.perf_counter()
        dm = build(demo, 40, 1)
        t1 = time.perf_counter()
        lg = build(large, 2000, 6)
        t2 = time.perf_counter()
        print(f"demo data:  {dm[0]} members, {dm[1]} certificates (built in {t1 - t0:.1f} s)")
        print(f"large data: {lg[0]} members, {lg[1]} certificates (built in {t2 - t1:.1f} s)")
        for label, folder in (("demo", demo), ("large", large)):
            ready, todos, wall = startup(folder, args.runs)
            print(
                f"start-up ({label}): main window usable after {ready:.0f} ms, start-page to-dos filled "
                f"after {todos:.0f} ms (medians of {args.runs}); whole process incl. quit {wall:.0f} ms"
            )
        for label, ms in search_times(large).items():
            print(f"search (2,000 members) {label}: {ms:.1f} ms median")
        for label, seconds in excel_times(large, Path(tmp)).items():
            print(f"excel: {label}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
