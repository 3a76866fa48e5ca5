"""Benchmark the live loop's building blocks against bare-Python references.

Usage: `python benchmarks/live_loop.py [--quick] [--out PATH]`

  bus       MessageBus.publish to 3 handlers  vs  a loop calling the same 3 functions directly
  journal   Journal.append (SQLAlchemy, SQLite WAL, one commit per append)  vs  sqlite3 INSERT +
            commit on the same schema with the same pragmas
  book      TradingSystem.run_simulated over 1 simulated hour (events/s), and the latency of
            `submit_order` for market orders (OMS + pre-trade risk + paper broker + journal)  vs
            bare `PaperBroker.submit` of the same orders (no OMS, no risk, no journal)
  replay    run_backtest of the SMA 10/30 crossover on the S&P 500 daily bars (replay:sp500) through
            the whole loop, journal in memory (market events/s, bars/s)  vs  backtrader's
            Cerebro running the same crossover
  tick      tick -> order acknowledged (filled and committed to a SQLite file journal) while a
            second process hammers the REST API (GET positions/orders, POST orders)  vs  the same idle
  restart   OMS restart with N orders in the journal (4 entries each: order, submitted, accepted,
            filled; 1 in 1000 left open): snapshot + tail replay  vs  full replay of the journal,
            plus the cost of writing the snapshot (N = 20k, 200k, 1M; 2k with --quick)

Each measurement is repeated and the median kept; times come from `time.perf_counter_ns`.
Prints a table and machine info, and writes the numbers as JSON (default
`benchmarks/results/live_loop.json`, or `live_loop.quick.json` with `--quick`, the tiny sizes
used by the smoke test).
"""

from __future__ import annotations

import json
import math
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ultimate_nb.core.bus import MessageBus
from ultimate_nb.core.clock import SimClock, ns_from_datetime
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, Quote
from ultimate_nb.core.events import Instrument
from ultimate_nb.core.store import Journal, SnapshotStore, make_engine
from ultimate_nb.execution.oms import OMS
from ultimate_nb.execution.paper import PaperBroker
from ultimate_nb.live.system import TradingSystem

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

START_NS = ns_from_datetime(datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc))

FULL = dict(
    bus_events=200_000,
    journal_appends=2_000,
    book_hours=1.0,
    orders=2_000,
    repeats=5,
    book_repeats=3,
    restart_orders=(20_000, 200_000, 1_000_000),
    replay_repeats=3,
    ticks=2_000,
    clients=4,
)
QUICK = dict(
    bus_events=5_000, journal_appends=100, book_hours=0.02, orders=100, repeats=2, book_repeats=1,
    restart_orders=(2_000,), replay_repeats=1, ticks=60, clients=2,
)


def perf_ns() -> int:
    return time.perf_counter_ns()


# -- BUS --


def bench_bus(n: int, repeats: int) -> dict[str, float]:
    "Return ns per event of MessageBus.publish to 3 handlers and of 3 direct calls."
    seen = [0, 0.0, 0]

    def h1(q):
        seen[0] += 1

    def h2(q):
        seen[1] += q.bid

    def h3(q):
        seen[2] = q.ts_event

    bus = MessageBus("bench")
    for h in (h1, h2, h3):
        bus.subscribe(Quote, h)
    events = [
        Quote("AAPL", 100.0, 100.01, 100.0, 100.0, START_NS + i, START_NS + i) for i in range(1_000)
    ]
    batches = range(n // len(events))
    publish = bus.publish

    def ours() -> float:
        t0 = perf_ns()
        for _ in batches:
            for ev in events:
                publish(ev)
        return (perf_ns() - t0) / (len(batches) * len(events))

    def reference() -> float:
        t0 = perf_ns()
        for _ in batches:
            for ev in events:
                h1(ev)
                h2(ev)
                h3(ev)
        return (perf_ns() - t0) / (len(batches) * len(events))

    ours(), reference()  # warm up
    o = statistics.median(ours() for _ in range(repeats))
    r = statistics.median(reference() for _ in range(repeats))
    return {"ours_ns_per_event": o, "reference_ns_per_event": r, "ratio": o / r}


# -- JOURNAL --

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
_SCHEMA = (
    "CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ns BIGINT NOT NULL, "
    "stream VARCHAR(64) NOT NULL, type VARCHAR(64) NOT NULL, payload TEXT NOT NULL)",
    "CREATE INDEX ix_journal_stream_seq ON journal (stream, seq)",
)


def _payload(i: int) -> dict[str, Any]:
    return {
        "client_order_id": f"bench-{i}",
        "instrument_id": "AAPL",
        "side": 1,
        "qty": 100,
        "price": 190.01,
        "fee": 1.0,
        "ts_event": START_NS + i,
    }


def bench_journal(n: int, repeats: int) -> dict[str, float]:
    "Return µs per committed append: Journal.append vs raw sqlite3 INSERT + commit."

    def ours(d: str) -> float:
        j = Journal(make_engine(None, d))
        try:
            j.append("bench", "Warmup", _payload(-1), START_NS)
            t0 = perf_ns()
            for i in range(n):
                j.append("bench", "OrderFilled", _payload(i), START_NS + i)
            return (perf_ns() - t0) / n / 1e3
        finally:
            j.engine.dispose()

    def reference(d: str) -> float:
        con = sqlite3.connect(Path(d) / "raw.db", isolation_level=None)  # explicit transactions
        try:
            for stmt in (*_PRAGMAS, *_SCHEMA):
                con.execute(stmt)
            sql = "INSERT INTO journal (ts_ns, stream, type, payload) VALUES (?, ?, ?, ?)"
            t0 = perf_ns()
            for i in range(n):
                payload = json.dumps(_payload(i), allow_nan=False, separators=(",", ":"))
                con.execute("BEGIN")
                con.execute(sql, (START_NS + i, "bench", "OrderFilled", payload))
                con.execute("COMMIT")
            return (perf_ns() - t0) / n / 1e3
        finally:
            con.close()

    o, r = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            o.append(ours(d1))
            r.append(reference(d2))
    om, rm = statistics.median(o), statistics.median(r)
    return {"ours_us_per_append": om, "reference_us_per_append": rm, "ratio": om / rm}


# -- BOOK --


def _settings(var_dir: str, strategy: bool = True):
    return load_settings(
        overrides={
            "store": {"var_dir": var_dir},
            "strategy": {"enabled": strategy},
            "risk": {
                "max_orders_per_second": 1e6,
                "max_position_qty": 10_000_000,
                "max_order_notional": 1e12,
            },
        },
        env_file=None,
    )


def bench_run_simulated(hours: float, repeats: int) -> dict[str, float]:
    "Return market events per second of TradingSystem.run_simulated over `hours` simulated hours."
    rates, events, orders = [], 0, 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            s = _settings(d)
            system = TradingSystem(s, clock=SimClock(start_ns=START_NS))
            n_steps = round(hours * 3600 * 1000 / s.market.tick_ms)
            system.run_simulated(1)  # loads the numba kernel outside the timing
            t0 = perf_ns()
            events = system.run_simulated(n_steps)
            rates.append(events / ((perf_ns() - t0) / 1e9))
            orders = len(system.oms.orders)
            system.close()
    return {
        "events_per_s": statistics.median(rates),
        "events": events,
        "strategy_orders": orders,
        "simulated_hours": hours,
    }


def _orders(n: int, symbol: str, tag: str) -> list[Order]:
    return [
        Order(
            f"{tag}-{i}",
            symbol,
            "buy" if i % 2 == 0 else "sell",
            100,
            strategy_id="bench",
            ts_init=START_NS,
        )
        for i in range(n)
    ]


def bench_orders(n: int, repeats: int) -> dict[str, float]:
    "Return p50/p99 µs of `submit_order` vs bare `PaperBroker.submit` for `n` market orders."
    ours_p50, ours_p99, ref_p50, ref_p99, statuses = [], [], [], [], {}
    for rep in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            system = TradingSystem(_settings(d, strategy=False), clock=SimClock(start_ns=START_NS))
            system.run_simulated(4)  # quotes in the book and the marks
            seq0, lat = system.journal.last_seq(), np.empty(n)
            for i, o in enumerate(_orders(n, "AAPL", f"o{rep}")):
                t0 = perf_ns()
                system.submit_order(o)
                lat[i] = perf_ns() - t0
            statuses = dict(system.oms.stats)
            per_order = (system.journal.last_seq() - seq0) / n
            quotes = [system.simulator.last_quote(s) for s in system.instruments]
            broker = PaperBroker(
                system.settings.broker, system.instruments, system.clock, [].append
            )
            system.close()
        for q in quotes:
            broker.on_quote(q)
        ref = np.empty(n)
        for i, o in enumerate(_orders(n, "AAPL", f"r{rep}")):
            t0 = perf_ns()
            broker.submit(o)
            ref[i] = perf_ns() - t0
        ours_p50.append(np.percentile(lat, 50) / 1e3)
        ours_p99.append(np.percentile(lat, 99) / 1e3)
        ref_p50.append(np.percentile(ref, 50) / 1e3)
        ref_p99.append(np.percentile(ref, 99) / 1e3)
    med = statistics.median
    return {
        "ours_p50_us": med(ours_p50),
        "ours_p99_us": med(ours_p99),
        "reference_p50_us": med(ref_p50),
        "reference_p99_us": med(ref_p99),
        "ratio_p50": med(ours_p50) / med(ref_p50),
        "ratio_p99": med(ours_p99) / med(ref_p99),
        "orders": n,
        "journal_entries_per_order": per_order,
        "oms_stats": statuses,
    }


_ROWS = (  # (type, payload) templates of one order's life; %(i)d is the order number
    ("Order", '{"client_order_id":"r-%(i)d","instrument_id":"AAPL","side":%(side)d,"qty":100,"order_type":"market",'
              '"limit_price":null,"stop_price":null,"tif":"day","strategy_id":"bench","ts_init":%(ts)d,"type":"Order"}'),
    ("OrderSubmitted", '{"client_order_id":"r-%(i)d","ts_event":%(ts)d,"ts_init":%(ts)d,"type":"OrderSubmitted"}'),
    ("OrderAccepted", '{"client_order_id":"r-%(i)d","venue_order_id":"v-%(i)d","ts_event":%(ts)d,"ts_init":%(ts)d,'
                      '"type":"OrderAccepted"}'),
    ("OrderFilled", '{"client_order_id":"r-%(i)d","fill_id":"x-%(i)d","instrument_id":"AAPL","side":%(side)d,'
                    '"qty":100,"price":%(px)r,"fee":0.5,"liquidity":"taker","ts_event":%(ts)d,"ts_init":%(ts)d,'
                    '"type":"OrderFilled"}'),
)


def _write_orders(db: Path, lo: int, hi: int) -> None:
    "Insert the journal rows of orders lo..hi-1 in bulk (raw sqlite3, one transaction); 1 in 1000 stays open."
    def rows():
        for i in range(lo, hi):
            v = {"i": i, "side": 1 if i % 2 else -1, "ts": START_NS + i, "px": 100.0 + i % 50 / 4}
            for k, (typ, tpl) in enumerate(_ROWS):
                if k == 3 and i % 1000 == 999:
                    break
                yield START_NS + i, "orders", typ, tpl % v
    with sqlite3.connect(db) as con:
        con.executemany("INSERT INTO journal (ts_ns, stream, type, payload) VALUES (?, ?, ?, ?)", rows())


def bench_restart(n: int, tail: int = 1_000) -> dict[str, float]:
    "Return restart seconds with `n` orders journaled: full replay vs snapshot + `tail` orders after it."
    inst = {"AAPL": Instrument.equity("AAPL")}
    with tempfile.TemporaryDirectory() as d:
        journal = Journal(make_engine(var_dir=d))
        journal.append("orders", "AccountOpened", {"cash": 1e9}, START_NS)
        t0 = time.perf_counter()
        _write_orders(Path(d) / "ultimate.db", 0, n)
        write_s = time.perf_counter() - t0
        full = OMS(journal, SimClock(start_ns=START_NS), inst)
        t0 = time.perf_counter()
        full.recover(snapshots=SnapshotStore(journal.engine), every=0)
        full_s = time.perf_counter() - t0
        snap_seq = full.snapshot()
        snapshot_s, snap = full.last_snapshot_s, full.snapshots.latest("oms")
        _write_orders(Path(d) / "ultimate.db", n, n + tail)
        again = OMS(Journal(make_engine(var_dir=d)), SimClock(start_ns=START_NS), inst)
        t0 = time.perf_counter()
        replayed = again.recover(snapshots=SnapshotStore(again.journal.engine))
        snap_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again.order("r-1")                                  # an archived order, rebuilt from the journal
        lookup_ms = (time.perf_counter() - t0) * 1e3
        ok = (again.snapshot_seq == snap_seq and len(again.orders) == n + tail
              and len(again.open_orders()) == (n + tail) // 1000 and again.order("r-1") == full.order("r-1"))
        journal.close()
        again.journal.close()
    return {"orders": n, "tail_orders": tail, "journal_entries": snap_seq, "write_s": write_s,
            "full_replay_s": full_s, "full_us_per_order": full_s / n * 1e6,
            "snapshot_write_s": snapshot_s, "snapshot_mb": len(snap.state["body"]) / 1e6,
            "snapshot_restart_s": snap_s, "tail_entries_replayed": replayed,
            "archived_lookup_ms": lookup_ms, "speedup": full_s / snap_s, "consistent": ok}


# -- REPLAY: THE WHOLE LOOP ON REAL BARS, BACKTRADER BESIDE IT --


def _sp500(quick: bool):
    from ultimate_nb.data.historical import frames
    spx = frames("sp500")["SPX"]
    return spx.iloc[:400] if quick else spx


def _feed_events(replay) -> int:
    "Return how many events (quotes + bars) a full pass of `replay` publishes."
    replay.reset()
    n = 0
    while ev := replay.step():
        n += len(ev)
    replay.reset()
    return n


def bench_replay(quick: bool, repeats: int) -> dict[str, Any]:
    "Return events/s and bars/s of `run_backtest` (SMA 10/30 crossover, S&P 500 daily bars) and of backtrader."
    from ultimate_nb.data.historical import Replay
    from ultimate_nb.live.backtest import crossover, run_backtest

    spx = _sp500(quick)
    events = _feed_events(Replay({"SPX": spx}, spread_bps=2.0))
    rates, res = [], None
    for _ in range(repeats):
        res = run_backtest(crossover(10, 30), Replay({"SPX": spx}, spread_bps=2.0))
        rates.append(res.bars_per_s)
    out = {"bars": res.bars, "events": events, "trades": int(res.stats["n_trades"]),
           "fills": int(res.stats["n_fills"]), "ours_bars_per_s": statistics.median(rates),
           "ours_events_per_s": statistics.median(rates) * events / res.bars}
    try:
        bt_rates = {ro: statistics.median(_backtrader(spx, ro) for _ in range(repeats)) if ro is False or not quick
                    else math.nan for ro in (False, True)}
    except ImportError:                      # backtrader is in the dev extra
        bt_rates = {False: math.nan, True: math.nan}
    out.update(backtrader_bars_per_s=bt_rates[False], backtrader_runonce_bars_per_s=bt_rates[True],
               ratio=out["ours_bars_per_s"] / bt_rates[False])
    return out


def _backtrader(spx, runonce: bool) -> float:
    "Return bars/s of backtrader's Cerebro running the same crossover (100 shares long/short) on `spx`."
    import backtrader as bt

    class Crossover(bt.Strategy):
        __module__ = __name__ if __name__ in sys.modules else "backtrader"   # its metaclass looks the module up

        def __init__(self):
            self.fast = bt.ind.SMA(self.data.close, period=10)
            self.slow = bt.ind.SMA(self.data.close, period=30)

        def next(self):
            sig = (self.fast[0] > self.slow[0]) - (self.fast[0] < self.slow[0])
            if sig:
                self.order_target_size(target=100 * sig)

    df = spx.copy()
    df.index = df.index.tz_localize(None)
    c = bt.Cerebro(stdstats=False, runonce=runonce)
    c.adddata(bt.feeds.PandasData(dataname=df))
    c.addstrategy(Crossover)
    c.broker.setcash(1_000_000.0)
    c.broker.set_coc(True)                   # fill at the signal bar's close, as the paper broker does
    t0 = perf_ns()
    c.run()
    return len(df) / ((perf_ns() - t0) / 1e9)


# -- TICK TO ORDER UNDER REST LOAD, JOURNAL ON --

_CLIENT = r"""
import sys, threading, time, httpx
url, token, n_threads, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
counts, lock, stop = {}, threading.Lock(), time.monotonic() + seconds
def work(k):
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=h, timeout=10) as c:
        i = 0
        while time.monotonic() < stop:
            i += 1
            if i % 3 == 0:
                r = c.post("/api/v1/orders", json={"symbol": "AAPL", "side": "buy" if i % 2 else "sell", "qty": 1,
                                                   "client_order_id": f"load-{k}-{i}"})
            else:
                r = c.get("/api/v1/positions" if i % 3 == 1 else "/api/v1/orders?limit=5")
            with lock:
                key = f"{r.request.method} {r.status_code}"
                counts[key] = counts.get(key, 0) + 1
ts = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print(" ".join(f"{k.replace(' ', '_')}={v}" for k, v in sorted(counts.items())))
"""


def bench_tick_to_order(ticks: int, clients: int) -> dict[str, Any]:
    "Return p50/p99 µs from a quote tick to its order acknowledged (journal committed), with and without REST load."
    import asyncio
    import subprocess

    import uvicorn

    from ultimate_nb.live.api import create_rest_app

    token = "bench-token-0123456789abcdefghijklmnop"

    async def main(d: str) -> dict[str, Any]:
        system = TradingSystem(_settings(d, strategy=False), clock=SimClock(start_ns=START_NS))
        system.run_simulated(4)                                  # quotes, marks
        server = uvicorn.Server(uvicorn.Config(create_rest_app(system, token), host="127.0.0.1", port=0,
                                               log_config=None, access_log=False, lifespan="off"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        pending: list[Order] = []

        def strategy(q: Quote) -> None:                          # the order a tick causes
            if pending:
                system.submit_order(pending.pop())
        system.bus.subscribe(Quote, strategy, name="bench.tick_to_order")

        async def run_ticks(tag: str, n: int) -> np.ndarray:
            lat, base = np.empty(n), system.simulator.last_quote("AAPL")
            for i in range(n):
                system.clock.set_time(system.clock.timestamp_ns() + 1_000_000)
                now = system.clock.timestamp_ns()
                q = Quote("AAPL", base.bid, base.ask, base.bid_size, base.ask_size, now, now)
                pending.append(Order(f"{tag}-{i}", "AAPL", "buy" if i % 2 == 0 else "sell", 100,
                                     strategy_id="bench", ts_init=now))
                t0 = perf_ns()
                system._publish_live(q)                          # tick -> bus -> order -> risk -> OMS -> fill -> commit
                lat[i] = perf_ns() - t0
                await asyncio.sleep(0.0005)                      # the loop serves REST requests between ticks
            return lat

        idle = await run_ticks("idle", ticks)
        seconds = max(0.5, ticks * 0.004)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CLIENT, f"http://127.0.0.1:{port}", token, str(clients), str(seconds),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        await asyncio.sleep(0.3)                                 # the clients are connected and hammering
        loaded = await run_ticks("load", ticks)
        out, err = await proc.communicate()
        server.should_exit = True
        await task
        counts = dict(kv.split("=") for kv in out.decode().split()) if out.strip() else {}
        filled = sum(1 for s in system.oms.orders.values() if s.order.client_order_id.startswith(("idle", "load"))
                     and s.status.value == "filled")
        commits = system.journal.commits
        system.close()
        if proc.returncode != 0:
            raise RuntimeError(f"load client failed: {err.decode()[-2000:]}")
        return {"idle": idle, "loaded": loaded, "rest": {k: int(v) for k, v in counts.items()},
                "filled": filled, "commits": commits}

    with tempfile.TemporaryDirectory() as d:
        r = asyncio.run(main(d))
    pct = lambda a, q: float(np.percentile(a, q) / 1e3)
    rest = r["rest"]
    return {"ticks": ticks, "clients": clients, "filled": r["filled"],
            "idle_p50_us": pct(r["idle"], 50), "idle_p99_us": pct(r["idle"], 99),
            "load_p50_us": pct(r["loaded"], 50), "load_p99_us": pct(r["loaded"], 99),
            "load_max_us": float(r["loaded"].max() / 1e3), "rest_requests": sum(rest.values()),
            "rest_counts": rest, "journal": "SQLite file, WAL, synchronous=NORMAL, group commit per tick"}


# -- REPORT --


def table(res: dict[str, Any]) -> str:
    b, j, r, o = res["bus"], res["journal"], res["run_simulated"], res["orders"]
    rp, tt, m = res.get("replay"), res.get("tick_to_order"), res["machine"]
    rows = [
        (
            "bus publish, 3 handlers",
            f"{b['ours_ns_per_event']:.0f}",
            f"{b['reference_ns_per_event']:.0f}",
            "ns/event",
            f"{b['ratio']:.2f}",
        ),
        (
            "journal append + commit",
            f"{j['ours_us_per_append']:.1f}",
            f"{j['reference_us_per_append']:.1f}",
            "µs/append",
            f"{j['ratio']:.2f}",
        ),
        (
            f"run_simulated {r['simulated_hours']:g} h",
            f"{r['events_per_s']:,.0f}",
            "",
            "events/s",
            "",
        ),
        (
            "submit market order p50",
            f"{o['ours_p50_us']:.1f}",
            f"{o['reference_p50_us']:.1f}",
            "µs",
            f"{o['ratio_p50']:.1f}",
        ),
        (
            "submit market order p99",
            f"{o['ours_p99_us']:.1f}",
            f"{o['reference_p99_us']:.1f}",
            "µs",
            f"{o['ratio_p99']:.1f}",
        ),
    ]
    if (rp := res.get("replay")) is not None:
        rows += [(f"replay sp500 SMA 10/30, whole loop", f"{rp['ours_events_per_s']:,.0f}", "200,000 (goal)",
                  "events/s", f"{rp['ours_events_per_s'] / 200_000:.2f}"),
                 (f"  same, vs backtrader ({rp['bars']:,} bars)", f"{rp['ours_bars_per_s']:,.0f}",
                  f"{rp['backtrader_bars_per_s']:,.0f}", "bars/s", f"{rp['ratio']:.1f}x")]
    if (tt := res.get("tick_to_order")) is not None:
        rows += [("tick -> order ack p50, REST load", f"{tt['load_p50_us']:.0f}", f"{tt['idle_p50_us']:.0f}",
                  "µs", f"{tt['load_p50_us'] / tt['idle_p50_us']:.2f}"),
                 ("tick -> order ack p99, REST load", f"{tt['load_p99_us']:.0f}", "1,000 (goal)", "µs",
                  f"{tt['load_p99_us'] / 1000:.2f}")]
    for x in res.get("restart", []):
        rows.append((f"restart, {x['orders']:,} orders", f"{x['snapshot_restart_s']:.2f}",
                     f"{x['full_replay_s']:.2f}", "s", f"{x['speedup']:.0f}x"))
    head = ("benchmark", "ours", "reference", "unit", "ratio")
    w = [max(len(x[i]) for x in (head, *rows)) for i in range(5)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cells))

    m = res["machine"]
    return "\n".join(
        [
            f"machine: {m['cpu_count']} CPUs, {m['processor']}, Python {m['python']}, "
            f"SQLite {m['sqlite']}, {m['platform']}",
            line(head),
            "  ".join("-" * n for n in w),
            *map(line, rows),
            "references: bus = 3 direct calls; journal = sqlite3 INSERT + COMMIT, same pragmas; "
            "order = bare PaperBroker.submit (no OMS, risk, journal); restart = snapshot + 1,000-order "
            "tail vs full journal replay; replay = run_backtest (bus, strategy, risk, OMS, paper broker, "
            "journal in memory (MemoryJournal), P&L) vs backtrader Cerebro (runonce=False) on the same bars; tick -> order = "
            "quote published until its order is filled and committed (SQLite file journal, group commit), "
            "under REST load vs the same idle",
            *([f"  replay: {rp['trades']} trades, {rp['events']:,} events; backtrader runonce=True "
               f"{rp['backtrader_runonce_bars_per_s']:,.0f} bars/s"] if rp else []),
            *([f"  REST load: {tt['clients']} client threads in another process, {tt['rest_requests']:,} requests "
               f"({', '.join(f'{k} {v}' for k, v in tt['rest_counts'].items())}) during {tt['ticks']:,} ticks; "
               f"max {tt['load_max_us']:.0f} µs; load average {m['load_average_1m']:.2f}"] if tt else []),
            *(f"  {x['orders']:,} orders: snapshot written in {x['snapshot_write_s']:.2f} s "
              f"({x['snapshot_mb']:.1f} MB), archived-order lookup {x['archived_lookup_ms']:.1f} ms"
              for x in res.get("restart", [])),
        ]
    )


def run(quick: bool = False) -> dict[str, Any]:
    "Run every benchmark and return the results."
    p = QUICK if quick else FULL
    t0 = time.perf_counter()
    res = {
        "benchmark": "live_loop",
        "quick": quick,
        "sizes": p,
        "machine": machine_info() | {"implementation": platform.python_implementation(), "sqlite": sqlite3.sqlite_version},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "bus": bench_bus(p["bus_events"], p["repeats"]),
        "journal": bench_journal(p["journal_appends"], p["repeats"]),
        "run_simulated": bench_run_simulated(p["book_hours"], p["book_repeats"]),
        "orders": bench_orders(p["orders"], p["book_repeats"]),
        "restart": [bench_restart(n) for n in p["restart_orders"]],
        "replay": bench_replay(quick, p["replay_repeats"]),
        "tick_to_order": bench_tick_to_order(p["ticks"], p["clients"]),
    }
    res["wall_s"] = time.perf_counter() - t0
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for("live_loop", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
