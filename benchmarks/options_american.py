"""Benchmark American option pricing against QuantLib.

Usage: `python benchmarks/options_american.py [--quick] [--out PATH]`

  tree   200 random American puts at 1000 steps: `price_american` (one batched CRR call, numba,
         parallel over contracts)  vs  QuantLib `BinomialVanillaEngine("crr", 1000)` option by
         option. Accuracy of both against a reference (our Leisen-Reimer tree with Richardson
         extrapolation, 8001 and 4001 steps), so that "faster" is at the same accuracy.
  lsm    one Longstaff-Schwartz put (S = K = 40, r = 6%, sigma = 20%, T = 1; Table 1's at-the-money
         row) with 100,000 paths (antithetic) x 50 exercise dates: ours  vs  a plain numpy
         implementation of the same algorithm  vs  QuantLib `MCAmericanEngine` (100,000 pricing
         paths as 50,000 antithetic pairs, 50 time steps, Laguerre order 3, its default 2048
         calibration pairs).

Each time is the median of several repeats (after a warm-up that compiles the numba kernels),
from `time.perf_counter`; the machine's load average is recorded before and after, because
the machine may be shared. GPU rows (`device="cuda"`) are added when torch sees a GPU.
Prints a table and writes JSON (default `benchmarks/results/options_american.json`, or
`options_american.quick.json` with `--quick`, the tiny sizes used by the smoke test).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ultimate_nb.core.device import has_cuda
from ultimate_nb.options.american import price_american

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402


FULL = dict(contracts=200, steps=1000, ql_repeats=3, repeats=7, paths=100_000, dates=50,
            lsm_repeats=7, ql_mc_repeats=3, ref_steps=8001)
QUICK = dict(contracts=10, steps=200, ql_repeats=1, repeats=2, paths=4_000, dates=10,
             lsm_repeats=2, ql_mc_repeats=1, ref_steps=801)
TARGETS = {"tree_speedup_min": 5.0, "lsm_seconds_max": 0.15}


def median_time(f: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    "Return the median and all wall times of `repeats` calls of f, in seconds."
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def contracts(n: int, seed: int = 20240102) -> dict[str, np.ndarray]:
    "Return n random American puts; expiries are whole days so that QuantLib sees the same T."
    rng = np.random.default_rng(seed)
    days = rng.integers(30, 730, n)
    return dict(S=rng.uniform(80.0, 120.0, n), K=np.full(n, 100.0), days=days, T=days / 365.0,
                r=rng.uniform(0.0, 0.08, n), sigma=rng.uniform(0.1, 0.5, n),
                q=rng.uniform(0.0, 0.04, n))


# -- TREE --


def ql_setup(S: float, K: float, days: int, r: float, sigma: float, q: float, kind: int,
             exercise: str = "american") -> tuple[Any, Any]:
    "Return a QuantLib (process, option) for one vanilla option expiring in `days` (ACT/365)."
    import QuantLib as ql

    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    curve = lambda x: ql.YieldTermStructureHandle(ql.FlatForward(today, float(x), dc))
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(float(S))), curve(q), curve(r),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), float(sigma), dc)))
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if kind > 0 else ql.Option.Put,
                                                 float(K)),
                           ql.AmericanExercise(today, today + int(days)))
    return proc, opt


def bench_tree(p: dict[str, Any]) -> dict[str, Any]:
    import QuantLib as ql

    c = contracts(p["contracts"])
    args = (c["S"], c["K"], c["T"], c["r"], c["sigma"], c["q"], "put")
    n_ref = p["ref_steps"]
    ref = (n_ref * price_american(*args, method="lr", steps=n_ref)
           - (n_ref // 2 | 1) * price_american(*args, method="lr", steps=n_ref // 2 | 1))
    ref = ref / (n_ref - (n_ref // 2 | 1))

    setups = [ql_setup(c["S"][i], c["K"][i], c["days"][i], c["r"][i], c["sigma"][i], c["q"][i],
                       -1) for i in range(len(c["S"]))]

    def ql_all() -> np.ndarray:
        # engine + NPV per option (the instruments and market data are built beforehand)
        out = np.empty(len(setups))
        for i, (proc, opt) in enumerate(setups):
            opt.setPricingEngine(ql.BinomialVanillaEngine(proc, "crr", p["steps"]))
            out[i] = opt.NPV()
        return out

    rows = {}
    variants = {
        "crr": dict(steps=p["steps"]),
        "crr smooth": dict(steps=p["steps"], smooth=True),
        "lr": dict(method="lr", steps=p["steps"] + 1),
    }
    for name, kw in variants.items():
        price_american(*args, **kw)                                   # compile / warm up
        t, ts = median_time(lambda: price_american(*args, **kw), p["repeats"])
        err = np.abs(price_american(*args, **kw) - ref)
        rows[name] = dict(seconds=t, all_seconds=ts, max_abs_err=float(err.max()),
                          mean_abs_err=float(err.mean()))
    t_ql, ts_ql = median_time(ql_all, p["ql_repeats"])
    err_ql = np.abs(ql_all() - ref)
    rows["quantlib crr"] = dict(seconds=t_ql, all_seconds=ts_ql, max_abs_err=float(err_ql.max()),
                                mean_abs_err=float(err_ql.mean()))
    if has_cuda():
        price_american(*args, steps=p["steps"], device="cuda")
        t, ts = median_time(lambda: price_american(*args, steps=p["steps"], device="cuda"),
                            p["repeats"])
        rows["crr cuda"] = dict(seconds=t, all_seconds=ts)
    return {"contracts": len(c["S"]), "steps": p["steps"], "reference": f"lr richardson {n_ref}",
            "rows": rows, "speedup": t_ql / rows["crr"]["seconds"]}


# -- LSM --


def numpy_lsm(S: float, K: float, T: float, r: float, sigma: float, paths: int, dates: int,
              rng: np.random.Generator) -> float:
    "Return a plain numpy Longstaff-Schwartz put price (antithetic, Laguerre 3, no control)."
    dt = T / dates
    z = rng.standard_normal((dates, paths // 2))
    z = np.concatenate([z, -z], axis=1)
    s = S * np.exp(np.cumsum((r - 0.5 * sigma**2) * dt + sigma * math.sqrt(dt) * z, axis=0))
    cf = np.maximum(K - s[-1], 0.0)
    disc = math.exp(-r * dt)
    for k in range(dates - 2, -1, -1):
        cf *= disc
        ex = K - s[k]
        itm = ex > 0
        x = s[k, itm] / K
        e = np.exp(-0.5 * x)
        X = np.stack([np.ones_like(x), e, e * (1 - x), e * (1 - 2 * x + 0.5 * x * x)], axis=1)
        coef = np.linalg.lstsq(X, cf[itm], rcond=None)[0]
        exercise = ex[itm] > X @ coef
        cf[np.flatnonzero(itm)[exercise]] = ex[itm][exercise]
    return float(cf.mean() * disc)


def bench_lsm(p: dict[str, Any]) -> dict[str, Any]:
    import QuantLib as ql

    args = (40.0, 40.0, 1.0, 0.06, 0.2, 0.0, "put")
    kw = dict(method="lsm", paths=p["paths"], exercise_dates=p["dates"])
    price_american(*args, **kw, rng=0)                                # compile / warm up
    t, ts = median_time(lambda: price_american(*args, **kw, rng=1), p["lsm_repeats"])
    res = price_american(*args, **kw, rng=2)
    rows = {"ours": dict(seconds=t, all_seconds=ts, price=float(res.price),
                         stderr=float(res.stderr))}
    t_np, ts_np = median_time(
        lambda: numpy_lsm(40.0, 40.0, 1.0, 0.06, 0.2, p["paths"], p["dates"],
                          np.random.default_rng(1)), p["lsm_repeats"])
    rows["numpy"] = dict(seconds=t_np, all_seconds=ts_np,
                         price=numpy_lsm(40.0, 40.0, 1.0, 0.06, 0.2, p["paths"], p["dates"],
                                         np.random.default_rng(2)))

    def ql_mc() -> tuple[float, float]:
        proc, opt = ql_setup(40.0, 40.0, 365, 0.06, 0.2, 0.0, -1)
        opt.setPricingEngine(ql.MCAmericanEngine(
            proc, "pseudorandom", timeSteps=p["dates"], antitheticVariate=True,
            requiredSamples=p["paths"] // 2, seed=42, polynomOrder=3,
            polynomType=ql.LsmBasisSystem.Laguerre))
        return opt.NPV(), opt.errorEstimate()

    out: list[tuple[float, float]] = []
    t_ql, ts_ql = median_time(lambda: out.append(ql_mc()), p["ql_mc_repeats"])
    rows["quantlib"] = dict(seconds=t_ql, all_seconds=ts_ql, price=out[-1][0], stderr=out[-1][1])
    if has_cuda():
        price_american(*args, **kw, rng=0, device="cuda")
        t, ts = median_time(lambda: price_american(*args, **kw, rng=1, device="cuda"),
                            p["lsm_repeats"])
        rows["ours cuda"] = dict(seconds=t, all_seconds=ts)
    return {"paths": p["paths"], "dates": p["dates"], "rows": rows,
            "ratio_vs_quantlib": t_ql / t, "ratio_vs_numpy": t_np / t}


# -- REPORT --


def table(res: dict[str, Any]) -> str:
    tr, ls = res["tree"], res["lsm"]
    rows = []
    for name, r in tr["rows"].items():
        err = (f"{r['max_abs_err']:.1e} / {r['mean_abs_err']:.1e}" if "max_abs_err" in r else "")
        rows.append((f"{tr['contracts']} puts, {name}", f"{1e3 * r['seconds']:.1f}", err,
                     f"{tr['rows']['quantlib crr']['seconds'] / r['seconds']:.1f}x"))
    for name, r in ls["rows"].items():
        val = f"{r['price']:.4f} +- {r['stderr']:.4f}" if "stderr" in r else (
            f"{r['price']:.4f}" if "price" in r else "")
        rows.append((f"LSM {ls['paths']:,} x {ls['dates']}, {name}", f"{1e3 * r['seconds']:.1f}",
                     val, f"{ls['rows']['quantlib']['seconds'] / r['seconds']:.1f}x"))
    head = ("benchmark", "ms", "max / mean |err|, or price", "vs QuantLib")
    w = [max(len(x[i]) for x in (head, *rows)) for i in range(4)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w[i]) if i in (0, 2) else c.rjust(w[i])
                         for i, c in enumerate(cells))

    m, tg = res["machine"], res["targets"]
    return "\n".join([
        f"machine: {m['cpu_count']} CPUs ({m['numba_threads']} numba threads), {m['processor']}, "
        f"Python {m['python']}, QuantLib {m['quantlib']}, load average "
        f"{res['load_before'][0]:.2f} before / {res['load_after'][0]:.2f} after",
        line(head), "  ".join("-" * n for n in w), *map(line, rows),
        f"tree speed-up vs QuantLib CRR: {tr['speedup']:.1f}x (target >= "
        f"{TARGETS['tree_speedup_min']:g}x: {'met' if tg['tree_met'] else 'NOT met'}); "
        f"LSM {1e3 * ls['rows']['ours']['seconds']:.0f} ms (target < "
        f"{1e3 * TARGETS['lsm_seconds_max']:.0f} ms: {'met' if tg['lsm_met'] else 'NOT met'}), "
        f"{ls['ratio_vs_numpy']:.1f}x faster than numpy, {ls['ratio_vs_quantlib']:.1f}x faster "
        "than QuantLib MCAmericanEngine",
        f"errors against {tr['reference']}; times are medians of repeats",
    ])


def run(quick: bool = False) -> dict[str, Any]:
    "Run both benchmarks and return the results."
    p = QUICK if quick else FULL
    t0 = time.perf_counter()
    res: dict[str, Any] = {
        "benchmark": "options_american", "quick": quick, "sizes": p, "machine": machine_info("numba", "QuantLib") | {"cuda": has_cuda()},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_before": list(os.getloadavg()),
    }
    res["tree"] = bench_tree(p)
    res["lsm"] = bench_lsm(p)
    res["load_after"] = list(os.getloadavg())
    res["targets"] = {
        **TARGETS,
        "tree_met": res["tree"]["speedup"] >= TARGETS["tree_speedup_min"],
        "lsm_met": res["lsm"]["rows"]["ours"]["seconds"] < TARGETS["lsm_seconds_max"],
    }
    res["wall_s"] = time.perf_counter() - t0
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for("options_american", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
