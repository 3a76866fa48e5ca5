"""Benchmark the execution-algorithm schedulers: `decide` latency per market event, per algorithm.

Usage: `python benchmarks/execution_algos.py [--quick] [--out PATH]`

Each algorithm (TWAP, VWAP, POV, IS, CLOSE) works a 20,000-share parent over the session's
horizon against the events of a seeded L2 book-simulator session (`data.book.BookFeed`: NBBO
quotes, prints and one-minute bars of one symbol). Every `decide(state, event)` call is timed alone
with `perf_counter_ns`; crossing children fill at once and cancels are confirmed at once, so every
path of the scheduler runs (slices, catch-up, re-pricing, the final sweep). Reported: p50, p99 and
max over all events, and p99 over the events that produced actions. The goal is p99 < 100 us per
event. No library a Python user would reach for ships these schedulers, so the reference is the
budget itself; the machine is a shared 2-core box, so tails are noisy. Prints a table and writes
JSON (benchmarks/results/execution_algos.json, or execution_algos.quick.json with --quick).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

from ultimate_nb.core.events import Bar, Quote, Trade
from ultimate_nb.data.book import BookFeed
from ultimate_nb.execution.algos import (
    MINUTE_NS, AlgoParams, ChildOrder, VolumeProfile, decide, new_parent, on_child_done, on_child_fill,
)

FULL = dict(seconds=1_800)
QUICK = dict(seconds=60)
START = 1_748_871_000_000_000_000          # 2025-06-02 13:30 UTC


def events(seconds: int, seed: int = 7) -> list:
    "Return the quotes, prints and bars of one symbol over `seconds` of a seeded book session."
    feed = BookFeed(["AAPL"], [190.0], start_ns=START, seed=seed)
    out = []
    for _ in range(seconds * 10):
        out += [e for e in feed.step() if type(e) in (Quote, Trade, Bar) and e.instrument_id == "AAPL"]
    return out


def time_algo(algo: str, evs: list, seconds: int) -> dict:
    "Return decide's latency percentiles (us) for one parent worked over `evs`."
    end = START + seconds * 1_000_000_000
    p = AlgoParams(algo, "AAPL", "buy", 20_000, START, end, lot=100, slice_s=max(seconds / 60, 2.0), urgency=2.0)
    st = new_parent(algo, p, now_ns=START, calendar="24/7", profile=VolumeProfile.u_shape(24))
    lat, act = np.empty(len(evs)), []
    clock = time.perf_counter_ns
    for i, ev in enumerate(evs):
        t = clock()
        acts = decide(st, ev)
        lat[i] = (clock() - t) / 1e3
        if acts:
            act.append(lat[i])
        for a in acts:                        # the venue: crossing children fill, cancels are confirmed
            if type(a) is ChildOrder and a.aggressive:
                on_child_fill(st, a.client_order_id, a.qty, a.limit_price)
            elif type(a) is not ChildOrder:
                on_child_done(st, a.client_order_id)
    return {"events": len(evs), "p50_us": float(np.percentile(lat, 50)), "p99_us": float(np.percentile(lat, 99)),
            "max_us": float(lat.max()), "decisions": len(act),
            "decision_p99_us": float(np.percentile(act, 99)) if act else float("nan"),
            "filled": st.filled, "children": st.n_children}


def run(quick: bool = False) -> dict:
    "Time every algorithm on one session; return the results."
    cfg = QUICK if quick else FULL
    t0 = time.perf_counter()
    evs = events(cfg["seconds"])
    res = {"machine": machine_info("numba", "exchange_calendars"), "quick": quick, **cfg,
           "algos": {a: time_algo(a, evs, cfg["seconds"]) for a in ("twap", "vwap", "pov", "is", "close")}}
    res["goal_p99_us"] = 100.0
    res["wall_s"] = time.perf_counter() - t0
    return res


def table(res: dict) -> str:
    "Return the printed table."
    lines = [f"decide() per market event, {res['seconds']} s of a simulated L2 session "
             f"(goal p99 < {res['goal_p99_us']:.0f} us)",
             f"{'algo':<6} {'events':>7} {'p50 us':>8} {'p99 us':>8} {'max us':>8} {'decisions':>9} "
             f"{'dec p99 us':>10} {'filled':>7}"]
    for a, r in res["algos"].items():
        lines.append(f"{a:<6} {r['events']:>7} {r['p50_us']:>8.2f} {r['p99_us']:>8.2f} {r['max_us']:>8.1f} "
                     f"{r['decisions']:>9} {r['decision_p99_us']:>10.2f} {r['filled']:>7}")
    return "\n".join(lines)


def main(argv=None):
    return main_for("execution_algos", run, table, argv, doc=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
