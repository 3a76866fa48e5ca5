"""Restart from an OMS snapshot plus the journal tail: same state as a full replay, ids stay idempotent, kill -9 safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings as hsettings, strategies as st

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.events import (
    Instrument, Order, OrderAccepted, OrderCanceled, OrderFilled, OrderSubmitted,
)
from ultimate_nb.core.store import Journal, SnapshotStore, make_engine
from ultimate_nb.execution.oms import OMS, SNAPSHOT, OMSHalted

INSTRUMENTS = {s: Instrument.equity(s) for s in ("AAPL", "MSFT")}
_ops = st.lists(st.tuples(st.sampled_from(["new", "submit", "accept", "fill", "cancel"]),
                          st.integers(0, 7), st.integers(1, 300), st.floats(10, 500)), max_size=40)


def _oms(d: Path) -> OMS:
    return OMS(Journal(make_engine(var_dir=d)), SimClock(), INSTRUMENTS, initial_cash=1e6)


def _drive(oms: OMS, ops, start: int = 0) -> None:
    "Apply random orders and venue events (legal or not) to `oms`."
    for i, (op, k, qty, px) in enumerate(ops, start):
        cid, sym = f"c{k}-{i // 10}", "AAPL" if k % 2 else "MSFT"
        try:
            if op == "new":
                oms.new_order(Order(cid, sym, "buy" if k % 3 else "sell", 10 * (k + 1), strategy_id=f"s{k % 2}",
                                    ts_init=i))
            elif cid in oms.orders:
                o = oms.orders[cid].order
                ev = {"submit": lambda: OrderSubmitted(cid, i, i), "accept": lambda: OrderAccepted(cid, f"v{i}", i, i),
                      "cancel": lambda: OrderCanceled(cid, "user", i, i),
                      "fill": lambda: OrderFilled(cid, f"f{i}", o.instrument_id, o.side, qty, round(px, 2), 0.5,
                                                  "taker", i, i)}[op]()
                oms.apply(ev)
        except OMSHalted:
            oms.halted = None          # keep exploring: the refused event was not journaled


def _state(oms: OMS) -> dict:
    return {"orders": dict(oms.orders.items()), "open": oms.open_orders(), "account": oms.account,
            "strategy": dict(oms.strategy_positions), "n": len(oms.orders),
            "open_by": {s: oms.open_orders(s) for s in INSTRUMENTS},
            "working": {s: oms.working_qty(s) for s in INSTRUMENTS}}


@hsettings(max_examples=40, deadline=None)
@given(_ops, _ops, st.integers(0, 3))
def test_snapshot_plus_tail_equals_full_replay(tmp_path_factory, before, after, keep):
    d = tmp_path_factory.mktemp("snap")
    live = _oms(d)
    live.recover(snapshots=SnapshotStore(live.journal.engine), every=0)
    live.keep_recent = keep                       # 0..3: most terminal orders are archived
    live.open()
    _drive(live, before)
    seq = live.snapshot()
    _drive(live, after, start=len(before))
    full = _oms(d)
    full.recover()
    restored = _oms(d)
    n = restored.recover(snapshots=SnapshotStore(restored.journal.engine))
    assert restored.snapshot_seq == seq
    assert n == sum(1 for _ in live.journal.read(from_seq=seq + 1, stream="orders"))
    # per-order lookups first (these load archived orders one at a time), then the whole state
    for cid in list(full._seqs):
        assert restored.order(cid) == full.order(cid)
    assert _state(restored) == _state(full) == _state(live)


def test_old_client_order_id_stays_idempotent_after_restart(tmp_path):
    live = _oms(tmp_path)
    live.recover(snapshots=SnapshotStore(live.journal.engine), every=0)
    live.keep_recent = 0
    orders = [Order(f"old-{i}", "AAPL", "buy", 10, ts_init=i) for i in range(50)]
    for o in orders:
        live.new_order(o)
        live.apply(OrderSubmitted(o.client_order_id, 1, 1))
        live.apply(OrderFilled(o.client_order_id, f"f-{o.client_order_id}", "AAPL", "buy", 10, 100.0, 0.0,
                               "taker", 2, 2))
    live.new_order(Order("open-1", "MSFT", "sell", 5, ts_init=99))
    live.apply(OrderSubmitted("open-1", 100, 100))
    live.snapshot()
    restored = _oms(tmp_path)
    restored.recover(snapshots=SnapshotStore(restored.journal.engine))
    assert restored.snapshot_seq > 0 and dict.__len__(restored.orders) == 1   # only the open order in memory
    last = restored.journal.last_seq()
    state, created = restored.new_order(orders[7])                              # resubmitted after restart
    assert not created and state.status.value == "filled" and state.filled_qty == 10
    assert restored.journal.last_seq() == last                                  # nothing written or sent
    assert restored.stats["archived_loads"] == 1 and restored.position("AAPL").qty == 500
    assert [s.order.client_order_id for s in restored.open_orders()] == ["open-1"]


def test_corrupt_or_foreign_snapshot_falls_back_to_full_replay(tmp_path):
    live = _oms(tmp_path)
    snaps = SnapshotStore(live.journal.engine)
    live.recover(snapshots=snaps, every=0)
    live.new_order(Order("a", "AAPL", "buy", 10, ts_init=1))
    seq = live.snapshot()
    good = snaps.latest(SNAPSHOT)
    bad = dict(good.state, body=good.state["body"].replace('"a"', '"b"'))
    snaps.save(SNAPSHOT, seq, bad, 0)                               # checksum no longer matches
    again = _oms(tmp_path)
    n = again.recover(snapshots=snaps)
    assert again.snapshot_seq == 0 and n == seq and again.stats["snapshot_rejected"] == 1
    assert again.order("a") == live.order("a")
    snaps.save(SNAPSHOT, seq + 100, good.state, 0)                   # claims entries the journal lacks
    third = _oms(tmp_path)
    third.recover(snapshots=snaps)
    assert third.snapshot_seq == 0 and third.order("a") == live.order("a")


def test_snapshot_every_n_entries_and_bad_settings(tmp_path):
    live = _oms(tmp_path)
    snaps = SnapshotStore(live.journal.engine)
    live.recover(snapshots=snaps, every=10)
    for i in range(25):
        live.new_order(Order(f"o{i}", "AAPL", "buy", 1, ts_init=i))
    assert live.stats["snapshots"] == 2 and snaps.latest(SNAPSHOT).seq == 21    # seq 1: AccountOpened; then 11, 21
    with snaps.engine.connect() as c:
        assert c.exec_driver_sql("select count(*) from snapshots").scalar() == 2  # older ones pruned
    for bad in (-1, "x", True):
        try:
            live.recover(every=bad)
        except ValueError as e:
            assert "every" in str(e)
        else:
            raise AssertionError(f"every={bad!r} accepted")


CHILD = """
import sys, time
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.events import Instrument, Order, OrderSubmitted, OrderAccepted, OrderFilled
from ultimate_nb.core.store import Journal, SnapshotStore, make_engine
from ultimate_nb.execution.oms import OMS
oms = OMS(Journal(make_engine(var_dir=sys.argv[1])), SimClock(), {"AAPL": Instrument.equity("AAPL")})
oms.recover(snapshots=SnapshotStore(oms.journal.engine), every=200)
oms.keep_recent = 20
for i in range(10**7):
    cid = f"k-{i}"
    oms.new_order(Order(cid, "AAPL", "buy" if i % 2 else "sell", 10, ts_init=i))
    oms.apply(OrderSubmitted(cid, i, i))
    if i % 3:
        oms.apply(OrderAccepted(cid, f"v{i}", i, i))
    if i % 3 == 1:
        oms.apply(OrderFilled(cid, f"f{i}", "AAPL", "buy" if i % 2 else "sell", 10, 100.0 + i % 7, 0.1, "taker", i, i))
    st = oms.orders[cid]
    print(cid, st.status.value, st.filled_qty, oms.stats["snapshots"], flush=True)   # acknowledged
"""


def test_kill_9_during_heavy_flow_after_snapshots_loses_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    acked = {}
    deadline = time.monotonic() + 60
    for line in p.stdout:
        cid, status, filled, snaps = line.split()
        acked[cid] = (status, int(filled))
        if int(snaps) >= 2 or time.monotonic() > deadline:
            break
    p.send_signal(signal.SIGKILL)              # mid-flow: the child is still writing
    p.wait()
    for line in p.stdout.read().splitlines():  # acknowledged before the kill, not yet read by us
        parts = line.split()
        if len(parts) == 4:                    # a line cut by the kill was never acknowledged
            acked[parts[0]] = (parts[1], int(parts[2]))
    assert p.returncode == -signal.SIGKILL and int(snaps) >= 2, (p.returncode, snaps)
    oms = _oms(tmp_path)
    oms.recover(snapshots=SnapshotStore(oms.journal.engine))
    assert oms.snapshot_seq > 0                                   # restarted from a snapshot
    for cid, (status, filled) in acked.items():
        s = oms.order(cid)
        assert s is not None and (s.status.value, s.filled_qty) == (status, filled), cid
    assert len(oms.orders) in (len(acked), len(acked) + 1)         # + the one in flight, if journaled
    full = _oms(tmp_path)
    full.recover()
    assert _state(oms) == _state(full)
    print(json.dumps({"acked": len(acked), "snapshot_seq": oms.snapshot_seq}))
