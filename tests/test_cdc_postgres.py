"""CDC from PostgreSQL through a logical replication slot (pgoutput), against a real server.

The server is started by `.ci/postgres.sh` (wal_level=logical; it installs Debian's postgresql on a CI
machine that lacks it); where no server can be had (not root, no binaries) the tests are skipped with
the reason.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import REPO, free_port
from ultimate_nb.core.events import Order, OrderFilled, OrderSide
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.data.cdc import AuditLog, Consumer, MemoryOffsets, OffsetStore, PostgresSource, verify_audit

SCRIPT = REPO / ".ci" / "postgres.sh"
T0 = 1_767_275_400_000_000_000


@pytest.fixture(scope="module")
def pg_url():
    base = Path(tempfile.mkdtemp(prefix="ultimate-pgcdc-"))
    base.chmod(0o755)
    run = subprocess.run(["bash", str(SCRIPT), "start", str(base), str(free_port())],
                         capture_output=True, text=True, timeout=300)
    if run.returncode == 3:
        pytest.skip(f"no PostgreSQL server available: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    yield run.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(SCRIPT), "stop", str(base)], capture_output=True, timeout=60)
    shutil.rmtree(base, ignore_errors=True)


class Replica:
    "A dict replica of the captured table, keyed by primary key: upserts and deletes, idempotent."
    def __init__(self):
        self.rows, self.applied = {}, []

    def apply(self, evs):
        for e in evs:
            k = tuple(e.key.values())
            if e.op == "d":
                self.rows.pop(k, None)
            else:
                self.rows[k] = e.after
            self.applied.append(e.position)


def test_pgoutput_changes_with_before_images_and_an_added_column(pg_url):
    eng = make_engine(pg_url)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE limits (name text PRIMARY KEY, value double precision, n int)"))
    src = PostgresSource(pg_url, ["limits"], slot="t_limits")
    with eng.begin() as c:
        c.execute(text("INSERT INTO limits VALUES ('max_qty', 1000, 1), ('max_notional', 2e6, 2)"))
    with eng.begin() as c:
        c.execute(text("UPDATE limits SET value = 500 WHERE name = 'max_qty'"))
        c.execute(text("ALTER TABLE limits ADD COLUMN changed_by text"))
        c.execute(text("INSERT INTO limits VALUES ('max_pos', 10, 3, 'ops')"))
    with eng.begin() as c:
        c.execute(text("DELETE FROM limits WHERE name = 'max_notional'"))
    evs = src.read()
    assert [e.op for e in evs] == ["c", "c", "u", "c", "d"]
    assert [e.position for e in evs] == sorted({e.position for e in evs})       # strictly increasing
    assert evs[2].before["value"] == 1000.0 and evs[2].after == {"name": "max_qty", "value": 500.0, "n": 1}
    assert evs[3].after["changed_by"] == "ops" and evs[3].key == {"name": "max_pos"}
    assert evs[4].before == {"name": "max_notional", "value": 2e6, "n": 2, "changed_by": None}
    assert evs[0].source["connector"] == "postgresql" and evs[0].source["lsn"].count("/") == 1
    replica, offsets = Replica(), MemoryOffsets()
    c = Consumer("replica", src, replica, offsets, batch=2)
    assert c.run(until_idle=True) == 5
    assert sorted(replica.rows) == [("max_pos",), ("max_qty",)]
    # the slot was advanced: a new source on it sees nothing old, and a restarted consumer nothing twice
    again = PostgresSource(pg_url, ["limits"], slot="t_limits")
    assert again.read() == []
    src.drop()
    eng.dispose()


def test_journal_on_postgres_feeds_the_audit_log_exactly_once_across_restarts(pg_url, tmp_path):
    journal = Journal(make_engine(pg_url))
    src = PostgresSource(pg_url, ["journal"], slot="t_journal")
    for i in range(20):
        journal.append_event("orders", Order(f"o-{i}", "SPY", "sell", 5, ts_init=T0 + i))
        journal.append_event("orders", OrderFilled(f"o-{i}", f"f-{i}", "SPY", OrderSide.SELL, 5, 520.0, 0.1,
                                                   "taker", T0 + i, T0 + i))
    offsets = OffsetStore(tmp_path / "offsets.db")
    audit = AuditLog(tmp_path / "audit.db")
    first = Consumer("audit", src, audit, offsets, batch=7)
    assert first.poll() > 0
    src.close()                                      # "killed" after one batch: the slot is behind
    second = Consumer("audit", PostgresSource(pg_url, ["journal"], slot="t_journal"), audit, offsets, batch=7)
    second.run(until_idle=True)
    rows = audit.rows()
    assert len(rows) == 40 and len({r["position"] for r in rows}) == 40
    assert [r["kind"] for r in rows] == ["order", "fill"] * 20
    assert verify_audit(tmp_path / "audit.db").ok
    second.source.drop()
