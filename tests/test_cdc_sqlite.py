"""CDC from the journal on SQLite: a consumer killed with SIGKILL mid-stream resumes without loss or duplicate effect.

The producer journals orders and fills while `python -m ultimate_nb.data.cdc consume` archives the
changes to Parquet and keeps the audit log; the consumer is killed with SIGKILL twice, then
restarted until it has drained the stream. Every journal entry must be in the archive exactly once,
in order, and every audited one in the audit log exactly once, with the hash chain intact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import REPO, eventually
from ultimate_nb.core.events import Order, OrderFilled, OrderSide
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.data.cdc import (AuditLog, OffsetStore, SqliteSource, read_archive, verify_audit)

T0 = 1_767_275_400_000_000_000


def journal_trades(journal: Journal, start: int, n: int) -> None:
    for i in range(start, start + n):
        journal.append_event("orders", Order(f"o-{i}", "AAPL", "buy", 1 + i % 7, ts_init=T0 + 2 * i))
        journal.append_event("orders", OrderFilled(f"o-{i}", f"f-{i}", "AAPL", OrderSide.BUY, 1 + i % 7,
                                                   190.0 + i / 100, 0.01, "taker", T0 + 2 * i + 1, T0 + 2 * i + 1))


def consumer(tmp_path, *extra):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "ultimate_nb.data.cdc", "consume", str(tmp_path / "book" / "ultimate.db"),
                             "--offsets", str(tmp_path / "offsets.db"), "--audit", str(tmp_path / "audit.db"),
                             "--archive", str(tmp_path / "archive"), "--batch", "25", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_consumer_killed_mid_stream_resumes_exactly_once_in_effect(tmp_path):
    journal = Journal(make_engine(var_dir=tmp_path / "book"))
    journal_trades(journal, 0, 150)
    src = SqliteSource(journal.engine, ["journal"])          # 300 snapshot rows
    for kill in range(2):
        proc = consumer(tmp_path)
        journal_trades(journal, 150 + 100 * kill, 100)        # more changes while it runs
        offsets = OffsetStore(tmp_path / "offsets.db")
        target = 150 * (kill + 1)
        eventually(lambda: offsets.get("archive", src.id) > target, timeout=60, message="consumer progress")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        assert offsets.get("archive", src.id) < src.head()   # killed mid-stream, not after the end
        offsets.close()
    done = consumer(tmp_path, "--until-idle")
    assert done.wait(timeout=120) == 0, done.stderr.read().decode()[-2000:]

    entries = list(journal.read())
    archived = read_archive(tmp_path / "archive", "journal")
    assert list(archived["seq"]) == [e.seq for e in entries]            # each entry once, in order
    assert archived["_position"].is_monotonic_increasing
    audit = AuditLog(tmp_path / "audit.db")
    rows = audit.rows()
    assert [r["kind"] for r in rows] == ["order", "fill"] * len(entries[::2])
    assert len({r["position"] for r in rows}) == len(rows) == len(entries)
    assert verify_audit(tmp_path / "audit.db").ok


def test_malformed_outbox_row_stops_the_consumer_before_it(tmp_path):
    journal = Journal(make_engine(var_dir=tmp_path / "book"))
    journal_trades(journal, 0, 5)
    src = SqliteSource(journal.engine, ["journal"])
    con = src._conn()
    con.execute("UPDATE cdc_outbox SET after = '{not json' WHERE position = 4")
    from ultimate_nb.data.cdc import Consumer, ParquetArchive
    c = Consumer("archive", src, ParquetArchive(tmp_path / "a"), OffsetStore(tmp_path / "o.db"))
    assert c.poll() == 3 and c.poll() == 0
    assert c.offset() == 3 and c.errors["malformed"] == 2
    assert "position 4" in c.last_error
