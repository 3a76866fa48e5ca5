"""Benchmark Monte Carlo VaR/ES, option-book full revaluation and the Dask-distributed MC run.

Usage: `python benchmarks/risk_var.py [--quick] [--out PATH]`

  mc        `monte_carlo_var_es`: 1,000,000 multivariate-normal scenarios of 100 linear positions
            (correlated through a 5-factor covariance), chunked, drawn on all cores by threads;
            target < 2 s and < 1 GB (peak traced by `tracemalloc`, which numpy reports to); the
            answer is checked against the closed-form normal VaR/ES
  options   `revalue_options`: full Black-Scholes revaluation (`ultimate_nb.options.greeks.bs_price`)
            of 1,000 options on 10 underlyings under 100,000 joint spot/implied-vol scenarios
            (10^8 option prices), target < 5 s; and the delta-gamma-vega approximation of the same
            P&L, with the error of its VaR against full revaluation
  dask      the `mc` run again through a Dask client from `ultimate_nb.core.parallel` (a local
            cluster, 2 workers x 1 thread): same seed, same chunks, so the same VaR and ES bit for bit

Times are the median of `repeats` runs after one warm-up (numba kernels compiled and cached),
wall clock (`perf_counter`) and process CPU time; the 1-minute load average is recorded at start
and end, since a machine shared with other jobs stretches wall times.
Prints a table and machine info, and writes the numbers as JSON (default
`benchmarks/results/risk_var.json`, or `risk_var.quick.json` with `--quick`, the tiny sizes used
by the smoke test).
"""

from __future__ import annotations

import logging
import os
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ultimate_nb.core.parallel import dask_client
from ultimate_nb.risk.var import (
    delta_gamma_pnl,
    gaussian_es,
    gaussian_var,
    historical_var,
    monte_carlo_var_es,
    revalue_options,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _books import SEED, linear_book, option_book, option_scenarios  # noqa: E402
from _common import machine_info, main_for  # noqa: E402


FULL = dict(
    mc_scenarios=1_000_000,
    mc_positions=100,
    options=1_000,
    underlyings=10,
    option_scenarios=100_000,
    repeats=3,
)
QUICK = dict(
    mc_scenarios=20_000, mc_positions=20, options=50, underlyings=5, option_scenarios=2_000, repeats=1
)
TARGETS = {"mc_s": 2.0, "mc_peak_mb": 1024.0, "options_s": 5.0}


def timed(fn, repeats: int, cpu: dict[str, float] | None = None) -> tuple[float, Any]:
    "Return the median wall time of `repeats` calls of fn (after one warm-up) and its last result."
    out = fn()
    times, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    if cpu is not None:
        cpu["cpu_seconds"] = statistics.median(cpus)
    return statistics.median(times), out




# -- MONTE CARLO --


def bench_mc(n_scen: int, n_pos: int, repeats: int) -> dict[str, Any]:
    cov, w, mu = linear_book(n_pos)
    workers = os.cpu_count() or 1
    run = lambda: monte_carlo_var_es(  # noqa: E731
        cov, w, mu, 0.99, n_scenarios=n_scen, seed=SEED, workers=workers
    )
    cpu: dict[str, float] = {}
    secs, (var, es) = timed(run, repeats, cpu)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sp = float(np.sqrt(w @ cov @ w))
    var_ref, es_ref = float(gaussian_var(w @ mu, sp)), float(gaussian_es(w @ mu, sp))
    return {
        "scenarios": n_scen,
        "positions": n_pos,
        "workers": workers,
        "seconds": secs,
        **cpu,
        "scenarios_per_s": n_scen / secs,
        "draws_per_s": n_scen * n_pos / secs,
        "peak_traced_mb": peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "var": var,
        "es": es,
        "var_closed_form": var_ref,
        "es_closed_form": es_ref,
        "var_rel_error": var / var_ref - 1,
        "es_rel_error": es / es_ref - 1,
    }


# -- OPTIONS --






def bench_options(n_opt: int, n_und: int, n_scen: int, repeats: int) -> dict[str, Any]:
    book = option_book(n_opt, n_und)
    R, V = option_scenarios(n_scen, n_und)
    h = 1 / 365
    cpu: dict[str, float] = {}
    secs, full = timed(lambda: revalue_options(book, R, V, horizon=h), repeats, cpu)
    dg_secs, dg = timed(lambda: delta_gamma_pnl(book, R, V, horizon=h), repeats)
    v_full, v_dg = historical_var(full), historical_var(dg)
    return {
        "options": n_opt,
        "underlyings": n_und,
        "scenarios": n_scen,
        "seconds": secs,
        **cpu,
        "revaluations_per_s": n_opt * n_scen / secs,
        "var_full": v_full,
        "delta_gamma_seconds": dg_secs,
        "var_delta_gamma": v_dg,
        "delta_gamma_var_rel_error": v_dg / v_full - 1,
        "delta_gamma_pnl_rmse": float(np.sqrt(np.mean((dg - full) ** 2))),
        "pnl_std": float(full.std()),
    }


# -- DASK --


def bench_dask(n_scen: int, n_pos: int, local: dict[str, Any]) -> dict[str, Any]:
    cov, w, mu = linear_book(n_pos)
    for name in ("distributed", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    t0 = time.perf_counter()
    with dask_client(n_workers=2, threads_per_worker=1) as client:
        start_s = time.perf_counter() - t0
        run = lambda: monte_carlo_var_es(  # noqa: E731
            cov, w, mu, 0.99, n_scenarios=n_scen, seed=SEED, client=client
        )
        secs, (var, es) = timed(run, 1)
    return {
        "workers": 2,
        "cluster_start_s": start_s,
        "seconds": secs,
        "scenarios_per_s": n_scen / secs,
        "var": var,
        "es": es,
        "same_answer": var == local["var"] and es == local["es"],
    }


# -- REPORT --


def table(res: dict[str, Any]) -> str:
    m, o, d = res["mc"], res["options"], res["dask"]
    t = TARGETS

    def ok(x: float, lim: float) -> str:
        return "ok" if x < lim else "MISS"

    rows = [
        (
            f"MC VaR/ES {m['scenarios']:,} x {m['positions']} (threads={m['workers']})",
            f"{m['seconds']:.3f} s (cpu {m['cpu_seconds']:.2f} s)",
            f"< {t['mc_s']:g} s",
            ok(m["seconds"], t["mc_s"]),
            f"{m['scenarios_per_s'] / 1e6:.2f} M scen/s",
        ),
        (
            "MC peak memory (tracemalloc)",
            f"{m['peak_traced_mb']:.0f} MB",
            f"< {t['mc_peak_mb']:g} MB",
            ok(m["peak_traced_mb"], t["mc_peak_mb"]),
            f"{m['draws_per_s'] / 1e6:.0f} M normals/s",
        ),
        (
            "MC VaR / ES vs closed form",
            f"{m['var_rel_error']:+.3%} / {m['es_rel_error']:+.3%}",
            "",
            "",
            f"VaR {m['var']:,.0f}  ES {m['es']:,.0f}",
        ),
        (
            f"full reval {o['options']:,} options x {o['scenarios']:,} scen",
            f"{o['seconds']:.3f} s (cpu {o['cpu_seconds']:.2f} s)",
            f"< {t['options_s']:g} s",
            ok(o["seconds"], t["options_s"]),
            f"{o['revaluations_per_s'] / 1e6:.1f} M prices/s",
        ),
        (
            "delta-gamma-vega approximation",
            f"{o['delta_gamma_seconds']:.3f} s",
            "",
            "",
            f"VaR error {o['delta_gamma_var_rel_error']:+.2%}",
        ),
        (
            f"MC through Dask ({d['workers']} workers)",
            f"{d['seconds']:.3f} s",
            "",
            "same" if d["same_answer"] else "DIFFERS",
            f"{d['scenarios_per_s'] / 1e6:.2f} M scen/s",
        ),
    ]
    head = ("benchmark", "result", "target", "", "throughput / notes")
    w = [max(len(x[i]) for x in (head, *rows)) for i in range(5)]

    def line(cells) -> str:
        return "  ".join(
            c.ljust(w[i]) if i in (0, 4) else c.rjust(w[i]) for i, c in enumerate(cells)
        ).rstrip()

    mc = res["machine"]
    return "\n".join(
        [
            f"machine: {mc['cpu_count']} CPUs, {mc['processor']}, Python {mc['python']}, "
            f"numpy {mc['numpy']}, numba {mc['numba']} ({mc['numba_threads']} threads), "
            f"{mc['platform']}; load average {mc['load_average_1m']:.2f} at start, "
            f"{res['load_average_end_1m']:.2f} at end",
            line(head),
            "  ".join("-" * n for n in w),
            *map(line, rows),
            f"full revaluation: one bs_price call per (scenario chunk x options) grid; delta-gamma: "
            f"book Greeks per underlying. Dask answer identical to the threaded one: "
            f"{d['same_answer']} (cluster start {d['cluster_start_s']:.1f} s, not timed)",
        ]
    )


def run(quick: bool = False) -> dict[str, Any]:
    "Run every benchmark and return the results."
    p = QUICK if quick else FULL
    t0 = time.perf_counter()
    mc = bench_mc(p["mc_scenarios"], p["mc_positions"], p["repeats"])
    res = {
        "benchmark": "risk_var",
        "quick": quick,
        "sizes": p,
        "targets": TARGETS,
        "machine": machine_info("numba"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mc": mc,
        "options": bench_options(
            p["options"], p["underlyings"], p["option_scenarios"], p["repeats"]
        ),
        "dask": bench_dask(p["mc_scenarios"], p["mc_positions"], mc),
    }
    res["wall_s"] = time.perf_counter() - t0
    res["load_average_end_1m"] = os.getloadavg()[0]
    return res


def main(argv: list[str] | None = None) -> int:
    return main_for("risk_var", run, table, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
