"""Benchmark the smart order router: decision latency per order, and what it saves against one venue.

Usage: `python benchmarks/execution_router.py [--quick] [--out PATH]`

  route        `SmartRouter.route` on the five-level books of the three lit venues as `BookSnapshot`s,
               with dark pings on: market and limit orders of 100 to 9,900 shares, buys and sells, timed
               one call at a time: p50 and p99 in us
  broker hook  `SmartRouter.__call__`, the plan the paper broker asks for (lists of levels, lit only)
  cost         the first order of each state as a market order, executed at once on copies of the seeded
               book: all on the primary venue XNAS vs routed lit across XNAS/XNYS/BATS (seeing 100 levels),
               mean all-in cost against the arrival mid (USD per share, fees included)

Data: a seeded session of the L2 book simulator `ultimate_nb.data.book.BookSimulator`, its books
snapshotted every second. There is no off-the-shelf Python SOR to compare with (commercial SORs sit
inside broker gateways); the reference is the simplest policy, everything to the primary venue.
The machine is a shared 2-core box running other engineers' jobs, so tails are noisy.
Prints a table and writes JSON (default benchmarks/results/execution_router.json, or
execution_router.quick.json with --quick).
"""

from __future__ import annotations

import copy
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

from ultimate_nb import __version__
from ultimate_nb.core.events import Order
from ultimate_nb.data.book import BookSimulator
from ultimate_nb.execution.router import SmartRouter, venue_books

FULL = dict(states=300, orders=20, repeats=3)
QUICK = dict(states=20, orders=5, repeats=1)


def states(n: int, seed: int = 7) -> list[BookSimulator]:
    "Return `n` copies of a seeded simulator, one second of flow apart, after a minute of warm-up."
    sim = BookSimulator("SIM", rng=np.random.default_rng(seed))
    sim.advance(60 * 10**9)
    out = []
    for _ in range(n):
        sim.advance(10**9)
        out.append(copy.deepcopy(sim))
    return out


def orders(n: int, mid: float, rng: np.random.Generator) -> list[Order]:
    "Return `n` random market and limit orders around `mid`."
    out = []
    for i in range(n):
        side = 1 if rng.random() < 0.5 else -1
        kw = {} if rng.random() < 0.5 else dict(order_type="limit", limit_price=round(mid + side * rng.integers(0, 4) * 0.01, 2))
        out.append(Order(f"o{i}", "SIM", side, int(rng.integers(1, 100)) * 100, **kw))
    return out


def _pct(lat: list[float]) -> dict:
    a = np.asarray(lat) / 1e3
    return {"p50_us": float(np.percentile(a, 50)), "p99_us": float(np.percentile(a, 99)), "mean_us": float(a.mean()),
            "calls": len(a)}


def run(quick: bool = False) -> dict:
    t_start = time.perf_counter()
    p, rng = QUICK if quick else FULL, np.random.default_rng(0)
    sims = states(p["states"])
    router = SmartRouter.from_feed(sims[0])
    cases = [(venue_books(s), orders(p["orders"], s.nbbo().mid, rng)) for s in sims]
    lists = [{v: (list(b.bids), list(b.asks)) for v, b in books.items()} for books, _ in cases]
    router.route(cases[0][1][0], cases[0][0])                         # warm
    lat_route, lat_hook = [], []
    for _ in range(p["repeats"]):
        for (books, os_), lb in zip(cases, lists):
            for o in os_:
                a0 = time.perf_counter_ns()
                router.route(o, books)
                lat_route.append(time.perf_counter_ns() - a0)
                a0 = time.perf_counter_ns()
                router("SIM", o.side, o.qty, o.limit_price, lb)
                lat_hook.append(time.perf_counter_ns() - a0)
    primary, routed, lit_only = [], [], SmartRouter(router.venues, None, router.config, router.tick)
    fee = {v.name: v.taker_fee for v in router.venues}
    for s, (_, os_) in zip(sims, cases):
        o = os_[0]
        for out, how in ((primary, "XNAS"), (routed, None)):
            m = copy.deepcopy(s)
            mid = m.nbbo().mid
            if how:
                took = m.execute(o.side, o.qty, venue=how)
            else:
                took = [f for c in lit_only.route(Order("x", "SIM", o.side, o.qty), venue_books(m, levels=100))
                        for f in m.execute(o.side, c.qty, c.limit_price, c.venue)]
            q = sum(n for _, _, n in took)
            out.append((sum(int(o.side) * px * n + fee[v] * n for v, px, n in took) / q - int(o.side) * mid, q == o.qty))
    cost = {"primary_usd_per_share": float(np.mean([c for c, _ in primary])),
            "routed_usd_per_share": float(np.mean([c for c, _ in routed])),
            "routed_never_worse": bool(all(r[0] <= pr[0] + 1e-9 for r, pr in zip(routed, primary))),
            "all_filled": bool(all(f for _, f in primary + routed)), "orders": len(primary)}
    return {"quick": quick, "wall_s": time.perf_counter() - t_start, "states": len(sims), "venues": len(router.venues),
            "route": _pct(lat_route), "broker_hook": _pct(lat_hook), "cost": cost,
            "machine": machine_info("numba"), "version": __version__,
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def table(res: dict) -> str:
    r, h, c = res["route"], res["broker_hook"], res["cost"]
    return "\n".join([
        f"smart order router: {res['venues']} lit venues + dark pool, {res['states']} book states, "
        f"{r['calls']} decisions; load avg {res['machine']['load_average_1m']:.1f} (shared machine: tails are noisy)",
        f"{'decision':<34}{'p50 us':>10}{'p99 us':>10}{'mean us':>10}",
        f"{'route (snapshots, dark on)':<34}{r['p50_us']:>10.1f}{r['p99_us']:>10.1f}{r['mean_us']:>10.1f}",
        f"{'broker hook (level lists, lit)':<34}{h['p50_us']:>10.1f}{h['p99_us']:>10.1f}{h['mean_us']:>10.1f}",
        f"cost vs arrival mid over {c['orders']} market orders, USD/share incl. fees: all on XNAS "
        f"{c['primary_usd_per_share']:.5f}, routed lit {c['routed_usd_per_share']:.5f} "
        f"(never worse: {c['routed_never_worse']}, all filled: {c['all_filled']})"])


def main(argv: list[str] | None = None) -> int:
    return main_for("execution_router", run, table, argv, doc=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
