"""Benchmark change data capture end to end: change events per second and lag p99, per source.

Usage: `python benchmarks/cdc.py [--quick] [--out PATH] [--pg-url URL]`

For each source (SQLite trigger outbox; PostgreSQL logical replication with pgoutput, where a server
can be started with `.ci/postgres.sh` or `--pg-url` is given), a writer journals `n` entries
(`Journal.append`, one commit each) while a `Consumer` thread polls the source and applies to a
counting sink. Reported: change events per second end to end (first write to last apply), the lag of
each change from its commit time (`ts_ms`, wall clock) to its apply, p50 and p99 in ms, and the
throughput of a consumer draining a backlog (no writer). A user's alternative is Debezium on Kafka
Connect (a JVM service and a broker); this script reports our own figures only.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.data.cdc import Consumer, MemoryOffsets, PostgresSource, SqliteSource

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


class Counting:
    "A sink that records each change's lag from commit to apply, ms."
    def __init__(self):
        self.n, self.lags = 0, []

    def apply(self, evs):
        now = time.time() * 1000
        self.lags.extend(now - e.ts_ms for e in evs)
        self.n += len(evs)


def _measure(journal: Journal, source: Any, n: int, batch: int) -> dict[str, Any]:
    sink, stop = Counting(), threading.Event()
    cons = Consumer("bench", source, sink, MemoryOffsets(), batch=batch)
    cons.run(until_idle=True)                          # whatever was there before
    sink.n, sink.lags = 0, []
    th = threading.Thread(target=cons.run, kwargs={"stop": stop, "idle_s": 0.001})
    t0 = time.perf_counter()
    th.start()
    for i in range(n):
        journal.append("orders", "Bench", {"i": i, "px": 100.0 + i}, 1_767_275_400_000_000_000 + i)
    write_s = time.perf_counter() - t0
    while sink.n < n and time.perf_counter() - t0 < 300:
        time.sleep(0.001)
    e2e_s = time.perf_counter() - t0
    stop.set()
    th.join()
    applied, lags = sink.n, np.array(sink.lags)
    for i in range(n):                                  # a backlog, then drain it
        journal.append("orders", "Bench", {"i": i}, 1)
    t1 = time.perf_counter()
    got = cons.run(until_idle=True)
    drain_s = time.perf_counter() - t1
    return {"n": n, "applied": applied, "write_per_s": n / write_s, "events_per_s": applied / e2e_s,
            "lag_p50_ms": float(np.percentile(lags, 50)), "lag_p99_ms": float(np.percentile(lags, 99)),
            "drain_events": got, "drain_per_s": got / drain_s}


def _start_pg() -> tuple[str | None, Path | None, str]:
    base = Path(tempfile.mkdtemp(prefix="ultimate-pgbench-"))
    base.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "start", str(base), str(port)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        return None, None, r.stderr.strip()[-300:]
    return r.stdout.strip().splitlines()[-1], base, ""


def run(quick: bool = False, pg_url: str | None = None) -> dict[str, Any]:
    n, batch = (300, 100) if quick else (5_000, 500)
    t0 = time.perf_counter()
    res: dict[str, Any] = {"machine": machine_info("psycopg", "pyarrow"), "sources": {}}
    tmp = Path(tempfile.mkdtemp(prefix="cdc-bench-"))
    journal = Journal(make_engine(var_dir=tmp))
    res["sources"]["sqlite"] = _measure(journal, SqliteSource(journal.engine, ["journal"]), n, batch)
    journal.close()
    base = None
    if pg_url is None and not quick:
        pg_url, base, why = _start_pg()
        if pg_url is None:
            res["postgres_skipped"] = why or "no server"
    if pg_url is not None:
        journal = Journal(make_engine(pg_url))
        src = PostgresSource(pg_url, ["journal"], slot="bench_cdc")
        try:
            res["sources"]["postgresql"] = _measure(journal, src, n, batch)
        finally:
            src.drop()
            journal.close()
    if base is not None:
        subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "stop", str(base)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    res["wall_s"] = time.perf_counter() - t0
    return res


def table(res: dict[str, Any]) -> str:
    lines = [f"{'source':<11} {'n':>6} {'write/s':>9} {'events/s e2e':>13} {'lag p50 ms':>11} "
             f"{'lag p99 ms':>11} {'drain/s':>9}"]
    for name, r in res["sources"].items():
        lines.append(f"{name:<11} {r['n']:>6} {r['write_per_s']:>9.0f} {r['events_per_s']:>13.0f} "
                     f"{r['lag_p50_ms']:>11.2f} {r['lag_p99_ms']:>11.2f} {r['drain_per_s']:>9.0f}")
    if "postgres_skipped" in res:
        lines.append(f"postgresql skipped: {res['postgres_skipped']}")
    return "\n".join(lines)


def _args(ap) -> None:
    ap.add_argument("--pg-url", dest="pg_url", help="PostgreSQL URL (wal_level=logical); default: start one")


def main(argv=None):
    return main_for("cdc", run, table, argv, doc=__doc__, add_arguments=_args)


if __name__ == "__main__":
    sys.exit(main())
