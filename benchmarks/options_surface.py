"""Benchmark smile and surface calibration, and warm-started smile updates.

Usage: `python benchmarks/options_surface.py [--quick] [--out PATH]`

  svi fit        `fit_svi` cold (three Nelder-Mead starts) on one 50-strike slice
  svi update     `update_smile` warm-started from the previous fit after a small move of every
                 parameter plus 1e-4 total-variance noise (target: under 5 ms per expiry)
  sabr fit       `fit_sabr` (beta = 0.5) cold, ATM-cubic warm start, on 50 strikes
  sabr fit ql    the reference: QuantLib's `SABRInterpolation` (C++ Levenberg-Marquardt, beta fixed
                 at 0.5) calibrated to the same quotes; both fits' RMSE are recorded
  sabr update    `update_smile` on a SABR fit after a small move
  ssvi fit       `fit_ssvi` on the whole 20-expiry x 50-strike chain (total variances)
  surface        `VolSurface.from_quotes` on a 20-expiry x 50-strike chain of calls and puts
                 (cleaning, parity forwards, implied vols, one SVI per expiry)

Times are medians of several repeats from `time.perf_counter`, after a warm-up that compiles the
numba kernels; the load average is recorded before and after (the machine may be shared).
Prints a table and writes JSON (default `benchmarks/results/options_surface.json`, or
`options_surface.quick.json` with `--quick`, the small sizes used by the smoke test).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import QuantLib as ql

from ultimate_nb.options.smile import (
    SabrParams, SsviParams, SviParams, fit_sabr, fit_ssvi, fit_svi, sabr_vol, ssvi_total_variance,
    svi_total_variance, update_smile,
)
from ultimate_nb.options.surface import VolSurface, simulate_chain

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

TARGET_UPDATE_MS = 5.0


def median_time(f: Callable[[], Any], repeats: int) -> float:
    "Return the median wall time of f in seconds."
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def ql_sabr_fit(F: float, K: np.ndarray, T: float, vols: np.ndarray, beta: float = 0.5) -> tuple:
    "Return (alpha, rho, nu) from QuantLib's SABRInterpolation with beta fixed."
    xs, ys = ql.Array(list(map(float, K))), ql.Array(list(map(float, vols)))
    s = ql.SABRInterpolation(xs, ys, T, F, 0.2, beta, 0.5, 0.0, False, True, False, False, False)
    s(F, True)                             # the first evaluation runs the calibration
    return s.alpha(), s.rho(), s.nu()


def bench(quick: bool) -> dict[str, Any]:
    "Return the timing rows."
    n_exp, n_k, rep = (5, 20, 3) if quick else (20, 50, 15)
    rng = np.random.default_rng(20240102)
    k = np.linspace(-0.5, 0.3, n_k)
    p0 = SviParams(0.02, 0.12, -0.55, 0.05, 0.15)
    w0 = svi_total_variance(k, *p0.astuple()) + rng.normal(0, 1e-4, n_k)
    fit0 = fit_svi(k, w0)
    moves = [svi_total_variance(k, 0.02 * (1 + 0.01 * i), 0.12, -0.55 + 0.005 * i, 0.05, 0.15)
             + rng.normal(0, 1e-4, n_k) for i in range(rep)]
    upd_ms, upd_err = [], []
    for w in moves:
        t0 = time.perf_counter()
        p = update_smile(fit0, (k, w))
        upd_ms.append(1e3 * (time.perf_counter() - t0))
        upd_err.append(p.rmse)
    K = 100 * np.exp(k)
    v0 = sabr_vol(100.0, K, 1.0, 2.0, 0.5, -0.4, 0.6) + rng.normal(0, 5e-4, n_k)
    s0 = fit_sabr(100.0, K, 1.0, v0)
    qa, qr, qn = ql_sabr_fit(100.0, K, 1.0, v0)
    ql_rmse = float(np.sqrt(np.mean((sabr_vol(100.0, K, 1.0, qa, 0.5, qr, qn) - v0) ** 2)))
    v1 = sabr_vol(100.0, K, 1.0, 2.05, 0.5, -0.42, 0.62)
    Tx = np.geomspace(7, 730, n_exp) / 365
    truth = SsviParams(Tx, (0.18 + 0.02 * np.sqrt(Tx / 2)) ** 2 * Tx, -0.7, 1.3, 0.45)
    TT = np.repeat(Tx, n_k)
    kk = np.tile(np.linspace(-1.5, 1.0, n_k), n_exp) * np.sqrt(truth.theta_at(TT))
    ww = ssvi_total_variance(kk, truth.theta_at(TT), -0.7, 1.3, 0.45) * (1 + rng.normal(0, 0.003, kk.size))
    chain = simulate_chain(2506.85, truth, n_strikes=n_k, rng=np.random.default_rng(1))
    VolSurface.from_quotes(chain)          # warm-up: numba kernels of the implied-vol solver
    rows = {
        "svi fit (cold)": (1e3 * median_time(lambda: fit_svi(k, w0), rep), f"{n_k} strikes"),
        "svi update (warm)": (statistics.median(upd_ms), f"{n_k} strikes, per expiry"),
        "sabr fit (cold)": (1e3 * median_time(lambda: fit_sabr(100.0, K, 1.0, v0), rep), f"{n_k} strikes"),
        "sabr fit, QuantLib (ref)": (1e3 * median_time(lambda: ql_sabr_fit(100.0, K, 1.0, v0), rep),
                                     f"{n_k} strikes"),
        "sabr update (warm)": (1e3 * median_time(lambda: update_smile(s0, (100.0, K, 1.0, v1)), rep),
                               f"{n_k} strikes, per expiry"),
        "ssvi fit": (1e3 * median_time(lambda: fit_ssvi(TT, kk, ww), max(rep // 3, 1)),
                     f"{n_exp} x {n_k} quotes"),
        "surface from_quotes (svi)": (1e3 * median_time(lambda: VolSurface.from_quotes(chain), max(rep // 5, 1)),
                                      f"{n_exp} x {n_k} x 2 quotes"),
    }
    return {
        "rows": {name: {"ms": ms, "size": size} for name, (ms, size) in rows.items()},
        "svi_update": {"p50_ms": statistics.median(upd_ms), "max_ms": max(upd_ms),
                       "max_rmse": max(upd_err), "target_ms": TARGET_UPDATE_MS},
        "sabr_vs_quantlib": {"ours_rmse": s0.rmse, "quantlib_rmse": ql_rmse},
        "sizes": {"expiries": n_exp, "strikes": n_k, "repeats": rep},
    }


def table(res: dict[str, Any]) -> str:
    "Return the printed table."
    m, u = res["machine"], res["bench"]["svi_update"]
    lines = [f"options_surface ({'quick' if res['quick'] else 'full'}): {m['cpu_count']} CPUs, "
             f"{m['processor']}, Python {m['python']}, load {res['load_before'][0]:.2f} before / "
             f"{res['load_after'][0]:.2f} after",
             f"{'step':<28}{'size':<26}{'median ms':>10}", "-" * 64]
    for name, r in res["bench"]["rows"].items():
        lines.append(f"{name:<28}{r['size']:<26}{r['ms']:>10.2f}")
    lines.append("-" * 64)
    ok = "met" if u["p50_ms"] < u["target_ms"] else "MISSED"
    rows, sq = res["bench"]["rows"], res["bench"]["sabr_vs_quantlib"]
    ratio = rows["sabr fit (cold)"]["ms"] / rows["sabr fit, QuantLib (ref)"]["ms"]
    lines.append(f"sabr fit: ours / QuantLib time {ratio:.1f}x; RMSE ours {sq['ours_rmse']:.3e} "
                 f"vs QuantLib {sq['quantlib_rmse']:.3e} (vol units)")
    lines.append(f"svi update: p50 {u['p50_ms']:.2f} ms, max {u['max_ms']:.2f} ms; "
                 f"target < {u['target_ms']:.0f} ms per expiry: {ok}")
    return "\n".join(lines)


def run(quick: bool = False) -> dict[str, Any]:
    "Run the benchmark and return its result."
    t0 = time.perf_counter()
    res = {"benchmark": "options_surface", "quick": quick, "machine": machine_info("numba", "scipy"),
           "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "load_before": list(os.getloadavg())}
    res["bench"] = bench(quick)
    res["load_after"] = list(os.getloadavg())
    res["wall_s"] = time.perf_counter() - t0
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for("options_surface", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
