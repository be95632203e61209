"""Benchmark: one 2-page enforcement document, drawn from a demo case.

    python tests/benchmarks/bench_documents.py [--runs 50] [--type penalty_decision]

Builds the demo squad in a temporary folder (its cases at every stage, through the real
services), then for the decided case with legal review (a 2-page 行政处罚决定书) reports:

* the cold first render in this process (fonts parsed and registered once, template read);
* ``render`` alone — layout, painting with font subsetting and compression, into memory —
  median of ``--runs``; target ≤ 30 ms on the project's 2-core machine;
* ``document_data`` + ``render``: the field binding from the database as well (what the CLI's
  ``render`` and the GUI's preview do per document), median of ``--runs``.

The bundled fonts are used (``SQUADDESK_DOCUMENT_FONTS=bundled``) so figures compare across
machines. Not part of the normal test run: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

os.environ.setdefault("SQUADDESK_DOCUMENT_FONTS", "bundled")

from app.auth.service import authenticate
from app.context import open_data_dir
from app.demo import DEMO_ADMIN, fill_demo
from app.documents import document_data, load_template, render
from db.models.cases import Case, Outcome


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--type", default="penalty_decision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo"
        t0 = time.perf_counter()
        ctx = open_data_dir(folder)
        fill_demo(ctx)
        print(f"demo squad built in {time.perf_counter() - t0:.1f} s")
        actor = authenticate(ctx, DEMO_ADMIN[0], DEMO_ADMIN[2])
        with ctx.read() as s:
            cases = list(
                s.scalars(select(Case).where(Case.outcome == Outcome.PENALTY.value).order_by(Case.number))
            )
            # the decided case with a legal review and the party's statement: the longest decision
            case = next(c for c in reversed(cases) if c.procedure == "ordinary")
            t1 = time.perf_counter()
            template = load_template(args.type)
            data = document_data(s, actor, case.id, args.type, template=template)
            first = render(template, data, io.BytesIO())
            cold = time.perf_counter() - t1
            print(f"{template.title} of {case.number}: {first.pages} pages, {first.size / 1024:.0f} KiB")
            print(f"fonts: {first.font_summary}")
            print(f"cold first render (fonts loaded, template read): {_ms(cold)}")
            alone = []
            for _ in range(args.runs):
                t = time.perf_counter()
                render(template, data, io.BytesIO())
                alone.append(time.perf_counter() - t)
            whole = []
            for _ in range(args.runs):
                t = time.perf_counter()
                d = document_data(s, actor, case.id, args.type, template=template)
                render(template, d, io.BytesIO())
                whole.append(time.perf_counter() - t)
        ctx.close()
    print(f"render, median of {args.runs}: {_ms(statistics.median(alone))} (target ≤ 30 ms)")
    print(f"document_data + render, median of {args.runs}: {_ms(statistics.median(whole))}")


if __name__ == "__main__":
    main()
