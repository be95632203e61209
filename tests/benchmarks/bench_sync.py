"""Benchmark: pushing 50,000 changes into the district's PostgreSQL, against a raw COPY of the
same rows, and the round trip of a sync with nothing to send.

    python tests/benchmarks/bench_sync.py [--members 3400] [--certificates 4] [--repeat 5] [--runs 20]

What it does, all on this machine over loopback:

* starts a throwaway PostgreSQL cluster (tests/pgserver.py);
* builds one device data folder with the demo generator — by default 3,400 members with 4
  certificates each and their reviews, events and training, about 51,000 change-log entries;
* ``--repeat`` times: copies that folder, starts the real district server process (uvicorn,
  tests/district_server.py) on a fresh database, enrolls the copy and times
  ``app.sync.client.push`` of its whole outbox (batches of PUSH_BATCH over HTTP, each one server
  transaction: signature check, squad authorisation, conflict check, the rows and the server's
  change sequence written) → changes per second;
* ``--repeat`` times: a raw ``COPY … FROM STDIN`` of the same rows — every row the push stored,
  as stored (its last pushed image), table by table in foreign-key order — into a fresh
  migrated database, in one transaction → rows per second;
* the ratio of the two medians; and ``sync_once`` with nothing to send or receive, median of
  ``--runs``.

Medians, because this machine's two cores are shared and single runs vary by ±15 %.
Not part of the normal test run: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import operator
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import district_server  # noqa: E402
import pgserver  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.auth.service import authenticate  # noqa: E402
from app.context import AppContext, open_data_dir  # noqa: E402
from app.demo import fill_demo  # noqa: E402
from app.district.service import REFERENCE_TABLES  # noqa: E402
from app.sync import client  # noqa: E402
from db.base import Base, synced_tables  # noqa: E402
from db.models import ChangeLogEntry  # noqa: E402
from db.serialize import from_plain  # noqa: E402

Rows = dict[str, list[dict[str, object]]]


def _stored_rows(ctx: AppContext) -> Rows:
    """Every row a push of ``ctx``'s outbox stores at the district, as stored: the last image
    of each row, by table."""
    models = {cls.__tablename__: cls for cls in synced_tables()}
    last: dict[tuple[str, str], tuple[str, str]] = {}
    with ctx.read() as s:
        for table, row_id, payload in s.execute(
            select(ChangeLogEntry.table_name, ChangeLogEntry.row_id, ChangeLogEntry.payload)
            .where(ChangeLogEntry.table_name.not_in(REFERENCE_TABLES))
            .order_by(ChangeLogEntry.seq)
        ):
            last[(table, row_id)] = (table, payload)
    rows: Rows = {}
    for table, payload in last.values():
        rows.setdefault(table, []).append(from_plain(models[table], json.loads(payload)))
    return rows


def _copy_once(cluster: pgserver.PostgresCluster, rows: Rows) -> float:
    """COPY ``rows`` into a fresh migrated database in one transaction; the seconds it took."""
    url = district_server.migrated(cluster.new_database())
    order = {table.name: index for index, table in enumerate(Base.metadata.sorted_tables)}
    with cluster.connect(url.rsplit("/", 1)[1]) as conn:
        started = time.perf_counter()
        with conn.transaction():
            for table in sorted(rows, key=order.__getitem__):
                values = rows[table]
                columns = sorted(values[0])
                names = ", ".join(f'"{c}"' for c in columns)
                row_of = operator.itemgetter(*columns)
                with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for value in values:
                        copy.write_row(row_of(value))
        return time.perf_counter() - started


def _push_once(
    cluster: pgserver.PostgresCluster, template: Path, folder: Path, empty_runs: int
) -> tuple[int, float, list[float]]:
    """Push a copy of the device in ``template`` to a fresh district: (changes, seconds, and the
    round trips of ``empty_runs`` syncs with nothing to do afterwards)."""
    shutil.copytree(template, folder / "device")
    server = district_server.start_server(cluster.new_database(), folder / "district")
    try:
        ctx = open_data_dir(folder / "device")
        admin = authenticate(ctx, "admin", "squad2026")
        transport = server.transport(ctx)
        client.enroll(ctx, admin, transport, server.url, server.code(), "bench")
        outbox = client.status(ctx).outbox
        started = time.perf_counter()
        client.push(ctx, transport, client.SyncReport())
        elapsed = time.perf_counter() - started
        assert client.status(ctx).outbox == 0
        empty = []
        if empty_runs:
            client.sync_once(ctx, transport)  # warm: leases, cursor
            for _ in range(empty_runs):
                started = time.perf_counter()
                done = client.sync_once(ctx, transport)
                empty.append(time.perf_counter() - started)
                assert done.pushed == 0 and done.pulled == 0
        transport.close()
        ctx.close()
        return outbox, elapsed, empty
    finally:
        server.stop()


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):,.0f}, min {min(values):,.0f}, max {max(values):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=3_400)
    parser.add_argument("--certificates", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    cluster = pgserver.start_cluster()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        started = time.perf_counter()
        template = tmp / "template"
        ctx = open_data_dir(template)
        fill_demo(ctx, members=args.members, certificates_per_member=args.certificates)
        stored = _stored_rows(ctx)
        ctx.close()
        print(f"device built in {time.perf_counter() - started:.1f} s")

        push_rates, empty = [], []
        for run in range(args.repeat):
            folder = tmp / f"run{run}"
            changes, seconds, trips = _push_once(
                cluster, template, folder, args.runs if run == args.repeat - 1 else 0
            )
            push_rates.append(changes / seconds)
            empty += trips
            print(
                f"push {run + 1}: {changes} changes in {seconds:.2f} s = {changes / seconds:,.0f} changes/s"
            )
            shutil.rmtree(folder, ignore_errors=True)

        rows = sum(len(v) for v in stored.values())
        copy_rates = []
        for run in range(args.repeat):
            seconds = _copy_once(cluster, stored)
            copy_rates.append(rows / seconds)
            print(f"raw COPY {run + 1}: {rows} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")

        push_rate, copy_rate = statistics.median(push_rates), statistics.median(copy_rates)
        print(f"push: {_spread(push_rates)} changes/s ({args.repeat} runs)")
        print(f"raw COPY of the same {rows} rows in {len(stored)} tables: {_spread(copy_rates)} rows/s")
        print(f"push / COPY (medians) = {push_rate / copy_rate:.0%}")
        ms = [t * 1000 for t in empty]
        print(
            f"empty sync round trip: median {statistics.median(ms):.1f} ms, "
            f"min {min(ms):.1f} ms, max {max(ms):.1f} ms ({len(ms)} runs)"
        )
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
