"""Benchmark `ultimate_nb.options.greeks`: all third-order Greeks and implied volatilities.

Usage: `python benchmarks/options_greeks.py [--quick] [--n N] [--out PATH]`

  greeks      `bs_greeks(..., order=3)`: all 16 Greeks (price to ultima) for N random European
              options, numba, both cores  vs  a straightforward NumPy/SciPy implementation of the
              same closed forms (one array expression per Greek, `scipy.special.ndtr`)
  implied vol `implied_vol` on the N prices  vs  vollib's `implied_volatility` (py_lets_be_rational,
              Jaeckel's Let's Be Rational) called per option on a sample of the same options

One data set: N options drawn once (seeded): spot 10 to 1000 (log-uniform), moneyness K/S 0.6 to
1.65, expiry one day to three years, volatility 5% to 100%, rate -1% to 8%, yield 0 to 5%, calls
and puts. The implied-vol inputs are the prices of those options from the Greeks run. Timings are
wall clock (`time.perf_counter`) after a warm-up call (numba compilation is excluded: it is cached
on disk after the first run); the two sides of each comparison run alternately, and the reported
time is the median over rounds, the speed-up the median of the per-round ratios, so that noise from
other work on the machine hits both sides alike. Accuracy: the largest relative difference of each
Greek from the reference as a fraction of the Greek's largest value (and, in the JSON, the largest
relative difference away from zero crossings), and for implied volatility the largest absolute
error against the volatility that made the price, over the options where vega is material (a
1e-10 change of volatility moves the price by at least 40 roundings of it; elsewhere the
volatility is not determined by a float64 price); "equal or better accuracy" means that on every
option of the sample our error is at most vollib's, or at most what the rounding of a float64
price allows (eps * (|price|/2 + S e^-qT N(w d1) + K e^-rT N(w d2)) / vega), whichever is larger.
vollib runs as shipped, in pure Python: py_lets_be_rational's optional numba mode
(PY_LETS_BE_RATIONAL_ENABLE_NUMBA=1) does not compile in release 1.1.2.

Prints a table and writes the numbers as JSON (default `benchmarks/results/options_greeks.json`,
or `options_greeks.quick.json` with `--quick`).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.special import ndtr
from vollib.black_scholes_merton.implied_volatility import implied_volatility

from ultimate_nb.options.greeks import GREEK_KEYS, bs_greeks, implied_vol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

FULL = dict(n=1_000_000, vollib_sample=2_000, rounds=7, iv_rounds=5)
QUICK = dict(n=20_000, vollib_sample=200, rounds=2, iv_rounds=2)
TARGET_GREEKS, TARGET_IV = 2.0, 40.0


# -- DATA --
def options(n: int, seed: int = 20240115) -> dict[str, np.ndarray]:
    "Return n random European options (the one data set of the benchmark)."
    rng = np.random.default_rng(seed)
    S = np.exp(rng.uniform(np.log(10.0), np.log(1000.0), n))
    return dict(
        S=S,
        K=S * np.exp(rng.uniform(-0.5, 0.5, n)),
        T=rng.uniform(1 / 365, 3.0, n),
        r=rng.uniform(-0.01, 0.08, n),
        sigma=rng.uniform(0.05, 1.0, n),
        q=rng.uniform(0.0, 0.05, n),
        kind=np.where(rng.random(n) < 0.5, 1.0, -1.0),
    )


# -- REFERENCES --
def numpy_greeks(S, K, T, r, sigma, q, kind) -> dict[str, np.ndarray]:
    "All 16 Greeks with NumPy/SciPy, one array expression per Greek (the same closed forms)."
    w, b = kind, r - q
    sqt = np.sqrt(T)
    v = sigma * sqt
    d1 = (np.log(S / K) + (b + 0.5 * sigma**2) * T) / v
    d2 = d1 - v
    dq, dr = np.exp(-q * T), np.exp(-r * T)
    pdf = np.exp(-0.5 * d1**2) / np.sqrt(2 * np.pi)
    n1, n2 = ndtr(w * d1), ndtr(w * d2)
    vega = S * dq * pdf * sqt
    gamma = dq * pdf / (S * v)
    return {
        "price": w * (S * dq * n1 - K * dr * n2),
        "delta": w * dq * n1,
        "vega": vega,
        "theta": -S * dq * pdf * sigma / (2 * sqt) + w * (q * S * dq * n1 - r * K * dr * n2),
        "rho": w * K * T * dr * n2,
        "epsilon": -w * S * T * dq * n1,
        "gamma": gamma,
        "vanna": -dq * pdf * d2 / sigma,
        "charm": w * q * dq * n1 - dq * pdf * (2 * b * T - d2 * v) / (2 * T * v),
        "vomma": vega * d1 * d2 / sigma,
        "veta": vega * (q + b * d1 / v - (1 + d1 * d2) / (2 * T)),
        "vera": -K * T * dr * np.exp(-0.5 * d2**2) / np.sqrt(2 * np.pi) * d1 / sigma,
        "speed": -gamma / S * (d1 / v + 1),
        "zomma": gamma * (d1 * d2 - 1) / sigma,
        "color": gamma * (q + b * d1 / v + (1 - d1 * d2) / (2 * T)),
        "ultima": -vega / sigma**2 * (d1 * d2 * (1 - d1 * d2) + d1**2 + d2**2),
    }


def vollib_iv(price, S, K, T, r, q, kind) -> np.ndarray:
    "vollib's Let's Be Rational, one call per option; NaN where it raises (price out of bounds)."
    out = np.empty(len(price))
    for i in range(len(price)):
        try:
            out[i] = implied_volatility(
                price[i], S[i], K[i], T[i], r[i], q[i], "c" if kind[i] > 0 else "p"
            )
        except Exception:  # vollib signals out-of-bounds prices with exceptions
            out[i] = np.nan
    return out


# -- MEASUREMENT --
def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def alternate(a: Callable[[], Any], b: Callable[[], Any], rounds: int) -> dict[str, Any]:
    "Run a and b alternately; return median times, the median per-round ratio b/a, last outputs."
    ta, tb = [], []
    for _ in range(rounds):
        dt, out_a = timed(a)
        ta.append(dt)
        del out_a
        dt, out_b = timed(b)
        tb.append(dt)
        del out_b
    return {
        "a_s": statistics.median(ta),
        "b_s": statistics.median(tb),
        "a_best_s": min(ta),
        "b_best_s": min(tb),
        "ratio": statistics.median(y / x for x, y in zip(ta, tb)),
    }


def material_vega(d: dict[str, np.ndarray], g: dict[str, np.ndarray]) -> np.ndarray:
    "Options whose float64 price pins the volatility down to 1e-10 (see the notebook)."
    terms = 2 * np.abs(g["delta"]) * d["S"] - d["kind"] * g["price"]
    return (g["price"] > 1e-300) & (g["vega"] * 1e-10 >= 40 * np.finfo(float).eps * terms)


def bench_greeks(d: dict[str, np.ndarray], rounds: int) -> dict[str, Any]:
    args = (d["S"], d["K"], d["T"], d["r"], d["sigma"], d["q"], d["kind"])
    ours = lambda: bs_greeks(*args, order=3)
    ours()  # warm-up: load the compiled kernel, start the threads, touch the memory once
    ref = lambda: numpy_greeks(*args)
    res = alternate(ours, ref, rounds)
    g, gr = ours(), ref()
    err, rel = {}, {}
    for k in GREEK_KEYS:
        scale = np.abs(gr[k]).max()
        err[k] = float(np.max(np.abs(g[k] - gr[k])) / scale)
        big = np.abs(gr[k]) >= 1e-6 * scale          # away from zero crossings, where both cancel
        rel[k] = float(np.max(np.abs(g[k][big] / gr[k][big] - 1)))
    return {
        "options": len(d["S"]),
        "greeks": len(GREEK_KEYS),
        "ours_s": res["a_s"],
        "numpy_s": res["b_s"],
        "ours_best_s": res["a_best_s"],
        "numpy_best_s": res["b_best_s"],
        "speedup": res["ratio"],
        "max_diff_of_scale": max(err.values()),
        "max_diff_of_scale_by_greek": err,
        "max_rel_diff_away_from_zero": max(rel.values()),
        "max_rel_diff_away_from_zero_by_greek": rel,
        "target": TARGET_GREEKS,
        "met": res["ratio"] >= TARGET_GREEKS,
    }, g


def bench_iv(d, g, sample: int, rounds: int) -> dict[str, Any]:
    args = (g["price"], d["S"], d["K"], d["T"], d["r"], d["q"], d["kind"])
    implied_vol(*args)  # warm-up
    material = material_vega(d, g)
    # the volatility error a float64 price allows: eps (|price|/2 + S Dq N(w d1) + K Dr N(w d2)) / vega
    terms = 2 * np.abs(g["delta"]) * d["S"] - d["kind"] * g["price"]
    attainable = np.finfo(float).eps * (0.5 * np.abs(g["price"]) + terms) / np.where(material, g["vega"], 1.0)
    sub = slice(0, sample)
    ours_t, vollib_t = [], []
    for _ in range(rounds):  # alternate: ours on all N, vollib on the sample, per option
        dt, iv = timed(lambda: implied_vol(*args))
        ours_t.append(dt / len(d["S"]))
        dt, iv_v = timed(lambda: vollib_iv(*(a[sub] for a in args)))
        vollib_t.append(dt / sample)
    ratios = [v / o for o, v in zip(ours_t, vollib_t)]
    err = np.abs(iv - d["sigma"])
    err_v = np.abs(iv_v - d["sigma"][sub])
    m_sub = material[sub]
    return {
        "options": len(d["S"]),
        "vollib_sample": sample,
        "ours_s": statistics.median(ours_t) * len(d["S"]),
        "ours_us_per_option": statistics.median(ours_t) * 1e6,
        "vollib_us_per_option": statistics.median(vollib_t) * 1e6,
        "throughput_ratio": statistics.median(ratios),
        "material_share": float(material.mean()),
        "ours_max_abs_err_material": float(err[material].max()),
        "ours_max_abs_err_material_sample": float(err[sub][m_sub].max()),
        "vollib_max_abs_err_material_sample": float(np.nan_to_num(err_v[m_sub], nan=np.inf).max()),
        # per option: ours no worse than vollib's error or than what the price's rounding allows
        "ours_as_good_share_sample": float(np.mean(err[sub][m_sub] <= np.maximum(
            np.nan_to_num(err_v[m_sub], nan=np.inf), attainable[sub][m_sub]) + 4 * np.spacing(d["sigma"][sub][m_sub]))),
        "ours_max_err_over_attainable": float(np.max(err[material] / attainable[material])),
        "ours_nan_material": int(np.isnan(iv[material]).sum()),
        "vollib_nan_material_sample": int(np.isnan(iv_v[m_sub]).sum()),
        "target": TARGET_IV,
    }


# -- REPORT --
def table(res: dict[str, Any]) -> str:
    g, v, m = res["greeks"], res["implied_vol"], res["machine"]
    n, s = f"{g['options']:,}", f"{v['vollib_sample']:,}"
    rows = [
        ("16 Greeks, order 3", "numpy/scipy, same formulas", n, f"{g['numpy_s']:.3f}",
         f"{g['numpy_s'] / g['options'] * 1e9:.0f} ns", "1.0x", "(reference)"),
        ("16 Greeks, order 3", "bs_greeks (numba)", n, f"{g['ours_s']:.3f}",
         f"{g['ours_s'] / g['options'] * 1e9:.0f} ns", f"{g['speedup']:.1f}x",
         f"{g['max_diff_of_scale']:.0e} of scale"),
        ("implied vol", "vollib (Let's Be Rational)", s, f"{v['vollib_us_per_option'] * v['vollib_sample'] / 1e6:.3f}",
         f"{v['vollib_us_per_option'] * 1e3:.0f} ns", "1.0x", f"{v['vollib_max_abs_err_material_sample']:.1e} abs"),
        ("implied vol", "implied_vol (numba)", n, f"{v['ours_s']:.3f}",
         f"{v['ours_us_per_option'] * 1e3:.0f} ns", f"{v['throughput_ratio']:.0f}x",
         f"{v['ours_max_abs_err_material']:.1e} abs"),
    ]
    head = ("task", "implementation", "options", "time (s)", "per option", "speed-up", "max error")
    w = [max(len(str(x[i])) for x in (head, *rows)) for i in range(len(head))]

    def line(cells) -> str:
        return "  ".join(str(c).ljust(w[i]) if i < 2 else str(c).rjust(w[i]) for i, c in enumerate(cells))

    ok_g = "met" if g["met"] else "NOT met"
    ok_v = "met" if v["met"] else "NOT met"
    return "\n".join([
        f"machine: {m['cpu_count']} CPUs ({m['numba_threads']} numba threads), {m['processor']}, "
        f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}",
        line(head),
        "  ".join("-" * x for x in w),
        *map(line, rows),
        f"Greeks: speed-up {g['speedup']:.1f}x vs target {TARGET_GREEKS:.0f}x: {ok_g}; max error = largest "
        "|ours - numpy| / max|numpy| over all 16 Greeks (relative, away from zero crossings: "
        f"{g['max_rel_diff_away_from_zero']:.0e})",
        f"implied vol: throughput {v['throughput_ratio']:.0f}x vs target {TARGET_IV:.0f}x, ours "
        f"{v['ours_max_abs_err_material_sample']:.1e} vs vollib {v['vollib_max_abs_err_material_sample']:.1e} "
        f"max |sigma error| on the same {v['vollib_sample']:,} options; ours as good as vollib's or the "
        f"price's rounding allows on {v['ours_as_good_share_sample']:.1%} of them: {ok_v}; max error = "
        f"largest |sigma error| where vega is material ({v['material_share']:.0%} of the options), "
        f"at most {v['ours_max_err_over_attainable']:.1f}x what the price's rounding allows",
    ])


def run(quick: bool = False, n: int | None = None) -> dict[str, Any]:
    "Run both benchmarks on one data set and return the results."
    p = dict(QUICK if quick else FULL)
    if n:
        p["n"] = n
    t0 = time.perf_counter()
    d = options(p["n"])
    greeks, g = bench_greeks(d, p["rounds"])
    iv = bench_iv(d, g, min(p["vollib_sample"], p["n"]), p["iv_rounds"])
    # equal or better accuracy: on every option of the sample, ours <= max(vollib's, attainable)
    iv["met"] = bool(iv["throughput_ratio"] >= TARGET_IV and iv["ours_as_good_share_sample"] == 1.0)
    return {
        "benchmark": "options_greeks",
        "quick": quick,
        "sizes": p,
        "machine": machine_info("numba"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "greeks": greeks,
        "implied_vol": iv,
        "wall_s": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    return main_for("options_greeks", run, table, argv, __doc__, lambda ap: ap.add_argument(
        "--n", type=int, help="number of options (default 1,000,000)"))


if __name__ == "__main__":
    sys.exit(main())
