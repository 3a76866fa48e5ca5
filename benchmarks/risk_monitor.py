"""Benchmark the real-time risk monitor: re-risk after a fill, and full-revaluation VaR.

Usage: `python benchmarks/risk_monitor.py [--quick] [--device cpu|cuda] [--out PATH]`

A SimClock book on the simulator with 10 underlyings (stocks of the shipped skfolio panel) holds 1,000
European options (100 per underlying; strikes 80-120% of spot, expiries 1-12 months, calls and puts,
long and short), each listed in the book and filled through its OMS. The `live.risk_monitor.RiskMonitor`
then re-risks the book after each of 200 one-contract fills: the touched underlying's Greeks
(`options.greeks.bs_greeks`, second order, on `--device`), the book's sums, exposure, P&L and the
delta-gamma-vega VaR over 10,000 Monte Carlo scenarios, and the limits. Each `on_fill` is timed alone
(perf_counter_ns, and its CPU time by thread_time_ns). Goal: p99 < 5 ms. On a shared, loaded 2-core
box the wall-clock tail is the scheduler's: a fixed pure-Python loop as long as the median re-risk is
timed the same number of times right after, and its p99 is printed beside ours as the machine's noise
floor; the CPU-time p99 is the monitor's own cost. Then the full revaluation of the whole book in 10,000 Monte Carlo
scenarios (1e7 option prices) with its VaR/ES, timed 3 times: goal < 1 s. The reference is what a user
of this library would call otherwise, `risk.var.revalue_options` (vectorised `bs_price`) on the same book
and scenarios; the two P&L vectors must agree. The machine is a shared 2-core box: tails are noisy.
Prints a table and writes JSON (benchmarks/results/risk_monitor.json, or .quick.json with --quick).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Instrument, Order, OrderSide, Quote
from ultimate_nb.live.risk_monitor import RiskMonitor, RiskMonitorSettings
from ultimate_nb.live.system import TradingSystem
from ultimate_nb.options.greeks import bs_price
from ultimate_nb.risk.var import OptionBook, revalue_options, var_es

UNDERLYINGS = ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "PG", "KO", "WMT", "HD", "UNH"]
FULL = dict(options=1_000, fills=200, scenarios=10_000)
QUICK = dict(options=100, fills=30, scenarios=1_000)
START = 1_767_275_400_000_000_000          # 2026-01-01 13:50 UTC


class TimedMonitor(RiskMonitor):
    "The monitor with each fill's re-risk timed."
    lat: list
    cpu: list

    def on_fill(self, f):
        t, c = time.perf_counter_ns(), time.thread_time_ns()
        super().on_fill(f)
        self.cpu.append((time.thread_time_ns() - c) / 1e6)
        self.lat.append((time.perf_counter_ns() - t) / 1e6)


def _spin(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


def noise_floor(ms: float, repeats: int) -> dict:
    "Time a fixed pure-Python loop calibrated to `ms` milliseconds `repeats` times; its wall-clock p50/p99."
    n = 10_000
    t = time.perf_counter_ns(); _spin(n); one = max(time.perf_counter_ns() - t, 1) / 1e6
    for _ in range(3):                       # calibrate on the fastest of a few runs
        t = time.perf_counter_ns(); _spin(n); one = min(one, max(time.perf_counter_ns() - t, 1) / 1e6)
    n = max(int(n * ms / one), 1)
    lat = []
    for _ in range(repeats):
        t = time.perf_counter_ns()
        _spin(n)
        lat.append((time.perf_counter_ns() - t) / 1e6)
    return {"p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99))}


def make_book(n_options: int, seed: int = 7) -> tuple[TradingSystem, list[Instrument]]:
    "Return a SimClock book holding `n_options` option positions filled through its OMS."
    rng = np.random.default_rng(seed)
    prices = rng.uniform(40, 400, len(UNDERLYINGS)).round(2).tolist()
    s = load_settings(overrides={
        "store": {"var_dir": tempfile.mkdtemp(prefix="bench-risk-")}, "strategy": {"enabled": False},
        "market": {"symbols": UNDERLYINGS, "initial_prices": prices, "vols": [0.3] * len(UNDERLYINGS)},
        "risk": {"max_order_qty": 1_000_000, "max_position_qty": 1_000_000, "max_order_notional": 1e12,
                 "max_gross_notional": 1e13, "max_strategy_gross_notional": 1e13, "max_orders_per_second": 1e9,
                 "daily_loss_reducing": 1e12, "daily_loss_halt": 1e13}, "broker": {"initial_cash": 1e9}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=START))
    today = date(2026, 1, 1)
    opts = []
    for i in range(n_options):
        u = UNDERLYINGS[i % len(UNDERLYINGS)]
        spot = book.marks[u]
        inst = Instrument.option(u, round(spot * rng.uniform(0.8, 1.2), 1), today + timedelta(days=int(rng.integers(30, 365))),
                                 rng.choice(["call", "put"]))
        if inst.symbol in book.instruments:
            continue
        if hasattr(book, "add_instrument"):
            book.add_instrument(inst)
        else:
            book.instruments[inst.symbol] = book.oms.instruments[inst.symbol] = inst
        T = (inst.expiry - today).days / 365
        px = max(float(bs_price(spot, inst.strike, T, 0.04, 0.3, 0.0, inst.right.value)), 0.05)
        t = book.now_ns()
        book.ingest(Quote(inst.symbol, round(px * 0.99, 2), round(px * 1.01 + 0.01, 2), 10_000, 10_000, t, t))
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        book.submit_order(Order(f"seed-{i}", inst.symbol, side, int(rng.integers(1, 20)), ts_init=t))
        opts.append(inst)
    return book, opts


def time_fills(book: TradingSystem, opts: list[Instrument], n: int, scenarios: int, device: str, seed: int = 11) -> dict:
    "Add the timed monitor, send `n` one-contract orders on random options; return on_fill's latency (ms)."
    desk = TimedMonitor(book, RiskMonitorSettings(mc_scenarios=scenarios, full_interval_ms=1e12, device=device))
    desk.lat, desk.cpu = [], []
    book.add_desk("risk", desk)
    desk.lat.clear()
    desk.cpu.clear()                                        # the start's full risking is not a fill
    rng = np.random.default_rng(seed)
    for i in range(n):
        inst = opts[int(rng.integers(len(opts)))]
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        book.submit_order(Order(f"fill-{i}", inst.symbol, side, 1, ts_init=book.now_ns()))
    lat, cpu = np.array(desk.lat), np.array(desk.cpu)
    floor = noise_floor(float(np.percentile(lat, 50)), len(lat))
    per_u = [len(d["positions"]) for d in desk.under.values()]
    return {"desk": desk, "fills": len(lat), "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max()),
            "cpu_p50_ms": float(np.percentile(cpu, 50)), "cpu_p99_ms": float(np.percentile(cpu, 99)),
            "noise_p50_ms": floor["p50_ms"], "noise_p99_ms": floor["p99_ms"],
            "positions": sum(per_u), "underlyings": len(per_u), "positions_per_underlying": int(np.mean(per_u))}


def time_full(desk: RiskMonitor, repeats: int = 3) -> dict:
    "Time the full revaluation (Monte Carlo scenarios) with its VaR/ES; compare with `risk.var.revalue_options`."
    R, V = desk._scenarios("monte_carlo")
    h = desk.settings.horizon_days / 365
    walls = []
    for _ in range(repeats):
        t = time.perf_counter()
        pnl = desk._revalue(R, V, h).sum(1)
        var, es = var_es(pnl, desk.settings.alpha)
        walls.append(time.perf_counter() - t)
    us = list(desk.under)
    gs = [desk.under[u]["g"] for u in us]
    cat = lambda k: np.concatenate([g[k][g["opt"]] for g in gs])
    ob = OptionBook(spot=np.array([desk.under[u]["spot"] for u in us]),
                    underlying=np.concatenate([np.full(int(g["opt"].sum()), i) for i, g in enumerate(gs)]),
                    K=cat("K"), T=cat("T"), sigma=cat("sigma"), kind=cat("w"), qty=cat("size"), r=desk.settings.rate)
    t = time.perf_counter()
    ref = revalue_options(ob, R, V, horizon=h)
    ref_s = time.perf_counter() - t
    return {"scenarios": len(R), "prices": len(R) * len(ob.K), "best_s": min(walls), "median_s": float(np.median(walls)),
            "var": var, "es": es, "reference_s": ref_s,
            "max_abs_diff": float(np.abs(pnl - ref).max()), "pnl_scale": float(np.abs(ref).max())}


def run(quick: bool = False, device: str = "cpu") -> dict:
    "Build the book, time re-risking after fills and the full revaluation; return the results."
    cfg = QUICK if quick else FULL
    t0 = time.perf_counter()
    book, opts = make_book(cfg["options"])
    fills = time_fills(book, opts, cfg["fills"], cfg["scenarios"], device)
    full = time_full(fills.pop("desk"))
    book.close()
    res = {"machine": machine_info("numba"), "quick": quick, "device": device, **cfg, "rerisk": fills,
           "full": full, "goal_rerisk_p99_ms": 5.0, "goal_full_s": 1.0}
    res["wall_s"] = time.perf_counter() - t0
    return res


def table(res: dict) -> str:
    "Return the printed table."
    f, v = res["rerisk"], res["full"]
    return "\n".join([
        f"risk monitor, {f['positions']} option positions on {f['underlyings']} underlyings "
        f"({f['positions_per_underlying']} each), device {res['device']}",
        f"{'measure':<44} {'p50':>9} {'p99':>9} {'max':>9} {'goal':>9}",
        f"{'re-risk after a fill (Greeks + dG VaR), ms':<44} {f['p50_ms']:>9.3f} {f['p99_ms']:>9.3f} "
        f"{f['max_ms']:>9.3f} {'< ' + format(res['goal_rerisk_p99_ms'], 'g'):>9}",
        f"{'  the same, CPU time of the thread, ms':<44} {f['cpu_p50_ms']:>9.3f} {f['cpu_p99_ms']:>9.3f}",
        f"{'  a fixed loop as long (machine noise), ms':<44} {f['noise_p50_ms']:>9.3f} {f['noise_p99_ms']:>9.3f}",
        f"{'full-revaluation VaR, ' + format(v['scenarios'], ',') + ' scenarios, s':<44} {v['median_s']:>9.3f} "
        f"{'':>9} {'':>9} {'< ' + format(res['goal_full_s'], 'g'):>9}",
        f"{'  reference risk.var.revalue_options, s':<44} {v['reference_s']:>9.3f}",
        f"  load average (1 min) {res['machine'].get('load_average_1m', float('nan')):.1f} on "
        f"{res['machine'].get('cpu_count')} CPUs",
        f"  {v['prices']:,} prices; VaR {v['var']:,.0f}, ES {v['es']:,.0f}; max |P&L - reference| "
        f"{v['max_abs_diff']:.2e} of {v['pnl_scale']:,.0f}"])


def _args(ap):
    ap.add_argument("--device", default="cpu", help="where Greeks are computed: cpu or cuda[:N]")


def main(argv=None):
    return main_for("risk_monitor", run, table, argv, doc=__doc__, add_arguments=_args)


if __name__ == "__main__":
    sys.exit(main())
