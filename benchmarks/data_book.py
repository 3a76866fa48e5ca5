"""Benchmark the L2 book simulator and measure the stylized facts it reproduces.

Usage: `python benchmarks/data_book.py [--quick] [--out PATH]`

  speed     order-book events (limit, market, cancel, dark) per wall second of the numba event
            loop (`BookSimulator.advance`), and bus events (Trade, BookSnapshot, Quote) per second
            of `BookSimulator.step`, on the default three lit venues and a dark pool
  spread    NBBO spread in ticks, sampled every simulated second over one session (6.5 h)
  signature realised variance of the mid per second at sampling intervals of 1 s .. 10 min
            (falling with the interval: the mid mean-reverts at short lags)
  u-shape   traded volume in tenths of the session relative to the mean
  impact    metaorders of Q = 2,000 .. 32,000 shares, each as 20 child market orders over 60 s,
            alternating buy and sell; mean peak impact against Q/V (V daily volume), fit
            impact = Y sigma (Q/V)^delta (sigma daily volatility of the mid), for the default
            flow and for a long-memory flow (wider placement, slower cancellation)

Everything is seeded. Prints a table and writes JSON (default `benchmarks/results/data_book.json`,
`data_book.quick.json` with `--quick`, the small sizes the smoke test uses). For a reference
point a user would reach for instead: the pure-Python loop of a zero-intelligence book is
typically 50-100x slower than the numba loop here; this script reports our own figures only.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ultimate_nb import __version__
from ultimate_nb.data.book import (
    BookModel, BookSimulator, fit_impact, metaorder_impact, sample_nbbo, signature_plot,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, main_for  # noqa: E402

SEED = 20_240_601
FULL = dict(session_s=23_400.0, speed_s=3_600.0, steps=2_000, reps=60, sizes=(2_000, 4_000, 8_000, 16_000, 32_000))
QUICK = dict(session_s=1_800.0, speed_s=300.0, steps=100, reps=2, sizes=(4_000, 16_000))
MODELS = {
    "default": BookModel(),
    "long memory": BookModel(width=100, limit_rate=0.05, cancel_rate=0.002),
}


def bench_speed(p: dict) -> dict[str, Any]:
    sim = BookSimulator(rng=np.random.default_rng(SEED))
    sim.advance(10**9)                                   # compile / load the cached kernels
    n0, t0 = sim.n_events, time.perf_counter()
    sim.advance(int(p["speed_s"] * 1e9))
    secs = time.perf_counter() - t0
    t1 = time.perf_counter()
    n_ev = sum(len(sim.step()) for _ in range(p["steps"]))
    step_s = time.perf_counter() - t1
    return {"book_events": int(sim.n_events - n0), "seconds": secs, "book_events_per_s": (sim.n_events - n0) / secs,
            "sim_seconds_per_s": p["speed_s"] / secs, "bus_events": n_ev, "bus_events_per_s": n_ev / step_s}


def bench_session(p: dict, model: BookModel) -> dict[str, Any]:
    sim = BookSimulator(model=BookModel(**{**model.__dict__, "session_s": p["session_s"]}), dark=None,
                        rng=np.random.default_rng(SEED))
    q, tape = sample_nbbo(sim, p["session_s"], every_ms=1_000)
    spread = np.rint((q["ask"] - q["bid"]) / sim.tick).astype(int)
    mid = (q["ask"] + q["bid"]) / 2
    lags = [1, 5, 30, 120, 600]
    lags = [k for k in lags if k < len(mid) // 10]
    frac = ((tape.ts - sim._t_open) % int(p["session_s"] * 1e9)) / (p["session_s"] * 1e9)
    vol = np.bincount((frac * 10).astype(int), weights=tape.size, minlength=10)[:10]
    return {
        "spread_mean_ticks": float(spread.mean()),
        "spread_share": {str(k): float(np.mean(spread == k)) for k in (1, 2, 3)} | {"4+": float(np.mean(spread >= 4))},
        "signature_lags_s": lags,
        "signature_rv_per_s": signature_plot(mid, lags).tolist(),
        "volume_by_tenth": (vol / vol.mean()).tolist(),
        "daily_volume": float(tape.size.sum() * 23_400.0 / p["session_s"]),
        # USD, from the variance per second at the longest lag (short lags are inflated by mean reversion)
        "daily_sigma": float(np.sqrt(signature_plot(mid, [lags[-1]])[0] * 23_400.0)),
    }


def bench_impact(p: dict, model: BookModel, sess: dict[str, Any]) -> dict[str, Any]:
    sim = BookSimulator(model=model, dark=None, rng=np.random.default_rng(SEED + 1))
    sizes = np.array(p["sizes"])
    imp = metaorder_impact(sim, list(sizes), duration_s=60.0, n_child=20, reps=p["reps"], relax_s=300.0)
    mean, se = imp.mean(axis=1), imp.std(axis=1, ddof=1) / np.sqrt(imp.shape[1]) if imp.shape[1] > 1 else 0 * imp[:, 0]
    qv = sizes / sess["daily_volume"]
    ok = mean > 0
    delta, y = fit_impact(qv[ok], mean[ok], sess["daily_sigma"]) if ok.sum() >= 2 else (float("nan"), float("nan"))
    return {"sizes": sizes.tolist(), "q_over_v": qv.tolist(), "impact_usd": mean.tolist(), "impact_se": se.tolist(),
            "delta": delta, "Y": y, "reps": p["reps"]}


def table(res: dict[str, Any]) -> str:
    s = res["speed"]
    lines = [f"BookSimulator {'(quick)' if res['quick'] else ''}",
             f"  speed      {s['book_events_per_s']:,.0f} book events/s ({s['sim_seconds_per_s']:,.0f} simulated s per s); "
             f"{s['bus_events_per_s']:,.0f} bus events/s through step()"]
    for name, r in res["models"].items():
        ss, im = r["session"], r["impact"]
        sig = ", ".join(f"{k}s:{v:.4g}" for k, v in zip(ss["signature_lags_s"], ss["signature_rv_per_s"]))
        lines += [f"  [{name}]",
                  f"  spread     mean {ss['spread_mean_ticks']:.2f} ticks; share " +
                  ", ".join(f"{k}: {v:.3f}" for k, v in ss["spread_share"].items()),
                  f"  signature  RV per s (USD^2) {sig}",
                  f"  u-shape    volume by tenth of session / mean: {np.round(ss['volume_by_tenth'], 2).tolist()}",
                  f"  impact     Q {im['sizes']} -> mean peak impact USD {np.round(im['impact_usd'], 4).tolist()}"
                  f" (se {np.round(im['impact_se'], 4).tolist()})",
                  f"  fit        impact = Y sigma (Q/V)^delta: delta = {im['delta']:.3f}, Y = {im['Y']:.3f} "
                  f"(sigma {ss['daily_sigma']:.3f} USD, V {ss['daily_volume']:,.0f} sh)"]
    return "\n".join(lines)


def run(quick: bool = False) -> dict[str, Any]:
    "Time the simulator, then measure the stylized facts of each model; return the results."
    t0 = time.perf_counter()
    p = QUICK if quick else FULL
    res: dict[str, Any] = {"benchmark": "data_book", "quick": quick, "version": __version__, "seed": SEED,
                           "started": datetime.now(timezone.utc).isoformat(),
                           "machine": machine_info("numba")}
    res["speed"] = bench_speed(p)
    res["models"] = {}
    for name, m in MODELS.items():
        sess = bench_session(p, m)
        res["models"][name] = {"params": m.__dict__, "session": sess, "impact": bench_impact(p, m, sess)}
    res["wall_s"] = time.perf_counter() - t0
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for("data_book", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
