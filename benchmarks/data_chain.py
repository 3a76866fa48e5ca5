"""Benchmark `ultimate_nb.data.chain`: one option-chain update (IV + Greeks + filters) of 2,000 contracts.

Usage: `python benchmarks/data_chain.py [--quick] [--rounds N] [--out PATH]`

  ours       `OptionChain.update()`: implied vol at the bid, ask and mid of every contract (one
             `implied_vol` call, Let's Be Rational in numba), delta, gamma, vega, theta and rho at
             the mid IV (one `bs_greeks` call), the filter mask (`ChainFilter`) and the per-contract
             volume statistics, all vectorised
  reference  what a user would write instead: a plain Python loop over the same contracts calling
             vollib's `implied_volatility` (py_lets_be_rational, Jaeckel's Let's Be Rational) three
             times and vollib's analytical BSM greeks (delta, gamma, vega, theta, rho) once, and
             applying the same filter contract by contract

One data set: the simulated SPX chain of `ChainModel.default` at the last S&P 500 close in
`arch.data.sp500` (2,506.85 on 31 Dec 2018, 15:59 New York), 10 expiries (5 weeklies, 6 monthlies,
one shared) x 100 strikes, calls and puts: 2,000 contracts, r = 2.4%, q = 2%, filter |delta| 0.05
to 0.95, 1 to 200 days, bid > 0, relative spread <= 50%. Timings are wall clock
(`time.perf_counter`) after a warm-up (numba compilation excluded: it is cached on disk); ours and
the reference run alternately, the reported time per update is the median over rounds (and the
best), the ratio the median of the per-round (wall) ratios, so that noise from other work on the
machine hits both alike. Our update also reports the CPU time of the calling thread
(`time.thread_time`; below 32,768 options the kernels run on that thread alone): on a shared
2-core machine a 3 ms job is often preempted, so wall medians measure the load, CPU time the code.
The 5 ms goal is judged on the median CPU time. `arbitrage_report` (parity, strike, calendar and
forward checks) is timed too, without a reference. Accuracy: the largest |difference| of the IVs
(where both are finite) and of the Greeks (vollib's vega and rho are per 1%, theta per day:
converted) between ours and vollib, and whether both pick the same contracts. With `--quick` the reference loop runs on a sample of
200 contracts and its per-update time is scaled to 2,000 (said so in the table).

Prints a table and writes the numbers as JSON (default `benchmarks/results/data_chain.json`, or
`data_chain.quick.json` with `--quick`).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility

from ultimate_nb.data.chain import ChainConfig, ChainFilter, ChainModel, OptionChain, expiry_ns

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

FULL = dict(rounds=200, ref_rounds=5, ref_sample=None, arb_rounds=50)
QUICK = dict(rounds=20, ref_rounds=2, ref_sample=200, arb_rounds=5)
TARGET_MS = 5.0
SPOT, DAY = 2506.85, date(2018, 12, 31)      # last close in arch.data.sp500
GREEKS = ("delta", "gamma", "vega", "theta", "rho")
VOLLIB_SCALE = {"delta": 1.0, "gamma": 1.0, "vega": 100.0, "theta": 365.0, "rho": 100.0}
FILTER = ChainFilter(abs_delta=(0.05, 0.95), dte=(1.0, 200.0), min_bid=0.01, max_rel_spread=0.5)


# -- DATA --
def make_chain() -> OptionChain:
    "Return the seeded 2,000-contract SPX chain of the benchmark."
    cfg = ChainConfig(r=0.024, q=0.02, weeklies=5, monthlies=6, n_strikes=100)
    chain = OptionChain("SPX", cfg, model=ChainModel.default(SPOT, atm_vol=0.2),
                        rng=np.random.default_rng(20181231), filt=FILTER)
    chain.on_spot(SPOT, expiry_ns(DAY) - 60 * 10**9)
    return chain


# -- REFERENCE --
def _iv(price: float, S: float, K: float, T: float, r: float, q: float, flag: str) -> float:
    try:
        return implied_volatility(price, S, K, T, r, q, flag)
    except Exception:  # vollib signals prices outside the no-arbitrage bounds with exceptions
        return math.nan


def vollib_update(c: dict[str, np.ndarray], S: float, r: float, q: float) -> dict[str, np.ndarray]:
    "The plain loop: three vollib IVs, five vollib Greeks and the filter, contract by contract."
    n = len(c["strike"])
    out = {k: np.full(n, np.nan) for k in ("iv_bid", "iv_ask", "iv_mid", *GREEKS)}
    mask = np.zeros(n, dtype=bool)
    for i in range(n):
        K, T = float(c["strike"][i]), float(c["T"][i])
        bid, ask = float(c["bid"][i]), float(c["ask"][i])
        flag = "c" if c["kind"][i] > 0 else "p"
        mid = 0.5 * (bid + ask)
        out["iv_bid"][i] = _iv(bid, S, K, T, r, q, flag)
        out["iv_ask"][i] = _iv(ask, S, K, T, r, q, flag)
        sigma = out["iv_mid"][i] = _iv(mid, S, K, T, r, q, flag)
        if not sigma > 0:
            continue
        for g in GREEKS:
            out[g][i] = getattr(vollib_greeks, g)(flag, S, K, T, r, sigma, q) * VOLLIB_SCALE[g]
        F = S * math.exp((r - q) * T)
        mask[i] = (FILTER.moneyness[0] <= K / F <= FILTER.moneyness[1]
                   and FILTER.abs_delta[0] <= abs(out["delta"][i]) <= FILTER.abs_delta[1]
                   and FILTER.dte[0] <= T * 365 <= FILTER.dte[1] and bid >= FILTER.min_bid
                   and (ask - bid) / mid <= FILTER.max_rel_spread)
    out["mask"] = mask
    return out


# -- MEASUREMENT --
def timed(f) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def timed_cpu(f) -> tuple[float, float]:
    "Return (wall, CPU time of this thread) of one call; our kernels run on the calling thread."
    t0, c0 = time.perf_counter(), time.thread_time()
    f()
    return time.perf_counter() - t0, time.thread_time() - c0


def compare(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray], idx: np.ndarray,
            ) -> dict[str, Any]:
    "Largest |ours - vollib| per output over the contracts `idx`, and agreement of the filters."
    err = {}
    for k in ("iv_bid", "iv_ask", "iv_mid", *GREEKS):
        a, b = ours[k][idx], ref[k]
        both = np.isfinite(a) & np.isfinite(b)
        err[k] = float(np.max(np.abs(a[both] - b[both]))) if both.any() else math.nan
    nan_iv = np.isfinite(ours["iv_mid"][idx]) != np.isfinite(ref["iv_mid"])
    return {"max_abs_diff": err, "iv_mid_finite_mismatch": int(nan_iv.sum()),
            "mask_mismatch": int((ours["mask"][idx] != ref["mask"]).sum()),
            "passed_filter": int(ref["mask"].sum())}


def run(quick: bool = False, rounds: int | None = None) -> dict[str, Any]:
    "Time ours and the vollib loop alternately on one chain; return the results."
    p = dict(QUICK if quick else FULL)
    if rounds:
        p["rounds"] = rounds
    t0 = time.perf_counter()
    chain = make_chain()
    n = len(chain)
    ours = chain.update()                                  # warm-up
    idx = (np.arange(n) if p["ref_sample"] is None
           else np.linspace(0, n - 1, p["ref_sample"]).astype(int))
    sub = {k: ours[k][idx] for k in ("strike", "T", "bid", "ask", "kind")}
    per_ref = max(1, p["rounds"] // p["ref_rounds"])       # our updates between reference runs
    t_ours, c_ours, t_ref, ratios = [], [], [], []
    for _ in range(p["ref_rounds"]):
        batch = [timed_cpu(chain.update) for _ in range(per_ref)]
        dt, ref = timed(lambda: vollib_update(sub, chain.spot, chain.r, chain.q))
        t_ref.append(dt * n / len(idx))
        t_ours += [w for w, _ in batch]
        c_ours += [c for _, c in batch]
        ratios.append(t_ref[-1] / statistics.median(w for w, _ in batch))
    ours = chain.update()
    t_arb = [timed(chain.arbitrage_report)[0] for _ in range(p["arb_rounds"])]
    acc = compare(ours, ref, idx)
    ms, cpu_ms = statistics.median(t_ours) * 1e3, statistics.median(c_ours) * 1e3
    return {
        "benchmark": "data_chain", "quick": quick, "sizes": p, "contracts": n,
        "expiries": int(len(np.unique(ours["expiry"]))),
        "machine": machine_info("numba"), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "ours_ms_per_update": ms, "ours_best_ms": min(t_ours) * 1e3, "ours_cpu_ms": cpu_ms,
        "passed_filter": int(ours["mask"].sum()),
        "ref_ms_per_update": statistics.median(t_ref) * 1e3, "ref_best_ms": min(t_ref) * 1e3,
        "ref_contracts_timed": int(len(idx)), "ref_scaled": len(idx) != n,
        "speedup": statistics.median(ratios),
        "arbitrage_report_ms": statistics.median(t_arb) * 1e3,
        "accuracy": acc, "target_ms": TARGET_MS, "met": cpu_ms < TARGET_MS,
        "wall_s": time.perf_counter() - t0,
    }


# -- REPORT --
def table(res: dict[str, Any]) -> str:
    m, a = res["machine"], res["accuracy"]
    scaled = f" (timed on {res['ref_contracts_timed']}, scaled)" if res["ref_scaled"] else ""
    rows = [
        ("vollib loop: 3 IVs + 5 Greeks + filter", f"{res['ref_ms_per_update']:.1f}",
         f"{res['ref_best_ms']:.1f}", "", "1.0x", "(reference)" + scaled),
        ("OptionChain.update (numba, vectorised)", f"{res['ours_ms_per_update']:.2f}",
         f"{res['ours_best_ms']:.2f}", f"{res['ours_cpu_ms']:.2f}", f"{res['speedup']:.0f}x",
         f"IV {max(a['max_abs_diff'][k] for k in ('iv_bid', 'iv_ask', 'iv_mid')):.1e}, "
         f"delta {a['max_abs_diff']['delta']:.1e}, filter mismatches {a['mask_mismatch']}"),
        ("OptionChain.arbitrage_report", f"{res['arbitrage_report_ms']:.2f}", "", "", "",
         "no reference"),
    ]
    head = ("per update of the chain", "median ms", "best ms", "CPU ms", "speed-up",
            "max |ours - vollib|")
    w = [max(len(str(x[i])) for x in (head, *rows)) for i in range(len(head))]

    def line(cells) -> str:
        return "  ".join(str(c).ljust(w[i]) if i in (0, 5) else str(c).rjust(w[i])
                         for i, c in enumerate(cells))

    ok = "met" if res["met"] else "NOT met"
    return "\n".join([
        f"machine: {m['cpu_count']} CPUs, load {m['load_average_1m']:.1f}, {m['processor']}, Python "
        f"{m['python']}, numpy {m['numpy']}, numba {m['numba']}",
        f"chain: {res['contracts']:,} contracts ({res['expiries']} expiries), SPX at 2,506.85; "
        f"{res['passed_filter']} pass the filter",
        line(head), "  ".join("-" * x for x in w), *map(line, rows),
        f"goal: < {TARGET_MS:.0f} ms per update (median CPU time of the updating thread, which "
        f"no other load on the machine inflates; wall time above): {ok}",
    ])


def main(argv: list[str] | None = None) -> int:
    return main_for("data_chain", run, table, argv, __doc__, lambda ap: ap.add_argument(
        "--rounds", type=int, help="updates timed (default 200)"))


if __name__ == "__main__":
    sys.exit(main())
