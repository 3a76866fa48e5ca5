"""The journal, the OMS recovery and a whole book on PostgreSQL, the production store.

A throw-away server is started by `.ci/postgres.sh` (which installs Debian's postgresql on a CI
machine that lacks it); where no server can be had (not root, no binaries) the tests are skipped
with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import REPO, free_port
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, OrderFilled, OrderSide
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.live.system import TradingSystem

SCRIPT = REPO / ".ci" / "postgres.sh"


@pytest.fixture(scope="module")
def pg_url():
    base = Path(tempfile.mkdtemp(prefix="ultimate-pg-"))
    base.chmod(0o755)                       # the server runs as the postgres user
    run = subprocess.run(["bash", str(SCRIPT), "start", str(base), str(free_port())],
                         capture_output=True, text=True, timeout=300)
    if run.returncode == 3:
        pytest.skip(f"no PostgreSQL server available: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    yield run.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(SCRIPT), "stop", str(base)], capture_output=True, timeout=60)
    shutil.rmtree(base, ignore_errors=True)


def test_journal_round_trips_events_and_survives_a_new_engine(pg_url):
    engine = make_engine(pg_url)
    journal = Journal(engine)
    order = Order("pg-1", "AAPL", "buy", 100, ts_init=1)
    fill = OrderFilled("pg-1", "pg-1-1", "AAPL", OrderSide.BUY, 100, 190.0123456789, 0.5, "taker", 2, 2)
    seqs = [journal.append_event("roundtrip", order), journal.append_event("roundtrip", fill)]
    assert seqs[1] > seqs[0] > 0
    with engine.connect() as conn:
        assert conn.execute(text("select version()")).scalar().startswith("PostgreSQL")
    engine.dispose()
    again = Journal(make_engine(pg_url))
    assert list(again.events(stream="roundtrip")) == [order, fill]     # floats exact
    assert again.last_seq() == seqs[1]


def test_book_on_postgres_recovers_positions_and_cash(pg_url):
    var = Path(tempfile.mkdtemp())
    settings = load_settings(overrides={"store": {"var_dir": str(var), "url": pg_url},
                                        "strategy": {"fast": 2, "slow": 4}}, env_file=None)
    start = 1_767_275_400_000_000_000
    book = TradingSystem(settings, clock=SimClock(start_ns=start))
    book.run_simulated(4 * 60 * 30)                               # 30 simulated minutes
    book.submit_order(Order("pg-manual", "SPY", "sell", 7, ts_init=book.now_ns()))
    assert book.oms.stats["fills"] > 1
    book.close()
    again = TradingSystem(settings, clock=SimClock(start_ns=book.clock.timestamp_ns()))
    assert again.oms.account == book.oms.account
    assert again.oms.orders == book.oms.orders
    assert not (var / "ultimate.db").exists()                     # nothing went to SQLite
    again.close()
