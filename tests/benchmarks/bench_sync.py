"""Benchmark: pushing 50,000 changes into the district's PostgreSQL, against a raw COPY of the
same rows, and the round trip of a sync with nothing to send.

    python tests/benchmarks/bench_sync.py [--members 10000] [--certificates 4] [--runs 20]

What it does, all on this machine over loopback:

* starts a throwaway PostgreSQL cluster (tests/pgserver.py) and the real district server
  process on it (uvicorn, tests/district_server.py);
* builds a device data folder with the demo generator — by default 10,000 members with 4
  certificates each, about 50,000 change-log entries — and enrolls it;
* times ``app.sync.client.push`` of the whole outbox (batches of PUSH_BATCH over HTTP, each one
  server transaction: signature check, squad authorisation, conflict check, rows and the
  server's change sequence written) → rows per second;
* times a raw ``COPY … FROM STDIN`` of the same rows (the members' and certificates' images as
  pushed) into the same tables of a fresh migrated database → rows per second, and the ratio;
* times ``sync_once`` with nothing to send or receive, median of ``--runs``.

Not part of the normal test run: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
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
from app.context import open_data_dir  # noqa: E402
from app.demo import fill_demo  # noqa: E402
from app.sync import client  # noqa: E402
from db.models import ChangeLogEntry  # noqa: E402
from db.serialize import from_plain  # noqa: E402


def _copy_rate(
    cluster: pgserver.PostgresCluster, entries: list[tuple[str, dict[str, object]]]
) -> tuple[int, float]:
    """COPY the pushed row images into a fresh migrated database; (rows, seconds)."""
    from db.base import synced_tables

    url = district_server.migrated(cluster.new_database())
    dbname = url.rsplit("/", 1)[1]
    models = {cls.__tablename__: cls for cls in synced_tables()}
    by_table: dict[str, list[dict[str, object]]] = {}
    for table, payload in entries:
        by_table.setdefault(table, []).append(from_plain(models[table], payload))
    rows = sum(len(v) for v in by_table.values())
    with cluster.connect(dbname) as conn:
        started = time.perf_counter()
        with conn.transaction():
            for table, values in by_table.items():
                columns = list(values[0])
                names = ", ".join(f'"{c}"' for c in columns)
                with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for value in values:
                        copy.write_row([value.get(c) for c in columns])
        elapsed = time.perf_counter() - started
    return rows, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--certificates", type=int, default=4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    cluster = pgserver.start_cluster()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    server = district_server.start_server(cluster.new_database(), tmp / "district", workers=args.workers)
    try:
        started = time.perf_counter()
        ctx = open_data_dir(tmp / "device")
        fill_demo(ctx, members=args.members, certificates_per_member=args.certificates)
        print(f"device built in {time.perf_counter() - started:.1f} s")
        admin = authenticate(ctx, "admin", "squad2026")
        transport = server.transport(ctx)
        client.enroll(ctx, admin, transport, server.url, server.code(), "bench")
        state = client.status(ctx)
        print(f"outbox: {state.outbox} changes")

        report = client.SyncReport()
        started = time.perf_counter()
        client.push(ctx, transport, report)
        push_s = time.perf_counter() - started
        assert client.status(ctx).outbox == 0
        push_rate = state.outbox / push_s
        print(f"push: {state.outbox} changes in {push_s:.2f} s = {push_rate:,.0f} rows/s")

        with ctx.read() as s:
            entries = [
                (table, json.loads(payload))
                for table, payload in s.execute(
                    select(ChangeLogEntry.table_name, ChangeLogEntry.payload).where(
                        ChangeLogEntry.table_name.in_(("members", "certificates")),
                        ChangeLogEntry.op == "insert",
                    )
                )
            ]
        rows, copy_s = _copy_rate(cluster, entries)
        copy_rate = rows / copy_s
        print(f"raw COPY: {rows} rows in {copy_s:.2f} s = {copy_rate:,.0f} rows/s")
        print(f"push / COPY = {push_rate / copy_rate:.0%}")

        client.sync_once(ctx, transport)  # warm: leases, cursor
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = client.sync_once(ctx, transport)
            times.append(time.perf_counter() - started)
            assert done.pushed == 0 and done.pulled == 0
        print(
            f"empty sync round trip: median {statistics.median(times) * 1000:.1f} ms, "
            f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms ({args.runs} runs)"
        )
        transport.close()
        ctx.close()
    finally:
        server.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
